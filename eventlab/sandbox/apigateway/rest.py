"""Invoking a REST API (API Gateway v1): route, authorise, integrate, map the response.

moto keeps the control plane (resources, methods, integrations, stages, keys, plans);
this module runs a request through it as API Gateway does:

1. the most specific resource for the path (literal, then ``{param}``, then
   ``{proxy+}``), the method or ``ANY``; no match -> 403 ``Missing Authentication Token``;
2. ``apiKeyRequired`` -> API key and usage plan, then the stage's or the method's throttle
   (:mod:`eventlab.sandbox.apigateway.limits`);
3. the integration: ``AWS`` (SQS actions, Lambda non-proxy), ``AWS_PROXY`` (Lambda proxy
   event v1), ``MOCK``, ``HTTP`` and ``HTTP_PROXY`` (loopback only);
4. for non-proxy integrations, ``requestParameters`` and request templates on the way in,
   integration responses (``selectionPattern``, response templates and parameters) on the
   way out.

The integrations themselves are in :mod:`eventlab.sandbox.apigateway.integrations`, the
mapping of non-proxy requests and responses in :mod:`eventlab.sandbox.apigateway.mapping`.
"""

from __future__ import annotations

from typing import Any

from eventlab.sandbox.apigateway import integrations
from eventlab.sandbox.apigateway.common import ApiRequest, Response, match_template, message
from eventlab.sandbox.apigateway.vtl import TemplateError


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
    refused = service.stage_limits.rest(api, request.stage, stage, resource, method)
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
