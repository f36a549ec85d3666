"""REST API integrations: AWS (SQS, Lambda), AWS_PROXY, MOCK, HTTP, HTTP_PROXY."""

from __future__ import annotations

import base64
import json
import re
import urllib.error
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlencode

from eventlab.sandbox.apigateway.common import (
    ApiRequest,
    OfflineRefused,
    Response,
    http_call,
    invoke_lambda,
    lambda_arn_from_uri,
    message,
    proxy_body_bytes,
    proxy_status_and_body,
    substitute_stage_variables,
)
from eventlab.sandbox.apigateway.mapping import (
    integration_response,
    request_parameters,
    transform_request,
)
from eventlab.sandbox.iam.identity import IdentityRefused, check_target_role

if TYPE_CHECKING:
    from eventlab.sandbox.core.sandbox import Sandbox


@dataclass
class Call:
    sandbox: Sandbox
    request: ApiRequest
    api: Any
    resource: Any
    method: Any
    integration: Any
    path_params: dict[str, str]
    stage_variables: dict[str, str]
    context: dict[str, Any]

    def note(self, text: str) -> None:
        self.sandbox.service("apigateway").errors.append(text)


_AWS_URI = re.compile(r"arn:aws[\w-]*:apigateway:([^:]*):([^:]+):(action|path)/(.*)$")


# -- AWS ------------------------------------------------------------------------------
def aws(call: Call) -> Response:
    uri = substitute_stage_variables(call.integration.uri or "", call.stage_variables)
    match = _AWS_URI.match(uri)
    if match is None:
        call.note(f"AWS integration URI {uri!r} is not arn:aws:apigateway:REGION:SERVICE:action|path/...")
        return message(500, "Internal server error")
    region, service, kind, rest = match.groups()
    region = region or call.api.region_name
    if service == "lambda":
        return _lambda(call, uri)
    if service == "sqs":
        return _sqs(call, region, kind, rest)
    call.note(f"eventlab: AWS integrations to {service} are not supported (SQS and Lambda are)")
    return message(500, "Internal server error")


def _sqs(call: Call, region: str, kind: str, rest: str) -> Response:
    body, refused = transform_request(call)
    if refused is not None:
        return refused
    mapped = request_parameters(call)
    params = dict(mapped.get("querystring", {}))
    content_type = next((v for k, v in mapped.get("header", {}).items() if k.lower() == "content-type"),
                        "application/json")
    if "x-www-form-urlencoded" in content_type:
        params.update(parse_qsl(body or "", keep_blank_values=True))
    action = rest if kind == "action" else params.get("Action")
    queue = rest.rstrip("/").split("/")[-1] if kind == "path" else params.get("QueueUrl", "").rstrip("/").split("/")[-1]
    if not action:
        return _sqs_error(call, "MissingAction",
                          "The request must contain the parameter Action. (eventlab: SQS reads a form-encoded "
                          "body: map integration.request.header.Content-Type to "
                          "'application/x-www-form-urlencoded' and send Action=SendMessage&MessageBody=...)")
    if action != "SendMessage":
        return _sqs_error(call, "InvalidAction",
                          f"eventlab: the SQS integration supports SendMessage, not {action}")
    if not queue:
        return _sqs_error(call, "MissingParameter", "The request must contain the parameter QueueUrl.")
    if "MessageBody" not in params:
        return _sqs_error(call, "MissingParameter",
                          "The request must contain the parameter MessageBody.")
    from moto.sqs.utils import validate_message_attributes

    attributes = _message_attributes(params)
    owner = (rest if kind == "path" else params.get("QueueUrl", "")).rstrip("/").split("/")
    account = owner[-2] if len(owner) > 1 and owner[-2].isdigit() else call.api.account_id
    why = _role_refusal(call, f"arn:aws:sqs:{region}:{account}:{queue}")
    if why is not None:
        return _sqs_error(call, "AccessDenied", why, 403)
    try:
        validate_message_attributes(attributes)
        delay = params.get("DelaySeconds")
        sent = call.sandbox.backend("sqs", region, account).send_message(
            queue, params["MessageBody"], message_attributes=attributes,
            delay_seconds=int(delay) if delay not in (None, "") else None,
            deduplication_id=params.get("MessageDeduplicationId"), group_id=params.get("MessageGroupId"))
    except Exception as exc:  # moto's SQS errors: QueueDoesNotExist, InvalidParameterValue...
        code = getattr(exc, "error_type", None) or type(exc).__name__
        code = _QUERY_CODES.get(code, code)
        status = getattr(exc, "code", 400)
        return _sqs_error(call, code, getattr(exc, "message", None) or str(exc),
                          status if isinstance(status, int) else 400)
    result = {"MD5OfMessageAttributes": sent.attribute_md5 if attributes else None,
              "MD5OfMessageBody": sent.body_md5, "MD5OfMessageSystemAttributes": None,
              "MessageId": sent.id, "SequenceNumber": getattr(sent, "sequence_number", None)}
    answer = {"SendMessageResponse": {"ResponseMetadata": {"RequestId": call.request.request_id},
                                      "SendMessageResult": result}}
    return integration_response(call, 200, json.dumps(answer), {"Content-Type": "application/json"})


# SQS's query protocol (what API Gateway speaks to it) names some errors differently.
_QUERY_CODES = {"QueueDoesNotExist": "AWS.SimpleQueueService.NonExistentQueue"}


def _message_attributes(params: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    index = 1
    while f"MessageAttribute.{index}.Name" in params:
        prefix = f"MessageAttribute.{index}."
        value: dict[str, Any] = {"DataType": params.get(prefix + "Value.DataType", "String")}
        if prefix + "Value.StringValue" in params:
            value["StringValue"] = params[prefix + "Value.StringValue"]
        if prefix + "Value.BinaryValue" in params:
            value["BinaryValue"] = params[prefix + "Value.BinaryValue"]
        out[params[prefix + "Name"]] = value
        index += 1
    return out


def _sqs_error(call: Call, code: str, text: str, status: int = 400) -> Response:
    """What SQS answers; the integration response decides what the caller sees (as on AWS,
    the default integration response maps it to 200 unless a selectionPattern matches)."""
    body = json.dumps({"Error": {"Code": code, "Message": text, "Type": "Sender"},
                       "RequestId": call.request.request_id})
    return integration_response(call, status, body, {"Content-Type": "application/json"})


def _execute_api_arn(call: Call) -> str:
    api = call.api
    return (f"arn:aws:execute-api:{api.region_name}:{api.account_id}:{api.id}/{call.request.stage}/"
            f"{call.request.method}{call.resource.get_path()}")


def _source_arn(call: Call) -> str | None:
    """The ``execute-api`` ARN API Gateway invokes a function as; None with credentials
    (then the role, not the function's resource policy, decides)."""
    if getattr(call.integration, "credentials", None):
        return None
    return _execute_api_arn(call)


def _role_refusal(call: Call, target_arn: str) -> str | None:
    """With ``iam="enforce"``, why the integration's role (``credentials``) may not reach
    ``target_arn`` (None: it may, or there is no role)."""
    role = getattr(call.integration, "credentials", None)
    if not role:
        return None
    try:
        check_target_role(call.sandbox, str(role), target_arn, _execute_api_arn(call), "apigateway")
    except IdentityRefused as exc:
        return str(exc)
    return None


def _lambda_role_refused(call: Call, arn: str) -> Response | None:
    """The integration's role may not invoke the function: AWS answers 500 and logs a
    configuration error."""
    why = _role_refusal(call, arn)
    if why is None:
        return None
    call.note(f"Execution failed due to configuration error: Invalid permissions on Lambda function ({why})")
    return message(500, "Internal server error")


def _lambda(call: Call, uri: str) -> Response:
    arn = lambda_arn_from_uri(uri)
    body, refused = transform_request(call)
    if refused is not None:
        return refused
    try:
        event: Any = json.loads(body) if body is not None and body.strip() else {}
    except ValueError:
        event = body
    refused = _lambda_role_refused(call, arn) if arn else None
    if refused is not None:
        return refused
    ok, payload, result = invoke_lambda(call.sandbox, arn or "", event, _source_arn(call))
    if not ok and payload is None and not hasattr(result, "payload"):
        call.note(f"Lambda integration: cannot invoke {arn} ({result})")
        return message(500, "Internal server error")
    if not ok:
        error = result.error() or {}
        return integration_response(call, 200, result.payload.decode(errors="replace"), {},
                                    selector=str(error.get("errorMessage", "")))
    return integration_response(call, 200, json.dumps(payload), {}, lambda_success=True)


# -- AWS_PROXY --------------------------------------------------------------------------
def aws_proxy(call: Call) -> Response:
    uri = substitute_stage_variables(call.integration.uri or "", call.stage_variables)
    arn = lambda_arn_from_uri(uri)
    if arn is None:
        call.note(f"AWS_PROXY integration URI {uri!r} names no Lambda function")
        return message(500, "Internal server error")
    refused = _lambda_role_refused(call, arn)
    if refused is not None:
        return refused
    ok, payload, result = invoke_lambda(call.sandbox, arn, proxy_event_v1(call), _source_arn(call))
    if not ok:
        if not hasattr(result, "payload"):
            call.note(f"AWS_PROXY: cannot invoke {arn} ({result})")
            return message(500, "Internal server error")
        return message(502, "Internal server error")
    mapped = proxy_response_v1(payload)
    if mapped is None:
        call.note(f"Malformed Lambda proxy response from {arn}: {str(payload)[:200]}")
        return message(502, "Internal server error")
    return mapped


def proxy_event_v1(call: Call) -> dict[str, Any]:
    """The Lambda proxy integration input (format 1.0)."""
    request = call.request
    body, encoded = event_body(request, call.api.binaryMediaTypes or [])
    context = dict(call.context)
    context["resourcePath"] = call.resource.get_path()
    return {
        "resource": call.resource.get_path(),
        "path": request.path,
        "httpMethod": request.method,
        "headers": dict(request.headers) or None,
        "multiValueHeaders": {k: [v] for k, v in request.headers.items()} or None,
        "queryStringParameters": request.query_single() or None,
        "multiValueQueryStringParameters": request.query_multi() or None,
        "pathParameters": dict(call.path_params) or None,
        "stageVariables": dict(call.stage_variables) or None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": encoded,
    }


def event_body(request: ApiRequest, binary_types: list[str]) -> tuple[str | None, bool]:
    if not request.body:
        return None, False
    content_type = (request.header("Content-Type") or "").split(";")[0].strip()
    binary = any(t == "*/*" or t == content_type or (t.endswith("/*") and content_type.startswith(t[:-1]))
                 for t in binary_types)
    if not binary:
        try:
            return request.body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(request.body).decode(), True


_V1_KEYS = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}


def proxy_response_v1(payload: Any) -> Response | None:
    """Map a proxy response; None when it is malformed (-> 502)."""
    if not isinstance(payload, dict) or set(payload) - _V1_KEYS:
        return None
    checked = proxy_status_and_body(payload)
    if checked is None:
        return None
    status, body = checked
    headers: dict[str, str] = {}
    for name, values in (payload.get("multiValueHeaders") or {}).items():
        if not isinstance(values, list):
            return None
        headers[str(name)] = ", ".join(str(v) for v in values)
    single = payload.get("headers") or {}
    if not isinstance(single, dict):
        return None
    headers.update({str(k): str(v) for k, v in single.items()})
    if not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = "application/json"
    data = proxy_body_bytes(payload, body)
    if data is None:
        return None
    return status, headers, data


# -- MOCK -----------------------------------------------------------------------------
def mock(call: Call) -> Response:
    body, refused = transform_request(call)
    if refused is not None:
        return refused
    status = 200
    try:
        status = int(json.loads(body or "{}").get("statusCode", 200))
    except (ValueError, AttributeError, TypeError):
        call.note("MOCK integration: the request template should render {\"statusCode\": NNN}")
        return message(500, "Internal server error")
    return integration_response(call, status, "", {})


# -- HTTP and HTTP_PROXY ------------------------------------------------------------------
def _url(call: Call, path_values: dict[str, str], query: list[tuple[str, str]]) -> str:
    url = substitute_stage_variables(call.integration.uri or "", call.stage_variables)
    for name, value in path_values.items():
        url = url.replace("{" + name + "+}", quote(value, safe="/")).replace("{" + name + "}", quote(value, safe=""))
    if query:
        url += ("&" if "?" in url else "?") + urlencode(query)
    return url


def _send(call: Call, method: str, url: str, headers: dict[str, str], body: bytes | None) -> Response:
    try:
        return http_call(method, url, headers, body,
                         timeout=(call.integration.timeout_in_millis or 29000) / 1000.0)
    except OfflineRefused as exc:
        call.note(str(exc))
        return message(502, str(exc))
    except TimeoutError:
        return message(504, "Endpoint request timed out")
    except (urllib.error.URLError, OSError) as exc:
        call.note(f"HTTP integration to {url} failed: {exc}")
        return message(500, "Internal server error")


def http(call: Call) -> Response:
    body, refused = transform_request(call)
    if refused is not None:
        return refused
    mapped = request_parameters(call)
    url = _url(call, mapped.get("path", {}), list(mapped.get("querystring", {}).items()))
    method = (call.integration.http_method or call.request.method).upper()
    if method == "ANY":
        method = call.request.method
    status, headers, data = _send(call, method, url, mapped.get("header", {}), (body or "").encode())
    return integration_response(call, status, data.decode(errors="replace"), headers)


def http_proxy(call: Call) -> Response:
    mapped = request_parameters(call)
    path_values = {**call.path_params, **mapped.get("path", {})}
    url = _url(call, path_values, list(call.request.query))
    method = (call.integration.http_method or call.request.method).upper()
    if method == "ANY":
        method = call.request.method
    headers = {**call.request.headers, **mapped.get("header", {})}
    return _send(call, method, url, headers, call.request.body)
