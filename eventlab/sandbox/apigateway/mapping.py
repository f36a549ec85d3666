"""Mapping for non-proxy REST integrations: ``requestParameters`` and request templates on
the way in, integration responses (``selectionPattern``, response templates and
parameters) on the way out.  Used by :mod:`eventlab.sandbox.apigateway.integrations`;
the request itself is routed by :mod:`eventlab.sandbox.apigateway.rest`.
"""

from __future__ import annotations

import re
from typing import Any

from eventlab.sandbox.apigateway.common import Response, message
from eventlab.sandbox.apigateway.vtl import render


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
