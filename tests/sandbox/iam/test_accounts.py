"""Several AWS accounts in one sandbox: separate resources, identities, and flows that run
in each account as they do in the default one."""

from __future__ import annotations

import json

import pytest

from eventlab.errors import SandboxError
from tests.sandbox.helpers import make_function, make_queue

OTHER = "111111111111"


def test_each_account_has_its_own_resources_and_identity(sandbox):
    other = sandbox.account(OTHER)
    url = other.client("sqs").create_queue(QueueName="orders")["QueueUrl"]
    assert url.endswith(f"/{OTHER}/orders")
    assert sandbox.client("sqs").list_queues().get("QueueUrls") is None     # the default account has none
    assert other.client("sts").get_caller_identity()["Account"] == OTHER
    assert other.client("sts").get_caller_identity()["Arn"] == f"arn:aws:iam::{OTHER}:root"
    assert sandbox.client("sts").get_caller_identity()["Account"] == "123456789012"


def test_assume_role_into_another_account_acts_there(sandbox):
    import boto3

    creds = sandbox.client("sts").assume_role(RoleArn=f"arn:aws:iam::{OTHER}:role/deployer",
                                              RoleSessionName="ci")["Credentials"]
    session = boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                            aws_session_token=creds["SessionToken"], region_name="us-east-1")
    identity = session.client("sts").get_caller_identity()
    assert identity["Account"] == OTHER
    assert identity["Arn"].startswith(f"arn:aws:sts::{OTHER}:assumed-role/deployer/ci")
    session.client("sns").create_topic(Name="made-by-role")
    assert [t["TopicArn"] for t in sandbox.account(OTHER).client("sns").list_topics()["Topics"]] == [
        f"arn:aws:sns:us-east-1:{OTHER}:made-by-role"]


def test_an_account_id_must_be_twelve_digits(sandbox):
    with pytest.raises(SandboxError, match="12 digits"):
        sandbox.account("1234")


def test_sns_to_sqs_and_sqs_to_lambda_run_inside_another_account(sandbox):
    other = sandbox.account(OTHER)
    out_url, _ = make_queue(other, "out")
    in_url, in_arn = make_queue(other, "in")
    topic = other.client("sns").create_topic(Name="t")["TopicArn"]
    other.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=in_arn,
                                  Attributes={"RawMessageDelivery": "true"})
    make_function(other, "copier", COPIER, {"OUT": out_url})
    other.client("lambda").create_event_source_mapping(EventSourceArn=in_arn, FunctionName="copier")
    other.client("sns").publish(TopicArn=topic, Message="hello")
    sandbox.clock.advance(seconds=5)
    got = other.client("sqs").receive_message(QueueUrl=out_url, MaxNumberOfMessages=10).get("Messages", [])
    assert [json.loads(m["Body"]) for m in got] == [{"body": "hello", "account": OTHER}]


def test_eventbridge_delivers_inside_another_account(sandbox):
    other = sandbox.account(OTHER)
    url, arn = make_queue(other, "events-in")
    events = other.client("events")
    events.put_rule(Name="all", EventPattern=json.dumps({"source": ["shop"]}))
    events.put_targets(Rule="all", Targets=[{"Id": "q", "Arn": arn}])
    events.put_events(Entries=[{"Source": "shop", "DetailType": "order", "Detail": "{}"}])
    got = other.client("sqs").receive_message(QueueUrl=url).get("Messages", [])
    assert json.loads(got[0]["Body"])["account"] == OTHER


# The handler copies each SQS record's body to OUT, with the account its own calls act in.
COPIER = '''
import json, os, boto3
def handler(event, context):
    account = boto3.client("sts").get_caller_identity()["Account"]
    for record in event["Records"]:
        boto3.client("sqs").send_message(QueueUrl=os.environ["OUT"],
                                         MessageBody=json.dumps({"body": record["body"], "account": account}))
'''
