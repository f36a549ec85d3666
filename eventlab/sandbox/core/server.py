"""The sandbox over HTTP: moto's WSGI application behind a thin wrapper.

The wrapper adds what moto's server lacks: after each request the sandbox's pump runs
(so deliveries happen as they do in-process), and a small admin API under
``/_eventlab/`` exposes the virtual clock to AWS CLI users::

    GET  /_eventlab/clock                  -> {"now": "...", "epoch": 1.7e9, "offset": 0.0}
    POST /_eventlab/clock/advance          body {"seconds": 3600}  -> the new time
    POST /_eventlab/settle                 run deliveries now
    GET  /_eventlab/health                 -> {"status": "ok"}

A service may claim paths of its own with ``http_route(path) -> WSGI app | None``: API
Gateway's invoke URLs (``/restapis/{id}/{stage}/_user_request_/...``) are served that way.

For ``eventlab grade`` (autograder/host.py) a sandbox can add POST routes under
``/_eventlab/`` (``Sandbox.admin_routes``), close moto's own ``/moto-api`` (each refused
request is kept in ``Sandbox.refused``), and make callers other than Lambda handlers wait
for the deliveries their request caused, as in-process callers do.

Lambda handlers running in their own processes call the sandbox through this server
(``AWS_ENDPOINT_URL``), so an in-process sandbox starts one on a free loopback port the
first time a function runs.
"""

from __future__ import annotations

import errno
import json
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from eventlab import errors

PortInUse = errors.PortInUse   # one class for every server that cannot get its port


class QuietHandler(WSGIRequestHandler):
    """No access log line per request (the AWS CLI user sees their own output)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class AdminApp:
    """WSGI middleware: the ``/_eventlab/`` admin API, then moto, then a settle."""

    def __init__(self, moto_app: Any, sandbox: Any) -> None:
        self.moto_app = moto_app
        self.sandbox = sandbox

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_eventlab/"):
            return self._admin(environ, start_response, path)
        if path.startswith("/moto-api") and self.sandbox.http_lockdown:
            self.sandbox.refused.append(f"{environ.get('REQUEST_METHOD', 'GET')} {path}")
            return _json(start_response, "403 Forbidden", {
                "message": "moto's own API (/moto-api) is closed while a submission is graded"})
        app = self._service_route(path) or self.moto_app
        # A Lambda handler's call may come from a delivery a pump is waiting on: never
        # block it.  Other callers (a graded kernel) get deliveries done before the reply,
        # as in-process callers do, when the sandbox asks for it.
        from_lambda = "exec-env/AWS_Lambda" in environ.get("HTTP_USER_AGENT", "")
        wait = self.sandbox.http_waits_for_deliveries and not from_lambda
        with self.sandbox.server_thread():
            body = b"".join(app(environ, start_response))
            if not wait:
                self.sandbox.after_request(from_server=True)
        if wait:
            self.sandbox.after_request()
        return [body]

    def _service_route(self, path: str) -> Callable[..., Iterable[bytes]] | None:
        """A service's own handler for ``path`` (API Gateway invoke URLs), if one claims it."""
        for service in self.sandbox._services:
            route = getattr(service, "http_route", None)
            handler = route(path) if route is not None else None
            if handler is not None:
                return handler
        return None

    def _admin(self, environ: dict[str, Any], start_response: Callable[..., Any], path: str) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        clock = self.sandbox.clock
        status, payload = "200 OK", {}
        try:
            if path == "/_eventlab/health":
                payload = {"status": "ok"}
            elif path == "/_eventlab/clock" and method == "GET":
                payload = _clock_json(clock)
            elif path == "/_eventlab/clock/advance" and method == "POST":
                length = int(environ.get("CONTENT_LENGTH") or 0)
                raw = environ["wsgi.input"].read(length) if length else b"{}"
                spec = json.loads(raw or b"{}")
                clock.advance(float(spec.get("seconds", 0)), minutes=float(spec.get("minutes", 0)),
                              hours=float(spec.get("hours", 0)), days=float(spec.get("days", 0)))
                payload = _clock_json(clock)
            elif path == "/_eventlab/settle" and method == "POST":
                self.sandbox.pump.settle()
                payload = {"settled": True, "errors": list(self.sandbox.pump.errors)}
            elif path in self.sandbox.admin_routes and method == "POST":
                length = int(environ.get("CONTENT_LENGTH") or 0)
                raw = environ["wsgi.input"].read(length) if length else b"{}"
                payload = self.sandbox.admin_routes[path](json.loads(raw or b"{}"))
            else:
                status, payload = "404 Not Found", {"message": f"no admin route {method} {path}"}
        except (ValueError, TypeError, KeyError) as exc:
            status, payload = "400 Bad Request", {"message": f"bad request to {path}: {exc}"}
        return _json(start_response, status, payload)


def _json(start_response: Callable[..., Any], status: str, payload: Any) -> list[bytes]:
    data = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def _clock_json(clock: Any) -> dict[str, Any]:
    return {"now": clock.now().isoformat(), "epoch": clock.time(), "offset": clock.offset}


class SandboxServer:
    """A threaded HTTP server for one sandbox, on 127.0.0.1 by default."""

    def __init__(self, sandbox: Any, host: str = "127.0.0.1", port: int = 0,
                 sock: socket.socket | None = None) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        app = AdminApp(DomainDispatcherApplication(create_backend_app), sandbox)
        if sock is not None:   # a socket bound and listening already (its URL given out early)
            host, port = sock.getsockname()[:2]
            self._server = make_server(host, port, app, threaded=True,
                                       request_handler=QuietHandler, fd=sock.detach())
            self.host, self.port = self._server.server_address[:2]
            self._thread = threading.Thread(target=self._server.serve_forever,
                                            name="eventlab-server", daemon=True)
            return
        in_use = PortInUse(
            f"port {port} on {host} is already in use (another `eventlab serve`, LocalStack "
            f"or moto server?). Stop that process or choose another port with --port.",
            host=host, port=port)
        if port:
            # werkzeug reports a busy port by exiting the process; find out first.
            with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
                try:
                    probe.bind((host, port))
                except OSError as exc:
                    if exc.errno == errno.EADDRINUSE:
                        raise in_use from exc
                    raise
        try:
            self._server: BaseWSGIServer = make_server(host, port, app, threaded=True,
                                                      request_handler=QuietHandler)
        except SystemExit as exc:  # lost a race for the port
            raise in_use from exc
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(target=self._server.serve_forever, name="eventlab-server",
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> SandboxServer:
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
