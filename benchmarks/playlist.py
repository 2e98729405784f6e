"""Continuing a playlist: recommend(songs=[...]) against asking for each song alone and interleaving.

Run:  .venv/bin/python benchmarks/playlist.py [--n-songs 2000] [--sizes 2,3,5] [--playlists 200] [--encoder PATH]
          [--scale 100000] [--scale-sizes 1,5,20,100]

On the demo corpus (each song has a latent mood and a theme the recommender never sees), a recommender is
fitted with the packaged all-MiniLM-L6-v2 (no training: the demo recommender that ``recommend()`` builds
when none is saved).  A playlist is ``size`` songs drawn from one theme and mood (a group of at least 10
songs); its continuation is scored by the share of its ten songs that have the playlist's theme and
mood (the playlist's own songs never count).  Three ways to continue it:

- the playlist's first song alone (``recommend(title)``, the playlist's other songs left out);
- the peer, what an app does without ``songs=``: each song's own ten recommendations interleaved (the
  first of each, then the second of each, ...), each song once, the playlist's songs left out;
- ``recommend(songs=playlist)``: one query, the songs' keywords together and the mean of their vectors.

Prints the share (mean and standard error over the playlists) and the milliseconds per playlist of each,
and ``songs=``'s share over the peer's.  Then what ``songs=`` costs on a large catalogue: on
``benchmarks/recommend.py``'s synthetic catalogue of ``--scale`` songs (its recommender: vectors given,
exact or IVF vector search, fixed weights, no map), the mean time of ``recommend(songs=...)`` for 20
random playlists of each of ``--scale-sizes`` songs (``--scale 0`` skips it).
"""

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-songs", type=int, default=2000, help="demo corpus size (2000)")
    parser.add_argument("--sizes", default="2,3,5", help="songs per playlist (2,3,5)")
    parser.add_argument("--playlists", type=int, default=200, help="playlists per size (200)")
    parser.add_argument("--encoder", default=None, help="encoder (default: the packaged all-MiniLM-L6-v2)")
    parser.add_argument("--scale", type=int, default=100_000, help="synthetic songs to time songs= on (0: none)")
    parser.add_argument("--scale-sizes", default="1,5,20,100", help="songs per timed playlist (1,5,20,100)")
    args = parser.parse_args()
    quality(args)
    if args.scale:
        latency(args.scale, [int(s) for s in args.scale_sizes.split(",")])


def latency(n, sizes, queries=20):
    """Mean milliseconds of ``recommend(songs=...)`` on ``n`` synthetic songs, per playlist size."""
    import pandas as pd

    import _catalogue
    from musemood.recommender import Recommender

    cat = _catalogue.catalogue(n)
    df = pd.DataFrame({"title": cat["title"], "artist": cat["artist"], "label": cat["mood"], "lyrics": cat["lyrics"]})
    rec = Recommender(song_map=None, n_embedding_keywords=0, weights={"lexical": 0.3, "cluster": 0.0})
    rec.fit(df, None, vectors=cat.pop("vectors"))
    rng = np.random.default_rng(0)
    print("\n| songs in the catalogue | songs in the playlist | recommend(songs=) mean (ms) | keywords asked |")
    print("|---|---|---|---|")
    for size in sizes:
        playlists = [[(df.at[r, "title"], df.at[r, "artist"]) for r in rng.choice(n, size, replace=False)]
                     for _ in range(queries + 1)]
        rec.recommend(songs=playlists[0], top_k=10)  # the first query pays for the loops' compilation
        terms = np.mean([len(rec.retriever_.songs_query([rec.find(t, a)[0] for t, a in playlist])["terms"])
                         for playlist in playlists[1:]])  # counted before the clock starts, not inside it
        started = time.perf_counter()
        for playlist in playlists[1:]:
            rec.recommend(songs=playlist, top_k=10)
        seconds = (time.perf_counter() - started) / queries
        print(f"| {n:,} | {size} | {1000 * seconds:.1f} | {terms:.0f} |")


def quality(args):
    """The table of shares: the three ways to continue a playlist on the demo corpus."""
    from musemood.datasets import drop_duplicate_songs, load_demo
    from musemood.recommender import Recommender

    df = drop_duplicate_songs(load_demo(args.n_songs, random_state=0)).reset_index(drop=True)
    started = time.perf_counter()
    from musemood.encoders import BertEncoder

    rec = Recommender(max_length=128).fit(df, BertEncoder(args.encoder, max_length=128))
    print(f"recommender fitted on {len(df):,} demo songs in {time.perf_counter() - started:.0f} s "
          f"({platform.processor() or platform.machine()}, Python {platform.python_version()})", file=sys.stderr)
    group = (df["theme"] + " / " + df["latent_mood"]).to_numpy()
    groups = {name: np.flatnonzero(group == name) for name in np.unique(group) if (group == name).sum() >= 10}
    row_of = {(t, a): i for i, (t, a) in enumerate(zip(df["title"], df["artist"]))}

    def share(pairs, target):
        return np.mean([group[row_of[p]] == target for p in pairs]) if pairs else 0.0

    def first_alone(pairs):  # the playlist's other songs left out too
        out = rec.recommend(pairs[0][0], 10 + len(pairs), artist=pairs[0][1], as_frame=False)["results"]
        return [p for p in ((r["title"], r["artist"]) for r in out) if p not in pairs][:10]

    def interleaved(pairs):
        lists = [[(r["title"], r["artist"]) for r in rec.recommend(t, 10, artist=a, as_frame=False)["results"]]
                 for t, a in pairs]
        seen, out = set(pairs), []
        for rank in range(10):
            for found in lists:
                if rank < len(found) and found[rank] not in seen:
                    seen.add(found[rank])
                    out.append(found[rank])
        return out[:10]

    def together(pairs):
        return [(r["title"], r["artist"]) for r in rec.recommend(songs=pairs, top_k=10, as_frame=False)["results"]]

    ways = {"the first song alone": first_alone, "each song alone, interleaved (peer)": interleaved,
            "recommend(songs=playlist)": together}
    rng = np.random.default_rng(0)
    names = sorted(groups)
    print(f"\n{len(names)} theme / mood groups of 10 songs or more; {args.playlists} playlists per size\n")
    print("| songs in the playlist | way | share of the ten with the playlist's theme and mood | ms per playlist |")
    print("|---|---|---|---|")
    ratios = []
    for size in (int(s) for s in args.sizes.split(",")):
        playlists = []
        for _ in range(args.playlists):
            target = names[rng.integers(len(names))]
            rows = rng.choice(groups[target], size, replace=False)
            playlists.append((target, [(df.at[r, "title"], df.at[r, "artist"]) for r in rows]))
        means = {}
        for way, answer in ways.items():
            shares, seconds = [], 0.0
            for target, pairs in playlists:
                started = time.perf_counter()
                found = answer(pairs)
                seconds += time.perf_counter() - started
                assert not set(found) & set(pairs)
                shares.append(share(found, target))
            means[way] = np.mean(shares)
            print(f"| {size} | {way} | {means[way]:.3f} ± {np.std(shares) / np.sqrt(len(shares)):.3f} | "
                  f"{1000 * seconds / len(playlists):.1f} |")
        ratios.append((size, means["recommend(songs=playlist)"] / means["each song alone, interleaved (peer)"]))
    print()
    for size, ratio in ratios:
        print(f"- {size} songs: recommend(songs=) shares the playlist's theme and mood {ratio:.2f} times as often "
              "as the peer")


if __name__ == "__main__":
    main()
