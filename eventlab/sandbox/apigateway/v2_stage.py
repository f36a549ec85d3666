"""``UpdateStage`` for HTTP and WebSocket APIs (apigatewayv2), which moto 5.2.5 lacks.

AWS's ``UpdateStage`` (``PATCH /v2/apis/{apiId}/stages/{stageName}``,
https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-stages-stagename.html)
changes a stage after it was created; the sandbox's stage and route throttles
(:class:`eventlab.sandbox.apigateway.limits.StageThrottles`) read the stage on every
request, so a ``DefaultRouteSettings`` or ``RouteSettings`` throttle set here applies from
the next request, and ``GetStage`` returns it.

Each of ``DefaultRouteSettings`` and a route key's ``RouteSettings`` is merged field by
field into what the stage had (a field left out keeps its value); the other members
(``Description``, ``AutoDeploy``, ``StageVariables``, ``AccessLogSettings``,
``ClientCertificateId``, ``DeploymentId``) replace theirs.  A ``RouteSettings`` key that
is not one of the API's routes answers ``NotFoundException``; a throttle that is not a
number >= 0 answers ``BadRequestException`` naming the field, and changes nothing.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

if TYPE_CHECKING:
    from eventlab.sandbox.core.patches import PatchSet

_REPLACED = {"description": "description", "autoDeploy": "auto_deploy", "stageVariables": "stage_variables",
             "accessLogSettings": "access_log_settings", "clientCertificateId": "client_certificate_id"}
_NUMBERS = ("throttlingRateLimit", "throttlingBurstLimit")


def install(patches: PatchSet) -> None:
    patches.after_import("moto.apigatewayv2.responses", lambda: _install(patches))


def _install(patches: PatchSet) -> None:
    from moto.apigatewayv2.responses import ApiGatewayV2Response

    def update_stage(handler: Any) -> tuple[int, dict[str, str], str]:
        parts = handler.path.split("/")
        api_id, stage_name = parts[-3], unquote(parts[-1])
        api = handler.apigatewayv2_backend.get_api(api_id)
        stage = api.get_stage(stage_name)
        update(api, stage, json.loads(handler.body or "{}"))
        return 200, {}, json.dumps(stage.to_json())

    patches.replace(ApiGatewayV2Response, "update_stage", update_stage,
                    "apigatewayv2 UpdateStage (moto has none): route settings and throttles change after creation")


def update(api: Any, stage: Any, changes: dict[str, Any]) -> None:
    """Apply an ``UpdateStage`` request body (camelCase, as on the wire) to a moto stage;
    everything is checked before anything changes."""
    from moto.apigatewayv2.exceptions import APIGatewayV2Error, BadRequestException

    class RouteKeyNotFound(APIGatewayV2Error):
        code = 404

    default = changes.get("defaultRouteSettings")
    routes = changes.get("routeSettings")
    if default is not None:
        _check("DefaultRouteSettings", default, BadRequestException)
    if routes is not None:
        if not isinstance(routes, dict):
            raise BadRequestException("RouteSettings must be a map of route key to route settings")
        keys = {route.route_key for route in api.routes.values()}
        for key, settings in routes.items():
            if key not in keys:
                raise RouteKeyNotFound("NotFoundException",
                                       f"Unable to find Route by key {key} within the provided RouteSettings")
            _check(f"RouteSettings[{key!r}]", settings, BadRequestException)
    if default is not None:
        stage.default_route_settings = {**(stage.default_route_settings or {}), **default}
    for key, settings in (routes or {}).items():
        stage.route_settings = {**(stage.route_settings or {}),
                                key: {**(stage.route_settings or {}).get(key, {}), **settings}}
    for wire, attribute in _REPLACED.items():
        if wire in changes:
            setattr(stage, attribute, changes[wire])
    if "deploymentId" in changes:
        stage.config = {**stage.config, "deploymentId": changes["deploymentId"]}
    stage.updated = datetime.now()


def _check(where: str, settings: Any, error: type[Exception]) -> None:
    if not isinstance(settings, dict):
        raise error(f"{where} must be an object of route settings")
    for field in _NUMBERS:
        value = settings.get(field)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise error(f"{where}.{field[0].upper()}{field[1:]}: {value!r} is not a number >= 0")
