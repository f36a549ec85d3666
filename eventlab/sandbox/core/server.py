"""The sandbox over HTTP: moto's WSGI application behind a thin wrapper.

The wrapper adds what moto's server lacks: after each request the sandbox's pump runs
(so deliveries happen as they do in-process), and a small admin API under
``/_eventlab/`` exposes the virtual clock to AWS CLI users::

    GET  /_eventlab/clock                  -> {"now": "...", "epoch": 1.7e9, "offset": 0.0}
    POST /_eventlab/clock/advance          body {"seconds": 3600}  -> the new time
                                           (keys: seconds, minutes, hours, days; others: 400)
    POST /_eventlab/settle                 run deliveries now
    GET  /_eventlab/quotas[?region=R]      -> every quota in region R (default: the sandbox's):
                                           value in force, AWS's default there, AWS's regional
                                           figures, unit, source
    POST /_eventlab/quotas                 body {"kinesis.shard.write-records": 10} -> the same
    POST /_eventlab/load                   body {"rate": 100, "seconds": 60, "call": {"service":
                                           "sqs", "operation": "SendMessage", "params": {...}},
                                           "queue": "orders"} -> what became of the calls
    GET  /_eventlab/health                 -> {"status": "ok"}
    GET|POST|DELETE /_eventlab/faults      the faults in force; POST {"throttle": "sqs:SendMessage",
                                           "times": 2} injects one (as sb.faults does); DELETE ends them

A service may claim paths of its own with ``http_route(path) -> WSGI app | None``: API
Gateway's invoke URLs (``/restapis/{id}/{stage}/_user_request_/...``) are served that way;
and WebSocket upgrades with ``websocket_route(path)`` (API Gateway WebSocket APIs).

For ``eventlab grade`` (autograder/host.py) a sandbox can add POST routes under
``/_eventlab/`` (``Sandbox.admin_routes``: a path, or "METHOD path" for other methods); the sandbox's ``ServeOptions``, given when it
is made, close moto's own ``/moto-api`` (each refused request is kept in
``Sandbox.refused``) and make callers other than Lambda handlers wait for the deliveries
their request caused, as in-process callers do.

Lambda handlers running in their own processes call the sandbox through this server
(``AWS_ENDPOINT_URL``), so an in-process sandbox starts one on a free loopback port the
first time a function runs.
"""

from __future__ import annotations

import errno
import io
import json
import socket
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from eventlab import errors

if TYPE_CHECKING:
    from eventlab.sandbox.core.sandbox import Sandbox

PortInUse = errors.PortInUse   # one class for every server that cannot get its port


class QuietHandler(WSGIRequestHandler):
    """No access log line per request (the AWS CLI user sees their own output).  A
    WebSocket upgrade that a service claims (``websocket_route``) gets the raw connection:
    werkzeug's own reply ("Connection: close") would break the handshake."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass

    def run_wsgi(self) -> None:
        app = self.server.app
        if "websocket" in self.headers.get("Upgrade", "").lower() and isinstance(app, AdminApp):
            environ = self.make_environ()
            session = app.websocket_session(environ.get("PATH_INFO", ""))
            if session is not None:
                self.close_connection = True
                with app.sandbox.server_thread():
                    session(environ, self.connection, self.rfile)
                return
        super().run_wsgi()


class AdminApp:
    """WSGI middleware: the ``/_eventlab/`` admin API, then moto, then a settle."""

    def __init__(self, moto_app: Any, sandbox: Sandbox) -> None:
        self.moto_app = moto_app
        self.sandbox = sandbox

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_eventlab/"):
            return self._admin(environ, start_response, path)
        if path.startswith("/moto-api") and self.sandbox.serving.lockdown:
            self.sandbox.refuse(f"{environ.get('REQUEST_METHOD', 'GET')} {path}")
            return _json(start_response, "403 Forbidden", {
                "message": "moto's own API (/moto-api) is closed while a submission is graded"})
        from eventlab.sandbox.sns.envelope import sns_link_host

        app = self._service_route(path) or self.moto_app
        sns_host = sns_link_host(environ, self.sandbox.region)
        if sns_host is not None:   # a link from an SNS envelope: no signature names the service
            environ["HTTP_HOST"] = sns_host
            app = self._moto_service_app("sns")
        # A Lambda handler's call may come from a delivery a pump is waiting on: never
        # block it.  Other callers (a graded kernel) get deliveries done before the reply,
        # as in-process callers do, when the sandbox asks for it.
        from_lambda = "exec-env/AWS_Lambda" in environ.get("HTTP_USER_AGENT", "")
        wait = self.sandbox.serving.wait_for_deliveries and not from_lambda
        with self.sandbox.server_thread():
            status, headers, body = _aws_shaped(app, environ)
            if not wait:
                self.sandbox.after_request(from_server=True)
        if wait:
            self.sandbox.after_request()
        start_response(status, headers)
        return [body]

    def websocket_session(self, path: str) -> Callable[..., None] | None:
        """A service's handler for a WebSocket upgrade to ``path`` (API Gateway WebSocket
        APIs), called with (environ, socket, buffered reader) for the connection's life."""
        return self._claimed("websocket_route", path)

    def _service_route(self, path: str) -> Callable[..., Iterable[bytes]] | None:
        """A service's own handler for ``path`` (API Gateway invoke URLs), if one claims it."""
        return self._claimed("http_route", path)

    def _claimed(self, hook: str, path: str) -> Any:
        """The first service whose ``hook(path)`` claims ``path``: its handler."""
        for service in self.sandbox._services:
            route = getattr(service, hook, None)
            handler = route(path) if route is not None else None
            if handler is not None:
                return handler
        return None

    def _moto_service_app(self, service: str) -> Callable[..., Iterable[bytes]]:
        """moto's own WSGI app for one service (moto picks one by signature, or by path)."""
        dispatcher = self.moto_app
        with dispatcher.lock:
            app = dispatcher.app_instances.get(service)
            if app is None:
                app = dispatcher.app_instances[service] = dispatcher.create_app(service)
        return app

    def _admin(self, environ: dict[str, Any], start_response: Callable[..., Any], path: str) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        clock = self.sandbox.clock
        status = "200 OK"
        payload: object = {}   # each route's own JSON
        try:
            if path == "/_eventlab/health":
                payload = {"status": "ok"}
            elif path == "/_eventlab/clock" and method == "GET":
                payload = _clock_json(clock)
            elif path == "/_eventlab/clock/advance" and method == "POST":
                length = int(environ.get("CONTENT_LENGTH") or 0)
                raw = environ["wsgi.input"].read(length) if length else b"{}"
                clock.advance(**_advance_spec(json.loads(raw or b"{}")))
                payload = _clock_json(clock)
            elif path == "/_eventlab/quotas" and method == "GET":
                region = parse_qs(environ.get("QUERY_STRING", "")).get("region", [None])[0]
                payload = self.sandbox.quotas.describe(region)
            elif path == "/_eventlab/quotas" and method == "POST":
                length = int(environ.get("CONTENT_LENGTH") or 0)
                raw = environ["wsgi.input"].read(length) if length else b"{}"
                changes = json.loads(raw or b"{}")
                if not isinstance(changes, dict) or not changes:
                    raise ValueError('send {"NAME": VALUE, ...}; GET /_eventlab/quotas lists the names')
                for name, value in changes.items():
                    self.sandbox.quotas.set(name, value)
                payload = self.sandbox.quotas.describe()
            elif path == "/_eventlab/load" and method == "POST":
                from eventlab.sandbox.core.load import http_load

                length = int(environ.get("CONTENT_LENGTH") or 0)
                raw = environ["wsgi.input"].read(length) if length else b"{}"
                payload = http_load(self.sandbox, json.loads(raw or b"{}"))
            elif path == "/_eventlab/settle" and method == "POST":
                self.sandbox.pump.settle()
                payload = {"settled": True, "errors": list(self.sandbox.pump.errors)}
            elif (path in self.sandbox.admin_routes and method == "POST") or (
                    f"{method} {path}" in self.sandbox.admin_routes):
                length = int(environ.get("CONTENT_LENGTH") or 0)
                raw = environ["wsgi.input"].read(length) if length else b"{}"
                route = self.sandbox.admin_routes.get(f"{method} {path}") or self.sandbox.admin_routes[path]
                payload = route(json.loads(raw or b"{}"))
            else:
                status, payload = "404 Not Found", {"message": f"no admin route {method} {path}"}
        except (ValueError, TypeError, KeyError) as exc:
            status, payload = "400 Bad Request", {"message": f"bad request to {path}: {exc}"}
        return _json(start_response, status, payload)


def _aws_shaped(app: Callable[..., Iterable[bytes]], environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """``app``'s answer, with every exception and HTML error page turned into the error AWS
    would send (see aws_errors.py), and one Content-Type header."""
    from eventlab.sandbox.core import aws_errors

    body_bytes = b""
    if "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", "") and environ.get("CONTENT_LENGTH"):
        body_bytes = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        environ["wsgi.input"] = io.BytesIO(body_bytes)
    started: list[Any] = []
    chunks: list[bytes] = []

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        started[:] = [status, headers]
        return chunks.append

    try:
        chunks.extend(app(environ, capture))
        status, headers = started
    except Exception as exc:   # noqa: BLE001 - any escape becomes an AWS error, the server goes on
        return aws_errors.from_exception(aws_errors.RequestInfo(environ, body_bytes), exc)
    code = int(status[:3])
    if code >= 400 and any(k.lower() == "content-type" and "text/html" in v for k, v in headers):
        return aws_errors.from_html(aws_errors.RequestInfo(environ, body_bytes), code)
    return status, _one_content_type(headers), b"".join(chunks)


def _one_content_type(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A response carries one Content-Type: the first (a handler's own, before defaults)."""
    seen = False
    out = []
    for key, value in headers:
        if key.lower() == "content-type":
            if seen:
                continue
            seen = True
        out.append((key, value))
    return out


ADVANCE_KEYS = ("seconds", "minutes", "hours", "days")


def _advance_spec(spec: Any) -> dict[str, float]:
    """The body of ``POST /_eventlab/clock/advance``: only the keys that move the clock (a
    mistyped ``{"hour": 1}`` moving nothing, with a 200, misled learners)."""
    accepted = ", ".join(f'"{k}"' for k in ADVANCE_KEYS)
    if not isinstance(spec, dict) or not spec:
        raise ValueError(f"the body must be a JSON object with one or more of {accepted}, "
                         'for example {"hours": 1}')
    unknown = sorted(set(spec) - set(ADVANCE_KEYS))
    if unknown:
        raise ValueError(f"unknown key {', '.join(map(repr, unknown))}; the accepted keys are {accepted}")
    out = {}
    for key, value in spec.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f'"{key}" must be a number, not {json.dumps(value)}')
        out[key] = float(value)
    return out


def _json(start_response: Callable[..., Any], status: str, payload: Any) -> list[bytes]:
    data = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def _clock_json(clock: Any) -> dict[str, Any]:
    return {"now": clock.now().isoformat(), "epoch": clock.time(), "offset": clock.offset}


def _address(server: BaseWSGIServer) -> tuple[str, int]:
    """The (host, port) an IP server is bound to."""
    host, port = server.server_address[:2]
    return host.decode() if isinstance(host, bytes) else str(host), int(port)


class SandboxServer:
    """A threaded HTTP server for one sandbox, on 127.0.0.1 by default."""

    def __init__(self, sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0,
                 sock: socket.socket | None = None) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        app = AdminApp(DomainDispatcherApplication(create_backend_app), sandbox)
        if sock is not None:   # a socket bound and listening already (its URL given out early)
            host, port = sock.getsockname()[:2]
            self._server: BaseWSGIServer = make_server(host, port, app, threaded=True,
                                                      request_handler=QuietHandler, fd=sock.detach())
            self.host, self.port = _address(self._server)
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
            self._server = make_server(host, port, app, threaded=True, request_handler=QuietHandler)
        except SystemExit as exc:  # lost a race for the port
            raise in_use from exc
        self.host, self.port = _address(self._server)
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
