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

``SERVED`` is the list of services the sandbox answers for; the protocol test
(``tests/sandbox/core/test_protocols.py``) makes one call to each with the locked botocore,
in-process and over HTTP, so that the next protocol move fails a test, not a learner.
"""

from __future__ import annotations

import importlib
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


def install(patches: PatchSet) -> None:
    """Add the catch-all route where moto routes ``/`` alone, when moto first loads the
    service's routes (most sandboxes never touch most services: no start-up cost)."""
    for package in sorted(set(SERVED.values())):
        patches.after_import(f"moto.{package}.urls", _adder(patches, f"moto.{package}.urls"))


def _adder(patches: PatchSet, module_name: str) -> Any:
    def add() -> None:
        urls = importlib.import_module(module_name)
        paths: dict[str, Any] = urls.url_paths
        if list(paths) == ["{0}/$"]:
            patches.replace(urls, "url_paths", {**paths, CATCH_ALL: paths["{0}/$"]},
                            "REST requests (a newer botocore's protocol) reach the same moto handler")
    return add
