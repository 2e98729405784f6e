"""recommend and predict over HTTP (musemood serve on loopback) against the same calls in process.

Run:  .venv/bin/python benchmarks/serve.py [--sizes 100000] [--clients 1,8,32] [--seconds 10]

For each catalogue size: build a synthetic catalogue (benchmarks/_catalogue.py), fit a Recommender
on its vectors (fixed rerank weights, no song map) and save it; fit a mood model (simple BERT on the
packaged encoder, 300 demo songs) and save it.  Start `musemood serve` on those folders in its own
process, then for 1, 8 and 32 concurrent clients (threads, one keep-alive httpx client each) send
GET /recommend?title=... and POST /predict {"texts": [one lyric]} for --seconds each: requests/s,
p50 and p99.  The peer, measured in the same run: the same calls in this process
(Recommender.recommend, predict_proba) with the same number of threads.  Client and server share
the machine's cores, as they would on one host.
"""

import argparse
import json
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))


def build(n, folder):
    import pandas as pd

    import _catalogue
    from musemood.classifiers import SimpleBertClassifier
    from musemood.datasets import load_demo
    from musemood.recommender import Recommender

    cat = _catalogue.catalogue(n)
    df = pd.DataFrame({"title": cat["title"], "artist": cat["artist"], "label": cat["mood"], "lyrics": cat["lyrics"]})
    rec = Recommender(song_map=None, n_embedding_keywords=0, weights={"lexical": 0.3, "cluster": 0.0})
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000")
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    import httpx

    from musemood.classifiers import load_model
    from musemood.recommender import Recommender

    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            started = time.perf_counter()
            queries, texts = build(n, folder)
            print(f"{n:,} songs: built in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            server = subprocess.Popen([sys.executable, "-m", "musemood.cli", "serve", "--recommender",
                                       str(folder / "rec"), "--model", str(folder / "model"), "--port", str(port)],
                                      stderr=subprocess.DEVNULL)
            base = f"http://127.0.0.1:{port}"
            try:
                for _ in range(600):
                    try:
                        httpx.get(f"{base}/health", timeout=1)
                        break
                    except httpx.TransportError:
                        time.sleep(0.2)
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

                for what, http, local, items in (("recommend", http_recommend, local_recommend, queries),
                                                  ("predict", http_predict, local_predict, texts)):
                    drive(http, items, 2, 2)  # warm both sides
                    drive(local, items, 2, 2)
                    for clients in (int(c) for c in args.clients.split(",")):
                        h = drive(http, items, clients, args.seconds)
                        p = drive(local, items, clients, args.seconds)
                        rows.append({"n": n, "what": what, "clients": clients, "http": h, "local": p})
                        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
            finally:
                server.terminate()
                server.wait(30)
    print(f"\nmusemood serve on loopback vs the same calls in process; {args.seconds:g} s per cell; "
          f"{platform.processor() or platform.machine()}, client and server on the same cores\n")
    print("| songs | call | clients | HTTP req/s | HTTP p50 (ms) | HTTP p99 (ms) | in-process calls/s | "
          "in-process p50 (ms) | p99 (ms) | HTTP p50 - in-process p50 (ms) | HTTP req/s / in-process calls/s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        (hr, hp50, hp99), (lr, lp50, lp99) = r["http"], r["local"]
        print(f"| {r['n']:,} | {r['what']} | {r['clients']} | {hr:.0f} | {hp50:.1f} | {hp99:.1f} | {lr:.0f} | "
              f"{lp50:.1f} | {lp99:.1f} | {hp50 - lp50:+.1f} | {hr / lr:.2f} |")


if __name__ == "__main__":
    main()
