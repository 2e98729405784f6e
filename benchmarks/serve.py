"""recommend and predict over HTTP (musemood serve on loopback) against the same calls in process.

Run:  .venv/bin/python benchmarks/serve.py [--sizes 100000] [--clients 1,8,32] [--seconds 10]
                                          [--workers 1] [--threads N] [--backend auto] [--cache DIR]
                                          [--load python|wrk] [--neighbours]

For each catalogue size: build a synthetic catalogue (benchmarks/_catalogue.py), fit a Recommender
on its vectors (fixed rerank weights, no song map) and save it; fit a mood model (simple BERT on the
packaged encoder, 300 demo songs) and save it.  Start `musemood serve` on those folders in its own
process, then for 1, 8 and 32 concurrent clients (threads, one keep-alive httpx client each) send
GET /recommend?title=... and POST /predict {"texts": [one lyric]} for --seconds each: requests/s,
p50 and p99.  The peer, measured in the same run: the same calls in this process
(Recommender.recommend, predict_proba) with the same number of threads.  Client and server share
the machine's cores, as they would on one host.  ``--load wrk`` sends the HTTP calls with wrk (a C
load generator, ``apt install wrk``: one thread and 1, 8 or 32 keep-alive connections, the same
calls in the same order) instead of Python threads, whose clients take a large share of 2 cores
from the server at 32 clients; the in-process peer and the paired comparison stay in Python.
``--workers`` and ``--threads`` are `musemood serve`'s (processes, each with its own copy of the
recommender and the model; requests each runs at once, by default the cores divided among the
workers); ``--backend`` the vector search above 50,000 songs (``VectorIndex(backend=...)``: "auto" is
IVF, "hnsw" builds slower and searches faster).  Then one client alternates HTTP and in-process
calls of ``recommend`` on the same songs (paired differences: the drift of a shared machine
cancels).  Not of ``predict``: there both processes run torch, whose OpenMP threads spin after each
call (the default wait policy) while the other process computes, so alternating measures that
contention (10-14 ms a call on 2 cores) rather than HTTP.
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import shutil
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _server import running_server, wrk_load  # noqa: E402


def build(n, folder, backend="auto"):
    import pandas as pd

    import _catalogue
    from musemood.classifiers import SimpleBertClassifier
    from musemood.datasets import load_demo
    from musemood.recommender import Recommender
    from musemood.retrieval import VectorIndex

    cat = _catalogue.catalogue(n)
    df = pd.DataFrame({"title": cat["title"], "artist": cat["artist"], "label": cat["mood"], "lyrics": cat["lyrics"]})
    rec = Recommender(song_map=None, n_embedding_keywords=0, weights={"lexical": 0.3, "cluster": 0.0},
                      vector_index=VectorIndex(backend=backend))
    rec.fit(df, None, vectors=cat["vectors"]).save(folder / "rec", include_model=False)
    demo = load_demo(400, random_state=0)
    demo = demo[demo["label"].notna()].head(300)
    model = SimpleBertClassifier(max_length=128, epochs=30, random_state=0).fit(demo, demo["label"])
    model.save(folder / "model")
    queries = [(str(cat["title"][i]), str(cat["artist"][i])) for i in np.random.default_rng(1).choice(n, 2000)]
    texts = [str(t) for t in demo["lyrics"].head(200)]
    return queries, texts


def drive(call, items, clients, seconds):
    """Call ``call(item)`` from ``clients`` threads for ``seconds``: (calls/s, p50 ms, p99 ms)."""
    latencies, lock, stop = [], threading.Lock(), time.perf_counter() + seconds

    def worker(k):
        mine, i = [], k
        state = {}
        while time.perf_counter() < stop:
            started = time.perf_counter()
            call(items[i % len(items)], state)
            mine.append(time.perf_counter() - started)
            i += clients
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    elapsed = time.perf_counter() - started
    ms = np.asarray(latencies) * 1000
    return len(ms) / elapsed, float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def drive_paired(first, second, items, seconds):
    """One client that alternates ``first(item)`` and ``second(item)`` on the same items for ``seconds``:
    (first's p50 ms, second's p50 ms, median of first - second per item, its 95% bootstrap interval).
    Pairing call by call cancels the drift of a shared machine that separate blocks of calls pick up."""
    a, b, stop, i, state_a, state_b = [], [], time.perf_counter() + seconds, 0, {}, {}
    while time.perf_counter() < stop:
        item = items[i % len(items)]
        for call, state, out in ((first, state_a, a), (second, state_b, b)) if i % 2 else (
                (second, state_b, b), (first, state_a, a)):  # alternate which goes first
            started = time.perf_counter()
            call(item, state)
            out.append(time.perf_counter() - started)
        i += 1
    a, b = np.asarray(a) * 1000, np.asarray(b) * 1000
    diff = a - b
    boot = np.random.default_rng(0).choice(diff, (2000, len(diff)))
    low, high = np.percentile(np.median(boot, axis=1), [2.5, 97.5])
    return float(np.median(a)), float(np.median(b)), float(np.median(diff)), (float(low), float(high))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000")
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, help="musemood serve --threads (default: its own)")
    parser.add_argument("--backend", default="auto", choices=["auto", "exact", "ivf", "hnsw"])
    parser.add_argument("--cache", type=Path, help="keep what is built here and reuse it in later runs")
    parser.add_argument("--load", default="python", choices=["python", "wrk"],
                        help="what sends the HTTP calls: Python threads with httpx (default) or wrk")
    parser.add_argument("--neighbours", action="store_true",
                        help="precompute every song's vector candidates (HybridRetriever.precompute_neighbours; "
                        "with --cache, in a copy of the folder without them, its files hard-linked)")
    args = parser.parse_args()
    if args.load == "wrk" and shutil.which("wrk") is None:
        raise SystemExit("--load wrk needs wrk on the PATH (Debian: apt install wrk)")
    import httpx

    from musemood.classifiers import load_model
    from musemood.recommender import Recommender
    from musemood.serve import default_threads

    rows, paired = [], []
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            plain = args.cache / f"{n}-{args.backend}" if args.cache else Path(tmp)
            folder = plain.with_name(plain.name + "-neighbours") if args.neighbours and args.cache else plain
            started = time.perf_counter()
            if folder != plain and not folder.exists() and (plain / "items.json").exists():
                shutil.copytree(plain, folder, copy_function=os.link)  # every save replaces files: links are safe
            if (folder / "items.json").exists():
                queries, texts = json.loads((folder / "items.json").read_text())
            else:
                queries, texts = build(n, folder, args.backend)
                (folder / "items.json").write_text(json.dumps([queries, texts]))
            print(f"{n:,} songs: built in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
            if args.neighbours and not (folder / "rec" / "retriever" / "neighbours.npy").exists():
                started = time.perf_counter()
                retriever = Recommender.load(folder / "rec", mmap=True).retriever_
                retriever.precompute_neighbours(show_progress_bar=True).save_neighbours(folder / "rec" / "retriever")
                print(f"{n:,} songs: neighbours in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
            with running_server(folder, workers=args.workers, threads=args.threads) as (_, base, _startup):
                rec = Recommender.load(folder / "rec")
                model = load_model(folder / "model")

                def client_of(state):  # one keep-alive client per thread, made once
                    if "client" not in state:
                        state["client"] = httpx.Client(base_url=base, timeout=60)
                    return state["client"]

                def http_recommend(query, state):
                    client = client_of(state)
                    response = client.get("/recommend", params={"title": query[0], "artist": query[1], "top_k": 10})
                    response.raise_for_status()

                def http_predict(text, state):
                    client = client_of(state)
                    client.post("/predict", json={"texts": [text]}).raise_for_status()

                def local_recommend(query, state):
                    rec.recommend(query[0], 10, artist=query[1])

                def local_predict(text, state):
                    model.predict_proba([text])

                wrk_requests = {  # the same calls for wrk
                    "recommend": ["/recommend?" + urllib.parse.urlencode({"title": t, "artist": a, "top_k": 10})
                                  for t, a in queries],
                    "predict": [("/predict", json.dumps({"texts": [text]})) for text in texts]}
                for what, http, local, items in (("recommend", http_recommend, local_recommend, queries),
                                                  ("predict", http_predict, local_predict, texts)):
                    drive(http, items, 2, 2)  # warm both sides
                    drive(local, items, 2, 2)
                    for clients in (int(c) for c in args.clients.split(",")):
                        if args.load == "wrk":
                            h = wrk_load(base, wrk_requests[what], clients, args.seconds)[0]
                        else:
                            h = drive(http, items, clients, args.seconds)
                        p = drive(local, items, clients, args.seconds)
                        rows.append({"n": n, "what": what, "clients": clients, "http": h, "local": p})
                        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
                    if what == "recommend":  # see the module's docstring for why not predict
                        paired.append({"n": n, "what": what, "result": drive_paired(http, local, items, args.seconds)})
                        print(json.dumps(paired[-1]), file=sys.stderr, flush=True)
    threads = args.threads or f"{default_threads(args.workers)} (default)"
    load = "wrk" if args.load == "wrk" else "Python threads (httpx)"
    search = f"{args.backend} vector search" + (", precomputed song neighbours" if args.neighbours else "")
    print(f"\nmusemood serve ({args.workers} worker(s) of {threads} thread(s), {search}) on "
          f"loopback, loaded by {load}, vs the same calls in process; {args.seconds:g} s per cell; "
          f"{platform.processor() or platform.machine()}, client and server on the same cores\n")
    print("| songs | call | clients | HTTP req/s | HTTP p50 (ms) | HTTP p99 (ms) | in-process calls/s | "
          "in-process p50 (ms) | p99 (ms) | HTTP p50 - in-process p50 (ms) | HTTP req/s / in-process calls/s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        (hr, hp50, hp99), (lr, lp50, lp99) = r["http"], r["local"]
        print(f"| {r['n']:,} | {r['what']} | {r['clients']} | {hr:.0f} | {hp50:.1f} | {hp99:.1f} | {lr:.0f} | "
              f"{lp50:.1f} | {lp99:.1f} | {hp50 - lp50:+.1f} | {hr / lr:.2f} |")
    print(f"\nOne client alternating HTTP and in-process calls for {args.seconds:g} s (paired):\n")
    print("| songs | call | HTTP p50 (ms) | in-process p50 (ms) | median of HTTP - in-process per call (ms) | "
          "95% interval |")
    print("|---|---|---|---|---|---|")
    for r in paired:
        hp50, lp50, diff, (low, high) = r["result"]
        print(f"| {r['n']:,} | {r['what']} | {hp50:.1f} | {lp50:.1f} | {diff:+.2f} | {low:+.2f} to {high:+.2f} |")


if __name__ == "__main__":
    main()
