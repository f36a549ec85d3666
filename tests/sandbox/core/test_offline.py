"""Nothing we ship sends a request to AWS, whatever credentials, profile or endpoints are set.

``no_network`` (tests/conftest.py) fails any connection that leaves the machine."""

from __future__ import annotations

import json

import boto3
import pytest

from eventlab.sandbox import OfflineError, Sandbox


@pytest.fixture
def real_looking_aws(monkeypatch, tmp_path):
    config = tmp_path / "config"
    config.write_text("[profile prod]\nregion = eu-west-1\nendpoint_url = https://sqs.eu-west-1.amazonaws.com\n")
    creds = tmp_path / "credentials"
    creds.write_text("[prod]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
                     "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n")
    monkeypatch.setenv("AWS_PROFILE", "prod")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://sqs.eu-west-1.amazonaws.com")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", "https://sns.eu-west-1.amazonaws.com")


def test_real_looking_configuration_still_reaches_only_the_sandbox(real_looking_aws, no_network, sandbox, make_function):
    import os

    sandbox = Sandbox.current()
    assert "AWS_PROFILE" not in os.environ
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="safe")["QueueUrl"]
    sns = boto3.client("sns")
    topic = sns.create_topic(Name="safe")["TopicArn"]
    assert topic.startswith("arn:aws:sns:us-east-1:123456789012:")
    # a Lambda handler's boto3 calls (its own process) go to the sandbox too
    make_function("h", "import boto3\ndef handler(e, c):\n    return boto3.client('sqs').list_queues()['QueueUrls']\n")
    payload = json.loads(sandbox.client("lambda").invoke(FunctionName="h")["Payload"].read())
    assert payload and payload[0].endswith("/safe")
    assert url.endswith("/safe")
    assert no_network == []


def test_variables_are_restored_after_the_sandbox(monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "prod")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://example.invalid")
    with Sandbox():
        import os
        assert "AWS_PROFILE" not in os.environ and "AWS_ENDPOINT_URL" not in os.environ
    import os
    assert os.environ["AWS_PROFILE"] == "prod"
    assert os.environ["AWS_ENDPOINT_URL"] == "https://example.invalid"


def test_an_explicit_foreign_endpoint_is_refused(sandbox, no_network):
    client = boto3.client("sqs", endpoint_url="https://queue.example.com")
    with pytest.raises(OfflineError, match="never talks to real AWS"):
        client.list_queues()
    assert no_network == []


def test_a_handler_cannot_reach_the_network(sandbox, make_function):
    make_function("net", (
        "import socket\n"
        "def handler(e, c):\n"
        "    try:\n"
        "        socket.create_connection(('8.8.8.8', 443), timeout=1)\n"
        "    except ConnectionRefusedError as exc:\n"
        "        return str(exc)\n"
        "    return 'connected'\n"))
    message = json.loads(sandbox.client("lambda").invoke(FunctionName="net")["Payload"].read())
    assert "sandbox is offline" in message


def test_two_sandboxes_at_once_are_refused(sandbox):
    from eventlab.sandbox import SandboxError

    with pytest.raises(SandboxError, match="already running"):
        Sandbox().start()
