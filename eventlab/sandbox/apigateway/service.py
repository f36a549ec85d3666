"""API Gateway in the sandbox: deployed REST and HTTP APIs answer requests.

moto keeps the control plane; this service is the data plane.  An API is invoked

* over HTTP, at the local convention (LocalStack's too) for both REST APIs and HTTP APIs::

      http://127.0.0.1:PORT/restapis/{api_id}/{stage}/_user_request_/{path}
      http://127.0.0.1:PORT/_aws/execute-api/{api_id}/{stage}/{path}

  (an HTTP API's ``$default`` stage is written ``$default`` there, or left out in the
  second form, as on AWS: ``/_aws/execute-api/{api_id}/{path}`` reaches ``$default`` when
  the path's first segment is not a stage; that prefix is the API's ``ApiEndpoint``);
* in-process: ``sb.service("apigateway").invoke(api_id, stage, "POST", "/orders",
  headers={...}, query={...}, body=...) -> (status, headers, body bytes)``.

REST APIs: :mod:`apigateway_rest` (routing, keys and plans, integrations, mapping
templates); HTTP APIs: :mod:`apigateway_v2`.  Before either, the account-level throttle
(10,000 requests/s with a burst of 5,000 across all APIs of the region; 2,500 and 1,250 in
the newer regions AWS lists; quotas ``apigateway.account.*``,
https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html)
answers 429 ``{"message":"Too Many Requests"}`` (``TooManyRequestsException``), counted in
``Count`` and ``4XXError``; then the usage plan's and the stage's or method's own
(:mod:`eventlab.sandbox.apigateway.limits`).  Importing moto's API Gateway costs seconds
(its OpenAPI validator), so nothing here touches it until an API is invoked; and the
slowest part of that import, ``rfc3987_syntax`` (jsonschema's check of the ``iri`` format,
which builds 37 Earley parsers when imported: about two seconds), waits for its first use.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from eventlab.sandbox.apigateway.common import ApiRequest, Response, environ_headers, message
from eventlab.sandbox.apigateway.limits import StageThrottles, UsageLimits
from eventlab.sandbox.core.capacity import Buckets

if TYPE_CHECKING:
    from eventlab.sandbox.core.patches import PatchSet
    from eventlab.sandbox.core.sandbox import Sandbox

# The stage may be missing after execute-api: an HTTP API's ApiEndpoint + "/" is its $default stage.
_ROUTE = re.compile(r"^/(?:restapis/([^/]+)/([^/]+)/_user_request_|_aws/execute-api/([^/]+)(?:/([^/]*))?)(/.*)?$")

Query = dict[str, str | list[str]] | list[tuple[str, str]] | str | None


class ApiGatewayService:
    name = "apigateway"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.limits = UsageLimits(sandbox.clock)
        self.stage_limits = StageThrottles(sandbox)   # stage and method (route) throttling
        self.account_limit = Buckets(sandbox)   # the account's throttle, before any API's own
        self.errors: deque[str] = deque(maxlen=200)  # why requests got a 5xx (API Gateway's execution log)
        from eventlab.sandbox.apigateway.websocket import WebSocketApis

        self.websockets = WebSocketApis(self)    # WebSocket APIs: connections and @connections

    def install(self, patches: PatchSet) -> None:
        """The data plane sits beside moto (see the module doc); moto's control plane gets
        HTTP API quick create and local ApiEndpoints (apigateway_quick.py), and apigatewayv2
        UpdateStage (v2_stage.py)."""
        from eventlab.sandbox.apigateway import quick as apigateway_quick
        from eventlab.sandbox.apigateway import v2_stage

        apigateway_quick.install(self.sandbox, patches)
        v2_stage.install(patches)
        patches.after_import("moto.apigateway.models", lambda: _aws_method_defaults(patches))
        from eventlab.sandbox.apigateway import ws_manage

        ws_manage.install(self.websockets, patches)
        patches.defer_import("rfc3987_syntax", ["is_valid_syntax"],
                             "moto's API Gateway imports jsonschema, which imports it to check "
                             "IRIs (only an OpenAPI import does); building its parsers takes ~2 s")

    # -- entry points -------------------------------------------------------------------
    def invoke(self, api_id: str, stage: str, method: str, path: str = "/", *,
               headers: dict[str, str] | None = None, query: Query = None,
               body: bytes | str | dict[str, Any] | list[Any] | None = None,
               source_ip: str = "127.0.0.1") -> tuple[int, dict[str, Any], bytes]:
        """Invoke a deployed REST or HTTP API in-process, as a client on this machine would."""
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        data = body.encode() if isinstance(body, str) else (body or b"")
        pairs, raw = _query_pairs(query)
        request = self._request(api_id, stage, method, path, dict(headers or {}), pairs, data, source_ip)
        request.extra["raw_query"] = raw
        response = self.handle(request)
        self.sandbox.after_request()
        return response

    def close(self) -> None:
        self.websockets.close_all()

    def websocket_route(self, path: str) -> Callable[..., None] | None:
        """A WebSocket API's connection handler (the sandbox's HTTP server asks)."""
        return self.websockets.websocket_route(path)

    def http_route(self, path: str) -> Callable[..., Iterable[bytes]] | None:
        """The WSGI handler for an invoke URL, or None (the sandbox's HTTP server asks)."""
        from eventlab.sandbox.apigateway.ws_manage import http_route as connections_route

        manage = connections_route(self.websockets, path)
        if manage is not None:
            return manage
        match = _ROUTE.match(path)
        if match is None:
            return None

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            return self._wsgi(match, environ, start_response)
        return app

    def handle(self, request: ApiRequest) -> Response:
        started = time.perf_counter()
        found = None
        try:
            found = self._find_api(request.api_id)
            if found is None:
                return message(404, f"eventlab: no REST API or HTTP API with id {request.api_id!r} "
                                    f"in this sandbox (list them with get_rest_apis / get_apis)")
            kind, backend, api = found
            if not self.account_limit.take("apigateway.account.rate", self.sandbox.account_id,
                                           burst="apigateway.account.burst", region=backend.region_name):
                response = message(429, "Too Many Requests")
            elif kind == "rest":
                from eventlab.sandbox.apigateway.rest import invoke_rest

                response = invoke_rest(self, backend, api, request)
            else:
                from eventlab.sandbox.apigateway.v2 import invoke_http_api

                response = invoke_http_api(self, api, request)
        except Exception as exc:  # the sandbox keeps serving whatever one API does
            self.errors.append(f"{type(exc).__name__}: {exc}")
            response = message(500, "Internal server error")
        if found is not None:
            from eventlab.sandbox.cloudwatch.metrics import record_api_request

            record_api_request(self.sandbox, found[2].name, request.stage, response[0],
                               (time.perf_counter() - started) * 1000)
        return response

    # -- internals ------------------------------------------------------------------------
    def _request(self, api_id: str, stage: str, method: str, path: str, headers: dict[str, str],
                 query: list[tuple[str, str]], body: bytes, source_ip: str) -> ApiRequest:
        return ApiRequest(api_id=api_id, stage=stage, method=method.upper(), path="/" + path.lstrip("/"),
                          headers=headers, query=query, body=body, source_ip=source_ip,
                          request_id=str(uuid.uuid4()), time=self.sandbox.clock.time())

    def _find_api(self, api_id: str) -> tuple[str, Any, Any] | None:
        home = (self.sandbox.account_id, self.sandbox.region)
        for kind, service in (("rest", "apigateway"), ("http", "apigatewayv2")):
            # every account's and region's, the sandbox's own first (API ids are random)
            backends = sorted(self.sandbox.backends(service),
                              key=lambda b: (b.account_id, b.region_name) != home)
            for backend in backends:
                api = backend.apis.get(api_id)
                if api is not None:
                    return kind, backend, api
        return None

    def _wsgi(self, match: re.Match[str], environ: dict[str, Any],
              start_response: Callable[..., Any]) -> Iterable[bytes]:
        api_id = match.group(1) or match.group(3)
        stage = match.group(2) or match.group(4)
        path = (match.group(5) or "/").encode("latin-1").decode("utf-8", errors="replace")
        headers = environ_headers(environ)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        raw_query = environ.get("QUERY_STRING", "")
        request = self._request(api_id, stage, environ.get("REQUEST_METHOD", "GET"), path, headers,
                                parse_qsl(raw_query, keep_blank_values=True), body,
                                environ.get("REMOTE_ADDR", "127.0.0.1"))
        request.extra["raw_query"] = raw_query
        request.extra["stage_in_path"] = match.group(3) is not None
        request.domain = environ.get("HTTP_HOST", "")
        status, out_headers, data = self.handle(request)
        header_list: list[tuple[str, str]] = []
        for name, value in out_headers.items():
            if name.lower() == "content-length":
                continue
            for item in (value if isinstance(value, list) else [value]):
                header_list.append((name, str(item)))
        header_list += [("Content-Length", str(len(data))), ("x-amzn-RequestId", request.request_id)]
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Unknown"
        start_response(f"{status} {phrase}", header_list)
        return [data]


def _query_pairs(query: Query) -> tuple[list[tuple[str, str]], str]:
    if query is None:
        return [], ""
    if isinstance(query, str):
        raw = query.lstrip("?")
        return parse_qsl(raw, keep_blank_values=True), raw
    if isinstance(query, dict):
        pairs: list[tuple[str, str]] = []
        for key, value in query.items():
            for item in (value if isinstance(value, list) else [value]):
                pairs.append((str(key), str(item)))
    else:
        pairs = [(str(k), str(v)) for k, v in query]
    return pairs, urlencode(pairs)


def _aws_method_defaults(patches: PatchSet) -> None:
    """A stage's method settings start from AWS's values: the throttle is the account's
    (10,000/s, burst 5,000), not moto's 1,000/s and 2,000, so that setting only a rate
    leaves the burst as AWS leaves it."""
    from moto.apigateway.models import Stage

    original = Stage._get_default_method_settings

    def defaults(stage: Any) -> dict[str, Any]:
        return {**original(stage), "throttlingRateLimit": 10000.0, "throttlingBurstLimit": 5000}

    patches.replace(Stage, "_get_default_method_settings", defaults,
                    "method settings start from AWS's throttle (the account's 10,000/s, burst 5,000)")

