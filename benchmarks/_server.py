"""`musemood serve` in its own process on a free loopback port, for the benchmarks that measure it."""

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager


@contextmanager
def running_server(folder, *, workers=1, threads=None, mmap=True, env=None, timeout=600):
    """Serve ``folder / "rec"`` and ``folder / "model"``; yields ``(process, base URL, seconds from start to
    the first answer of /health)`` and stops the server on leaving.  ``env``: variables to set for the
    server.  A server that exits before it answers, or does not answer within ``timeout`` seconds, is a
    SystemExit."""
    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "musemood.cli", "serve", "--recommender", str(folder / "rec"),
                               "--model", str(folder / "model"), "--port", str(port), "--workers", str(workers)]
                              + (["--threads", str(threads)] if threads else []) + ([] if mmap else ["--no-mmap"]),
                              stderr=subprocess.DEVNULL, env={**os.environ, **(env or {})})
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            if server.poll() is not None:
                raise SystemExit(f"the server stopped with code {server.returncode} before answering")
            if time.perf_counter() - started > timeout:
                raise SystemExit(f"the server did not answer /health within {timeout} s")
            try:
                httpx.get(f"{base}/health", timeout=1).raise_for_status()
                break
            except httpx.TransportError:
                time.sleep(0.2)
        yield server, base, time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(60)
