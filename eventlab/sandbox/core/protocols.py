"""Requests reach moto in whatever wire protocol the installed botocore speaks.

botocore moves services between protocols: in 1.44 Athena went from ``json`` (every call
a ``POST /`` with an ``X-Amz-Target`` header) to ``rest-json`` (``POST /query-executions``,
``GET /work-groups/{WorkGroup}``...).  moto 5.2 routes such a service only at ``/``, so the
new requests answered ``404 Not yet implemented``, in-process and over HTTP.

moto's ``BaseResponse`` already finds a REST operation from the method and the path (it
reads the installed botocore model, path parameters included); only the route is missing.
``install`` adds, for every service the sandbox serves whose moto routes are ``/`` alone,
a catch-all route to the same handler.  A client that still speaks ``json`` keeps posting
to ``/`` and nothing changes for it.

moto also reads an ``Action`` from any body it can split as a form, even a JSON one: a
message ``"a=1&Action=Delete"`` sent over SQS's JSON protocol, or an API Gateway mapping
template ending ``...&Action=SendMessage`` in ``PutIntegration``'s JSON, was routed to an
operation named ``Delete"}`` and failed.  AWS routes a JSON request by its
``X-Amz-Target`` header or its path, never by its body; ``install`` makes moto do the same
(an ``Action`` counts only from the URL's query or a form-encoded body: the query protocol).

In-process, boto3 addresses a bucket by its virtual host (``https://logs.s3.amazonaws.com/``).
moto matches a request's host against its services' patterns in alphabetical order, and
CloudWatch Logs' ``logs.(.+).amazonaws.com`` comes before S3's, so ``CreateBucket`` for a
bucket named ``logs`` (or ``events``, ``lambda``, ``kinesis``...) answered 404.  On AWS the
host ``<bucket>.s3[.<region>].amazonaws.com`` is always S3; ``install`` puts that pattern
first.

``SERVED`` is the list of services the sandbox answers for; the protocol test
(``tests/sandbox/core/test_protocols.py``) makes one call to each with the locked botocore,
in-process and over HTTP, so that the next protocol move fails a test, not a learner.
"""

from __future__ import annotations

import importlib
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eventlab.sandbox.core.patches import PatchSet

# boto3 client name -> moto package, for every service a lab, a check or the docs use.
SERVED: dict[str, str] = {
    "sqs": "sqs", "sns": "sns", "lambda": "awslambda", "events": "events",
    "scheduler": "scheduler", "kinesis": "kinesis", "firehose": "firehose", "s3": "s3",
    "athena": "athena", "glue": "glue", "stepfunctions": "stepfunctions",
    "apigateway": "apigateway", "apigatewayv2": "apigatewayv2", "cloudwatch": "cloudwatch",
    "logs": "logs", "application-autoscaling": "applicationautoscaling", "kafka": "kafka",
    "iam": "iam", "sts": "sts", "dynamodb": "dynamodb", "ecs": "ecs", "pipes": "pipes",
    "datasync": "datasync",
}

CATCH_ALL = "{0}/(?P<eventlab_rest_path>.+)$"
# <bucket>.s3.amazonaws.com, <bucket>.s3.<region>.amazonaws.com, <bucket>.s3.dualstack...:
# S3's virtual-hosted style (never s3-control, whose host starts with the account id).
S3_VIRTUAL_HOST = re.compile(r"https?://[a-zA-Z0-9._-]+\.s3(?:\.[a-z0-9-]+)*\.amazonaws\.com(?:/|$)")


def install(patches: PatchSet) -> None:
    """Add the catch-all route where moto routes ``/`` alone, when moto first loads the
    service's routes (most sandboxes never touch most services: no start-up cost); route
    by ``Action`` only requests of the query protocol."""
    for package in sorted(set(SERVED.values())):
        patches.after_import(f"moto.{package}.urls", _adder(patches, f"moto.{package}.urls"))
    import moto.backend_index as backend_index
    from moto.core.responses import BaseResponse

    patches.replace(backend_index, "backend_url_patterns",
                    [("s3", S3_VIRTUAL_HOST), *backend_index.backend_url_patterns],
                    "a bucket named like a service (logs, events, lambda) is still S3's")
    patches.wrap(BaseResponse, "_get_action", _query_protocol_action,
                 "an Action inside a JSON body (a message, a mapping template) is data, not the operation")


def _query_protocol_action(original: Any) -> Any:
    def _get_action(self: Any) -> str:
        if "Action" in self.querystring and not _is_query_protocol(self):
            saved = self.querystring
            self.querystring = {k: v for k, v in saved.items() if k != "Action"}
            try:
                return original(self)
            finally:
                self.querystring = saved
        return original(self)
    return _get_action


def _is_query_protocol(response: Any) -> bool:
    """The request names its operation as AWS's query protocol does: ``Action`` in the
    URL's query string or in a form-encoded body."""
    if "Action=" in (getattr(response, "parsed_url", None) and response.parsed_url.query or ""):
        return True
    headers = getattr(response, "headers", None) or {}
    content_type = str(headers.get("Content-Type") or headers.get("content-type") or "")
    return "x-www-form-urlencoded" in content_type.lower() or not content_type


def _adder(patches: PatchSet, module_name: str) -> Any:
    def add() -> None:
        urls = importlib.import_module(module_name)
        paths: dict[str, Any] = urls.url_paths
        if list(paths) == ["{0}/$"]:
            patches.replace(urls, "url_paths", {**paths, CATCH_ALL: paths["{0}/$"]},
                            "REST requests (a newer botocore's protocol) reach the same moto handler")
    return add
