"""Helpers for the SNS and EventBridge flow tests."""

from __future__ import annotations

import json
from typing import Any

from eventlab.sandbox import Sandbox, zip_code

# A handler that forwards the event it received to the queue named in its environment,
# so that a test can assert, field by field, what Lambda was given.
RECORDER = '''
import json, os, boto3
def handler(event, context):
    boto3.client("sqs").send_message(QueueUrl=os.environ["OUT"], MessageBody=json.dumps(event))
    return {"ok": True}
'''


def make_function(sb: Sandbox, name: str, source: str, env: dict[str, str] | None = None, *,
                  handler: str = "lambda_function.handler", timeout: int = 10, **extra: Any) -> str:
    """Deploy handler source text as a Python function; returns its ARN."""
    iam = sb.client("iam")
    try:
        role = iam.get_role(RoleName="lambda-role")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName="lambda-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    fn = sb.client("lambda").create_function(
        FunctionName=name, Runtime="python3.12", Role=role, Handler=handler,
        Code={"ZipFile": zip_code(source)}, Environment={"Variables": env or {}}, Timeout=timeout,
        **extra)
    return fn["FunctionArn"]


def make_queue(sb: Sandbox, name: str, **attributes: str) -> tuple[str, str]:
    sqs = sb.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def recorder(sb: Sandbox, name: str) -> tuple[str, str]:
    """A function that writes each event it gets to a queue; returns (function ARN, queue URL)."""
    url, _ = make_queue(sb, f"{name}-received")
    return make_function(sb, name, RECORDER, {"OUT": url}), url


def drain(sb: Sandbox, url: str, *, attributes: bool = False) -> list[Any]:
    sqs = sb.client("sqs")
    out: list[Any] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                  MessageAttributeNames=["All"], AttributeNames=["All"])
        messages = got.get("Messages", [])
        if not messages:
            return out
        for m in messages:
            out.append(m if attributes else json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
