"""SNS -> Lambda: the event AWS documents (lambda/latest/dg/with-sns.html), asynchronously."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from eventlab.sandbox import Sandbox
from tests.sandbox.helpers import drain, make_queue, recorder

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _topic_with_recorder(sb: Sandbox, **sub_attributes: str) -> tuple[str, str, str]:
    fn, out = recorder(sb, "rec")
    sns = sb.client("sns")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    sub = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=fn,
                        Attributes=sub_attributes)["SubscriptionArn"]
    return topic, sub, out


def test_event_shape_field_by_field(sandbox: Sandbox) -> None:
    topic, sub, out = _topic_with_recorder(sandbox)
    before = sandbox.clock.now()
    response = sandbox.client("sns").publish(
        TopicArn=topic, Message='{"order": 1}', Subject="New order",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "new"},
                           "amount": {"DataType": "Number", "StringValue": "12.5"},
                           "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}})
    [event] = drain(sandbox, out)
    [record] = event["Records"]
    assert record["EventVersion"] == "1.0"
    assert record["EventSubscriptionArn"] == sub
    assert record["EventSource"] == "aws:sns"
    sns = record["Sns"]
    assert sns["Type"] == "Notification"
    assert sns["MessageId"] == response["MessageId"]
    assert sns["TopicArn"] == topic
    assert sns["Subject"] == "New order"
    assert sns["Message"] == '{"order": 1}'
    assert ISO_MS.match(sns["Timestamp"])
    stamp = datetime.strptime(sns["Timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert abs((stamp - before).total_seconds()) < 5
    assert sns["SignatureVersion"] in ("1", "2")
    assert sns["Signature"]
    assert sns["SigningCertUrl"].startswith(f"{sandbox.endpoint_url}/SimpleNotificationService-")  # the sandbox's
    assert sns["UnsubscribeUrl"].endswith(f"SubscriptionArn={sub}")
    assert sns["MessageAttributes"] == {
        "kind": {"Type": "String", "Value": "new"},
        "amount": {"Type": "Number", "Value": "12.5"},
        "blob": {"Type": "Binary", "Value": "AAE="},
    }


def test_subject_is_null_and_attributes_empty_when_absent(sandbox: Sandbox) -> None:
    topic, _, out = _topic_with_recorder(sandbox)
    sandbox.client("sns").publish(TopicArn=topic, Message="plain")
    [event] = drain(sandbox, out)
    assert event["Records"][0]["Sns"]["Subject"] is None
    assert event["Records"][0]["Sns"]["MessageAttributes"] == {}


def test_timestamp_follows_virtual_clock(sandbox: Sandbox) -> None:
    topic, _, out = _topic_with_recorder(sandbox)
    sandbox.clock.advance(hours=5)
    sandbox.client("sns").publish(TopicArn=topic, Message="later")
    [event] = drain(sandbox, out)
    stamp = datetime.strptime(event["Records"][0]["Sns"]["Timestamp"],
                              "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert abs((stamp - sandbox.clock.now()).total_seconds()) < 5


def test_filter_policy_excludes_message(sandbox: Sandbox) -> None:
    topic, _, out = _topic_with_recorder(
        sandbox, FilterPolicy=json.dumps({"kind": ["new"]}))
    sns = sandbox.client("sns")
    sns.publish(TopicArn=topic, Message="skip me",
                MessageAttributes={"kind": {"DataType": "String", "StringValue": "cancelled"}})
    sns.publish(TopicArn=topic, Message="keep me",
                MessageAttributes={"kind": {"DataType": "String", "StringValue": "new"}})
    events = drain(sandbox, out)
    assert [e["Records"][0]["Sns"]["Message"] for e in events] == ["keep me"]


def test_message_body_filter_scope(sandbox: Sandbox) -> None:
    topic, _, out = _topic_with_recorder(
        sandbox, FilterPolicy=json.dumps({"status": ["paid"]}), FilterPolicyScope="MessageBody")
    sns = sandbox.client("sns")
    sns.publish(TopicArn=topic, Message=json.dumps({"status": "open"}))
    sns.publish(TopicArn=topic, Message=json.dumps({"status": "paid"}))
    events = drain(sandbox, out)
    assert [json.loads(e["Records"][0]["Sns"]["Message"]) for e in events] == [{"status": "paid"}]


def test_message_structure_json_picks_lambda_key(sandbox: Sandbox) -> None:
    topic, _, out = _topic_with_recorder(sandbox)
    sandbox.client("sns").publish(
        TopicArn=topic, MessageStructure="json",
        Message=json.dumps({"default": "for everyone", "lambda": "for lambda"}))
    [event] = drain(sandbox, out)
    assert event["Records"][0]["Sns"]["Message"] == "for lambda"


def test_delivery_is_async_with_lambda_retries(sandbox: Sandbox) -> None:
    """A failing function is retried by Lambda (async invocation), not by the publisher."""
    from tests.sandbox.helpers import make_function

    fn = make_function(sandbox, "boom", "def handler(event, context):\n    raise ValueError('no')\n")
    sns = sandbox.client("sns")
    topic = sns.create_topic(Name="t")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=fn)
    sns.publish(TopicArn=topic, Message="x")  # does not raise
    lam = sandbox.service("lambda")
    assert len([i for i in lam.invocation_log if i["function"] == "boom"]) == 1
    sandbox.clock.advance(minutes=5)
    attempts = [i for i in lam.invocation_log if i["function"] == "boom"]
    assert len(attempts) == 3 and not any(a["ok"] for a in attempts)


def test_sqs_subscription_unchanged(sandbox: Sandbox) -> None:
    url, arn = make_queue(sandbox, "fanout")
    sns = sandbox.client("sns")
    topic = sns.create_topic(Name="t")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    raw_url, raw_arn = make_queue(sandbox, "raw")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=raw_arn,
                  Attributes={"RawMessageDelivery": "true"})
    response = sns.publish(TopicArn=topic, Message="hi", Subject="s")
    [envelope] = drain(sandbox, url)
    assert envelope["Type"] == "Notification"
    assert envelope["MessageId"] == response["MessageId"]
    assert envelope["TopicArn"] == topic
    assert envelope["Message"] == "hi"
    [raw] = drain(sandbox, raw_url, attributes=True)
    assert raw["Body"] == "hi"
