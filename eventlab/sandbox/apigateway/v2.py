"""Invoking an HTTP API (API Gateway v2): routes, Lambda proxy payload 2.0 (and 1.0), HTTP_PROXY.

* Routes are ``METHOD /path`` route keys with ``{param}`` and ``{proxy+}``, ``ANY``, and
  ``$default``; the most specific path wins, an exact method before ``ANY``; no route ->
  404 ``{"message":"Not Found"}``.
* ``AWS_PROXY`` to Lambda sends the event of payload format 2.0 (or 1.0 when the
  integration says so) and reads the response by the 2.0 rules: an object with
  ``statusCode`` is a full response; any other valid JSON (a string, an object without
  ``statusCode``) becomes a 200 ``application/json`` body as returned; a function error or a
  malformed response -> 500 ``{"message":"Internal Server Error"}``.
* ``HTTP_PROXY`` forwards to loopback URLs only.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from eventlab.sandbox.apigateway.common import (
    ApiRequest,
    OfflineRefused,
    Response,
    http_call,
    invoke_lambda,
    match_template,
    message,
    proxy_body_bytes,
    proxy_status_and_body,
    substitute_stage_variables,
)


def find_route(api: Any, method: str, path: str) -> tuple[Any, dict[str, str]] | None:
    best: tuple[tuple[Any, ...], Any, dict[str, str]] | None = None
    default = None
    for route in list(api.routes.values()):
        key = route.route_key or ""
        if key == "$default":
            default = route
            continue
        route_method, _, route_path = key.partition(" ")
        if route_method not in (method, "ANY"):
            continue
        matched = match_template(route_path, path)
        if matched is None:
            continue
        rank = (matched[0], route_method == "ANY")
        if best is None or rank < best[0]:
            best = (rank, route, matched[1])
    if best is not None:
        return best[1], best[2]
    if default is not None:
        return default, {}
    return None


def invoke_http_api(service: Any, api: Any, request: ApiRequest) -> Response:
    stage = api.stages.get(request.stage)
    if stage is None and request.extra.get("stage_in_path") and "$default" in api.stages:
        # {ApiEndpoint}/path: a first segment that names no stage is the $default stage's path
        if request.stage:
            request.path = "/" + request.stage + (request.path if request.path != "/" else "")
        request.stage = "$default"
        stage = api.stages["$default"]
    if stage is None:
        return message(404, "Not Found")
    found = find_route(api, request.method, request.path)
    if found is None:
        return message(404, "Not Found")
    route, path_params = found
    refused = service.stage_limits.http_api(api, stage, route)
    if refused is not None:
        return refused
    target = route.target or ""
    integration = api.integrations.get(target.rsplit("/", 1)[-1]) if target else None
    if integration is None:
        return message(404, "Not Found")
    stage_vars = dict(stage.stage_variables or {})
    kind = (integration.integration_type or "").upper()
    if kind == "AWS_PROXY":
        uri = substitute_stage_variables(integration.integration_uri or "", stage_vars)
        version = str(integration.payload_format_version or "2.0")
        if version == "1.0":
            event = event_v1(api, route, request, path_params, stage_vars)
        else:
            event = event_v2(api, route, request, path_params, stage_vars)
        arn = uri if uri.startswith("arn:aws:lambda:") else _lambda_arn(uri)
        source = None if integration.credentials_arn else (
            f"arn:aws:execute-api:{api.backend.region_name}:{api.backend.account_id}:{api.api_id}/"
            f"{request.stage}/{request.method}{request.path}")
        ok, payload, result = invoke_lambda(service.sandbox, arn, event, source)
        if not ok:
            service.errors.append(f"HTTP API {api.api_id}: Lambda {arn} failed: {result}")
            return message(500, "Internal Server Error")
        mapped = response_v2(payload, result.payload) if version != "1.0" else _response_v1(payload)
        if mapped is None:
            service.errors.append(f"HTTP API {api.api_id}: malformed Lambda response {str(payload)[:200]}")
            return message(500, "Internal Server Error")
        return mapped
    if kind == "HTTP_PROXY":
        url = substitute_stage_variables(integration.integration_uri or "", stage_vars)
        for name, value in path_params.items():
            url = url.replace("{" + name + "+}", value).replace("{" + name + "}", value)
        if request.query:
            url += ("&" if "?" in url else "?") + urlencode(request.query)
        try:
            return http_call(request.method, url, request.headers, request.body)
        except OfflineRefused as exc:
            service.errors.append(str(exc))
            return message(502, str(exc))
        except OSError:
            return message(500, "Internal Server Error")
    service.errors.append(f"HTTP API {api.api_id}: integration type {kind} is not supported")
    return message(500, "Internal Server Error")


def _lambda_arn(uri: str) -> str:
    from eventlab.sandbox.apigateway.common import lambda_arn_from_uri

    return lambda_arn_from_uri(uri) or uri


def _body(request: ApiRequest) -> tuple[str | None, bool]:
    if not request.body:
        return None, False
    try:
        return request.body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(request.body).decode(), True


def _time(request: ApiRequest) -> str:
    return datetime.fromtimestamp(request.time, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


def event_v2(api: Any, route: Any, request: ApiRequest, path_params: dict[str, str],
             stage_vars: dict[str, str]) -> dict[str, Any]:
    """The Lambda event of payload format 2.0."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers.items():
        if name.lower() == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        lowered = name.lower()
        headers[lowered] = f"{headers[lowered]},{value}" if lowered in headers else value
    raw_path = request.path if request.stage == "$default" else f"/{request.stage}{request.path}"
    domain = request.domain or f"{api.api_id}.execute-api.{api.backend.region_name}.amazonaws.com"
    body, encoded = _body(request)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": raw_path,
        "rawQueryString": request.extra.get("raw_query", urlencode(request.query)),
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if request.query:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in request.query_multi().items()}
    event["requestContext"] = {
        "accountId": api.backend.account_id,
        "apiId": api.api_id,
        "domainName": domain,
        "domainPrefix": api.api_id,
        "http": {"method": request.method, "path": raw_path, "protocol": "HTTP/1.1",
                 "sourceIp": request.source_ip,
                 "userAgent": request.user_agent or request.header("User-Agent", "")},
        "requestId": request.request_id,
        "routeKey": route.route_key,
        "stage": request.stage,
        "time": _time(request),
        "timeEpoch": int(request.time * 1000),
    }
    if body is not None:
        event["body"] = body
    if path_params:
        event["pathParameters"] = dict(path_params)
    event["isBase64Encoded"] = encoded
    if stage_vars:
        event["stageVariables"] = dict(stage_vars)
    return event


def event_v1(api: Any, route: Any, request: ApiRequest, path_params: dict[str, str],
             stage_vars: dict[str, str]) -> dict[str, Any]:
    """The Lambda event of payload format 1.0, as an HTTP API sends it."""
    body, encoded = _body(request)
    route_path = (route.route_key or "").partition(" ")[2] or "$default"
    return {
        "version": "1.0", "resource": route_path, "path": request.path, "httpMethod": request.method,
        "headers": dict(request.headers), "multiValueHeaders": {k: [v] for k, v in request.headers.items()},
        "queryStringParameters": request.query_single() or None,
        "multiValueQueryStringParameters": request.query_multi() or None,
        "requestContext": {
            "accountId": api.backend.account_id, "apiId": api.api_id, "httpMethod": request.method,
            "identity": {"sourceIp": request.source_ip, "userAgent": request.header("User-Agent", "")},
            "path": request.path, "protocol": "HTTP/1.1", "requestId": request.request_id,
            "requestTime": _time(request), "requestTimeEpoch": int(request.time * 1000),
            "resourcePath": route_path, "stage": request.stage},
        "pathParameters": dict(path_params) or None, "stageVariables": dict(stage_vars) or None,
        "body": body, "isBase64Encoded": encoded,
    }


def response_v2(payload: Any, raw: bytes) -> Response | None:
    """Payload format 2.0 response rules; None when malformed."""
    if not isinstance(payload, dict) or "statusCode" not in payload:
        return 200, {"Content-Type": "application/json"}, raw
    checked = proxy_status_and_body(payload)
    if checked is None:
        return None
    status, body = checked
    headers: dict[str, Any] = {str(k): str(v) for k, v in (payload.get("headers") or {}).items()}
    cookies = payload.get("cookies") or []
    if cookies:
        headers["Set-Cookie"] = [str(c) for c in cookies]
    data = proxy_body_bytes(payload, body)
    if data is None:
        return None
    return status, headers, data


def _response_v1(payload: Any) -> Response | None:
    from eventlab.sandbox.apigateway.integrations import proxy_response_v1

    return proxy_response_v1(payload)
