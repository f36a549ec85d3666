"""A Lambda REQUEST authorizer on a WebSocket API's ``$connect`` route, as AWS documents it
(https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-lambda-auth.html):

* identity sources (``route.request.header.NAME``, ``route.request.querystring.NAME``) must
  all be present and non-empty, else 401 without calling the function;
* the function gets ``type`` REQUEST, ``methodArn`` (``.../{stage}/$connect``), the headers,
  the query string, the stage variables and the ``$connect`` request context;
* it answers ``principalId``, ``policyDocument`` and ``context``: an explicit ``Deny`` or no
  ``Allow`` for ``execute-api:Invoke`` on the method ARN refuses with 403; a failure or a
  malformed answer with 500; otherwise ``context`` (and ``principalId``) becomes
  ``requestContext.authorizer`` of every event of the connection.
"""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from eventlab.sandbox.apigateway.common import lambda_arn_from_uri

if TYPE_CHECKING:
    from eventlab.sandbox.apigateway.websocket import Connection, WebSocketApis


def authorize(apis: WebSocketApis, conn: Connection, route: Any, stage: Any,
              connect_event: dict[str, Any]) -> tuple[tuple[int, str] | None, dict[str, Any]]:
    """((status, body) when refused, else None; the authorizer context)."""
    authorizer = conn.api.authorizers.get(route.authorizer_id or "")
    if authorizer is None:
        apis.service.errors.append(f"WebSocket API {conn.api.api_id}: $connect names authorizer "
                                   f"{route.authorizer_id!r}, which does not exist")
        return (500, "Internal server error"), {}
    headers = {k.lower(): v for k, v in connect_event.get("headers", {}).items()}
    query = connect_event.get("queryStringParameters") or {}
    for source in authorizer.identity_source or []:
        where, _, name = str(source).removeprefix("route.request.").partition(".")
        value = headers.get(name.lower()) if where == "header" else query.get(name) if where == "querystring" else None
        if not value:
            return (401, "Unauthorized"), {}
    backend = conn.api.backend
    method_arn = (f"arn:aws:execute-api:{backend.region_name}:{backend.account_id}:"
                  f"{conn.api.api_id}/{conn.stage}/$connect")
    event = {"type": "REQUEST", "methodArn": method_arn,
             "headers": connect_event.get("headers", {}),
             "multiValueHeaders": connect_event.get("multiValueHeaders", {}),
             "queryStringParameters": query,
             "multiValueQueryStringParameters": connect_event.get("multiValueQueryStringParameters", {}),
             "stageVariables": connect_event.get("stageVariables", {}),
             "requestContext": connect_event["requestContext"]}
    uri = authorizer.authorizer_uri or ""
    arn = lambda_arn_from_uri(uri) or uri
    ok, answer = apis.invoke(conn, arn, event, "$connect", credentials=authorizer.auth_creds_arn)
    if not ok or not isinstance(answer, dict) or not isinstance(answer.get("policyDocument"), dict):
        if ok:
            apis.service.errors.append(f"WebSocket API {conn.api.api_id}: authorizer {arn} answered "
                                       f"{json.dumps(answer)[:200]}, not a policy")
        return (500, "Internal server error"), {}
    if not allowed(answer["policyDocument"], method_arn):
        return (403, "Forbidden"), {}
    context = dict(answer.get("context") or {})
    context["principalId"] = answer.get("principalId")
    return None, context


def allowed(policy: dict[str, Any], method_arn: str) -> bool:
    """An ``Allow`` of ``execute-api:Invoke`` on the method ARN and no matching ``Deny``."""
    statements = policy.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    verdict = False
    for statement in statements:
        if not isinstance(statement, dict):
            continue
        actions = _list(statement.get("Action"))
        resources = _list(statement.get("Resource"))
        if not any(fnmatchcase("execute-api:Invoke", a) for a in actions):
            continue
        if not any(fnmatchcase(method_arn, r) for r in resources):
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Effect") == "Allow":
            verdict = True
    return verdict


def _list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)] if value else []
