"""Approximate nearest-neighbour libraries on this machine: faiss-cpu, hnswlib and usearch vs exact search.

Run:  .venv/bin/python benchmarks/ann.py [--sizes 100000,1000000] [--dim 160]

All three build an HNSW graph (M=16, ef_construction=128, inner product on unit vectors) over the same synthetic song
vectors (benchmarks/_catalogue.py) with 2 threads, then searches with ef_search 32, 64, 128 and 256.
Each contender runs in its own process.  Reported: build seconds, index memory (resident-set growth
while building), single-query latency p50/p99 over 1,000 held-out queries, and recall@10 against
exact search (NumPy matrix-vector product + argpartition, also timed).  Needs the bench extra:
pip install faiss-cpu hnswlib usearch.
"""

import argparse
import importlib.util
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

M, EF_CONSTRUCTION, K, THREADS = 16, 128, 10, 2
EF_SEARCH = (32, 64, 128, 256)
MODULES = {"faiss": "faiss", "hnswlib": "hnswlib", "usearch": "usearch"}  # contender -> the module it needs


def missing(contenders):
    """The contenders whose library is not installed here (``exact`` needs only NumPy)."""
    return [c for c in contenders if c in MODULES and importlib.util.find_spec(MODULES[c]) is None]


def rss_mib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def saved_mib(contender, index):
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "index")
        if contender == "faiss":
            import faiss

            faiss.write_index(index, path)
        elif contender == "hnswlib":
            index.save_index(path)
        else:
            index.save(path)
        return os.path.getsize(path) / 2**20


def exact_top(vectors, query, k):
    import numpy as np

    sims = vectors @ query
    top = np.argpartition(-sims, k)[:k]
    return top[np.argsort(-sims[top])]


def run(contender, n, dim, n_queries):
    import numpy as np

    import _catalogue

    vectors, _ = _catalogue.vectors(n + n_queries, dim=dim, seed=1)
    queries, vectors = vectors[:n_queries].copy(), np.ascontiguousarray(vectors[n_queries:])
    truth = np.stack([exact_top(vectors, q, K) for q in queries[:200]])
    before = rss_mib()
    started = time.perf_counter()
    if contender == "exact":
        search = lambda q, ef: exact_top(vectors, q, K)  # noqa: E731
    elif contender == "faiss":
        import faiss

        faiss.omp_set_num_threads(THREADS)
        index = faiss.IndexHNSWFlat(dim, M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = EF_CONSTRUCTION
        index.add(vectors)
        faiss.omp_set_num_threads(1)
        search = lambda q, ef: index.search(q[None, :], K, params=faiss.SearchParametersHNSW(efSearch=ef))[1][0]  # noqa: E731,E501
    elif contender == "hnswlib":
        import hnswlib

        index = hnswlib.Index(space="ip", dim=dim)
        index.init_index(max_elements=n, M=M, ef_construction=EF_CONSTRUCTION, random_seed=0)
        index.add_items(vectors, num_threads=THREADS)
        index.set_num_threads(1)

        def search(q, ef):
            index.set_ef(ef)
            return index.knn_query(q, k=K)[0][0]
    elif contender == "usearch":
        from usearch.index import Index

        index = Index(ndim=dim, metric="ip", dtype="f32", connectivity=M, expansion_add=EF_CONSTRUCTION)
        index.add(np.arange(n), vectors, threads=THREADS)

        def search(q, ef):
            index.expansion_search = ef
            return index.search(q, K).keys
    else:
        raise ValueError(contender)
    build = time.perf_counter() - started
    memory = rss_mib() - before
    size = saved_mib(contender, index) if contender != "exact" else 0.0
    rows = []
    for ef in (EF_SEARCH if contender != "exact" else (0,)):
        for q in queries[:20]:  # warm-up
            search(q, ef)
        latencies = []
        for q in queries:
            t = time.perf_counter()
            search(q, ef)
            latencies.append(time.perf_counter() - t)
        found = [np.asarray(search(q, ef)) for q in queries[:200]]
        recall = np.mean([len(set(f.tolist()) & set(t.tolist())) / K for f, t in zip(found, truth)])
        lat = np.asarray(latencies) * 1000
        rows.append({"contender": contender, "n": n, "ef_search": ef, "build_s": build, "index_mib": memory,
                     "file_mib": size, "p50_ms": float(np.percentile(lat, 50)), "p99_ms": float(np.percentile(lat, 99)),
                     "recall_at_10": float(recall)})
    return rows


def speed(exact_ms, ms):
    """How much faster (or slower) than exact search a query is: "16x faster", "2.5x slower"."""
    ratio = exact_ms / ms
    if ratio < 1:
        return f"{1 / ratio:.2g}x slower"
    return f"{ratio:.0f}x faster" if ratio >= 1.5 else f"{ratio:.2g}x faster"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--dim", type=int, default=160)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--contenders", default="exact,faiss,hnswlib,usearch")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run(args.child, args.n, args.dim, args.queries)))
        return
    contenders = args.contenders.split(",")
    unknown = [c for c in contenders if c != "exact" and c not in MODULES]
    if unknown:
        parser.error(f"unknown --contenders {', '.join(unknown)}: choose among exact, {', '.join(MODULES)}")
    absent = missing(contenders)
    if absent:
        print(f"skipping {', '.join(absent)}: not installed here (pip install -e '.[bench]' installs hnswlib and "
              "usearch; faiss-cpu is a dependency of musemood)", file=sys.stderr)
        contenders = [c for c in contenders if c not in absent]
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        for contender in contenders:
            out = subprocess.run([sys.executable, __file__, "--child", contender, "--n", str(n),
                                  "--dim", str(args.dim), "--queries", str(args.queries)],
                                 capture_output=True, text=True, check=True)
            rows += json.loads(out.stdout.strip().splitlines()[-1])
            print(out.stdout.strip().splitlines()[-1], file=sys.stderr, flush=True)
    print(f"\nANN libraries, {args.dim}-d unit vectors, HNSW M={M} efC={EF_CONSTRUCTION}, "
          f"{THREADS} build threads, 1 query thread; {platform.processor() or platform.machine()}\n")
    print("| songs | library | ef_search | build (s) | memory growth (MiB) | index file (MiB) | p50 (ms) | p99 (ms) | "
          "recall@10 | p50 vs exact |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        exact = next(e for e in rows if e["n"] == r["n"] and e["contender"] == "exact")
        print(f"| {r['n']:,} | {r['contender']} | {r['ef_search'] or '-'} | {r['build_s']:.1f} | "
              f"{r['index_mib']:.0f} | {r['file_mib']:.0f} | "
              f"{r['p50_ms']:.3f} | {r['p99_ms']:.3f} | {r['recall_at_10']:.3f} | "
              + ("peer |" if r["contender"] == "exact" else f"{speed(exact['p50_ms'], r['p50_ms'])} |"))
    print("\nSmallest ef_search with recall@10 >= 0.95, per library and size:")
    for n in sorted({r["n"] for r in rows}):
        for name in dict.fromkeys(r["contender"] for r in rows if r["contender"] != "exact"):
            ok = [r for r in rows if r["n"] == n and r["contender"] == name and r["recall_at_10"] >= 0.95]
            best = min(ok, key=lambda r: r["ef_search"]) if ok else None
            print(f"- {n:,} {name}: " + (f"ef {best['ef_search']}, p50 {best['p50_ms']:.3f} ms" if best
                                         else "none of the tried values"))


if __name__ == "__main__":
    main()
