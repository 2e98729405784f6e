"""recommend() at scale: latency on a warm recommender with 100k and 1M synthetic songs vs exact NumPy search.

Run:  .venv/bin/python benchmarks/recommend.py [--sizes 100000,1000000] [--queries 300] [--map-size 100000,1000000]

For each size, in its own process: build a synthetic catalogue (benchmarks/_catalogue.py: 160-d
song vectors, 80-word lyrics over a 30k-word Zipf vocabulary), fit a Recommender on it with the
vectors given (no encoder: embedding songs is the encoder benchmark's business), fixed rerank
weights (no tuning) and no song map, and report index build time, resident-memory growth (after the
build, and at its peak, sampled every 20 ms) and size on disk.  Then time recommend(title, top_k=10)
for random catalogue songs (title lookup, keywords, lexical candidates, vector-index candidates,
rerank, result table) and, as the peer, exact
brute-force search of the same song's top 10 by a NumPy matrix-vector product + argpartition.
Also the recall@10 of the recommender's vector search against that exact search.  --map-size
times SongMap (UMAP to 10-d + the KMeans k sweep) on that many songs (each size in its own process).
"""

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def rss_mib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def dir_mib(path):
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file()) / 2**20


def run_size(n, n_queries):
    import numpy as np
    import pandas as pd

    import _catalogue
    from musemood.recommender import Recommender

    started = time.perf_counter()
    cat = _catalogue.catalogue(n)
    df = pd.DataFrame({"title": cat["title"], "artist": cat["artist"], "label": cat["mood"], "lyrics": cat["lyrics"]})
    vectors = cat.pop("vectors")
    generate = time.perf_counter() - started
    before = rss_mib()
    peak, building = [before], threading.Event()

    def watch():  # the build's peak, sampled every 20 ms
        while not building.is_set():
            peak[0] = max(peak[0], rss_mib())
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started = time.perf_counter()
    rec = Recommender(song_map=None, n_embedding_keywords=0, weights={"lexical": 0.3, "cluster": 0.0})
    rec.fit(df, None, vectors=vectors)
    build = time.perf_counter() - started
    building.set()
    watcher.join()
    memory = rss_mib() - before
    with tempfile.TemporaryDirectory() as tmp:
        rec.save(Path(tmp) / "rec", include_model=False)
        disk = dir_mib(Path(tmp) / "rec")
    del df
    rng = np.random.default_rng(0)
    songs = rng.choice(n, n_queries + 20, replace=False)
    titles = [str(t) for t in cat["title"][songs]]
    for t in titles[:20]:  # warm-up
        rec.recommend(t, 10)
    ours, exact, recall = [], [], []
    V = rec.vectors_
    for song, title in zip(songs[20:], titles[20:]):
        t = time.perf_counter()
        rec.recommend(title, 10)
        ours.append(time.perf_counter() - t)
        q = V[song]
        t = time.perf_counter()
        sims = V @ q
        top = np.argpartition(-sims, 11)[:11]
        top = top[np.argsort(-sims[top])]
        exact.append(time.perf_counter() - t)
        truth = [i for i in top if i != song][:10]
        found = [i for i in rec.index_.search(q, 11)[0] if i != song][:10]
        recall.append(len(set(truth) & set(found)) / 10)
    ours, exact = np.asarray(ours) * 1000, np.asarray(exact) * 1000
    return {"n": n, "generate_s": generate, "build_s": build, "memory_mib": memory,
            "peak_mib": max(peak[0], before + memory) - before, "disk_mib": disk,
            "backend": rec.index_.backend_, "terms": len(rec.lexical_.terms_),
            "p50_ms": float(np.percentile(ours, 50)), "p99_ms": float(np.percentile(ours, 99)),
            "exact_p50_ms": float(np.percentile(exact, 50)), "exact_p99_ms": float(np.percentile(exact, 99)),
            "recall_at_10": float(np.mean(recall))}


def run_map(n):
    import _catalogue
    from musemood.clustering import SongMap

    vectors, _ = _catalogue.vectors(n)
    started = time.perf_counter()  # numba compiles UMAP's kernels on first use: timed apart
    SongMap(k_range=(2, 4), plot_sample=300).fit(vectors[:600])
    warm_up = time.perf_counter() - started
    started = time.perf_counter()
    song_map = SongMap().fit(vectors)
    return {"n": n, "map_s": time.perf_counter() - started, "jit_s": warm_up, "k": int(song_map.n_clusters_),
            "choice": song_map.choice_, "fit_sample": int(len(song_map.sample_)),
            "sweep": f"{song_map.sweep_['k'].min()}-{song_map.sweep_['k'].max()} ({len(song_map.sweep_)} values)"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--map-size", default="100000", help="comma-separated song counts; 0 skips the map timing")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, n = args.child.split(":")
        print(json.dumps(run_size(int(n), args.queries) if kind == "size" else run_map(int(n))))
        return
    rows = []
    for n in (int(s) for s in args.sizes.split(",") if s):
        out = subprocess.run([sys.executable, __file__, "--child", f"size:{n}", "--queries", str(args.queries)],
                             capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    mapped = []
    for n in (int(s) for s in str(args.map_size).split(",") if s and int(s)):
        out = subprocess.run([sys.executable, __file__, "--child", f"map:{n}"],
                             capture_output=True, text=True, check=True)
        mapped.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps(mapped[-1]), file=sys.stderr, flush=True)
    print(f"\nrecommend(title, top_k=10) on a warm recommender, {args.queries} queries; "
          f"{platform.processor() or platform.machine()}\n")
    print("| songs | vector search | build (s) | memory growth (MiB) | peak growth (MiB) | on disk (MiB) | p50 (ms) | "
          "p99 (ms) | exact NumPy top-10 p50 (ms) | p99 (ms) | exact p50 / ours p50 | recall@10 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['n']:,} | {r['backend']} | {r['build_s']:.0f} | {r['memory_mib']:.0f} | {r['peak_mib']:.0f} | "
              f"{r['disk_mib']:.0f} | "
              f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['exact_p50_ms']:.2f} | {r['exact_p99_ms']:.2f} | "
              f"{r['exact_p50_ms'] / r['p50_ms']:.2f}x | {r['recall_at_10']:.3f} |")
    for mapped in mapped:
        print(f"\nSongMap (UMAP 10-d + KMeans k sweep {mapped['sweep']}) on {mapped['n']:,} songs: "
              f"{mapped['map_s']:.0f} s after {mapped['jit_s']:.0f} s of numba JIT warm-up "
              f"(fitted on {mapped['fit_sample']:,}, the rest transformed); k = {mapped['k']} ({mapped['choice']})")


if __name__ == "__main__":
    main()
