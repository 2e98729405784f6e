"""Memory of `musemood serve` with its workers mapping the recommender's arrays, against reading them.

Run:  .venv/bin/python benchmarks/serve_memory.py [--sizes 1000000] [--workers 1,2,4] [--requests 2000]
                                                 [--backend auto] [--cache DIR]

For each catalogue size: the synthetic catalogue, recommender and mood model of benchmarks/serve.py
(built once, or reused from ``--cache``, the same folders serve.py uses).  Then for each number of
workers, `musemood serve --workers N` twice on the same folders: mapping the large arrays from their
files (the default) and reading them into each worker (``--no-mmap``, the peer).  Each server is
started alone, sent ``--requests`` recommendations (catalogue songs drawn at random, four clients)
and 20 predictions, then measured: the proportional set size (PSS, from
/proc/PID/smaps_rollup) summed over the server's processes, which counts a page shared by k
processes as 1/k in each, so the sum is the memory the server takes; the workers' and the parent's
share; the seconds from start to the first answer of /health.  Linux only.
"""

import argparse
import json
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _server import running_server  # noqa: E402


def pss_mib(pid):
    """PSS of ``pid`` in MiB (0 when it has gone)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            children = []
        out += [int(c) for c in children]
        todo += [int(c) for c in children]
    return out


def measure(folder, workers, mmap, queries, texts, requests):
    import httpx

    with running_server(folder, workers=workers, mmap=mmap) as (server, base, startup):
        def ask(chunk):
            with httpx.Client(base_url=base, timeout=60) as client:
                for title, artist in chunk:
                    client.get("/recommend", params={"title": title, "artist": artist, "top_k": 10}).raise_for_status()
                for text in texts[:5]:
                    client.post("/predict", json={"texts": [text]}).raise_for_status()

        asked = queries[:requests]
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(ask, [asked[i::4] for i in range(4)]))
        others = descendants(server.pid)
        children = [pid for pid in others if "spawn_main" in _cmdline(pid)] or [server.pid]  # 1 worker: itself
        parent = sum(pss_mib(p) for p in [server.pid, *others] if p not in children)
        per_worker = [pss_mib(p) for p in children]
        return {"workers": workers, "mmap": mmap, "startup": startup, "total": parent + sum(per_worker),
                "parent": parent, "per_worker": per_worker}


def _cmdline(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--requests", type=int, default=2000, help="recommendations sent before measuring")
    parser.add_argument("--backend", default="auto", choices=["auto", "exact", "ivf", "hnsw"])
    parser.add_argument("--cache", type=Path, help="keep what is built here and reuse it (as serve.py's --cache)")
    args = parser.parse_args()
    if not Path("/proc/self/smaps_rollup").exists():
        raise SystemExit("this benchmark reads /proc/PID/smaps_rollup: Linux only")
    from serve import build

    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            folder = args.cache / f"{n}-{args.backend}" if args.cache else Path(tmp)
            if (folder / "items.json").exists():
                queries, texts = json.loads((folder / "items.json").read_text())
            else:
                queries, texts = build(n, folder, args.backend)
                (folder / "items.json").write_text(json.dumps([queries, texts]))
            mapped_files = sum(f.stat().st_size for f in (folder / "rec").rglob("*")
                               if f.suffix in (".npy", ".npz", ".faiss", ".arrow")) / 2**20
            for workers in (int(w) for w in args.workers.split(",")):
                for mmap in (True, False):
                    row = measure(folder, workers, mmap, [tuple(q) for q in queries], texts, args.requests)
                    rows.append({"n": n, "files": mapped_files, **row})
                    print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print(f"\nmusemood serve, {args.backend} vector search; memory after {args.requests} recommendations and "
          "20 predictions (PSS summed over the server's processes)\n")
    print("| songs | mapped files (MiB) | workers | arrays | start (s) | total PSS (MiB) | each worker (MiB) | "
          "parent (MiB) | mapped / read |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        read = next(r for r in rows if r["n"] == row["n"] and r["workers"] == row["workers"] and not r["mmap"])
        workers = ", ".join(f"{w:.0f}" for w in row["per_worker"])
        print(f"| {row['n']:,} | {row['files']:.0f} | {row['workers']} | {'mapped' if row['mmap'] else 'read'} | "
              f"{row['startup']:.1f} | {row['total']:.0f} | {workers} | {row['parent']:.0f} | "
              f"{row['total'] / read['total']:.2f} |")


if __name__ == "__main__":
    main()
