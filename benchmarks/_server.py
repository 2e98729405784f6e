"""`musemood serve` in its own process on a free loopback port, for the benchmarks that measure it."""

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager


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
