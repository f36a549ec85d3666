"""SQS -> Lambda through an event source mapping, as Lambda's SQS pollers behave."""

from __future__ import annotations

import hashlib
import json

import pytest

RECORDER = (
    "import json\n"
    "def handler(event, context):\n"
    "    print(json.dumps(event))\n"
    "    return {'n': len(event['Records'])}\n"
)


def queue(sandbox, name, **attributes):
    sqs = sandbox.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes={k: str(v) for k, v in attributes.items()})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def events_of(sandbox, name):
    return [e["event"] for e in sandbox.service("lambda").invocation_log if e["function"] == name]


def depth(sandbox, url):
    attrs = sandbox.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])


def test_record_shape_field_by_field(sandbox, make_function):
    url, arn = queue(sandbox, "orders")
    make_function("rec", RECORDER)
    sandbox.client("lambda").create_event_source_mapping(EventSourceArn=arn, FunctionName="rec")
    sent = sandbox.client("sqs").send_message(
        QueueUrl=url, MessageBody='{"order": 7}',
        MessageAttributes={"priority": {"DataType": "String", "StringValue": "high"},
                           "weight": {"DataType": "Number", "StringValue": "12"}})
    before = sandbox.clock.time() * 1000
    [event] = events_of(sandbox, "rec")
    [record] = event["Records"]
    assert record["messageId"] == sent["MessageId"]
    assert record["body"] == '{"order": 7}'
    assert record["md5OfBody"] == hashlib.md5(b'{"order": 7}').hexdigest()
    assert record["md5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == arn
    assert record["awsRegion"] == "us-east-1"
    assert record["receiptHandle"]
    attributes = record["attributes"]
    assert attributes["ApproximateReceiveCount"] == "1"
    assert abs(int(attributes["SentTimestamp"]) - before) < 5000
    assert int(attributes["ApproximateFirstReceiveTimestamp"]) >= int(attributes["SentTimestamp"])
    assert attributes["SenderId"]
    assert record["messageAttributes"] == {
        "priority": {"stringValue": "high", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
        "weight": {"stringValue": "12", "stringListValues": [], "binaryListValues": [], "dataType": "Number"},
    }
    assert depth(sandbox, url) == (0, 0)  # success deleted the message


def test_messages_queued_before_the_mapping_are_processed_in_batches(sandbox, make_function):
    url, arn = queue(sandbox, "backlog")
    sqs = sandbox.client("sqs")
    for i in range(3):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(j), "MessageBody": f"{i}-{j}"} for j in range(10)])
    sqs.send_message(QueueUrl=url, MessageBody="last")
    make_function("rec", RECORDER)
    sandbox.client("lambda").create_event_source_mapping(EventSourceArn=arn, FunctionName="rec", BatchSize=7)
    sizes = [len(e["Records"]) for e in events_of(sandbox, "rec")]
    assert sizes == [7, 7, 7, 7, 3]
    assert depth(sandbox, url) == (0, 0)


def test_batching_window_waits_for_a_full_batch_on_the_clock(sandbox, make_function):
    url, arn = queue(sandbox, "windowed")
    make_function("rec", RECORDER)
    sandbox.client("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName="rec", BatchSize=5, MaximumBatchingWindowInSeconds=20)
    sqs = sandbox.client("sqs")
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
    assert events_of(sandbox, "rec") == []
    sandbox.clock.advance(seconds=19)
    assert events_of(sandbox, "rec") == []
    sandbox.clock.advance(seconds=1)
    assert [len(e["Records"]) for e in events_of(sandbox, "rec")] == [3]
    for i in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
    assert [len(e["Records"]) for e in events_of(sandbox, "rec")] == [3, 5]  # full batch: no wait


def test_failure_returns_messages_after_visibility_timeout_then_dlq(sandbox, make_function):
    dlq_url, dlq_arn = queue(sandbox, "work-dlq")
    url, arn = queue(sandbox, "work", VisibilityTimeout=30,
                     RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}))
    make_function("fails", "def handler(e, c):\n    raise RuntimeError('poison')\n")
    sandbox.client("lambda").create_event_source_mapping(EventSourceArn=arn, FunctionName="fails")
    sandbox.client("sqs").send_message(QueueUrl=url, MessageBody="poison pill")
    counts = lambda: [r["attributes"]["ApproximateReceiveCount"]  # noqa: E731
                      for e in events_of(sandbox, "fails") for r in e["Records"]]
    assert counts() == ["1"]
    assert depth(sandbox, url) == (0, 1)  # in flight, not deleted
    sandbox.clock.advance(seconds=29)
    assert counts() == ["1"]
    sandbox.clock.advance(seconds=2)
    assert counts() == ["1", "2"]
    sandbox.clock.advance(seconds=31)
    assert counts() == ["1", "2", "3"]
    sandbox.clock.advance(seconds=31)  # the fourth receive moves it to the DLQ instead
    assert counts() == ["1", "2", "3"]
    [message] = sandbox.client("sqs").receive_message(QueueUrl=dlq_url)["Messages"]
    assert message["Body"] == "poison pill"
    assert depth(sandbox, url) == (0, 0)


def test_report_batch_item_failures_keeps_only_failed_messages(sandbox, make_function):
    url, arn = queue(sandbox, "partial", VisibilityTimeout=10)
    make_function("picky", (
        "def handler(event, context):\n"
        "    bad = [r['messageId'] for r in event['Records'] if r['body'].startswith('bad')]\n"
        "    return {'batchItemFailures': [{'itemIdentifier': m} for m in bad]}\n"))
    sandbox.client("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName="picky", FunctionResponseTypes=["ReportBatchItemFailures"],
        BatchSize=10, MaximumBatchingWindowInSeconds=1)
    sqs = sandbox.client("sqs")
    sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "1", "MessageBody": "good-1"}, {"Id": "2", "MessageBody": "bad-2"},
        {"Id": "3", "MessageBody": "good-3"}])
    sandbox.clock.advance(seconds=1)
    assert depth(sandbox, url) == (0, 1)
    sandbox.clock.advance(seconds=10)  # visible again; the 1 s batching window starts
    assert len(events_of(sandbox, "picky")) == 1
    sandbox.clock.advance(seconds=1)
    bodies = [[r["body"] for r in e["Records"]] for e in events_of(sandbox, "picky")]
    assert bodies == [["good-1", "bad-2", "good-3"], ["bad-2"]]


@pytest.mark.parametrize("response", [
    {"batchItemFailures": [{"itemIdentifier": ""}]},
    {"batchItemFailures": [{"itemIdentifier": "not-a-message-id"}]},
])
def test_malformed_batch_item_failures_fail_the_whole_batch(sandbox, make_function, response):
    url, arn = queue(sandbox, "malformed", VisibilityTimeout=10)
    make_function("odd", f"def handler(e, c):\n    return {response!r}\n")
    sandbox.client("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName="odd", FunctionResponseTypes=["ReportBatchItemFailures"])
    sandbox.client("sqs").send_message(QueueUrl=url, MessageBody="x")
    assert depth(sandbox, url) == (0, 1)


def test_fifo_queue_keeps_group_order(sandbox, make_function):
    url, arn = queue(sandbox, "trades.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    make_function("rec", RECORDER)
    sqs = sandbox.client("sqs")
    for i in range(6):
        sqs.send_message(QueueUrl=url, MessageBody=f"{'AAA' if i % 2 else 'BBB'}-{i}",
                         MessageGroupId="AAA" if i % 2 else "BBB")
    sandbox.client("lambda").create_event_source_mapping(EventSourceArn=arn, FunctionName="rec", BatchSize=10)
    records = [r for e in events_of(sandbox, "rec") for r in e["Records"]]
    by_group: dict[str, list[str]] = {}
    for r in records:
        by_group.setdefault(r["attributes"]["MessageGroupId"], []).append(r["body"])
        assert r["attributes"]["MessageDeduplicationId"]
        assert r["attributes"]["SequenceNumber"]
    assert by_group == {"BBB": ["BBB-0", "BBB-2", "BBB-4"], "AAA": ["AAA-1", "AAA-3", "AAA-5"]}


def test_disabled_mapping_does_not_poll(sandbox, make_function):
    url, arn = queue(sandbox, "paused")
    make_function("rec", RECORDER)
    uuid = sandbox.client("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName="rec", Enabled=False)["UUID"]
    sandbox.client("sqs").send_message(QueueUrl=url, MessageBody="wait")
    assert events_of(sandbox, "rec") == []
    sandbox.client("lambda").update_event_source_mapping(UUID=uuid, Enabled=True)
    assert [r["body"] for e in events_of(sandbox, "rec") for r in e["Records"]] == ["wait"]


def test_attribute_view_answers_like_moto(sandbox):
    """The per-key view used during SendMessage gives what moto's full attributes give."""
    from moto.sqs.models import Queue

    from eventlab.sandbox.awslambda.esm.sqs import _AttributeView

    _, dlq_arn = queue(sandbox, "view-dlq.fifo", FifoQueue="true")
    queue(sandbox, "plain", Policy=json.dumps({"Version": "2012-10-17", "Statement": []}))
    queue(sandbox, "ordered.fifo", FifoQueue="true", ContentBasedDeduplication="true",
          RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}))
    full = Queue.attributes.fget
    for q in sandbox.backend("sqs").queues.values():
        expected = full(q)
        view = _AttributeView(q, full)
        for key in [*expected, "ContentBasedDeduplication", "Policy", "RedrivePolicy", "Nope"]:
            assert view.get(key) == expected.get(key), (q.name, key)


POISON_HANDLER = (
    "import json\n"
    "def handler(event, context):\n"
    "    for record in event['Records']:\n"
    "        json.loads(record['body'])\n"
)


def _splits(total: float, rng) -> list[list[float]]:
    """Ways to advance the clock by ``total`` seconds: one jump, jumps that land on the
    timers, and random splits into 1 to 40 pieces."""
    fixed = [[total], [180.0, 180.0, 180.0, total - 540], [1.0] * 5 + [total - 5]]
    for _ in range(25):
        cuts = sorted(rng.uniform(0, total) for _ in range(rng.randint(0, 39)))
        points = [0.0, *cuts, total]
        fixed.append([b - a for a, b in zip(points, points[1:], strict=False) if b > a])
    return fixed


def test_redeliveries_and_dead_lettering_keep_their_times_for_any_split_of_an_advance(
        sandbox, make_function):
    """A poison message behind a 180 s visibility timeout and maxReceiveCount 3 is
    received at 0, 180 and 360 s and reaches the DLQ at 540 s (not 218, 458 and 640 s,
    as when a single advance stopped only at other timers), whether the clock moves
    600 s in one jump or in any number of random steps (a seeded property test)."""
    import random

    rng = random.Random(20261206)
    sqs = sandbox.client("sqs")
    make_function("poison", POISON_HANDLER, timeout=30)
    reached: dict[str, float] = {}

    def watch_dlqs(now: float) -> None:
        for q in sandbox.backend("sqs").queues.values():
            if q.name.startswith("dlq-") and q._messages and q.name not in reached:
                reached[q.name] = now

    sandbox.clock.on_advance(watch_dlqs)
    for trial, steps in enumerate(_splits(600.0, rng)):
        _, dlq_arn = queue(sandbox, f"dlq-{trial}")
        url, arn = queue(sandbox, f"work-{trial}", VisibilityTimeout=180, RedrivePolicy=json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}))
        sandbox.client("lambda").create_event_source_mapping(EventSourceArn=arn,
                                                             FunctionName="poison")
        start = sandbox.clock.time()
        sqs.send_message(QueueUrl=url, MessageBody="not json")
        for step in steps:
            sandbox.clock.advance(seconds=step)
        runs = [e["time"] - start for e in sandbox.service("lambda").invocation_log
                if e["function"] == "poison"
                and e["event"]["Records"][0]["eventSourceARN"] == arn]
        label = f"trial {trial}: {len(steps)} step(s) {[round(s, 1) for s in steps[:6]]}..."
        # within 3 s: a cold handler and a busy machine take real time, which flows too
        assert len(runs) == 3 and all(abs(t - want) < 3 for t, want in zip(
            runs, (0, 180, 360), strict=True)), (label, runs)
        assert abs(reached[f"dlq-{trial}"] - start - 540) < 3, (label, reached)
        assert depth(sandbox, url) == (0, 0), label


def test_a_mapping_is_refused_when_the_function_can_outlive_the_visibility_timeout(
        sandbox, make_function) -> None:
    """AWS validates it at CreateEventSourceMapping: the function's timeout must be at most
    the queue's visibility timeout (services-sqs-configure.html)."""
    from botocore.exceptions import ClientError

    sqs, aws_lambda = sandbox.client("sqs"), sandbox.client("lambda")
    url, arn = queue(sandbox, "slow", VisibilityTimeout="30")
    make_function("slow", "def handler(event, context):\n    return None\n", timeout=60)
    with pytest.raises(ClientError) as refused:
        aws_lambda.create_event_source_mapping(EventSourceArn=arn, FunctionName="slow")
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert refused.value.response["Error"]["Message"] == (
        "Queue visibility timeout: 30 seconds is less than Function timeout: 60 seconds")
    assert aws_lambda.list_event_source_mappings(FunctionName="slow")["EventSourceMappings"] == []
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "60"})
    assert aws_lambda.create_event_source_mapping(EventSourceArn=arn, FunctionName="slow")["UUID"]
