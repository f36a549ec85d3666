"""API Gateway WebSocket APIs that really run: connections, routes, the @connections API.

A WebSocket API (``apigatewayv2 CreateApi ProtocolType=WEBSOCKET``) answers on the
sandbox's own port.  Its ``ApiEndpoint`` is ``ws://127.0.0.1:PORT/_aws/execute-api/{api_id}``
(AWS: ``wss://{api_id}.execute-api.{region}.amazonaws.com``); a client connects to
``{ApiEndpoint}/{stage}``, in-process (the sandbox's local endpoint) or over
``eventlab serve``.  As AWS documents
(https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-overview.html):

* ``$connect`` runs while the upgrade waits: a Lambda REQUEST authorizer first (identity
  sources from headers and query string; missing -> 401, Deny -> 403, its ``context`` in
  ``requestContext.authorizer``), then the route's integration; a non-2xx ``statusCode``
  or a failure refuses the connection.  Until it returns, ``PostToConnection`` is a
  ``GoneException``.
* each message is routed by the API's ``RouteSelectionExpression``
  (``$request.body.action``): the route whose key equals the value, else ``$default``,
  else the client gets ``{"message": "Forbidden", ...}``; a failed integration sends
  ``{"message": "Internal server error", ...}``.  A route with a ``$default`` route response
  (two-way) sends the Lambda proxy response's ``body`` back.
* ``$disconnect`` runs once the connection is gone, whoever closed it (best effort, as on
  AWS), with ``disconnectStatusCode`` and ``disconnectReason``.
* the ``@connections`` API (``PostToConnection``, ``GetConnection``, ``DeleteConnection``):
  ``{ApiEndpoint with http://}/{stage}/@connections/{id}`` over HTTP, AWS's own
  ``https://{api_id}.execute-api.{region}.amazonaws.com/{stage}`` in-process (moto's URL,
  answered here) and from Lambda handlers (their worker sends that host to the sandbox).
* quotas ``apigateway.websocket.*`` on the virtual clock: frames 32 KB and messages 128 KB
  (bigger closes 1009; a bigger ``PostToConnection`` is ``PayloadTooLargeException``), idle
  10 minutes and at most 2 hours per connection (closed with 1001 "Going away").
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import string
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from eventlab.errors import SandboxError
from eventlab.sandbox.apigateway.common import (
    environ_headers,
    invoke_lambda,
    lambda_arn_from_uri,
    substitute_stage_variables,
)
from eventlab.sandbox.apigateway.ws_session import Session

if TYPE_CHECKING:
    from eventlab.sandbox.apigateway.service import ApiGatewayService

WS_PATH = re.compile(r"^/_aws/execute-api/([^/]+)/([^/]+)/?$")
# {ApiEndpoint}/{stage}/@connections/{id}; or, for clients given the bare sandbox URL as
# endpoint (`eventlab aws` forces it), /[{stage}/]@connections/{id}: ids are unique here.
CONNECTIONS_PATH = re.compile(
    r"^(?:/_aws/execute-api/([^/]+))?(?:/([^/@]+))?/(?:@|%40)connections/([^/]+)$")
GOING_AWAY = (1001, "Going away")


class ManagementError(SandboxError):
    """An @connections error as AWS sends it (``GoneException`` 410...); the API's
    handlers turn it into that answer."""

    def __init__(self, status: int, code: str, text: str) -> None:
        super().__init__(text)
        self.status, self.code, self.text = status, code, text


@dataclass
class Connection:
    id: str
    api: Any
    stage: str
    domain: str
    source_ip: str
    user_agent: str
    connected_at: float          # virtual epoch seconds
    session: Session
    last_active: float = 0.0
    state: str = "CONNECTING"    # CONNECTING -> OPEN -> CLOSED
    authorizer: dict[str, Any] | None = None
    closing: tuple[int, str] | None = None
    disconnected: bool = False
    gone: threading.Event = field(default_factory=threading.Event)


def _connection_id() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(15)) + "="


def _epoch_ms(t: float) -> int:
    return int(t * 1000)


def _request_time(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


class WebSocketApis:
    """Every WebSocket connection of one sandbox."""

    def __init__(self, service: ApiGatewayService) -> None:
        self.service = service
        self.sandbox = service.sandbox
        self.connections: dict[str, Connection] = {}
        self._lock = threading.Lock()

    # -- entry points ---------------------------------------------------------------------
    def websocket_route(self, path: str) -> Callable[..., None] | None:
        match = WS_PATH.match(path)
        if match is None or self._api(match.group(1)) is None:
            return None
        api_id, stage = match.group(1), match.group(2)

        def session(environ: dict[str, Any], sock: Any, reader: Any) -> None:
            self._serve(api_id, stage, environ, sock, reader)
        return session

    def connection(self, connection_id: str) -> Connection | None:
        return self.connections.get(connection_id)

    def wait_disconnected(self, connection_id: str, timeout: float = 10.0) -> bool:
        """Wait (real time) until the connection's ``$disconnect`` has run."""
        conn = self.connections.get(connection_id)
        return conn is None or conn.gone.wait(timeout)

    def close_all(self) -> None:
        """The sandbox stops: every client is told 1001 (no ``$disconnect`` runs any more)."""
        for conn in list(self.connections.values()):
            conn.disconnected = True
            if conn.state != "CLOSED":
                conn.session.close(*GOING_AWAY)
                conn.session.abort()

    # -- the @connections API ----------------------------------------------------------------
    def _open(self, connection_id: str) -> Connection:
        conn = self.connections.get(connection_id)
        if conn is None or conn.state != "OPEN":
            raise ManagementError(410, "GoneException", "")
        return conn

    def post(self, connection_id: str, data: bytes) -> None:
        conn = self._open(connection_id)
        limit = int(self.sandbox.quotas["apigateway.websocket.message-bytes"])
        if len(data) > limit:
            raise ManagementError(413, "PayloadTooLargeException",
                                  f"Message of {len(data)} bytes is larger than the {limit}-byte limit")
        if not self._send(conn, data):
            raise ManagementError(410, "GoneException", "")

    def get(self, connection_id: str) -> dict[str, Any]:
        conn = self._open(connection_id)
        return {"connectedAt": _iso(conn.connected_at), "lastActiveAt": _iso(conn.last_active),
                "identity": {"sourceIp": conn.source_ip, "userAgent": conn.user_agent}}

    def delete(self, connection_id: str) -> None:
        conn = self._open(connection_id)
        self._close(conn, 1000, "")

    # -- a connection's life -------------------------------------------------------------------
    def _serve(self, api_id: str, stage_name: str, environ: dict[str, Any], sock: Any, reader: Any) -> None:
        quotas = self.sandbox.quotas
        session = Session(sock, reader, int(quotas["apigateway.websocket.frame-bytes"]),
                          int(quotas["apigateway.websocket.message-bytes"]))
        headers = environ_headers(environ)
        raw_query = environ.get("QUERY_STRING", "")
        path = environ.get("PATH_INFO", "/") + (f"?{raw_query}" if raw_query else "")
        if session.handshake_error(path, headers):
            return
        api = self._api(api_id)
        stage = api.stages.get(stage_name) if api is not None else None
        if api is None or stage is None:
            session.refuse(403, "Forbidden")
            return
        now = self.sandbox.clock.time()
        conn = Connection(
            id=_connection_id(), api=api, stage=stage_name,
            domain=f"{api.api_id}.execute-api.{api.backend.region_name}.amazonaws.com",
            source_ip=environ.get("REMOTE_ADDR", "127.0.0.1"),
            user_agent=_header(headers, "User-Agent") or "", connected_at=now, session=session,
            last_active=now)
        with self._lock:
            self.connections[conn.id] = conn
        query = parse_qsl(raw_query, keep_blank_values=True)
        refused = self._connect(conn, stage, headers, query)
        if refused is not None:
            conn.state = "CLOSED"
            session.refuse(*refused)
            conn.gone.set()
            with self._lock:
                self.connections.pop(conn.id, None)
            self.sandbox.after_request(from_server=True)
            return
        conn.state = "OPEN"
        session.accept()
        self._arm_timers(conn)
        self.sandbox.after_request(from_server=True)
        code, reason = session.run(lambda data, text: self._message(conn, stage, data, text))
        if conn.closing is not None:
            code, reason = conn.closing
        self._disconnect(conn, stage, code, reason)

    def _connect(self, conn: Connection, stage: Any, headers: dict[str, str],
                 query: list[tuple[str, str]]) -> tuple[int, str] | None:
        """Authorizer and ``$connect``; None when the connection is accepted, else (status, body)."""
        route = _route(conn.api, "$connect")
        event = self._event(conn, stage, "$connect", "CONNECT")
        event["headers"] = dict(headers)
        event["multiValueHeaders"] = {k: [v] for k, v in headers.items()}
        if query:
            event["queryStringParameters"] = dict(query)
            multi: dict[str, list[str]] = {}
            for key, value in query:
                multi.setdefault(key, []).append(value)
            event["multiValueQueryStringParameters"] = multi
        if route is not None and (route.authorization_type or "").upper() == "CUSTOM":
            from eventlab.sandbox.apigateway.ws_authorizer import authorize

            denied, context = authorize(self, conn, route, stage, event)
            if denied is not None:
                return denied
            conn.authorizer = context
            event["requestContext"]["authorizer"] = context
        if route is None:
            return None
        ok, payload = self._integrate(conn, stage, route, event)
        if not ok:
            return 500, "Internal server error"
        status = payload.get("statusCode", 200) if isinstance(payload, dict) else 200
        if isinstance(status, str) and status.isdigit():
            status = int(status)
        if not isinstance(status, int) or not 200 <= status <= 299:
            code = status if isinstance(status, int) and 400 <= status <= 599 else 500
            return code, (payload.get("body") if isinstance(payload, dict) else None) or "Forbidden"
        return None

    def _message(self, conn: Connection, stage: Any, data: bytes, text: bool) -> None:
        conn.last_active = self.sandbox.clock.time()
        body = data.decode("utf-8", errors="replace") if text else base64.b64encode(data).decode()
        key = select_route(conn.api.route_selection_expression, body) if text else None
        route = _route(conn.api, key) if key is not None else None
        route = route or _route(conn.api, "$default")
        request_id = str(uuid.uuid4())
        if route is None:
            self._error(conn, "Forbidden", request_id)
            return
        event = self._event(conn, stage, route.route_key, "MESSAGE", request_id)
        event["requestContext"]["messageId"] = uuid.uuid4().hex[:16]
        event["body"] = body
        event["isBase64Encoded"] = not text
        ok, payload = self._integrate(conn, stage, route, event)
        self.sandbox.after_request(from_server=True)
        if not ok:
            self._error(conn, "Internal server error", request_id)
            return
        if route.route_response_selection_expression and any(
                r.route_response_key == "$default" for r in route.route_responses.values()):
            reply = payload.get("body") if isinstance(payload, dict) and "statusCode" in payload else (
                payload if isinstance(payload, str) else json.dumps(payload))
            if reply is not None:
                self._send(conn, str(reply).encode())

    def _disconnect(self, conn: Connection, stage: Any, code: int, reason: str) -> None:
        with self._lock:
            if conn.disconnected:
                return
            conn.disconnected = True
            conn.state = "CLOSED"
        try:
            route = _route(conn.api, "$disconnect")
            if route is not None:
                event = self._event(conn, stage, "$disconnect", "DISCONNECT")
                event["headers"] = {"Host": conn.domain, "x-api-key": "", "X-Forwarded-For": "",
                                    "x-restapi": ""}
                event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
                event["requestContext"]["disconnectStatusCode"] = code
                event["requestContext"]["disconnectReason"] = reason
                self._integrate(conn, stage, route, event)
                self.sandbox.after_request(from_server=True)
        finally:
            conn.gone.set()
            with self._lock:   # an unknown id is as gone as a closed one (GoneException)
                self.connections.pop(conn.id, None)

    def _close(self, conn: Connection, code: int, reason: str) -> None:
        """Close from the server side (DeleteConnection, a timer)."""
        with self._lock:
            if conn.state != "OPEN":
                return
            conn.state = "CLOSED"
            conn.closing = (code, reason)
        conn.session.close(code, reason)

    # -- timers on the virtual clock ---------------------------------------------------------------
    def _arm_timers(self, conn: Connection) -> None:
        clock, quotas = self.sandbox.clock, self.sandbox.quotas
        limit = conn.connected_at + quotas["apigateway.websocket.duration-seconds"]
        clock.call_at(limit, lambda: self._expire(conn))
        self._arm_idle(conn)

    def _arm_idle(self, conn: Connection) -> None:
        idle = self.sandbox.quotas["apigateway.websocket.idle-seconds"]
        self.sandbox.clock.call_at(conn.last_active + idle, lambda: self._idle_check(conn))

    def _idle_check(self, conn: Connection) -> None:
        if conn.state != "OPEN":
            return
        idle = self.sandbox.quotas["apigateway.websocket.idle-seconds"]
        if self.sandbox.clock.time() - conn.last_active >= idle:
            self._expire(conn)
        else:
            self._arm_idle(conn)

    def _expire(self, conn: Connection) -> None:
        """Idle or too old: closed with 1001, and ``$disconnect`` runs before the clock moves on."""
        if conn.state != "OPEN":
            return
        self._close(conn, *GOING_AWAY)
        stage = conn.api.stages.get(conn.stage)
        self._disconnect(conn, stage, *GOING_AWAY)

    # -- helpers ---------------------------------------------------------------------------------
    def _send(self, conn: Connection, data: bytes) -> bool:
        try:
            text, payload = True, data
            data.decode("utf-8")
        except UnicodeDecodeError:
            text, payload = False, data
        if not conn.session.send(payload, text):
            return False
        conn.last_active = self.sandbox.clock.time()
        return True

    def _error(self, conn: Connection, text: str, request_id: str) -> None:
        self._send(conn, json.dumps({"message": text, "connectionId": conn.id,
                                     "requestId": request_id}).encode())

    def _event(self, conn: Connection, stage: Any, route_key: str, event_type: str,
               request_id: str | None = None) -> dict[str, Any]:
        now = self.sandbox.clock.time()
        request_id = request_id or str(uuid.uuid4())
        context: dict[str, Any] = {
            "routeKey": route_key, "eventType": event_type,
            "extendedRequestId": request_id, "requestTime": _request_time(now),
            "messageDirection": "IN", "stage": conn.stage,
            "connectedAt": _epoch_ms(conn.connected_at), "requestTimeEpoch": _epoch_ms(now),
            "identity": {"sourceIp": conn.source_ip, "userAgent": conn.user_agent},
            "requestId": request_id, "domainName": conn.domain, "connectionId": conn.id,
            "apiId": conn.api.api_id,
        }
        if conn.authorizer is not None:
            context["authorizer"] = dict(conn.authorizer)
        event: dict[str, Any] = {"requestContext": context, "isBase64Encoded": False}
        variables = dict(getattr(stage, "stage_variables", None) or {})
        if variables:
            event["stageVariables"] = variables
        return event

    def _integrate(self, conn: Connection, stage: Any, route: Any, event: dict[str, Any]) -> tuple[bool, Any]:
        """Run a route's integration (Lambda proxy): (ok, the function's decoded result)."""
        target = route.target or ""
        integration = conn.api.integrations.get(target.rsplit("/", 1)[-1]) if target else None
        api_id = conn.api.api_id
        if integration is None:
            self.service.errors.append(f"WebSocket API {api_id}: route {route.route_key} has no integration")
            return False, None
        kind = (integration.integration_type or "").upper()
        if kind != "AWS_PROXY":
            self.service.errors.append(f"WebSocket API {api_id}: integration type {kind} is not "
                                       "supported by the sandbox (only AWS_PROXY to Lambda)")
            return False, None
        variables = dict(getattr(stage, "stage_variables", None) or {})
        uri = substitute_stage_variables(integration.integration_uri or "", variables)
        arn = lambda_arn_from_uri(uri) or uri
        return self.invoke(conn, arn, event, route.route_key, credentials=integration.credentials_arn)

    def invoke(self, conn: Connection, arn: str, event: Any, route_key: str,
               credentials: str | None = None) -> tuple[bool, Any]:
        backend = conn.api.backend
        source = None if credentials else (f"arn:aws:execute-api:{backend.region_name}:"
                                           f"{backend.account_id}:{conn.api.api_id}/{conn.stage}/{route_key}")
        ok, payload, result = invoke_lambda(self.sandbox, arn, event, source)
        if not ok:
            self.service.errors.append(f"WebSocket API {conn.api.api_id}: Lambda {arn} failed: {result}")
        return ok, payload

    def _api(self, api_id: str) -> Any:
        for backend in self.sandbox.backends("apigatewayv2"):
            api = backend.apis.get(api_id)
            if api is not None and api.protocol_type == "WEBSOCKET":
                return api
        return None


def _route(api: Any, key: str) -> Any:
    for route in list(api.routes.values()):
        if route.route_key == key:
            return route
    return None


def _header(headers: dict[str, str], name: str) -> str | None:
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


_SELECTION_VAR = re.compile(r"\$\{request\.body\.([^}]+)\}|\$request\.body\.([A-Za-z0-9_.\[\]-]+)")


def select_route(expression: str | None, body: str) -> str | None:
    """The route key a message selects (``$request.body.action``, ``${request.body.a}/x``),
    or None when the body is not JSON or a variable is missing (then ``$default`` applies)."""
    if not expression:
        return None
    try:
        document = json.loads(body)
    except ValueError:
        return None
    missing = False

    def value(match: re.Match[str]) -> str:
        nonlocal missing
        current: Any = document
        for part in re.findall(r"[^.\[\]]+", match.group(1) or match.group(2)):
            if isinstance(current, dict) and part in current:
                current = current[part]
            elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
                current = current[int(part)]
            else:
                missing = True
                return ""
        return current if isinstance(current, str) else json.dumps(current)

    key = _SELECTION_VAR.sub(value, expression).replace("\\$", "$")
    return None if missing else key
