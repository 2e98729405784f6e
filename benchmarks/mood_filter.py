"""recommend(..., mood=...) at scale: the mood filter inside the vector index against filtering after it.

Run:  .venv/bin/python benchmarks/mood_filter.py --cache DIR [--sizes 1000000] [--backend hnsw] [--queries 200]

Uses the recommender folders that benchmarks/serve.py --cache DIR built (DIR/SIZE-BACKEND/rec: the
synthetic catalogue of benchmarks/_catalogue.py, whose four moods follow the song vectors in part).
For each mood and for no mood, ``recommend(title, 10, artist=..., mood=...)`` of the same catalogue
songs, three ways in one process:

- musemood's search (``VectorIndex.search``): the unfiltered search's songs that pass the mood if
  there are enough of them, else faiss's search with the filter applied inside it (an ID selector),
  else an exact search of the mood's songs;
- the peer, the search before (kept here): fetch ``1.5 x k / share + 10`` songs unfiltered, keep those
  of the mood, and search the mood's songs exactly when fewer than k remain;
- exact vector search (NumPy over all the vectors), the reference for quality: the share of each
  answer's ten songs that the exact search's answer also holds.

Each query is answered exactly, then by the two searches in turn (which goes first alternates), each
timed on its second call, so both see the same pages read and the same drift of the machine.  Prints
p50, mean and p99 latency, that overlap, and the peer's mean over musemood's.
"""

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _server import cached_folder  # noqa: E402


def postfilter_search(index, query, top_k=10, *, mask=None):
    """VectorIndex.search before 2026-11-25: filter the unfiltered search's songs afterwards."""
    from musemood.retrieval._vector import _exact

    query = np.asarray(query, dtype=np.float32).ravel()
    n = len(index.vectors_)
    k = min(top_k, n if mask is None else int(mask.sum()))
    if k <= 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    share = 1.0 if mask is None else max(float(mask.mean()), 1e-9)
    fetch = int(min(n, np.ceil(k / share * 1.5) + 10))
    if fetch <= max(4 * k, 2000):
        ids, sims = index._ann(query, fetch)
        if mask is not None:
            keep = mask[ids]
            ids, sims = ids[keep], sims[keep]
        if len(ids) >= k:
            return ids[:k], sims[:k]
    subset = np.flatnonzero(mask) if mask is not None else np.arange(n)
    ids, sims = _exact(index.vectors_[subset], query, k)
    return subset[ids], sims


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, required=True, help="the --cache folder of benchmarks/serve.py")
    parser.add_argument("--sizes", default="1000000")
    parser.add_argument("--backend", default="hnsw", choices=["auto", "ivf", "hnsw"])
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()

    from musemood.retrieval import VectorIndex
    from musemood.serve import load_parts

    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        folder = cached_folder(args.cache, n, args.backend)
        rec, _ = load_parts(folder / "rec", None)
        rec.retriever_.warm_up()
        index = rec.retriever_.index
        queries = json.loads((folder / "items.json").read_text())[0][:args.queries]
        ours = VectorIndex.search

        def answer(how, mood, title, artist):
            VectorIndex.search = {"musemood": ours, "peer": postfilter_search, "exact": ours}[how]
            backend = index.backend_
            if how == "exact":
                index.backend_ = "exact"
            try:
                start = time.perf_counter()
                result = rec.recommend(title, 10, artist=artist, mood=mood, as_frame=False)
                took = time.perf_counter() - start
            finally:
                VectorIndex.search, index.backend_ = ours, backend
            return {(r["title"], r["artist"]) for r in result["results"]}, took * 1e3

        for mood in [None, *rec.catalogue_.mood_names_]:
            got = {"musemood": ([], []), "peer": ([], [])}
            for i, (title, artist) in enumerate(queries):  # the two alternate, so drift falls on both alike
                reference, _ = answer("exact", mood, title, artist)
                for how in ("musemood", "peer") if i % 2 else ("peer", "musemood"):
                    answer(how, mood, title, artist)  # the query's pages read once, for both
                    songs, took = answer(how, mood, title, artist)
                    got[how][0].append(len(songs & reference) / max(len(reference), 1))
                    got[how][1].append(took)
            for how, (overlaps, times) in got.items():
                times = np.asarray(times)
                rows.append({"n": n, "mood": mood or "(none)", "how": how, "overlap": float(np.mean(overlaps)),
                             "p50": np.median(times), "mean": times.mean(), "p99": np.percentile(times, 99)})
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print(f"\nrecommend(title, 10, artist, mood), {args.backend} vector search, {args.queries} catalogue songs; "
          f"{platform.processor() or platform.machine()}\n")
    print("| songs | mood | search | top-10 overlap with exact | p50 (ms) | mean (ms) | p99 (ms) "
          "| peer mean / musemood mean |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        peer = next(p for p in rows if p["n"] == r["n"] and p["mood"] == r["mood"] and p["how"] == "peer")
        ratio = f"{peer['mean'] / r['mean']:.2f}" if r["how"] == "musemood" else ""
        how = "musemood (filter in the index)" if r["how"] == "musemood" else "peer (filter afterwards)"
        print(f"| {r['n']:,} | {r['mood']} | {how} | {r['overlap']:.3f} | {r['p50']:.2f} | {r['mean']:.2f} "
              f"| {r['p99']:.1f} | {ratio} |")


if __name__ == "__main__":
    main()
