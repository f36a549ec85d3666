"""Invoking a REST API (API Gateway v1): route, authorise, integrate, map the response.

moto keeps the control plane (resources, methods, integrations, stages, keys, plans);
this module runs a request through it as API Gateway does:

1. the most specific resource for the path (literal, then ``{param}``, then
   ``{proxy+}``), the method or ``ANY``; no match -> 403 ``Missing Authentication Token``;
2. ``apiKeyRequired`` -> API key and usage plan (:mod:`apigateway_limits`);
3. the integration: ``AWS`` (SQS actions, Lambda non-proxy), ``AWS_PROXY`` (Lambda proxy
   event v1), ``MOCK``, ``HTTP`` and ``HTTP_PROXY`` (loopback only);
4. for non-proxy integrations, ``requestParameters`` and request templates on the way in,
   integration responses (``selectionPattern``, response templates and parameters) on the
   way out.

The integrations themselves are in :mod:`apigateway_integrations`.
"""

from __future__ import annotations

import re
from typing import Any

from eventlab.sandbox.apigateway_common import ApiRequest, Response, match_template, message
from eventlab.sandbox.apigateway_vtl import TemplateError, render


def find_route(api: Any, method: str, path: str) -> tuple[Any, Any, dict[str, str]] | None:
    """(resource, method, path parameters) for a request, or None (AWS's 403)."""
    best: tuple[tuple[int, ...], Any, dict[str, str]] | None = None
    for resource in list(api.resources.values()):
        if not resource.resource_methods:
            continue
        matched = match_template(resource.get_path(), path)
        if matched is None:
            continue
        score, params = matched
        if best is None or score < best[0]:
            best = (score, resource, params)
    if best is None:
        return None
    _, resource, params = best
    found = resource.resource_methods.get(method) or resource.resource_methods.get("ANY")
    if found is None:
        return None
    return resource, found, params


def context_vars(request: ApiRequest, api: Any, resource: Any, stage: str, account_id: str,
                 key: Any = None) -> dict[str, Any]:
    """``$context`` / ``requestContext`` of a REST API request."""
    from datetime import UTC, datetime

    when = datetime.fromtimestamp(request.time, UTC)
    return {
        "accountId": account_id,
        "apiId": api.id,
        "domainName": request.domain or f"{api.id}.execute-api.{api.region_name}.amazonaws.com",
        "domainPrefix": api.id,
        "extendedRequestId": request.request_id.replace("-", "")[:16] + "=",
        "httpMethod": request.method,
        "identity": {
            "accessKey": None, "accountId": None, "caller": None, "cognitoAuthenticationProvider": None,
            "cognitoAuthenticationType": None, "cognitoIdentityId": None, "cognitoIdentityPoolId": None,
            "principalOrgId": None, "sourceIp": request.source_ip, "user": None,
            "userAgent": request.user_agent or request.header("User-Agent", ""), "userArn": None,
            "apiKey": key.value if key is not None else None,
            "apiKeyId": key.id if key is not None else None,
        },
        "path": f"/{stage}{request.path}",
        "protocol": "HTTP/1.1",
        "requestId": request.request_id,
        "requestTime": when.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "requestTimeEpoch": int(request.time * 1000),
        "resourceId": resource.id,
        "resourcePath": resource.get_path(),
        "stage": stage,
    }


def invoke_rest(service: Any, backend: Any, api: Any, request: ApiRequest) -> Response:
    from eventlab.sandbox import apigateway_integrations as integrations

    stage = api.stages.get(request.stage)
    if stage is None:
        return message(403, "Forbidden")
    route = find_route(api, request.method, request.path)
    if route is None:
        return message(403, "Missing Authentication Token")
    resource, method, path_params = route
    key = None
    if method.api_key_required:
        api_key = request.header("x-api-key")
        refused, key = service.limits.check(backend, api.id, request.stage, api_key)
        if refused is not None:
            return refused
    integration = method.method_integration
    if integration is None:
        return message(500, "Internal server error")
    stage_vars = dict(stage.variables or {})
    call = integrations.Call(
        sandbox=service.sandbox, request=request, api=api, resource=resource, method=method,
        integration=integration, path_params=path_params, stage_variables=stage_vars,
        context=context_vars(request, api, resource, request.stage, backend.account_id, key))
    kind = (integration.integration_type or "").upper()
    handler = {"AWS": integrations.aws, "AWS_PROXY": integrations.aws_proxy, "MOCK": integrations.mock,
               "HTTP": integrations.http, "HTTP_PROXY": integrations.http_proxy}.get(kind)
    if handler is None:
        return message(500, "Internal server error")
    try:
        return handler(call)
    except TemplateError as exc:
        service.errors.append(str(exc))
        return message(500, "Internal server error")


def method_params(call: Any) -> dict[str, dict[str, str]]:
    """``$input.params()``: path, querystring, header."""
    return {"path": dict(call.path_params), "querystring": call.request.query_single(),
            "header": dict(call.request.headers)}


def request_parameters(call: Any) -> dict[str, dict[str, str]]:
    """The integration's ``requestParameters``: {"header"|"querystring"|"path": {name: value}}."""
    out: dict[str, dict[str, str]] = {"header": {}, "querystring": {}, "path": {}}
    for target, source in (call.integration.request_parameters or {}).items():
        parts = target.split(".", 3)
        if len(parts) != 4 or parts[0] != "integration" or parts[1] != "request":
            continue
        value = parameter_value(call, str(source))
        if value is not None:
            out.setdefault(parts[2], {})[parts[3]] = value
    return out


def parameter_value(call: Any, source: str) -> str | None:
    if len(source) >= 2 and source[0] == "'" and source[-1] == "'":
        return source[1:-1]
    request = call.request
    if source.startswith("method.request.header."):
        return request.header(source[len("method.request.header."):])
    if source.startswith("method.request.querystring."):
        return request.query_single().get(source[len("method.request.querystring."):])
    if source.startswith("method.request.multivaluequerystring."):
        values = request.query_multi().get(source[len("method.request.multivaluequerystring."):])
        return ",".join(values) if values else None
    if source.startswith("method.request.path."):
        return call.path_params.get(source[len("method.request.path."):])
    if source == "method.request.body":
        return request.body_text
    if source.startswith("stageVariables."):
        return call.stage_variables.get(source[len("stageVariables."):])
    if source.startswith("context."):
        value: Any = call.context
        for part in source[len("context."):].split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return None if value is None else str(value)
    return None


def request_template(call: Any) -> tuple[str | None, Response | None]:
    """The request template for the request's content type (passthroughBehavior applies)."""
    templates = call.integration.request_templates or {}
    content_type = (call.request.header("Content-Type") or "application/json").split(";")[0].strip()
    if content_type in templates:
        return templates[content_type], None
    behaviour = (call.integration.passthrough_behaviour or "WHEN_NO_MATCH").upper()
    if behaviour == "NEVER" or (behaviour == "WHEN_NO_TEMPLATES" and templates):
        return None, message(415, "Unsupported Media Type")
    return None, None


def transform_request(call: Any) -> tuple[str | None, Response | None]:
    """The integration request body: the rendered template, or the body passed through."""
    template, refused = request_template(call)
    if refused is not None:
        return None, refused
    if template is None:
        return call.request.body_text, None
    return render(template, body=call.request.body_text, params=method_params(call),
                  context=call.context, stage_variables=call.stage_variables), None


def integration_response(call: Any, status: int, body: str, headers: dict[str, str],
                         selector: str | None = None, lambda_success: bool = False) -> Response:
    """Map an integration's answer through the matching integration response."""
    responses = call.integration.integration_responses or {}
    selector = str(status) if selector is None else selector
    chosen = None
    default = None
    for item in responses.values():
        pattern = item.selection_pattern
        if not pattern:
            default = default or item
        elif lambda_success:
            continue  # a Lambda result without errorMessage takes the default response
        elif re.fullmatch(pattern, selector, flags=re.DOTALL):
            chosen = item
            break
    chosen = chosen or default
    if chosen is None:
        return message(500, "Internal server error")
    out_headers: dict[str, str] = {"Content-Type": "application/json"}
    for target, source in (chosen.response_parameters or {}).items():
        if not target.startswith("method.response.header."):
            continue
        source = str(source)
        if source.startswith("'") and source.endswith("'"):
            value: str | None = source[1:-1]
        elif source.startswith("integration.response.header."):
            value = headers.get(source[len("integration.response.header."):])
        else:
            value = None
        if value is not None:
            out_headers[target[len("method.response.header."):]] = value
    templates = chosen.response_templates or {}
    template = templates.get("application/json") if "application/json" in templates else (
        next(iter(templates.values())) if templates else None)
    if template:
        body = render(template, body=body, params=method_params(call), context=call.context,
                      stage_variables=call.stage_variables)
    return int(chosen.status_code), out_headers, body.encode()
