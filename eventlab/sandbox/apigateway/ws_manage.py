"""The ``@connections`` API of WebSocket APIs (boto3's ``apigatewaymanagementapi``), in two
doors to the one implementation (:class:`eventlab.sandbox.apigateway.websocket.WebSocketApis`):

* over HTTP, ``{ApiEndpoint with http://}/{stage}/@connections/{id}`` (or
  ``/{stage}/@connections/{id}`` on the bare sandbox URL, connection ids being unique): what
  ``eventlab serve`` users and Lambda handlers reach (a handler's
  ``https://{api_id}.execute-api.{region}.amazonaws.com/{stage}`` is sent there by its
  worker, see awslambda/worker.py);
* in-process, AWS's own URL, which moto's mock catches: moto's backend (which kept posted
  data in memory and knew no connection) now asks the sandbox's connections.

Errors are AWS's (https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-stages.html
and the ApiGatewayManagementApi reference): ``GoneException`` 410 for a connection that is
closed, unknown or still running ``$connect``; ``PayloadTooLargeException`` 413.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from eventlab.sandbox.apigateway.websocket import CONNECTIONS_PATH, ManagementError

if TYPE_CHECKING:
    from eventlab.sandbox.apigateway.websocket import WebSocketApis
    from eventlab.sandbox.core.patches import PatchSet


def http_route(apis: WebSocketApis, path: str) -> Callable[..., Iterable[bytes]] | None:
    match = CONNECTIONS_PATH.match(path)
    if match is None or (match.group(1) is not None and apis._api(match.group(1)) is None):
        return None
    connection_id = unquote(match.group(3))

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        status, headers, data = 200, [("Content-Type", "application/json")], b""
        try:
            if method == "POST":
                apis.post(connection_id, body)
            elif method == "GET":
                data = json.dumps(apis.get(connection_id)).encode()
            elif method == "DELETE":
                apis.delete(connection_id)
                status = 204
            else:
                raise ManagementError(405, "MethodNotAllowedException", f"{method} is not an @connections call")
        except ManagementError as exc:
            status = exc.status
            headers.append(("x-amzn-ErrorType", exc.code))
            data = json.dumps({"message": exc.text or None}).encode()
        headers.append(("Content-Length", str(len(data))))
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return [data]
    return app


def install(apis: WebSocketApis, patches: PatchSet) -> None:
    patches.after_import("moto.apigatewaymanagementapi.models", lambda: _install(apis, patches))


def _install(apis: WebSocketApis, patches: PatchSet) -> None:
    from moto.apigatewaymanagementapi.models import ApiGatewayManagementApiBackend
    from moto.core.exceptions import JsonRESTError

    def moto_error(exc: ManagementError) -> JsonRESTError:
        error = JsonRESTError(exc.code, exc.text)
        error.code = exc.status
        return error

    class Found:
        def __init__(self, answer: dict[str, Any]) -> None:
            self.answer = answer

        def to_dict(self) -> dict[str, Any]:
            return self.answer

    def call(operation: Callable[[], Any]) -> Any:
        try:
            return operation()
        except ManagementError as exc:
            raise moto_error(exc) from None

    def post_to_connection(backend: Any, data: bytes, connection_id: str) -> None:
        call(lambda: apis.post(unquote(connection_id), data))

    def get_connection(backend: Any, connection_id: str) -> Found:
        return Found(call(lambda: apis.get(unquote(connection_id))))

    def delete_connection(backend: Any, connection_id: str) -> None:
        call(lambda: apis.delete(unquote(connection_id)))

    why = "the @connections API reaches the sandbox's WebSocket connections (GoneException when closed)"
    patches.replace(ApiGatewayManagementApiBackend, "post_to_connection", post_to_connection, why)
    patches.replace(ApiGatewayManagementApiBackend, "get_connection", get_connection, why)
    patches.replace(ApiGatewayManagementApiBackend, "delete_connection", delete_connection, why)
