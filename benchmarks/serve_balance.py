"""The tail of `musemood serve` with several workers: its workers against nginx spreading requests.

Run:  .venv/bin/python benchmarks/serve_balance.py --cache DIR [--sizes 1000000] [--backend hnsw]
                                                  [--workers 2] [--clients 32] [--seconds 12] [--runs 3]

Needs `wrk` (the load generator, a C program that takes a few percent of a core where 32 Python
client threads take a large share of the machine) and `nginx` on the PATH (Debian: apt install wrk
nginx-light).  Uses the recommender and model folders that benchmarks/serve.py --cache DIR built
(DIR/SIZE-BACKEND/{rec,model,items.json}).

Three set-ups serve the same folders on the same cores, one after the other:

- `musemood serve --workers N` with MUSEMOOD_SERVE_REUSEPORT=0: uvicorn's workers share one listening
  socket, and the kernel wakes the worker that last began waiting in accept() for the next
  connection; a keep-alive connection stays with its worker, however many requests wait there;
- `musemood serve --workers N` (Linux's default): each worker listens on a socket of its own in one
  SO_REUSEPORT group, and the kernel spreads connections over them by their addresses;
- N servers of one worker each behind nginx (`least_conn`, keep-alive to the servers): nginx hands
  each request to the server with the fewest requests in flight.

For each, wrk keeps --clients connections busy with GET /recommend of catalogue songs (a warm-up of
8 s, then --runs runs of --seconds): requests/s, p50 and p99 per run.  The peer: uvicorn's shared
socket, measured in the same run.
"""

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
from contextlib import ExitStack
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _server import cached_folder, free_port, running_server, wait_for_health, wrk_load  # noqa: E402

SHARED, OWN, NGINX = "shared socket", "socket per worker", "nginx"

NGINX_CONF = """
worker_processes 1;
daemon off;
error_log {tmp}/error.log warn;
pid {tmp}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  upstream musemood {{
    least_conn;
{servers}
    keepalive 64;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://musemood;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
  }}
}}
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, required=True, help="the --cache folder of benchmarks/serve.py")
    parser.add_argument("--sizes", default="1000000")
    parser.add_argument("--backend", default="hnsw", choices=["auto", "exact", "ivf", "hnsw"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=12)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    missing = [tool for tool in ("wrk", "nginx") if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"this benchmark needs {' and '.join(missing)} on the PATH "
                         "(Debian: apt install wrk nginx-light)")
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        folder = cached_folder(args.cache, n, args.backend)
        queries, _ = json.loads((folder / "items.json").read_text())
        with tempfile.TemporaryDirectory() as tmp:
            paths = ["/recommend?" + urllib.parse.urlencode({"title": t, "artist": a, "top_k": 10}) for t, a in queries]
            for setup, reuseport in ((SHARED, "0"), (OWN, "1")):
                with running_server(folder, workers=args.workers, env={"MUSEMOOD_SERVE_REUSEPORT": reuseport}) as (
                        _, base, _startup):
                    results = wrk_load(base, paths, args.clients, args.seconds, warm_up=8, runs=args.runs)
                    for run, result in enumerate(results, 1):
                        rows.append({"n": n, "setup": setup, "run": run, "result": result})
                        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
            with ExitStack() as stack:
                bases = [stack.enter_context(running_server(folder, workers=1))[1] for _ in range(args.workers)]
                port = free_port()
                servers = "\n".join(f"    server {urllib.parse.urlsplit(b).netloc};" for b in bases)
                conf = Path(tmp) / "nginx.conf"
                conf.write_text(NGINX_CONF.format(tmp=tmp, servers=servers, port=port))
                nginx = subprocess.Popen(["nginx", "-c", str(conf)], stderr=subprocess.DEVNULL)
                stack.callback(nginx.wait, 30)
                stack.callback(nginx.terminate)
                wait_for_health(f"http://127.0.0.1:{port}", nginx, 30)
                for run, result in enumerate(wrk_load(f"http://127.0.0.1:{port}", paths, args.clients,
                                                      args.seconds, warm_up=8, runs=args.runs), 1):
                    rows.append({"n": n, "setup": NGINX, "run": run, "result": result})
                    print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print(f"\nGET /recommend, {args.backend} vector search, wrk with {args.clients} connections, {args.seconds} s "
          f"per run; {platform.processor() or platform.machine()}, load generator and servers on the same cores\n")
    print("| songs | set-up | run | requests/s | p50 (ms) | p99 (ms) |")
    print("|---|---|---|---|---|---|")
    names = {SHARED: f"musemood serve --workers {args.workers}, uvicorn's shared socket (MUSEMOOD_SERVE_REUSEPORT=0)",
             OWN: f"musemood serve --workers {args.workers}, a socket per worker (default on Linux)",
             NGINX: f"nginx least_conn, {args.workers} x musemood serve --workers 1"}
    for r in rows:
        rate, p50, p99 = r["result"]
        print(f"| {r['n']:,} | {names[r['setup']]} | {r['run']} | {rate:.0f} | {p50:.1f} | {p99:.1f} |")
    for n in sorted({r["n"] for r in rows}):
        median = {setup: (np.median([r["result"][0] for r in rows if r["n"] == n and r["setup"] == setup]),
                          np.median([r["result"][2] for r in rows if r["n"] == n and r["setup"] == setup]))
                  for setup in names}
        print(f"\n{n:,} songs, medians over the runs: " + "; ".join(
            f"{setup} {rate:.0f} requests/s, p99 {p99:.1f} ms" for setup, (rate, p99) in median.items())
            + f". Against the shared socket: a socket per worker p99 x{median[OWN][1] / median[SHARED][1]:.2f}, "
            f"nginx x{median[NGINX][1] / median[SHARED][1]:.2f}")


if __name__ == "__main__":
    main()
