"""Helpers for the flow tests (SNS, EventBridge...) and the API-limit tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

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


# -- API limits ---------------------------------------------------------------------------
NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def api_client(sb: Sandbox, service: str, over: str = "in-process") -> Any:
    """A boto3 client that does not retry (a throttled call fails at once), in-process or
    over the sandbox's HTTP endpoint (``over="http"``)."""
    endpoint = {"endpoint_url": sb.endpoint_url} if over == "http" else {}
    return boto3.client(service, region_name=sb.region, config=NO_RETRY, **endpoint)


def outcomes(call: Callable[[int], Any], n: int) -> list[str]:
    """'ok' or the AWS error code of each of ``n`` calls ``call(0)``, ``call(1)``..."""
    results = []
    for i in range(n):
        try:
            call(i)
            results.append("ok")
        except ClientError as exc:
            results.append(exc.response["Error"]["Code"])
    return results


def metric(sb: Sandbox, namespace: str, name: str, dimensions: dict[str, str], stat: str = "Sum") -> float:
    """A metric's statistic over the last ten virtual minutes (Maximum: the highest point)."""
    now = sb.clock.now()
    points = sb.client("cloudwatch").get_metric_statistics(
        Namespace=namespace, MetricName=name, Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        StartTime=now - timedelta(minutes=10), EndTime=now + timedelta(minutes=1), Period=600,
        Statistics=[stat])["Datapoints"]
    values = [p[stat] for p in points]
    return max(values, default=0) if stat == "Maximum" else sum(values)


def depth(sb: Sandbox, url: str) -> int:
    """A queue's ApproximateNumberOfMessages."""
    attrs = sb.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


def admin(sb: Sandbox, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """A request to the sandbox's ``/_eventlab/`` admin API over HTTP, as an ``eventlab
    serve`` user makes it: (status, the JSON answer)."""
    import urllib.error
    import urllib.request

    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{sb.endpoint_url}{path}", data=data, method=method)
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())

