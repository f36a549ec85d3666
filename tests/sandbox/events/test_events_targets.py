"""EventBridge targets: every type receives the right payload; failures retry and dead-letter."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from eventlab.sandbox import Sandbox
from tests.sandbox.helpers import drain, make_queue, recorder

ACCOUNT = "123456789012"
DETAIL = {"orderId": "o-1", "amount": 42, "customer": {"tier": "gold"}}


def _rule(sb: Sandbox, targets: list[dict[str, Any]], *, name: str = "orders",
          bus: str = "default") -> str:
    events = sb.client("events")
    arn = events.put_rule(Name=name, EventBusName=bus,
                          EventPattern=json.dumps({"source": ["shop.orders"]}))["RuleArn"]
    response = events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
    assert response["FailedEntryCount"] == 0
    return arn


def _put(sb: Sandbox, detail: dict[str, Any] | None = None, bus: str = "default") -> str:
    response = sb.client("events").put_events(Entries=[{
        "Source": "shop.orders", "DetailType": "OrderPlaced", "Resources": ["arn:aws:shop:o-1"],
        "Detail": json.dumps(detail or DETAIL), "EventBusName": bus}])
    assert response["FailedEntryCount"] == 0
    return response["Entries"][0]["EventId"]


def _assert_envelope(event: dict[str, Any], event_id: str) -> None:
    assert list(event) == ["version", "id", "detail-type", "source", "account", "time",
                           "region", "resources", "detail"]
    assert event["version"] == "0"
    assert event["id"] == event_id
    assert event["detail-type"] == "OrderPlaced"
    assert event["source"] == "shop.orders"
    assert event["account"] == ACCOUNT
    assert len(event["time"]) == 20 and event["time"].endswith("Z")
    assert event["region"] == "us-east-1"
    assert event["resources"] == ["arn:aws:shop:o-1"]
    assert event["detail"] == DETAIL


def test_lambda_target_gets_envelope(sandbox: Sandbox) -> None:
    fn, out = recorder(sandbox, "rec")
    _rule(sandbox, [{"Id": "fn", "Arn": fn}])
    event_id = _put(sandbox)
    [event] = drain(sandbox, out)
    _assert_envelope(event, event_id)


def test_sqs_target(sandbox: Sandbox) -> None:
    url, arn = make_queue(sandbox, "orders")
    _rule(sandbox, [{"Id": "q", "Arn": arn}])
    event_id = _put(sandbox)
    [event] = drain(sandbox, url)
    _assert_envelope(event, event_id)


def test_fifo_sqs_target_uses_message_group_id(sandbox: Sandbox) -> None:
    url, arn = make_queue(sandbox, "orders.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    _rule(sandbox, [{"Id": "q", "Arn": arn, "SqsParameters": {"MessageGroupId": "orders-group"}}])
    first, second = _put(sandbox, {"n": 1}), _put(sandbox, {"n": 2})
    messages = drain(sandbox, url, attributes=True)
    assert [json.loads(m["Body"])["id"] for m in messages] == [first, second]
    assert {m["Attributes"]["MessageGroupId"] for m in messages} == {"orders-group"}


def test_fifo_target_without_message_group_id_is_refused(sandbox: Sandbox) -> None:
    _, arn = make_queue(sandbox, "orders.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    sandbox.client("events").put_rule(Name="r", EventPattern=json.dumps({"source": ["x"]}))
    with pytest.raises(ClientError, match="SqsParameters"):
        sandbox.client("events").put_targets(Rule="r", Targets=[{"Id": "q", "Arn": arn}])


def test_sns_target(sandbox: Sandbox) -> None:
    url, queue_arn = make_queue(sandbox, "from-sns")
    sns = sandbox.client("sns")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    _rule(sandbox, [{"Id": "t", "Arn": topic}])
    event_id = _put(sandbox)
    [notification] = drain(sandbox, url)
    assert notification["TopicArn"] == topic
    _assert_envelope(json.loads(notification["Message"]), event_id)


def test_step_functions_target(sandbox: Sandbox) -> None:
    role = sandbox.client("iam").create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    sfn = sandbox.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="orders", roleArn=role,
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
    _rule(sandbox, [{"Id": "sm", "Arn": machine, "RoleArn": role}])
    event_id = _put(sandbox)
    [execution] = sfn.list_executions(stateMachineArn=machine)["executions"]
    described = sfn.describe_execution(executionArn=execution["executionArn"])
    _assert_envelope(json.loads(described["input"]), event_id)


def test_kinesis_target_partition_key(sandbox: Sandbox) -> None:
    kinesis = sandbox.client("kinesis")
    kinesis.create_stream(StreamName="orders", ShardCount=1)
    stream = kinesis.describe_stream(StreamName="orders")["StreamDescription"]["StreamARN"]
    _rule(sandbox, [
        {"Id": "keyed", "Arn": stream, "KinesisParameters": {"PartitionKeyPath": "$.detail.orderId"}},
        {"Id": "default", "Arn": stream, "InputPath": "$.detail"},
    ])
    event_id = _put(sandbox)
    iterator = kinesis.get_shard_iterator(StreamName="orders", ShardId="shardId-000000000000",
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = kinesis.get_records(ShardIterator=iterator)["Records"]
    by_key = {r["PartitionKey"]: json.loads(r["Data"]) for r in records}
    assert set(by_key) == {"o-1", event_id}  # the event id is AWS's default partition key
    _assert_envelope(by_key["o-1"], event_id)
    assert by_key[event_id] == DETAIL


def test_firehose_target(sandbox: Sandbox) -> None:
    s3 = sandbox.client("s3")
    s3.create_bucket(Bucket="lake")
    role = sandbox.client("iam").create_role(RoleName="fh", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    firehose = sandbox.client("firehose")
    stream = firehose.create_delivery_stream(
        DeliveryStreamName="orders", DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={"RoleARN": role, "BucketARN": "arn:aws:s3:::lake"},
    )["DeliveryStreamARN"]
    _rule(sandbox, [{"Id": "fh", "Arn": stream, "RoleArn": role}])
    event_id = _put(sandbox)
    sandbox.clock.advance(minutes=15)  # past any buffering interval
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="lake").get("Contents", [])]
    bodies = b"".join(s3.get_object(Bucket="lake", Key=k)["Body"].read() for k in keys)
    assert event_id.encode() in bodies
    assert b'"orderId": "o-1"' in bodies


def test_cloudwatch_logs_target(sandbox: Sandbox) -> None:
    logs = sandbox.client("logs")
    logs.create_log_group(logGroupName="/aws/events/orders")
    group_arn = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/events/orders"
    _rule(sandbox, [{"Id": "logs", "Arn": group_arn}])
    event_id = _put(sandbox)
    [entry] = logs.filter_log_events(logGroupName="/aws/events/orders")["events"]
    _assert_envelope(json.loads(entry["message"]), event_id)


def test_event_bus_target_keeps_the_event(sandbox: Sandbox) -> None:
    events = sandbox.client("events")
    bus_arn = events.create_event_bus(Name="audit")["EventBusArn"]
    url, queue_arn = make_queue(sandbox, "audit")
    _rule(sandbox, [{"Id": "q", "Arn": queue_arn}], name="audit-all", bus="audit")
    _rule(sandbox, [{"Id": "bus", "Arn": bus_arn}])
    event_id = _put(sandbox)
    [event] = drain(sandbox, url)
    _assert_envelope(event, event_id)


def test_archive_still_records(sandbox: Sandbox) -> None:
    events = sandbox.client("events")
    bus = events.describe_event_bus()["Arn"]
    events.create_archive(ArchiveName="all", EventSourceArn=bus)
    _put(sandbox)
    assert events.describe_archive(ArchiveName="all")["EventCount"] == 1


def test_disabled_rule_delivers_nothing(sandbox: Sandbox) -> None:
    url, arn = make_queue(sandbox, "q")
    _rule(sandbox, [{"Id": "q", "Arn": arn}])
    sandbox.client("events").disable_rule(Name="orders")
    _put(sandbox)
    assert drain(sandbox, url) == []


def test_sixth_target_is_refused(sandbox: Sandbox) -> None:
    _, arn = make_queue(sandbox, "q")
    _rule(sandbox, [{"Id": f"t{i}", "Arn": arn} for i in range(5)])
    events = sandbox.client("events")
    with pytest.raises(ClientError) as caught:
        events.put_targets(Rule="orders", Targets=[{"Id": "t5", "Arn": arn}])
    assert caught.value.response["Error"]["Code"] == "LimitExceededException"
    # replacing an existing target id is not a sixth target
    events.put_targets(Rule="orders", Targets=[{"Id": "t0", "Arn": arn, "Input": "{}"}])
    assert len(events.list_targets_by_rule(Rule="orders")["Targets"]) == 5


# -- failures --------------------------------------------------------------------------

def test_failing_target_fails_neither_put_events_nor_other_targets(sandbox: Sandbox) -> None:
    url, arn = make_queue(sandbox, "good")
    fn, out = recorder(sandbox, "rec")
    _rule(sandbox, [
        {"Id": "gone-queue", "Arn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:does-not-exist"},
        {"Id": "gone-fn", "Arn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:nope"},
        {"Id": "gone-topic", "Arn": f"arn:aws:sns:us-east-1:{ACCOUNT}:nope"},
        {"Id": "good", "Arn": arn},
        {"Id": "fn", "Arn": fn},
    ])
    event_id = _put(sandbox)
    [event] = drain(sandbox, url)
    assert event["id"] == event_id
    assert [e["id"] for e in drain(sandbox, out)] == [event_id]
    dropped = sandbox.service("events-targets").dropped
    assert {d["target"]: d["error_code"] for d in dropped} == {
        "gone-queue": "NO_RESOURCE", "gone-fn": "NO_RESOURCE", "gone-topic": "NO_RESOURCE"}


def test_missing_target_goes_to_dlq_without_retries(sandbox: Sandbox) -> None:
    dlq_url, dlq_arn = make_queue(sandbox, "dlq")
    missing = f"arn:aws:sqs:us-east-1:{ACCOUNT}:does-not-exist"
    rule_arn = _rule(sandbox, [{"Id": "gone", "Arn": missing, "DeadLetterConfig": {"Arn": dlq_arn}}])
    event_id = _put(sandbox)
    [message] = drain(sandbox, dlq_url, attributes=True)
    assert json.loads(message["Body"])["id"] == event_id
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["RULE_ARN"] == rule_arn
    assert attributes["TARGET_ARN"] == missing
    assert attributes["ERROR_CODE"] == "NO_RESOURCE"
    assert attributes["ERROR_MESSAGE"]
    assert attributes["RETRY_ATTEMPTS"] == "0"
    assert "EXHAUSTED_RETRY_CONDITION" not in attributes  # no retry limit was reached


def test_transient_failure_retries_then_dead_letters(sandbox: Sandbox) -> None:
    url, arn = make_queue(sandbox, "flaky")
    dlq_url, dlq_arn = make_queue(sandbox, "dlq")
    rule_arn = _rule(sandbox, [{"Id": "flaky", "Arn": arn, "DeadLetterConfig": {"Arn": dlq_arn},
                                "RetryPolicy": {"MaximumRetryAttempts": 3}}])
    service = sandbox.service("events-targets")
    service.inject_failure(arn)  # throttled until cleared
    event_id = _put(sandbox)
    assert drain(sandbox, dlq_url) == [] and service.pending() == 1
    sandbox.clock.advance(seconds=60)  # back-off 1 s, 2 s, 4 s: all three retries are due
    assert drain(sandbox, url) == []
    [message] = drain(sandbox, dlq_url, attributes=True)
    assert json.loads(message["Body"])["id"] == event_id
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["RULE_ARN"] == rule_arn
    assert attributes["TARGET_ARN"] == arn
    assert attributes["ERROR_CODE"] == "THROTTLING"
    assert attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert attributes["RETRY_ATTEMPTS"] == "3"


def test_transient_failure_recovers(sandbox: Sandbox) -> None:
    url, arn = make_queue(sandbox, "flaky")
    _rule(sandbox, [{"Id": "flaky", "Arn": arn}])
    service = sandbox.service("events-targets")
    service.inject_failure(arn, times=2)
    event_id = _put(sandbox)
    assert drain(sandbox, url) == []
    sandbox.clock.advance(seconds=1)
    assert drain(sandbox, url) == []  # the second retry is 2 s after the first
    sandbox.clock.advance(seconds=2)
    assert [e["id"] for e in drain(sandbox, url)] == [event_id]
    assert service.delivered[-1]["attempts"] == 3


def test_event_age_limit(sandbox: Sandbox) -> None:
    _, arn = make_queue(sandbox, "down")
    dlq_url, dlq_arn = make_queue(sandbox, "dlq")
    _rule(sandbox, [{"Id": "down", "Arn": arn, "DeadLetterConfig": {"Arn": dlq_arn},
                     "RetryPolicy": {"MaximumEventAgeInSeconds": 600}}])
    sandbox.service("events-targets").inject_failure(arn)
    _put(sandbox)
    sandbox.clock.advance(seconds=500)
    assert drain(sandbox, dlq_url) == []
    sandbox.clock.advance(minutes=10)
    [message] = drain(sandbox, dlq_url, attributes=True)
    assert message["MessageAttributes"]["EXHAUSTED_RETRY_CONDITION"]["StringValue"] == "MaximumEventAgeInSeconds"


def test_replay_redelivers_with_replay_name(sandbox: Sandbox) -> None:
    from datetime import UTC, datetime, timedelta

    events = sandbox.client("events")
    bus = events.describe_event_bus()["Arn"]
    archive = events.create_archive(ArchiveName="all", EventSourceArn=bus)["ArchiveArn"]
    url, arn = make_queue(sandbox, "q")
    _rule(sandbox, [{"Id": "q", "Arn": arn}])
    _put(sandbox)
    [original] = drain(sandbox, url)
    now = datetime.now(UTC)
    events.start_replay(ReplayName="again", EventSourceArn=archive, Destination={"Arn": bus},
                        EventStartTime=now - timedelta(days=1), EventEndTime=now + timedelta(days=1))
    [replayed] = drain(sandbox, url)
    assert replayed["replay-name"] == "again"
    assert replayed["detail"] == original["detail"] and replayed["id"] != original["id"]


def test_a_handler_publishing_over_http_reaches_another_function(sandbox: Sandbox) -> None:
    """The order service is itself a Lambda function: its PutEvents goes over the sandbox's
    HTTP endpoint, and the rule's Lambda target receives the event."""
    from tests.sandbox.helpers import make_function

    target_arn, out_url = recorder(sandbox, "inventory")
    _rule(sandbox, [{"Id": "inventory", "Arn": target_arn}])
    make_function(sandbox, "order-service", (
        "import json, boto3\n"
        "def handler(event, context):\n"
        "    response = boto3.client('events').put_events(Entries=[{\n"
        "        'Source': 'shop.orders', 'DetailType': 'OrderPlaced',\n"
        "        'Detail': json.dumps({'orderId': event['orderId']})}])\n"
        "    return response['Entries'][0]['EventId']\n"), timeout=60)
    # (its PutEvents returns after the sandbox has run the target, a cold start: on a busy
    # machine that is more than the 1 s a scaled 10 s timeout leaves)
    result = sandbox.client("lambda").invoke(FunctionName="order-service",
                                             Payload=json.dumps({"orderId": "o-77"}).encode())
    assert "FunctionError" not in result
    event_id = json.loads(result["Payload"].read())
    [event] = drain(sandbox, out_url)
    assert event["id"] == event_id
    assert event["source"] == "shop.orders"
    assert event["detail-type"] == "OrderPlaced"
    assert event["detail"] == {"orderId": "o-77"}


def test_replay_sends_only_the_events_inside_its_window(sandbox: Sandbox) -> None:
    """StartReplay: "only events that occurred between the EventStartTime and EventEndTime
    are replayed" (API_StartReplay). Two hours apart, a 5-minute window around the second
    event replays it alone; a window that covers neither replays nothing."""
    from datetime import timedelta

    events = sandbox.client("events")
    bus = events.describe_event_bus()["Arn"]
    archive = events.create_archive(ArchiveName="all", EventSourceArn=bus)["ArchiveArn"]
    url, arn = make_queue(sandbox, "q")
    _rule(sandbox, [{"Id": "q", "Arn": arn}])
    _put(sandbox, {"orderId": "early"})
    sandbox.clock.advance(hours=2)
    _put(sandbox, {"orderId": "late"})
    assert [e["detail"]["orderId"] for e in drain(sandbox, url)] == ["early", "late"]
    now = sandbox.clock.now()
    events.start_replay(ReplayName="last-5-minutes", EventSourceArn=archive,
                        Destination={"Arn": bus}, EventStartTime=now - timedelta(minutes=5),
                        EventEndTime=now + timedelta(seconds=1))
    assert [(e["detail"]["orderId"], e["replay-name"]) for e in drain(sandbox, url)] == [
        ("late", "last-5-minutes")]
    events.start_replay(ReplayName="nothing", EventSourceArn=archive, Destination={"Arn": bus},
                        EventStartTime=now - timedelta(hours=1), EventEndTime=now - timedelta(minutes=30))
    assert drain(sandbox, url) == []
    assert events.describe_replay(ReplayName="nothing")["State"] == "COMPLETED"
    events.start_replay(ReplayName="both", EventSourceArn=archive, Destination={"Arn": bus},
                        EventStartTime=now - timedelta(hours=3), EventEndTime=now + timedelta(seconds=1))
    assert [e["detail"]["orderId"] for e in drain(sandbox, url)] == ["early", "late"]


def test_replay_to_filter_arns_reaches_only_those_rules(sandbox: Sandbox) -> None:
    from datetime import timedelta

    events = sandbox.client("events")
    bus = events.describe_event_bus()["Arn"]
    archive = events.create_archive(ArchiveName="all", EventSourceArn=bus)["ArchiveArn"]
    first_url, first_arn = make_queue(sandbox, "first")
    second_url, second_arn = make_queue(sandbox, "second")
    first_rule = _rule(sandbox, [{"Id": "q", "Arn": first_arn}], name="first")
    _rule(sandbox, [{"Id": "q", "Arn": second_arn}], name="second")
    _put(sandbox)
    drain(sandbox, first_url), drain(sandbox, second_url)
    now = sandbox.clock.now()
    events.start_replay(ReplayName="first-only", EventSourceArn=archive,
                        Destination={"Arn": bus, "FilterArns": [first_rule]},
                        EventStartTime=now - timedelta(hours=1), EventEndTime=now + timedelta(seconds=1))
    assert len(drain(sandbox, first_url)) == 1
    assert drain(sandbox, second_url) == []
