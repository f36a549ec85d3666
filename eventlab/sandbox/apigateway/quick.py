"""HTTP API quick create, and an ``ApiEndpoint`` that works on this machine.

``CreateApi`` with ``Target`` is AWS's quick create for HTTP APIs: one integration
(``AWS_PROXY`` with payload format 2.0 for a Lambda function ARN, ``HTTP_PROXY`` for a
URL), a route (``RouteKey``, by default ``$default``) to it, and a ``$default`` stage
with automatic deployment.  moto stores the API and ignores ``Target``, ``RouteKey``
and ``CredentialsArn``, so every invoke was a 404.

moto's ``ApiEndpoint`` is the AWS host.  The sandbox answers
``http://127.0.0.1:PORT/_aws/execute-api/{api_id}`` instead (the convention its invoke
URLs already follow, see apigateway.py): ``{ApiEndpoint}/path`` reaches the ``$default``
stage and ``{ApiEndpoint}/{stage}/path`` a named one, as on AWS.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eventlab.sandbox.core.patches import PatchSet
    from eventlab.sandbox.core.sandbox import Sandbox


def install(sandbox: Sandbox, patches: PatchSet) -> None:
    patches.after_import("moto.apigatewayv2.responses", lambda: _install(sandbox, patches))


def local_endpoint(sandbox: Sandbox, api_id: str) -> str:
    return f"{sandbox.endpoint_url}/_aws/execute-api/{api_id}"


def _install(sandbox: Sandbox, patches: PatchSet) -> None:
    from moto.apigatewayv2.models import Api
    from moto.apigatewayv2.responses import ApiGatewayV2Response

    def make_create_api(original: Any) -> Any:
        def create_api(handler: Any) -> Any:
            status, headers, body = original(handler)
            params = json.loads(handler.body or "{}")
            if params.get("target") and params.get("protocolType") == "HTTP":
                api = handler.apigatewayv2_backend.get_api(json.loads(body)["apiId"])
                quick_create(api, params["target"], params.get("routeKey"), params.get("credentialsArn"))
                body = json.dumps(api.to_json())
            return status, headers, body
        return create_api

    patches.wrap(ApiGatewayV2Response, "create_api", make_create_api,
                 "HTTP API quick create (Target): integration, route and auto-deployed $default stage")

    def make_to_json(original: Any) -> Any:
        def to_json(api: Any) -> dict[str, Any]:
            out = original(api)
            if api.protocol_type == "HTTP":
                out["apiEndpoint"] = local_endpoint(sandbox, api.api_id)
            elif api.protocol_type == "WEBSOCKET":   # ws://127.0.0.1:PORT/... (websocket.py)
                out["apiEndpoint"] = "ws" + local_endpoint(sandbox, api.api_id).removeprefix("http")
            return out
        return to_json

    patches.wrap(Api, "to_json", make_to_json,
                 "an HTTP or WebSocket API's ApiEndpoint is a local URL that answers")


def quick_create(api: Any, target: str, route_key: str | None, credentials_arn: str | None) -> None:
    """What AWS creates for ``CreateApi --target``."""
    is_lambda = target.startswith("arn:") and ":lambda:" in target
    integration = api.create_integration(
        connection_type="INTERNET", description=None,
        integration_method="POST" if is_lambda else "ANY",
        integration_type="AWS_PROXY" if is_lambda else "HTTP_PROXY", integration_uri=target,
        credentials_arn=credentials_arn, payload_format_version="2.0" if is_lambda else "1.0",
        timeout_in_millis=30000)
    api.create_route(api_key_required=False, authorization_scopes=[], route_key=route_key or "$default",
                     target=f"integrations/{integration.id}", authorization_type="NONE")
    api.create_stage({"stageName": "$default", "autoDeploy": True})
