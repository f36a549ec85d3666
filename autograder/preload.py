"""Imported once by the grading fork server (:func:`autograder.batch.grade_many`), so
that every submission's process starts with moto, boto3, the notebook runner and the
lab's checks already loaded, instead of paying ~2 s of imports each.

A sandbox is started and stopped once to load moto's backends for the lab's services
and botocore's service models (no thread or server survives it: the fork server must
stay single-threaded).
"""

import boto3  # noqa: F401
import jupyter_client  # noqa: F401
import nbclient  # noqa: F401
import nbformat  # noqa: F401
import psutil  # noqa: F401

from autograder import batch, host, integrity  # noqa: F401
from autograder.registry import LABS


def _warm() -> None:
    from eventlab.sandbox import Sandbox

    for lab in LABS:     # a few ms each; one fork server serves every lab
        LABS[lab].module()
    with Sandbox(background=False) as sb:
        for service in ("iam", "sns", "sqs", "lambda", "events", "kinesis", "firehose", "s3",
                        "stepfunctions", "apigateway", "athena", "cloudwatch", "kafka", "logs"):
            sb.client(service)


try:
    _warm()
except Exception:  # a warm-up is an optimisation only
    pass
