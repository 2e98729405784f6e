"""``musemood serve --workers N`` on Linux: worker processes with a listening socket each, which keep
the open connections evenly spread between them (see :func:`run_workers`).  Each worker builds its app
with :func:`musemood.serve.app_from_env`."""

import logging
import os
import sys
import time

logger = logging.getLogger("musemood.serve")  # the server's logger, as before this module was split out


def spreads_connections():
    """Whether ``musemood serve --workers N`` gives each worker its own listening socket
    (:func:`run_workers`): on Linux, whose ``SO_REUSEPORT`` spreads connections over the sockets of
    one port (elsewhere it does not), unless ``MUSEMOOD_SERVE_REUSEPORT=0`` asks for uvicorn's
    workers, which share one socket."""
    import socket
    import sys

    wanted = os.environ.get("MUSEMOOD_SERVE_REUSEPORT", "1").strip()
    if wanted not in ("0", "1"):
        raise ValueError(f"MUSEMOOD_SERVE_REUSEPORT must be 0 or 1, got {wanted!r}")
    return wanted == "1" and sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def _listening_socket(host, port, backlog=2048, *, listen=True):
    """A TCP socket bound to ``(host, port)`` in the port's ``SO_REUSEPORT`` group, listening unless
    ``listen`` is false (a bound socket that does not listen takes no connections)."""
    import socket

    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                         proto=socket.IPPROTO_TCP)[0]
    # proto IPPROTO_TCP (not 0): accepted sockets inherit it, and asyncio then turns Nagle off on them
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    if listen:
        sock.listen(backlog)
    return sock


STARTUP_FAILED = 3
"""Exit code of a worker whose app did not start (as uvicorn's)."""
STARTUP_DEATHS = 3
"""Workers of one slot in a row that may die before their app is made (killed, crashed) before the
server stops: a worker the kernel kills for memory while it loads would otherwise be restarted forever."""


class _Rebalance:
    """ASGI wrapper of a :func:`run_workers` worker: a worker holding more than its share of the
    server's open connections answers one request at a time with ``Connection: close``, so that
    client opens a new connection, which the kernel gives to a worker at random.

    Spreading connections by hash leaves a keep-alive client with the worker it got, and 32 clients
    on two workers split 19 to 13 about as often as evenly: the busier worker's clients then wait
    longest.  ``counts`` (shared memory, one slot per worker) holds each worker's open connections as
    of its last request; a worker closes a connection while it holds more than ``ceil(sum / workers)``,
    at most one each ``interval`` seconds.  HTTP lets a server close a keep-alive connection after any
    response; clients open another.
    """

    def __init__(self, app, connections, counts, slot, interval=0.1):
        self.app, self.connections, self.counts, self.slot, self.interval = app, connections, counts, slot, interval
        self.last_close = -float("inf")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        mine = len(self.connections)
        self.counts[self.slot] = mine
        share = -(-sum(self.counts) // len(self.counts))
        now = time.monotonic()
        if mine <= share or now - self.last_close < self.interval:
            return await self.app(scope, receive, send)
        self.last_close = now
        return await self.app(scope, receive, _closing(send))


def _closing(send):
    """ASGI ``send`` that adds ``Connection: close`` to the response's head (once): the client closes the
    connection after this response and opens another for its next request."""
    async def closing(message):
        headers = message.get("headers", [])
        if message["type"] == "http.response.start" and (b"connection", b"close") not in headers:
            message = {**message, "headers": [*headers, (b"connection", b"close")]}
        await send(message)

    return closing


def _worker(sock, log_level, counts, ready, slot):
    """One worker of :func:`run_workers`: :func:`~musemood.serve.app_from_env` under uvicorn on its slot's
    socket ``sock`` (bound; uvicorn makes it listen once the app is made), wrapped in :class:`_Rebalance`
    (``counts[slot]`` is this worker's; ``ready[slot]`` is set once its app is made)."""
    import sys

    import uvicorn

    from .serve import APP_FACTORY

    _exit_with(os.getppid())
    config = uvicorn.Config(APP_FACTORY, factory=True, access_log=False, log_level=log_level)
    try:
        config.load()  # before listening: a worker takes connections only once it can answer them
    except SystemExit:  # uvicorn has logged why
        sys.exit(STARTUP_FAILED)
    except Exception as exc:  # noqa: BLE001 (any failure to make the app: say which, once, and stop)
        print(f"musemood serve: a worker could not start: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(STARTUP_FAILED)
    ready[slot] = 1
    server = _server(config)
    # the connections' protocols read config.loaded_app when they are made
    config.loaded_app = _Rebalance(config.loaded_app, server.server_state.connections, counts, slot)
    server.run(sockets=[sock])
    if not server.started:
        sys.exit(STARTUP_FAILED)


def _exit_with(parent):
    """Stop this worker (SIGTERM to itself: uvicorn shuts down cleanly) when process ``parent`` is gone,
    e.g. killed with SIGKILL, which gives it no chance to stop its workers."""
    import signal
    import threading

    def watch():
        while os.getppid() == parent:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True, name="musemood-parent-watch").start()


def run_workers(workers, host="127.0.0.1", port=8000, *, log_level="warning"):
    """Serve :func:`~musemood.serve.app_from_env` from ``workers`` processes until SIGINT or SIGTERM;
    SIGHUP replaces the workers one at a time by workers that load the parts again (:class:`_Reload`).

    Each worker listens on a socket of its own in one ``SO_REUSEPORT`` group, so the kernel spreads
    new connections over the workers by their addresses, and a worker with more than its share of the
    open connections asks one client at a time to reconnect (:class:`_Rebalance`).  The sockets are the
    parent's, one per slot, handed to the slot's workers: a worker replaced by SIGHUP passes its socket
    on to the new one, still open, so the connections waiting in it are accepted by the new worker.
    Were the old worker's socket closed, Linux would reset those connections and any that reach it as
    it closes (unless ``net.ipv4.tcp_migrate_req`` is 1): with sockets of their own, a client opening
    connection after connection during a reload failed in 2 of 4 runs of the test that looks for it.  A
    worker that dies gets a new socket, so that until its successor has loaded the parts the kernel
    sends its share of connections to the other workers.  uvicorn's
    ``--workers`` share one socket, and the kernel wakes the worker that last began waiting in
    ``accept()``: a keep-alive client stays with it however busy it is, and at 1M songs one load-test
    run in three went to a single worker (docs/benchmarks.md, "Several workers, one busy").  A worker
    that dies is started again; one whose app fails to start stops the server (RuntimeError), and so
    do :data:`STARTUP_DEATHS` workers in a row that die (killed or crashed) before making their app.  Linux
    only (see :func:`spreads_connections`); call it from the main thread (it handles the signals).
    """
    import multiprocessing
    import signal
    import threading

    if not spreads_connections():
        raise RuntimeError("one socket per worker needs Linux's SO_REUSEPORT")
    # one socket per slot, bound and held here until the end (the port stays ours while workers restart):
    # the first says whether the port is free (else OSError) and, for port 0, which it is
    sockets = [_listening_socket(host, port, listen=False)]
    port = sockets[0].getsockname()[1]
    sockets += [_listening_socket(host, port, listen=False) for _ in range(workers - 1)]
    spawn = multiprocessing.get_context("spawn")
    stop, reload = threading.Event(), threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, lambda *_: reload.set())

    counts = spawn.RawArray("i", workers)  # each worker's open connections, for _Rebalance
    ready = spawn.RawArray("b", workers)  # whether each worker has made its app
    deaths = [0] * workers  # each slot's workers in a row that died before making their app

    def start(slot, *, fresh=False):
        """Start slot ``slot``'s worker on the slot's socket, or on a new one (``fresh``: its worker died)."""
        if fresh:  # the new socket bound before the old one closes: the port is never free
            old, sockets[slot] = sockets[slot], _listening_socket(host, port, listen=False)
            old.close()
        counts[slot], ready[slot] = 0, 0
        process = spawn.Process(target=_worker, args=(sockets[slot], log_level, counts, ready, slot), daemon=False)
        process.start()  # spawn hands the socket down when the worker is started (not through a thread)
        return process

    processes = [start(slot) for slot in range(workers)]
    failed, reloading = None, None
    try:
        while not stop.wait(0.5):
            if reload.is_set() and reloading is None:  # a SIGHUP during a reload: another one after it
                reload.clear()
                reloading = _Reload(processes, start, ready)
            if reloading is not None and reloading.step():
                reloading = None
            for i, process in enumerate(processes):
                if process.exitcode is None or (reloading is not None and reloading.replacing(i)):
                    continue  # a worker being replaced that died: its new one is on the way
                if process.exitcode == STARTUP_FAILED:
                    failed = f"a worker could not start the app (exit code {STARTUP_FAILED}); see its message above"
                    stop.set()
                    break
                deaths[i] = 0 if ready[i] else deaths[i] + 1
                if deaths[i] >= STARTUP_DEATHS:
                    failed = (f"a worker died {deaths[i]} times in a row before its app was made (the last "
                              f"{_exit_text(process.exitcode)}); see the messages above, and check that the "
                              "machine has the memory for the workers (docs/serve.md)")
                    stop.set()
                    break
                logger.warning("worker %s %s; starting another", process.pid, _exit_text(process.exitcode))
                processes[i] = start(i, fresh=True)
    finally:
        if reloading is not None:
            processes = processes + reloading.others()
        for process in processes:
            if process.exitcode is None:
                process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
        for process in processes:
            process.join(30)
            if process.exitcode is None:
                process.kill()
                process.join()
        for sock in sockets:
            sock.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if failed:
        raise RuntimeError(failed)


class _Reload:
    """SIGHUP's work in :func:`run_workers`: each worker of ``processes`` replaced in turn, one
    :meth:`step` per turn of the watch loop, which meanwhile restarts any other worker that dies.

    A new worker is started on the same slot and socket, and the old one is stopped (SIGTERM: it finishes
    its requests in flight; SIGKILL after ``grace`` seconds) once the new one has made its app, so as
    many workers answer throughout, and the socket stays open: no connection is reset.  (An old worker
    that dies while its successor loads leaves its socket's connections waiting for the successor.)  A
    new worker that cannot start (the parts now fail to load) or is not ready in ``timeout`` seconds is
    stopped, and the workers not yet replaced keep serving what
    they loaded: a broken save does not take the server down.  A worker started after the SIGHUP (one
    that died and was restarted) has loaded the new parts already and is not replaced again."""

    def __init__(self, processes, start, ready, timeout=600, grace=30):
        self.processes, self.start, self.ready, self.timeout, self.grace = processes, start, ready, timeout, grace
        self.old = list(processes)  # the workers that loaded the parts before the SIGHUP (held: ids stay theirs)
        self.slot, self.new, self.began = -1, None, time.monotonic()
        self.slot_began, self.stopping = 0.0, []  # workers told to stop, with when
        self.message = None  # how the reload ended, said once the workers told to stop have stopped

    def replacing(self, slot):
        """Whether the worker of ``slot`` is being replaced (its new one is loading)."""
        return self.new is not None and slot == self.slot

    def others(self):
        """The processes this reload holds beside ``processes``: a new worker loading, old ones stopping."""
        return ([self.new] if self.new is not None else []) + [p for p, _ in self.stopping]

    def step(self):
        """One turn: start, check or swap in a new worker; ``True`` once the reload is over (every worker
        replaced and the old ones stopped, or stopped short)."""
        self._reap()
        if self.message is not None:
            return self._finish()
        if self.new is None:
            self.slot = next((i for i in range(self.slot + 1, len(self.processes))
                              if any(self.processes[i] is p for p in self.old) and self.processes[i].exitcode is None),
                             None)
            if self.slot is None:  # every worker has loaded the parts since the SIGHUP
                self.message = (f"reloaded the parts in {len(self.processes)} workers, one at a time, in "
                                f"{{seconds:.0f}} s")
                return self._finish()
            self.new, self.slot_began = self.start(self.slot), time.monotonic()
            return False
        i, new, old = self.slot, self.new, self.processes[self.slot]
        if self.ready[i]:
            self.processes[i], self.new = new, None
            if old.exitcode is None:
                old.terminate()
                self.stopping.append((old, time.monotonic()))
            return False
        timed_out = time.monotonic() - self.slot_began >= self.timeout
        if new.exitcode is None and not timed_out:
            return False  # still loading
        why = (f"no new worker was ready in {self.timeout} s" if new.exitcode is None else
               f"a new worker {_exit_text(new.exitcode)} before its app was made (see its message above)")
        if new.exitcode is None:
            new.terminate()
            self.stopping.append((new, time.monotonic()))
        self.new, self.ready[i] = None, 1  # the old worker's, still serving (or restarted by the watch loop)
        self.message = (f"reload stopped after {i} of {len(self.processes)} workers: {why}; the others keep "
                        "serving the parts they loaded")
        return self._finish()

    def _reap(self):
        """Old workers that have stopped are joined; one that outlives ``grace`` seconds is killed."""
        for process, since in list(self.stopping):
            if process.exitcode is None and time.monotonic() - since > self.grace:
                process.kill()
                process.join()
            if process.exitcode is not None:
                process.join()
                self.stopping.remove((process, since))

    def _finish(self):
        """Say how the reload ended once the old workers have stopped (they finish their requests in flight)."""
        if self.stopping:
            return False
        print(f"musemood serve: {self.message.format(seconds=time.monotonic() - self.began)}", file=sys.stderr,
              flush=True)
        return True


def _exit_text(code):
    """How a worker process ended, for a message: its exit code, or the signal that killed it."""
    import signal

    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        killed = " (as the kernel does when memory runs out)" if -code == signal.SIGKILL else ""
        return f"was killed by {name}{killed}"
    return f"exited with code {code}"


def _server(config, first_request=1.0):
    """A ``uvicorn.Server`` for ``config`` that, told to stop, stops accepting at once but gives the
    connections it has accepted whose request has not begun up to ``first_request`` seconds for it.

    uvicorn's own shutdown closes such a connection at once.  When SIGHUP replaces a worker (:class:`_Reload`)
    the old one shares its socket with its successor and may have just accepted a client's new
    connection: closed before its request came (or before it was read), the client saw its connection
    closed or reset instead of an answer.  Given the moment, the request is answered; a connection that
    asks nothing in that time is closed as before, and so is one idle between requests (HTTP lets a
    server close a keep-alive connection; clients open another).  Every answer the server gives once
    told to stop says ``Connection: close``, so that no client sends another request on a connection
    about to close."""
    import asyncio

    import uvicorn

    def waiting(connection):  # uvicorn's HTTP protocols make a request's cycle once its head is read
        return getattr(connection, "cycle", None) is None

    class Server(uvicorn.Server):
        async def startup(self, sockets=None):  # the app is loaded; the connections will take it from config
            app = self.config.loaded_app

            async def closing_once_told_to_stop(scope, receive, send):
                await app(scope, receive, _closing(send) if scope["type"] == "http" and self.should_exit else send)

            self.config.loaded_app = closing_once_told_to_stop
            await super().startup(sockets)

        async def shutdown(self, sockets=None):
            for server in self.servers:  # stop accepting first: the successor accepts what comes next
                server.close()
            deadline = time.monotonic() + first_request
            while any(map(waiting, self.server_state.connections)) and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            await super().shutdown(sockets)  # closes idle connections, waits for the answers in flight

    return Server(config)
