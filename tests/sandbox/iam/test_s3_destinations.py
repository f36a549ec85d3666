"""S3 event notifications need the destination's policy to let s3.amazonaws.com send them."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from eventlab.sandbox import Sandbox
from tests.sandbox.helpers import make_function, make_queue

OWNER = "123456789012"


def s3_may_send(arn, bucket, action="sqs:SendMessage", account=OWNER, effect="Allow"):
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": effect, "Principal": {"Service": "s3.amazonaws.com"}, "Action": action, "Resource": arn,
        "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{bucket}"},
                      "StringEquals": {"aws:SourceAccount": account}}}]})


def notify(sb, bucket, **config):
    sb.client("s3").put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=config)


def queue_to(arn):
    return {"QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]}


def records(sb, url):
    got = sb.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in got]


def notified_queue(sb):
    """Bucket "uploads" notifies a queue whose policy lets it: the queue's URL."""
    sb.client("s3").create_bucket(Bucket="uploads")
    url, arn = make_queue(sb, "uploads-events")
    sb.client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": s3_may_send(arn, "uploads")})
    notify(sb, "uploads", **queue_to(arn))
    return url


@pytest.fixture
def strict():
    with Sandbox(policies="strict", background=False) as sb:
        yield sb


def test_a_queue_whose_policy_allows_the_bucket_gets_its_notifications(strict):
    sb = strict
    url = notified_queue(sb)
    assert records(sb, url)[0]["Event"] == "s3:TestEvent"
    sb.client("s3").put_object(Bucket="uploads", Key="a.csv", Body=b"1")
    assert records(sb, url)[0]["Records"][0]["s3"]["object"]["key"] == "a.csv"


@pytest.mark.parametrize("policy", [
    None,                                                              # missing
    lambda arn: s3_may_send(arn, "other-bucket"),                      # another bucket's ARN
    lambda arn: s3_may_send(arn, "uploads", account="999999999999"),   # another owner
    lambda arn: s3_may_send(arn, "uploads", effect="Deny"),            # explicit deny
])
def test_put_bucket_notification_configuration_validates_the_destination(strict, policy):
    sb = strict
    s3 = sb.client("s3")
    s3.create_bucket(Bucket="uploads")
    url, arn = make_queue(sb, "uploads-events")
    if policy is not None:
        sb.client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy(arn)})
    with pytest.raises(ClientError) as refused:
        notify(sb, "uploads", **queue_to(arn))
    assert refused.value.response["Error"]["Code"] == "InvalidArgument"
    assert refused.value.response["Error"]["Message"].startswith(
        f"Unable to validate the following destination configurations: {arn}")
    assert s3.get_bucket_notification_configuration(Bucket="uploads").get("QueueConfigurations") is None
    s3.put_object(Bucket="uploads", Key="a.csv", Body=b"1")
    assert records(sb, url) == []


def test_a_notification_after_the_policy_was_removed_is_dropped(strict):
    sb = strict
    url = notified_queue(sb)
    records(sb, url)
    sb.client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""})
    sb.client("s3").put_object(Bucket="uploads", Key="late.csv", Body=b"1")
    assert records(sb, url) == []
    assert sb.service("policies").refused[-1]["source"] == "arn:aws:s3:::uploads"


def test_topics_and_functions_too_and_a_missing_destination(strict):
    sb = strict
    sb.client("s3").create_bucket(Bucket="media")
    sns = sb.client("sns")
    topic = sns.create_topic(Name="media-events")["TopicArn"]
    with pytest.raises(ClientError, match="Unable to validate"):
        notify(sb, "media", TopicConfigurations=[{"TopicArn": topic, "Events": ["s3:ObjectCreated:*"]}])
    sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy",
                             AttributeValue=s3_may_send(topic, "media", "SNS:Publish"))
    notify(sb, "media", TopicConfigurations=[{"TopicArn": topic, "Events": ["s3:ObjectCreated:*"]}])
    fn = make_function(sb, "thumbnailer", "def handler(event, context):\n    return 1\n")
    config = {"LambdaFunctionConfigurations": [{"LambdaFunctionArn": fn, "Events": ["s3:ObjectCreated:*"]}]}
    with pytest.raises(ClientError, match="Unable to validate"):
        notify(sb, "media", **config)
    sb.client("lambda").add_permission(FunctionName="thumbnailer", StatementId="s3", Action="lambda:InvokeFunction",
                                       Principal="s3.amazonaws.com", SourceArn="arn:aws:s3:::media",
                                       SourceAccount=OWNER)
    notify(sb, "media", **config)
    with pytest.raises(ClientError, match="the queue does not exist"):
        notify(sb, "media", **queue_to(f"arn:aws:sqs:us-east-1:{OWNER}:nowhere"))


def test_the_lenient_mode_lets_a_same_account_queue_without_policy_receive(sandbox):
    sandbox.client("s3").create_bucket(Bucket="app-logs")
    url, arn = make_queue(sandbox, "logs-events")
    notify(sandbox, "app-logs", **queue_to(arn))
    sandbox.client("s3").put_object(Bucket="app-logs", Key="x", Body=b"1")
    assert [r.get("Event") or r["Records"][0]["s3"]["object"]["key"] for r in records(sandbox, url)] == [
        "s3:TestEvent", "x"]
