"""Which faiss index for the recommender's vector search at scale: HNSW, IVF-Flat, IVF-fp16 or IVF-PQ.

Run:  .venv/bin/python benchmarks/vector_index.py [--size 1000000] [--dim 160] [--queries 1000]

The recommender's song vectors (benchmarks/_catalogue.py, unit length, inner product) at --size songs,
each index type in its own process, 2 build threads, searches one query at a time on one thread:

- HNSW (IndexHNSWFlat, M=16) with efConstruction 128 (the recommender's setting) and 40;
- HNSW over float16 codes (IndexHNSWSQ, M=16, efConstruction 128), the k songs found scored again exactly
  from the float32 vectors, as musemood's VectorIndex("hnsw") does;
- IVF-Flat (IndexIVFFlat, nlist = 4 sqrt(n), trained on 64 vectors per list);
- IVF-fp16 (IndexIVFScalarQuantizer with float16 codes, the same lists), the k songs found scored
  again exactly from the float32 vectors, as musemood's VectorIndex("ivf") does;
- IVF-PQ (IndexIVFPQ, 40 sub-quantizers of 8 bits) with exact re-ranking of 4 x k candidates
  (IndexRefineFlat), which keeps the vectors but searches compressed codes.

Reported per search setting: build seconds, resident-memory growth while building (the vectors are
already loaded), recall@10 against exact search on 200 queries, and p50/p99 latency; the peer is exact
search (NumPy) measured in the same process.  A choice needs recall@10 >= 0.95.
"""

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

K, THREADS = 10, 2
SETTINGS = {"hnsw128": (32, 64, 128, 256, 325), "hnswsq128": (32, 64, 128, 256, 325),
            "hnsw40": (64, 128, 256), "ivfflat": (16, 32, 64, 128, 256, 400, 512),
            "ivffp16": (128, 256, 400, 512),
            "ivfpq": (32, 64, 128, 256)}


def rss_mib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(kind, n, dim, n_queries):
    import faiss
    import numpy as np

    import _catalogue

    vectors, _ = _catalogue.vectors(n + n_queries, dim=dim, seed=1)
    queries, vectors = vectors[:n_queries].copy(), np.ascontiguousarray(vectors[n_queries:])

    def exact(q):
        sims = vectors @ q
        top = np.argpartition(-sims, K)[:K]
        return top[np.argsort(-sims[top])]

    truth = [set(exact(q).tolist()) for q in queries[:200]]
    faiss.omp_set_num_threads(THREADS)
    before, started = rss_mib(), time.perf_counter()
    if kind.startswith("hnsw"):
        if kind.startswith("hnswsq"):
            index = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_fp16, 16, faiss.METRIC_INNER_PRODUCT)
        else:
            index = faiss.IndexHNSWFlat(dim, 16, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = int(kind.removeprefix("hnswsq").removeprefix("hnsw"))
        index.add(vectors)

        def params(value):
            return faiss.SearchParametersHNSW(efSearch=value)
    else:
        nlist = int(4 * np.sqrt(n))
        quantizer = faiss.IndexFlatIP(dim)
        if kind == "ivfflat":
            index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        elif kind == "ivffp16":
            index = faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist, faiss.ScalarQuantizer.QT_fp16,
                                                  faiss.METRIC_INNER_PRODUCT)
        else:
            index = faiss.IndexRefineFlat(faiss.IndexIVFPQ(quantizer, dim, nlist, 40, 8, faiss.METRIC_INNER_PRODUCT))
            index.k_factor = 4
        sample = vectors[np.random.default_rng(0).choice(n, min(n, 64 * nlist), replace=False)]
        index.train(sample)
        index.add(vectors)

        def params(value):
            inner = faiss.SearchParametersIVF(nprobe=value)
            return faiss.IndexRefineSearchParameters(k_factor=4, base_index_params=inner) if kind == "ivfpq" \
                else inner
    build = time.perf_counter() - started
    memory = rss_mib() - before
    faiss.omp_set_num_threads(1)
    rows = []
    exact_lat = []
    for q in queries[:200]:
        t = time.perf_counter()
        exact(q)
        exact_lat.append(time.perf_counter() - t)
    for value in SETTINGS[kind]:
        p = params(value)
        for q in queries[:20]:
            index.search(q[None, :], K, params=p)
        lat, found = [], []
        for q in queries:
            t = time.perf_counter()
            _, ids = index.search(q[None, :], K, params=p)
            if kind in ("ivffp16", "hnswsq128"):  # the exact score of the k found, in the timing
                ids = ids[:, np.argsort(-(vectors[ids[0]] @ q))]
            lat.append(time.perf_counter() - t)
            found.append(ids[0])
        recall = float(np.mean([len(truth[i] & set(found[i].tolist())) / K for i in range(len(truth))]))
        ms = np.asarray(lat) * 1000
        rows.append({"kind": kind, "n": n, "setting": value, "build_s": build, "memory_mib": memory,
                     "recall": recall, "p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
                     "exact_p50_ms": float(np.percentile(np.asarray(exact_lat) * 1000, 50))})
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=160)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--kinds", default="ivfflat,ivffp16,ivfpq,hnsw40,hnsw128")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run(args.child, args.size, args.dim, args.queries)))
        return
    rows = []
    for kind in args.kinds.split(","):
        out = subprocess.run([sys.executable, __file__, "--child", kind, "--size", str(args.size), "--dim",
                              str(args.dim), "--queries", str(args.queries)], capture_output=True, text=True,
                             check=True)
        rows += json.loads(out.stdout.strip().splitlines()[-1])
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    names = {"hnsw128": "HNSW, efConstruction 128", "hnsw40": "HNSW, efConstruction 40", "ivfflat": "IVF-Flat",
             "hnswsq128": "HNSW-fp16 + exact score, efConstruction 128",
             "ivffp16": "IVF-fp16 + exact score", "ivfpq": "IVF-PQ + exact re-rank"}
    print(f"\nfaiss indexes, {args.size:,} unit vectors of {args.dim} dimensions, {THREADS} build threads, 1 query "
          f"thread; {platform.processor() or platform.machine()}\n")
    print("| index | search setting | build (s) | memory growth (MiB) | recall@10 | p50 (ms) | p99 (ms) | "
          "exact p50 (ms) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        setting = ("efSearch " if r["kind"].startswith("hnsw") else "nprobe ") + str(r["setting"])
        print(f"| {names[r['kind']]} | {setting} | {r['build_s']:.0f} | {r['memory_mib']:.0f} | {r['recall']:.3f} | "
              f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['exact_p50_ms']:.1f} |")


if __name__ == "__main__":
    main()
