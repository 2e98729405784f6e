"""A synthetic song catalogue for the scale benchmarks, built with NumPy in seconds at 1M songs.

Song vectors come from a mixture of Gaussians (moods x themes), lyrics are words drawn from a Zipf
vocabulary with each theme favouring its own words, so the lexical index and the vector index both
see realistic structure (neighbours exist; some words are everywhere, most are rare).  Nothing here
is used by the library itself.
"""

import numpy as np

MOODS = np.array(["happy", "sad", "calm", "energetic"])


def vectors(n, dim=160, n_centres=64, latent=24, spread=0.5, noise=0.05, seed=0):
    """``n`` unit vectors of width ``dim`` around ``n_centres`` centres; returns (vectors, centre).

    Songs vary around their centre along ``latent`` shared directions plus a little isotropic
    noise: embeddings of real text have a low intrinsic dimension (tens, not hundreds), which is
    what makes graph indexes work.  Isotropic noise in all 160 dimensions would make every
    neighbour nearly as far as any other and no index would beat a scan.
    """
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_centres, dim)).astype(np.float32) / np.sqrt(dim)
    basis = rng.standard_normal((latent, dim)).astype(np.float32) / np.sqrt(dim)
    centre = rng.integers(n_centres, size=n)
    out = np.empty((n, dim), dtype=np.float32)
    step = 200_000
    for start in range(0, n, step):
        stop = min(n, start + step)
        z = rng.standard_normal((stop - start, latent), dtype=np.float32) * spread
        block = centres[centre[start:stop]] + z @ basis
        block += noise * rng.standard_normal((stop - start, dim), dtype=np.float32) / np.sqrt(dim)
        out[start:stop] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out, centre


def _word(i):
    """A letters-only word for vocabulary id ``i`` ("ba", "bb", ...): lyrics tokenizers skip digits."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        i, r = divmod(i, 26)
        out = letters[r] + out
        if not i:
            return "q" + out


def catalogue(n, *, dim=160, vocabulary=30_000, words=80, seed=0):
    """A dict with titles, artists, moods, lyrics (space-joined words) and vectors for ``n`` songs."""
    rng = np.random.default_rng(seed)
    vecs, centre = vectors(n, dim=dim, seed=seed)
    vocab = np.array([_word(i) for i in range(vocabulary)])
    # Zipf ranks shared by all songs plus a theme offset so that each centre has its own frequent words.
    ranks = np.minimum(rng.zipf(1.3, size=(n, words)) - 1, vocabulary - 1)
    themed = rng.random((n, words)) < 0.3
    ranks = np.where(themed, (ranks + centre[:, None] * 97) % vocabulary, ranks)
    lyrics = [" ".join(row) for row in vocab[ranks]]
    titles = np.char.add("song ", np.arange(n).astype(str)).astype(object)
    artists = np.char.add("artist ", (np.arange(n) // 10).astype(str)).astype(object)
    return {
        "title": titles,
        "artist": artists,
        "mood": MOODS[centre % len(MOODS)].astype(object),
        "lyrics": lyrics,
        "vectors": vecs,
    }
