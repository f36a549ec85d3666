"""eventlab.sandbox.inspect: typed snapshots of sandbox state, read without changing it."""

from __future__ import annotations

import json

from eventlab.sandbox import Sandbox, inspect
from eventlab.sandbox.sqs.queues import discard_messages
from tests.sandbox.helpers import make_function, make_queue

HANDLER = "def handler(event, context):\n    return {'n': len(event.get('Records', []))}\n"
FAILING = "def handler(event, context):\n    raise KeyError('video_id')\n"


def test_a_queue_and_its_messages_are_read_without_receiving_them(sandbox: Sandbox) -> None:
    dlq_url, dlq_arn = make_queue(sandbox, "jobs-dlq")
    url, arn = make_queue(sandbox, "jobs", VisibilityTimeout="45", RedrivePolicy=json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}))
    sqs = sandbox.client("sqs")
    sqs.send_message(QueueUrl=url, MessageBody="first", MessageAttributes={
        "kind": {"DataType": "String", "StringValue": "a"}})
    sqs.send_message(QueueUrl=url, MessageBody="second")
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)   # "first" is now in flight

    q = inspect.queue(sandbox, "jobs")
    assert q is not None
    assert (q.name, q.queue_arn, q.visibility_timeout, q.fifo_queue) == ("jobs", arn, 45, False)
    assert q.redrive_policy == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}
    assert q.approximate_number_of_messages == 1
    msgs = inspect.messages(sandbox, "jobs")
    assert [(m.body, m.receive_count, m.visible) for m in msgs] == [("first", 1, False), ("second", 0, True)]
    assert msgs[0].message_attributes == {"kind": {"DataType": "String", "StringValue": "a"}}
    # reading changed nothing: the visible message is still there to receive, once
    again = inspect.messages(sandbox, "jobs")
    assert [(m.receive_count, m.visible) for m in again] == [(1, False), (0, True)]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in got] == ["second"]
    assert inspect.queue(sandbox, "nope") is None and inspect.messages(sandbox, "nope") == []
    assert sorted(inspect.queue_names(sandbox)) == ["jobs", "jobs-dlq"]


def test_discard_messages_takes_out_only_the_matching_ones(sandbox: Sandbox) -> None:
    url, _ = make_queue(sandbox, "dlq")
    sqs = sandbox.client("sqs")
    for body in ("learner-1", "probe-xyz", "learner-2"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)   # learner-1 in flight

    assert discard_messages(sandbox, "dlq", containing="probe-") == 1
    left = inspect.messages(sandbox, "dlq")
    assert [(m.body, m.receive_count) for m in left] == [("learner-1", 1), ("learner-2", 0)]
    assert discard_messages(sandbox, "no-such-queue", containing="x") == 0


def test_topics_and_subscriptions_with_their_filter_policies(sandbox: Sandbox) -> None:
    sns = sandbox.client("sns")
    topic_arn = sns.create_topic(Name="uploads")["TopicArn"]
    _, plain_arn = make_queue(sandbox, "plain")
    _, filtered_arn = make_queue(sandbox, "filtered")
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=plain_arn,
                  Attributes={"RawMessageDelivery": "true"})
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=filtered_arn,
                  Attributes={"FilterPolicy": json.dumps({"kind": ["video"]})})

    t = inspect.topic(sandbox, "uploads")
    assert t is not None and (t.arn, t.fifo_topic) == (topic_arn, False)
    subs = {s.endpoint: s for s in inspect.subscriptions(sandbox, topic_arn)}
    assert subs[plain_arn].raw and subs[plain_arn].filter_policy is None
    assert not subs[filtered_arn].raw
    assert subs[filtered_arn].filter_policy == {"kind": ["video"]}
    assert inspect.subscriptions(sandbox, "arn:aws:sns:us-east-1:123456789012:other") == []

    seen: list[tuple[str, str]] = []
    inspect.watch_sns_deliveries(sandbox, lambda sub, mid: seen.append((sub, mid)))
    mid = sns.publish(TopicArn=topic_arn, Message="m", MessageAttributes={
        "kind": {"DataType": "String", "StringValue": "audio"}})["MessageId"]
    # the filter let "audio" through to the plain queue only
    assert seen == [(subs[plain_arn].arn, mid)]


def test_functions_mappings_and_invocations(sandbox: Sandbox) -> None:
    make_function(sandbox, "worker", HANDLER, timeout=20)
    make_function(sandbox, "broken", FAILING)
    url, arn = make_queue(sandbox, "work")
    sandbox.client("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName="worker", BatchSize=5)
    sandbox.client("sqs").send_message(QueueUrl=url, MessageBody="job-1")
    sandbox.client("lambda").invoke(FunctionName="broken", Payload=b"{}")

    fn = inspect.function(sandbox, "worker")
    assert fn is not None and (fn.function_name, fn.timeout) == ("worker", 20)
    assert fn.function_arn.endswith(":function:worker")
    assert inspect.function(sandbox, "missing") is None
    assert sorted(f.function_name for f in inspect.functions(sandbox)) == ["broken", "worker"]
    [esm] = inspect.mappings(sandbox, source_arn=arn)
    assert (esm.function_name, esm.batch_size, esm.enabled) == ("worker", 5, True)
    assert inspect.mappings(sandbox, source_arn="arn:aws:sqs:us-east-1:123456789012:x") == []

    [ok] = inspect.invocations(sandbox, "worker")
    assert ok["ok"] and [r["body"] for r in ok["event"]["Records"]] == ["job-1"]
    [failed] = inspect.invocations(sandbox, "broken")
    assert not failed["ok"] and failed["error"]["errorType"] == "KeyError"
    assert "KeyError" in inspect.log_text(sandbox, "/aws/lambda/broken")
    assert inspect.log_text(sandbox, "/aws/lambda/never") == ""


def test_streams_rules_and_archives(sandbox: Sandbox) -> None:
    kinesis = sandbox.client("kinesis")
    kinesis.create_stream(StreamName="readings", ShardCount=2)
    kinesis.put_record(StreamName="readings", Data=b"{}", PartitionKey="sensor-1")
    s = inspect.stream(sandbox, "readings")
    assert s is not None and s.status == "ACTIVE" and len(s.shards) == 2
    assert [r.partition_key for shard in s.shards.values() for r in shard.records] == ["sensor-1"]
    assert inspect.stream(sandbox, "nope") is None

    events = sandbox.client("events")
    bus_arn = events.create_event_bus(Name="orders")["EventBusArn"]
    pattern = json.dumps({"detail-type": ["OrderPlaced"]})
    events.put_rule(Name="placed", EventBusName="orders", EventPattern=pattern)
    events.put_targets(Rule="placed", EventBusName="orders",
                       Targets=[{"Id": "1", "Arn": "arn:aws:sqs:us-east-1:123456789012:q"}])
    events.create_archive(ArchiveName="all", EventSourceArn=bus_arn, RetentionDays=7)
    bus = inspect.bus(sandbox, "orders")
    assert bus is not None and bus.arn == bus_arn
    rule = bus.rules["placed"]
    assert (rule.event_pattern, [t["Id"] for t in rule.targets]) == (pattern, ["1"])
    [archive] = inspect.archives(sandbox)
    assert (archive.name, archive.source_arn, archive.retention) == ("all", bus_arn, 7)
    assert inspect.replays(sandbox) == []
