"""Fuzzy song lookup at scale: the trigram index's candidates against rapidfuzz over every song.

Run:  .venv/bin/python benchmarks/song_search.py [--sizes 100000,1000000] [--queries 200]

For each catalogue size: titles of one to four words and artists of one to three, drawn with Zipf
weights from the words of the demo corpus's phrase bank (938 English words: titles repeat, as real
ones do), fitted into a :class:`SongCatalogue`.  Above ``FUZZY_INDEX_ABOVE`` songs it builds a
:class:`~musemood.retrieval.TrigramIndex`; the peer, measured in the same run on the same catalogue, is
the same catalogue with the index taken away, so every lookup scores every song (rapidfuzz, as below
that size).  Queries, drawn from catalogue songs (seed 0):

- ``typing``: the first 3 to 12 characters of a title, as typed into the map page's search box
  (``search``, i.e. ``GET /songs?q=``);
- ``typo``: a title with one letter dropped or changed (``search``);
- ``title artist``: a song's title and artist with one typo (``search``);
- ``unknown title``: a typo'd title looked up as ``recommend`` does (``find``: the closest title
  above ``min_title_score``, else the 404's suggestions).

For each: p50 and p99 latency of both, and how often the index gives the same answer: for ``search``
the share of queries whose matches scoring 80 or more in the full scan come back with the same scores
(songs with equal scores may swap), and the share with the same best score; for ``find`` the share
with the same outcome (the same song found, or the same error), and the share with also the same
first suggestion.
"""

import argparse
import re
import time

import numpy as np
import pandas as pd


def vocabulary():
    from musemood.datasets import _phrases

    words = set()
    for value in vars(_phrases).values():
        values = value.values() if isinstance(value, dict) else [value]
        for group in values:
            if isinstance(group, (tuple, list)):
                for item in group:
                    if isinstance(item, str):
                        words.update(re.findall(r"[a-z]+", item.lower()))
    return np.array(sorted(words))


def songs(n, seed=0):
    rng = np.random.default_rng(seed)
    words = vocabulary()
    weights = 1 / np.arange(1, len(words) + 1) ** 0.8
    weights = rng.permutation(weights / weights.sum())

    def names(low, high):
        lengths = rng.integers(low, high + 1, size=n)
        drawn = rng.choice(words, size=(n, high), p=weights)
        return [" ".join(row[:k]).title() for row, k in zip(drawn, lengths)]

    return pd.DataFrame({"title": names(1, 4), "artist": names(1, 3)})


def typo(text, rng):
    i = int(rng.integers(len(text)))
    if rng.random() < 0.5 and len(text) > 3:
        return text[:i] + text[i + 1:]
    return text[:i] + "abcdefghijklmnopqrstuvwxyz"[int(rng.integers(26))] + text[i + 1:]


def queries(df, count, seed=0):
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(df), size=count, replace=False)
    titles, artists = df["title"].to_numpy()[rows], df["artist"].to_numpy()[rows]
    return {
        "typing": [t[:int(rng.integers(3, 13))] for t in titles],
        "typo": [typo(t, rng) for t in titles],
        "title artist": [typo(f"{t} {a}", rng) for t, a in zip(titles, artists)],
        "unknown title": [typo(t, rng) for t in titles],
    }


def answer(catalogue, kind, query):
    from musemood.catalogue import AmbiguousTitleError, SongNotFoundError

    if kind != "unknown title":
        return catalogue.search(query, 10)["score"].tolist()
    try:
        return ("found", catalogue.find(query)[0])
    except SongNotFoundError as exc:
        return ("not found", exc.suggestions[:1])
    except AmbiguousTitleError as exc:
        return ("ambiguous", exc.artists)


def agree(kind, full, fast):
    if kind == "unknown title":  # the same outcome (and song, when found); then also the same suggestion
        same = full[0] == fast[0] and (full[0] != "found" or full[1] == fast[1])
        return same, full == fast
    close = [s for s in full if s >= 80]
    return fast[:len(close)] == close, bool(full) and bool(fast) and fast[0] == full[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    import logging

    from musemood.catalogue import FUZZY_INDEX_ABOVE, SongCatalogue

    logging.getLogger("musemood.catalogue").setLevel(logging.ERROR)  # "using the closest title" per query
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        df = songs(n)
        started = time.perf_counter()
        indexed = SongCatalogue().fit(df)
        fit_seconds = time.perf_counter() - started
        if indexed.search_index_ is None:
            raise SystemExit(f"{n:,} songs is not above FUZZY_INDEX_ABOVE ({FUZZY_INDEX_ABOVE:,}): nothing to compare")
        started = time.perf_counter()
        from musemood.retrieval import TrigramIndex

        TrigramIndex().build(f"{t} {a}" for t, a in zip(indexed._folded_titles(), indexed._folded_artists()))
        build_seconds = time.perf_counter() - started
        postings = indexed.search_index_.lexical.postings_
        index_mib = (postings.data.nbytes + postings.indices.nbytes + postings.indptr.nbytes) / 2**20
        scanned = SongCatalogue().fit(df)
        scanned.search_index_ = None  # the peer: every lookup scores every song
        for kind, items in queries(df, args.queries).items():
            times = {"full": [], "index": []}
            same, best = [], []
            for query in items:
                out = {}
                for name, catalogue in (("full", scanned), ("index", indexed)):
                    started = time.perf_counter()
                    out[name] = answer(catalogue, kind, query)
                    times[name].append(time.perf_counter() - started)
                s, b = agree(kind, out["full"], out["index"])
                same.append(s)
                best.append(b)
            full, fast = (np.asarray(times[k]) * 1000 for k in ("full", "index"))
            rows.append({"n": n, "kind": kind, "full": (np.median(full), np.percentile(full, 99)),
                         "index": (np.median(fast), np.percentile(fast, 99)), "same": np.mean(same),
                         "best": np.mean(best), "build": build_seconds, "fit": fit_seconds, "mib": index_mib})
            print(rows[-1], flush=True)
    print(f"\nFuzzy song lookup, {args.queries} queries of each kind; full scan = rapidfuzz over every song\n")
    print("| songs | index build (s) | index (MiB) | queries | full scan p50 (ms) | p99 (ms) | index p50 (ms) | "
          "p99 (ms) | full p50 / index p50 | same good matches (find: outcome) | same best (find: suggestion) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['n']:,} | {r['build']:.1f} | {r['mib']:.0f} | {r['kind']} | {r['full'][0]:.1f} | "
              f"{r['full'][1]:.1f} | {r['index'][0]:.1f} | {r['index'][1]:.1f} | {r['full'][0] / r['index'][0]:.0f}x | "
              f"{r['same']:.1%} | {r['best']:.1%} |")


if __name__ == "__main__":
    main()
