"""A local HTTP server for faking web APIs in tests, with fault injection.

``FakeService(routes)`` serves ``routes[path](query) -> (status, headers, body)`` on 127.0.0.1
with a random port.  ``faults`` is a queue of faults applied to the next requests, one each:
``("status", 429, {"Retry-After": "1"})``, ``("status", 503, {})``, ``("slow", seconds)``,
``("malformed",)``, ``("html_changed",)`` (the route's ``changed`` variant, for pages whose
layout moved).  GET and POST (form bodies are merged into the query) are served; every request
is recorded (method, path, query, headers).
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class FakeService:
    def __init__(self, routes):
        self.routes = routes
        self.faults = []
        self.lock = threading.Lock()
        self.requests = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                self._serve("GET", {})

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode()) if length else {}
                self._serve("POST", {k: v[0] for k, v in form.items()})

            def _serve(self, method, form):
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                query.update(form)
                with service.lock:
                    service.requests.append({"method": method, "path": url.path, "query": query,
                                             "headers": dict(self.headers)})
                    fault = service.faults.pop(0) if service.faults else None
                if fault and fault[0] == "slow":
                    time.sleep(fault[1])
                if fault and fault[0] == "status":
                    return self._send(fault[1], fault[2], json.dumps({"error": "injected"}))
                route = service.routes.get(url.path)
                if route is None:
                    return self._send(404, {}, json.dumps({"error": "no such path"}))
                if fault and fault[0] == "html_changed":
                    query = {**query, "_layout": "changed"}
                status, headers, body = route(query)
                if fault and fault[0] == "malformed":
                    body = body[: len(body) // 2] + "<<<"
                return self._send(status, headers, body)

            def _send(self, status, headers, body):
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def redirect_transport(fake):
    """An httpx2 transport that sends every request to ``fake`` over plain http (for pylast,
    which always speaks https to Last.fm and cannot be pointed elsewhere)."""
    import httpx2

    class Redirect(httpx2.BaseTransport):
        def __init__(self):
            self.inner = httpx2.HTTPTransport()

        def handle_request(self, request):
            host, port = fake.server.server_address[:2]
            request.url = request.url.copy_with(scheme="http", host=host, port=port)
            return self.inner.handle_request(request)

        def close(self):
            pass  # shared by pylast's per-request clients: stays open

    return Redirect()
