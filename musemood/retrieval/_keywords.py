"""Keywords the KeyBERT way: :func:`embedding_keywords`."""

from __future__ import annotations

import numpy as np

from ..vectors import _unit


def embedding_keywords(song_vectors, candidates, terms, encode, top_k=5, batch_rows=4096):
    """Keywords by encoder similarity: for each song, the ``top_k`` candidate terms closest to the song.

    ``song_vectors`` are the songs' encoder vectors, ``candidates`` an (n_songs, c) array of term
    ids (-1 = none, e.g. from :func:`top_terms`), ``terms`` the term strings, ``encode`` a function
    from a list of strings to vectors in the same space (the song's encoder).  Each distinct
    candidate term is encoded once.  Returns an (n_songs, top_k) array of term ids, -1 padded.
    """
    candidates = np.asarray(candidates)
    unique = np.unique(candidates[candidates >= 0])
    out = np.full((len(candidates), top_k), -1, dtype=np.int64)
    if not len(unique):
        return out
    term_vecs = _unit(np.asarray(encode([str(terms[t]) for t in unique]), dtype=np.float32))
    position = np.full(int(unique.max()) + 1, -1)
    position[unique] = np.arange(len(unique))
    songs = _unit(np.asarray(song_vectors, dtype=np.float32))
    for start in range(0, len(candidates), batch_rows):
        cand = candidates[start:start + batch_rows]
        valid = cand >= 0
        vecs = term_vecs[np.where(valid, position[np.maximum(cand, 0)], 0)]  # rows, c, d
        sims = np.einsum("rcd,rd->rc", vecs, songs[start:start + batch_rows])
        sims[~valid] = -np.inf
        best = np.argsort(-sims, axis=1, kind="stable")[:, :top_k]
        picked = np.take_along_axis(cand, best, axis=1)
        picked[np.take_along_axis(~valid, best, axis=1)] = -1
        out[start:start + len(cand), :picked.shape[1]] = picked
    return out
