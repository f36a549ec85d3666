"""``eventlab serve``: a real process, real HTTP, the AWS CLI's way in (``served`` is in
tests/eventlab/conftest.py)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import boto3
import pytest


def client(service, url):
    return boto3.client(service, endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="y")


def post(url, body=None):
    request = urllib.request.Request(url, data=json.dumps(body or {}).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_sdk_over_http_with_lambda_and_clock(served, tmp_path):
    url, _ = served
    from eventlab.sandbox import zip_code

    sqs = client("sqs", url)
    queue = sqs.create_queue(QueueName="jobs", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    out = sqs.create_queue(QueueName="done")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    lam = client("lambda", url)
    role = client("iam", url).create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam.create_function(FunctionName="worker", Runtime="python3.12", Role=role, Handler="lambda_function.handler",
                        Code={"ZipFile": zip_code(
                            "import boto3\n"
                            "def handler(event, context):\n"
                            "    sqs = boto3.client('sqs')\n"
                            "    url = sqs.get_queue_url(QueueName='done')['QueueUrl']\n"
                            "    for r in event['Records']:\n"
                            "        sqs.send_message(QueueUrl=url, MessageBody=r['body'].upper())\n")})
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="worker")
    sqs.send_message(QueueUrl=queue, MessageBody="hello")
    messages = sqs.receive_message(QueueUrl=out)["Messages"]
    assert [m["Body"] for m in messages] == ["HELLO"]

    before = json.loads(urllib.request.urlopen(f"{url}/_eventlab/clock", timeout=10).read())
    after = post(f"{url}/_eventlab/clock/advance", {"hours": 1})
    assert 3600 <= after["epoch"] - before["epoch"] < 3610


def test_port_in_use_is_a_clear_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "eventlab", "serve", "--port", str(port)],
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "--port" in result.stderr


@pytest.mark.parametrize("body, named", [
    ({"hour": 1}, "unknown key 'hour'"),
    ({"hours": "one"}, '"hours" must be a number'),
    ({}, "one or more of"),
    ([1], "JSON object"),
])
def test_clock_advance_refuses_what_would_move_nothing(sandbox, body, named):
    url = sandbox.endpoint_url
    before = sandbox.clock.time()
    with pytest.raises(urllib.error.HTTPError) as caught:
        post(f"{url}/_eventlab/clock/advance", body)
    assert caught.value.code == 400
    message = json.loads(caught.value.read())["message"]
    assert named in message
    assert '"seconds", "minutes", "hours", "days"' in message or "must be a number" in message
    assert sandbox.clock.time() - before < 60
    assert 3600 <= post(f"{url}/_eventlab/clock/advance", {"hours": 1})["epoch"] - before < 3660
