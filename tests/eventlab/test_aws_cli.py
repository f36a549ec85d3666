"""``eventlab aws``: the real AWS CLI v1, held to the sandbox whatever the user's setup.

``no_network`` (tests/conftest.py) fails any connection that leaves the machine.
"""

from __future__ import annotations

import json
import os

import pytest

from eventlab.cli import main
from eventlab.cli.aws import _forced_endpoint, sandbox_environment


@pytest.fixture
def real_aws_profile(monkeypatch, tmp_path):
    """A learner's machine set up for real AWS: a profile, keys, endpoints, a proxy."""
    config = tmp_path / "config"
    config.write_text("[profile prod]\nregion = eu-west-1\nendpoint_url = https://sqs.eu-west-1.amazonaws.com\n"
                      "[default]\nregion = eu-west-1\n")
    creds = tmp_path / "credentials"
    creds.write_text("[prod]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
                     "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n")
    for key, value in {
        "AWS_PROFILE": "prod", "AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": str(creds),
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG",
        "AWS_ENDPOINT_URL": "https://sqs.eu-west-1.amazonaws.com",
        "AWS_ENDPOINT_URL_SQS": "https://queue.amazonaws.com", "HTTPS_PROXY": "http://10.1.2.3:8080",
    }.items():
        monkeypatch.setenv(key, value)


def aws(capsys, url, *args):
    code = main(["aws", "--endpoint", url, *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_every_service_reaches_the_sandbox_whatever_the_profile(sandbox, no_network, capsys, request):
    url = sandbox.endpoint_url
    sqs, kinesis = sandbox.client("sqs"), sandbox.client("kinesis")   # before the profile is set
    request.getfixturevalue("real_aws_profile")
    # SQS is the service whose CLI v1 legacy host (queue.amazonaws.com) beats AWS_ENDPOINT_URL
    code, out, err = aws(capsys, url, "sqs", "create-queue", "--queue-name", "orders", "--profile", "prod")
    assert code == 0, err
    assert json.loads(out)["QueueUrl"].startswith(url)
    assert "ignoring --profile prod" in err
    code, out, _ = aws(capsys, url, "sns", "create-topic", "--name", "t")
    assert json.loads(out)["TopicArn"] == "arn:aws:sns:us-east-1:123456789012:t"
    code, out, _ = aws(capsys, url, "kinesis", "create-stream", "--stream-name", "s", "--shard-count", "1")
    assert code == 0
    queues = sqs.list_queues()["QueueUrls"]
    assert [q.rsplit("/", 1)[1] for q in queues] == ["orders"]
    assert kinesis.list_streams()["StreamNames"] == ["s"]
    assert no_network == []
    # the user's environment is theirs again afterwards
    assert os.environ["AWS_PROFILE"] == "prod" and os.environ["HTTPS_PROXY"] == "http://10.1.2.3:8080"


def test_a_client_made_by_a_cli_customization_is_forced_too(no_network):
    from awscli.botocore.session import Session

    with sandbox_environment(), _forced_endpoint("http://127.0.0.1:9"):
        client = Session().create_client("sqs", "us-east-1", None, True, None,
                                         "https://queue.amazonaws.com")
        assert client.meta.endpoint_url == "http://127.0.0.1:9"
        client2 = Session().create_client("sqs", region_name="us-east-1")
        assert client2.meta.endpoint_url == "http://127.0.0.1:9"
    assert no_network == []


def test_the_guard_refuses_a_foreign_host_even_inside_the_cli(no_network):
    from awscli.botocore.awsrequest import AWSRequest
    from awscli.botocore.httpsession import URLLib3Session

    with sandbox_environment(), _forced_endpoint("http://127.0.0.1:9"):
        request = AWSRequest(method="POST", url="https://queue.amazonaws.com/", data=b"").prepare()
        with pytest.raises(ConnectionRefusedError, match="only talks to the local sandbox"):
            URLLib3Session().send(request)
    assert no_network == []


@pytest.mark.parametrize("args, message", [
    (["--endpoint", "https://sqs.us-east-1.amazonaws.com", "sqs", "list-queues"], "is not on this machine"),
    (["sqs", "list-queues", "--endpoint-url", "https://queue.amazonaws.com"], "--endpoint-url is set by eventlab aws"),
])
def test_foreign_endpoints_are_refused_before_anything_runs(args, message, capsys, no_network):
    assert main(["aws", *args]) == 2
    assert message in capsys.readouterr().err
    assert no_network == []


def test_the_endpoint_comes_from_eventlab_endpoint(sandbox, monkeypatch, capsys):
    monkeypatch.setenv("EVENTLAB_ENDPOINT", sandbox.endpoint_url)
    assert main(["aws", "sqs", "create-queue", "--queue-name", "from-env"]) == 0
    assert json.loads(capsys.readouterr().out)["QueueUrl"] == f"{sandbox.endpoint_url}/123456789012/from-env"
