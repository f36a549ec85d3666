"""Imported once by the grading fork server (:func:`autograder.batch.grade_many`), so
that every submission's process starts with moto, boto3, the notebook runner and the
lab's checks already loaded, instead of paying ~2 s of imports each.

A sandbox is started and stopped once to load moto's backends for the lab's services
and botocore's service models (no thread or server survives it: the fork server must
stay single-threaded).
"""

import os

import boto3  # noqa: F401
import jupyter_client  # noqa: F401
import nbclient  # noqa: F401
import nbformat  # noqa: F401
import psutil  # noqa: F401

from autograder import batch, host, integrity  # noqa: F401
from autograder.lab import checks_of, lab_module

_LAB = os.environ.get("EVENTLAB_PRELOAD_LAB")


def _warm(lab: str) -> None:
    from eventlab.sandbox import Sandbox

    lab_module(lab)
    checks_of(lab)
    with Sandbox(background=False) as sb:
        for service in ("iam", "sns", "sqs", "lambda", "events", "kinesis", "firehose", "s3",
                        "stepfunctions", "apigateway", "athena", "cloudwatch", "kafka", "logs"):
            sb.client(service)


if _LAB:
    try:
        _warm(_LAB)
    except Exception:  # a warm-up is an optimisation only
        pass
