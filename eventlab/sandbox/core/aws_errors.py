"""AWS-shaped errors for anything that goes wrong inside the HTTP server.

moto answers its own errors as AWS does; what it does not foresee escapes as a Python
exception, which werkzeug turns into an HTML ``500 Internal Server Error`` page.  The AWS
CLI and the SDKs retry a 500 (the CLI for 7-10 s) and then show no message a learner can
act on.  Here every such escape becomes the error AWS would send, in the request's own
wire protocol (botocore reads the code and message of each):

=====================  ======================================================================
request                error body
=====================  ======================================================================
``X-Amz-Target``       JSON ``{"__type": code, "message": ...}`` (plus ``x-amzn-query-error``
                       when a query-compatible JSON client, SQS, asks for it)
``Action=`` (query)    XML ``<ErrorResponse><Error><Type/><Code/><Message/></Error>``
S3 (rest-xml)          XML ``<Error><Code/><Message/></Error>``
other REST             JSON body and the ``x-amzn-ErrorType`` header (rest-json)
=====================  ======================================================================

* an operation moto lacks (``NotImplementedError``) -> ``501 NotImplemented`` naming the
  service and operation (botocore does not retry a 501);
* any other exception -> ``400`` with the service's validation error code (Kinesis:
  ``InvalidArgumentException``; other JSON services: ``ValidationException``; query
  services: ``ValidationError``; S3: ``InvalidArgument``), the exception named in the
  message, and the traceback in the server's log;
* an HTML error page from moto's Flask apps (a path no route matches) -> the same status
  with ``UnknownOperationException``.
"""

from __future__ import annotations

import json
import re
import sys
import traceback
import uuid
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/")
_VALIDATION = {"kinesis": "InvalidArgumentException", "s3": "InvalidArgument"}


class RequestInfo:
    """What an error answer needs to know about the request it answers."""

    def __init__(self, environ: dict[str, Any], body: bytes) -> None:
        self.method = environ.get("REQUEST_METHOD", "GET")
        self.path = environ.get("PATH_INFO", "")
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        self.service = scope.group(1) if scope else ""
        self.query_mode = bool(environ.get("HTTP_X_AMZN_QUERY_MODE"))
        form: dict[str, list[str]] = parse_qs(environ.get("QUERY_STRING", ""))
        if "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
            form = {**form, **parse_qs(body.decode("utf-8", "replace"))}
        if target:
            self.protocol, self.operation = "json", target.rsplit(".", 1)[-1]
        elif "Action" in form:
            self.protocol, self.operation = "query", form["Action"][0]
        else:
            self.protocol = "rest-xml" if self.service == "s3" else "rest-json"
            self.operation = ""

    @property
    def what(self) -> str:
        name = self.operation or f"{self.method} {self.path}"
        return f"{self.service} {name}" if self.service else name

    def validation_code(self) -> str:
        if self.service in _VALIDATION:
            return _VALIDATION[self.service]
        return "ValidationError" if self.protocol == "query" else "ValidationException"


def from_exception(info: RequestInfo, exc: BaseException) -> tuple[str, list[tuple[str, str]], bytes]:
    """The AWS error answer for an exception raised while serving ``info``'s request."""
    if isinstance(exc, NotImplementedError):
        detail = f" ({exc})" if str(exc) else ""
        return answer(info, 501, "NotImplemented",
                      f"{info.what} is not implemented by the eventlab sandbox{detail}.")
    print(f"eventlab sandbox: {info.what} failed:", file=sys.stderr)
    traceback.print_exception(exc, file=sys.stderr)
    return answer(info, 400, info.validation_code(),
                  f"the request to {info.what} could not be processed: "
                  f"{type(exc).__name__}: {exc}".rstrip(": "))


def from_html(info: RequestInfo, status: int) -> tuple[str, list[tuple[str, str]], bytes]:
    """The AWS error answer in place of an HTML error page."""
    if status >= 500:
        return answer(info, 500, "InternalFailure", f"{info.what} failed inside the eventlab sandbox.")
    return answer(info, status, "UnknownOperationException",
                  f"no operation of the eventlab sandbox answers {info.method} {info.path}"
                  f"{' (' + info.what + ')' if info.operation else ''}.")


def answer(info: RequestInfo, status: int, code: str, message: str) -> tuple[str, list[tuple[str, str]], bytes]:
    request_id = str(uuid.uuid4())
    fault = "Receiver" if status >= 500 else "Sender"
    headers = [("x-amzn-RequestId", request_id)]
    if info.protocol == "query":
        body = (f"<ErrorResponse><Error><Type>{fault}</Type><Code>{escape(code)}</Code>"
                f"<Message>{escape(message)}</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>").encode()
        headers.append(("Content-Type", "text/xml"))
    elif info.protocol == "rest-xml":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{escape(code)}</Code>'
                f"<Message>{escape(message)}</Message><RequestId>{request_id}</RequestId></Error>").encode()
        headers.append(("Content-Type", "application/xml"))
    else:
        body = json.dumps({"__type": code, "message": message}).encode()
        content_type = "application/x-amz-json-1.1" if info.protocol == "json" else "application/json"
        headers += [("Content-Type", content_type), ("x-amzn-ErrorType", code)]
        if info.query_mode:
            headers.append(("x-amzn-query-error", f"{code};{fault}"))
    headers.append(("Content-Length", str(len(body))))
    reason = {400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 500: "Internal Server Error",
              501: "Not Implemented"}.get(status, "Error")
    return f"{status} {reason}", headers, body



def aws_error_bases() -> tuple[type[Exception], ...]:
    """moto's base classes for the errors it answers in an API's own protocol, as AWS
    would (imported when asked: moto's core is slow to import)."""
    from moto.core.exceptions import JsonRESTError, ServiceException

    return (JsonRESTError, ServiceException)
