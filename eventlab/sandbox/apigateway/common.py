"""What REST APIs and HTTP APIs share: the request, route matching, Lambda and HTTP calls."""

from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from eventlab.errors import FunctionNotFound, SandboxError
from eventlab.net import is_loopback
from eventlab.sandbox.awslambda.concurrency import Throttled

if TYPE_CHECKING:
    from eventlab.sandbox.core.sandbox import Sandbox

Response = tuple[int, dict[str, str], bytes]


@dataclass
class ApiRequest:
    """One request to a deployed API, after the stage has been taken off the path."""

    api_id: str
    stage: str
    method: str
    path: str  # starts with "/"
    headers: dict[str, str]
    query: list[tuple[str, str]]
    body: bytes
    source_ip: str
    request_id: str
    time: float  # virtual epoch seconds
    user_agent: str = ""
    domain: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def header(self, name: str, default: str | None = None) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return default

    def query_single(self) -> dict[str, str]:
        """The last value of each query parameter (what AWS puts in the single-value maps)."""
        return {key: value for key, value in self.query}

    def query_multi(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for key, value in self.query:
            out.setdefault(key, []).append(value)
        return out

    @property
    def body_text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    out = {"Content-Type": "application/json"}
    out.update(headers or {})
    return status, out, json.dumps(payload).encode()


def message(status: int, text: str) -> Response:
    """API Gateway's own error answers: ``{"message": "..."}``."""
    return json_response(status, {"message": text}, {"x-amzn-ErrorType": _error_type(status)})


def _error_type(status: int) -> str:
    return {403: "ForbiddenException", 404: "NotFoundException", 429: "TooManyRequestsException",
            415: "UnsupportedMediaTypeException", 502: "BadGatewayException",
            504: "IntegrationTimeout"}.get(status, "InternalServerErrorException")


def match_template(template: str, path: str) -> tuple[tuple[int, ...], dict[str, str]] | None:
    """Match a resource path (``/orders/{id}``, ``/files/{proxy+}``) against a request path.

    Returns a sort key (literal segments before ``{param}`` before ``{greedy+}``, segment by
    segment, as API Gateway prefers the most specific match) and the path parameters.
    """
    t_parts = [p for p in template.split("/") if p]
    p_parts = [p for p in path.split("/") if p]
    params: dict[str, str] = {}
    score: list[int] = []
    for i, part in enumerate(t_parts):
        if part.startswith("{") and part.endswith("+}"):
            rest = p_parts[i:]
            if not rest:
                return None
            params[part[1:-2]] = "/".join(rest)
            score.append(2)
            return tuple(score), params
        if i >= len(p_parts):
            return None
        if part.startswith("{") and part.endswith("}"):
            params[part[1:-1]] = p_parts[i]
            score.append(1)
        elif part == p_parts[i]:
            score.append(0)
        else:
            return None
    if len(t_parts) != len(p_parts):
        return None
    return tuple(score), params


_STAGE_VAR = re.compile(r"\$\{stageVariables\.([A-Za-z0-9_.:-]+)\}")


def substitute_stage_variables(text: str, variables: dict[str, str]) -> str:
    return _STAGE_VAR.sub(lambda m: str(variables.get(m.group(1), "")), text or "")


def lambda_arn_from_uri(uri: str) -> str | None:
    """``arn:aws:apigateway:R:lambda:path/2015-03-31/functions/ARN/invocations`` -> ARN."""
    if uri.startswith("arn:aws:lambda:"):
        return uri
    match = re.search(r"/functions/(.+?)/invocations", uri or "")
    return match.group(1) if match else None


def invoke_lambda(sandbox: Sandbox, arn: str, event: Any, source_arn: str | None = None) -> tuple[bool, Any, Any]:
    """Invoke synchronously: (ok, decoded payload or None, the InvocationResult or error).
    With ``source_arn`` (the ``execute-api`` ARN of the method; None when the integration has
    credentials) the function's resource policy must let API Gateway invoke it."""
    from eventlab.sandbox.iam.enforce import DeliveryRefused, check_function

    service = sandbox.service("lambda")
    try:
        fn = service.function(arn)
        if source_arn is not None:
            check_function(sandbox, "apigateway", fn, source_arn)
    except (FunctionNotFound, DeliveryRefused) as exc:
        return False, None, exc
    try:
        result = service.invoke(fn, event)
    except Throttled as exc:   # API Gateway answers the caller 500, as for other failures
        return False, None, exc
    if not result.ok:
        return False, None, result
    try:
        return True, json.loads(result.payload or b"null"), result
    except ValueError:
        return True, result.payload.decode(errors="replace"), result


class OfflineRefused(SandboxError):
    pass


_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
               "proxy-authorization", "proxy-authenticate", "host", "content-length"}


def http_call(method: str, url: str, headers: dict[str, str], body: bytes | None,
              timeout: float = 29.0) -> Response:
    """An HTTP integration's request, to loopback only (the sandbox never leaves the machine)."""
    host = urlsplit(url).hostname
    if not is_loopback(host):
        raise OfflineRefused(
            f"eventlab sandbox: refusing the HTTP integration to {url} — the sandbox never leaves "
            "this machine. Point the integration at a 127.0.0.1 or localhost URL.")
    sent = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
    request = urllib.request.Request(url, data=body if method not in ("GET", "HEAD") else None,
                                     headers=sent, method=method)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers.items()), exc.read()


def proxy_status_and_body(payload: dict[str, Any]) -> tuple[int, str | None] | None:
    """``statusCode`` (an int 100-599, or its digits) and ``body`` (a string or absent) of a
    Lambda proxy response, as payload formats 1.0 and 2.0 both require; None if malformed."""
    status = payload.get("statusCode", 200)
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        return None
    body = payload.get("body")
    if body is not None and not isinstance(body, str):
        return None
    return status, body


def proxy_body_bytes(payload: dict[str, Any], body: str | None) -> bytes | None:
    """A proxy response's body as bytes (base64-decoded with ``isBase64Encoded``); None if
    that decoding fails."""
    if payload.get("isBase64Encoded"):
        try:
            return base64.b64decode(body or "")
        except ValueError:
            return None
    return (body or "").encode()


def environ_headers(environ: dict[str, Any]) -> dict[str, str]:
    """The request headers of a WSGI environ, named as HTTP writes them."""
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = "-".join(part.capitalize() for part in key[5:].split("_"))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            name = "-".join(part.capitalize() for part in key.split("_"))
        else:
            continue
        headers[name] = value
    return headers
