"""`musemood serve` in its own process on a free loopback port, for the benchmarks that measure it, and
wrk (a load generator written in C) to load it."""

import json
import os
import re
import socket
import subprocess
import sys
import time
import tempfile
from contextlib import contextmanager
from pathlib import Path


def free_port():
    """A loopback port no one listens on (free when asked; the caller binds it soon after)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_health(base, process, timeout):
    """Wait until ``base``/health answers 2xx; a ``process`` that exits first, or no answer within
    ``timeout`` seconds, is a SystemExit."""
    import httpx

    started = time.perf_counter()
    while True:
        if process.poll() is not None:
            raise SystemExit(f"{process.args[0]} stopped with code {process.returncode} before {base} answered")
        if time.perf_counter() - started > timeout:
            raise SystemExit(f"{base} did not answer /health within {timeout} s")
        try:
            httpx.get(f"{base}/health", timeout=1).raise_for_status()
            return
        except httpx.HTTPError:
            time.sleep(0.2)


def cached_folder(cache, n, backend):
    """``cache/N-BACKEND``, the folders benchmarks/serve.py --cache built for ``n`` songs, or a clear exit."""
    folder = Path(cache) / f"{n}-{backend}"
    if not (folder / "items.json").exists():
        raise SystemExit(f"{folder} holds no recommender built by benchmarks/serve.py: run it with "
                         f"--sizes {n} --backend {backend} --cache {cache} first")
    return folder


@contextmanager
def running_server(folder, *, workers=1, threads=None, mmap=True, env=None, timeout=600):
    """Serve ``folder / "rec"`` and ``folder / "model"``; yields ``(process, base URL, seconds from start to
    the first answer of /health)`` and stops the server on leaving.  ``env``: variables to set for the
    server.  A server that exits before it answers, or does not answer within ``timeout`` seconds, is a
    SystemExit."""
    port = free_port()
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "musemood.cli", "serve", "--recommender", str(folder / "rec"),
                               "--model", str(folder / "model"), "--port", str(port), "--workers", str(workers)]
                              + (["--threads", str(threads)] if threads else []) + ([] if mmap else ["--no-mmap"]),
                              stderr=subprocess.DEVNULL, env={**os.environ, **(env or {})})
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base, server, timeout)
        yield server, base, time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(60)


WRK_SCRIPT = """
requests = {%s}
counter = 0
request = function()
  counter = counter + 1
  local r = requests[(counter %% #requests) + 1]
  if r[2] then
    return wrk.format("POST", r[1], {["Content-Type"] = "application/json"}, r[2])
  end
  return wrk.format("GET", r[1])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%f %%f %%f %%d %%d\\n", summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def wrk_load(base, requests, clients, seconds, *, warm_up=0, runs=1):
    """wrk with ``clients`` keep-alive connections (one wrk thread) sending ``requests`` in turn to
    ``base``: a ``warm_up`` of that many seconds, then ``runs`` x (requests/s, p50 ms, p99 ms) of
    ``seconds`` each (wrk counts whole seconds).  ``requests``: paths of GETs, or ``(path, JSON body)``
    pairs for POSTs.  A non-2xx answer or a socket error (a timeout among them) is a SystemExit."""
    entries = []
    for request in requests:
        path, body = (request, None) if isinstance(request, str) else request
        if not path.isascii():
            raise ValueError(f"wrk's paths are URL-encoded ASCII, got {path!r}")
        # json.dumps writes ASCII with the escapes Lua reads too (quote, backslash, newline, tab)
        entries.append("{" + json.dumps(path) + ("" if body is None else ", " + json.dumps(body)) + "}")
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "load.lua"
        script.write_text(WRK_SCRIPT % ",\n".join(entries))

        def wrk(duration):
            command = ["wrk", "-t1", f"-c{clients}", f"-d{max(1, round(duration))}s", "--timeout", "120s", "-s",
                       str(script), base]  # wrk's own timeout, 2 s, is shorter than a queue of 32 predictions
            out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            count, elapsed, p50, p99, status, errors = re.search(r"RESULT (.*)", out).group(1).split()
            if int(status) or int(errors):
                raise SystemExit(f"{base}: {status} answers that were not 2xx and {errors} socket errors")
            return int(count) / float(elapsed), float(p50), float(p99)

        if warm_up:
            wrk(warm_up)
        return [wrk(seconds) for _ in range(runs)]
