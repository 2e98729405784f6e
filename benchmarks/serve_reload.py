"""Taking up a rebuilt recommender while serving: SIGHUP against a restart.

Run:  .venv/bin/python benchmarks/serve_reload.py [--recommender DIR] [--workers 2] [--clients 8] [--reloads 3]
          [--ways sighup restart] [--new-connections] [--health] [--busy K]

A server (``musemood serve --workers N``) answers ``GET /recommend`` to ``--clients`` threads, half of
them keep-alive clients (one ``httpx.Client`` each) and half opening a new connection per request (all
of them with ``--new-connections``: the clients an old worker may have just accepted as it stops),
while the parts are taken up again ``--reloads`` times, each way of ``--ways`` in turn:

- ``sighup``: ``kill -HUP`` (musemood's way since 2026-12-07): the workers are replaced one at a time,
  each old one stopped once its new one has loaded the parts; done when the server says so;
- ``restart``: SIGTERM, then the same command started again (the way before): done when ``/health``
  answers again.

The table gives, per way: requests answered, requests failed (a status other than 200, or a connection
error: a client that fails waits 50 ms before asking again), the longest time in which no client got
an answer, and the seconds from the signal to the new parts (mean over the reloads).  Every request asks
for the catalogue's first song (``GET /health`` with ``--health``: the quickest request, so the most
connections a second).  The recommender is ``--recommender``, else the one ``musemood serve``
uses by default (the demo's, built if absent).  ``--busy K`` keeps K more processes spinning on the CPU
meanwhile, as on a machine busy with other work (a CI runner).
"""

import argparse
import collections
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _server import free_port, wait_for_health  # noqa: E402


def serve(recommender, workers, port, log):
    args = [sys.executable, "-m", "musemood.cli", "serve", "--workers", str(workers), "--port", str(port)]
    return subprocess.Popen(args + (["--recommender", str(recommender)] if recommender else []), stderr=log)


def measure(way, recommender, workers, n_clients, reloads, song, new_connections=False, health=False):
    """``(answered, failed, longest gap (s), mean seconds to the new parts)`` of one way."""
    import httpx

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tempfile.NamedTemporaryFile("w+", suffix=".log")
    server = serve(recommender, workers, port, log)
    wait_for_health(url, server, 600)
    stop, lock = threading.Event(), threading.Lock()
    counts, answers = collections.Counter(), []

    def client(keep_alive):
        session = httpx.Client(base_url=url, timeout=30) if keep_alive else None
        while not stop.is_set():
            try:
                ask = session.get if session else (lambda path, **kw: httpx.get(url + path, **kw))
                ok = (ask("/health") if health else ask("/recommend", params={**song, "top_k": 5})).status_code == 200
            except httpx.TransportError:
                ok = False
            with lock:
                counts[ok] += 1
                if ok:
                    answers.append(time.monotonic())
            if not ok:
                time.sleep(0.05)

    threads = [threading.Thread(target=client, args=(i % 2 == 0 and not new_connections,), daemon=True)
               for i in range(n_clients)]
    for thread in threads:
        thread.start()
    time.sleep(5)
    seconds = []
    for done in range(1, reloads + 1):
        started = time.monotonic()
        if way == "sighup":
            server.send_signal(signal.SIGHUP)
            while Path(log.name).read_text().count("reloaded the parts") < done:
                if server.poll() is not None:
                    raise SystemExit(f"the server stopped: {Path(log.name).read_text()[-2000:]}")
                time.sleep(0.1)
        else:
            server.send_signal(signal.SIGTERM)
            server.wait(60)
            server = serve(recommender, workers, port, log)
            wait_for_health(url, server, 600)
        seconds.append(time.monotonic() - started)
        time.sleep(3)
    stop.set()
    for thread in threads:
        thread.join(60)
    server.send_signal(signal.SIGTERM)
    server.wait(60)
    times = sorted(answers)
    gap = max((b - a for a, b in zip(times, times[1:])), default=float("nan"))
    return counts[True], counts[False], gap, sum(seconds) / len(seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recommender", help="a saved recommender folder (default: the one musemood serve uses)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--reloads", type=int, default=3)
    parser.add_argument("--ways", nargs="+", choices=("sighup", "restart"), default=("sighup", "restart"))
    parser.add_argument("--new-connections", action="store_true", help="every client opens a new connection "
                        "per request (default: half of them keep theirs)")
    parser.add_argument("--health", action="store_true", help="GET /health instead of /recommend")
    parser.add_argument("--busy", type=int, default=0, help="processes spinning on the CPU meanwhile")
    args = parser.parse_args()
    from musemood.recommender import get_recommender

    first = get_recommender(args.recommender).catalogue_.songs_.iloc[0]  # the catalogue's first song
    song = {"title": str(first["title"]), "artist": str(first["artist"])}
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    try:
        rows = {way: measure(way, args.recommender, args.workers, args.clients, args.reloads, song,
                             args.new_connections, args.health) for way in args.ways}
    finally:
        for spinner in spinners:
            spinner.kill()
    print(f"{args.workers} workers, {args.clients} clients ({'none' if args.new_connections else 'half'} keep-alive), "
          f"{args.reloads} reloads each way, {args.busy} processes spinning beside, "
          + ("GET /health" if args.health else f"GET /recommend for {song['title']} by {song['artist']}"))
    print("| way | answered | failed | longest without an answer (s) | seconds to the new parts |")
    print("|---|---|---|---|---|")
    for way, (answered, failed, gap, seconds) in rows.items():
        print(f"| {way} | {answered:,} | {failed:,} | {gap:.2f} | {seconds:.0f} |")
    if len(rows) < 2:
        return
    sighup, restart = rows["sighup"], rows["restart"]
    print(f"\nrestart / sighup: failed {restart[1]:,} against {sighup[1]:,}; longest without an answer "
          f"x{restart[2] / sighup[2]:.0f}")


if __name__ == "__main__":
    main()
