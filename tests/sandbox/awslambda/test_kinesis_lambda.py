"""Kinesis -> Lambda through an event source mapping: batches, positions, order, retries."""

from __future__ import annotations

import base64
import json


def stream(sandbox, name, shards=1):
    kinesis = sandbox.client("kinesis")
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    return kinesis.describe_stream(StreamName=name)["StreamDescription"]["StreamARN"]


def records_of(sandbox, name):
    return [[r for r in e["event"]["Records"]] for e in sandbox.service("lambda").invocation_log
            if e["function"] == name]


RECORDER = "def handler(event, context):\n    return len(event['Records'])\n"


def test_record_shape_and_batch_size(sandbox, make_function):
    arn = stream(sandbox, "telemetry")
    kinesis = sandbox.client("kinesis")
    puts = [kinesis.put_record(StreamName="telemetry", Data=json.dumps({"t": i}).encode(), PartitionKey="dev-1")
            for i in range(5)]
    make_function("rec", RECORDER)
    sandbox.client("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName="rec", StartingPosition="TRIM_HORIZON", BatchSize=2)
    batches = records_of(sandbox, "rec")
    assert [len(b) for b in batches] == [2, 2, 1]
    first = batches[0][0]
    assert first["eventSource"] == "aws:kinesis"
    assert first["eventVersion"] == "1.0"
    assert first["eventName"] == "aws:kinesis:record"
    assert first["eventSourceARN"] == arn
    assert first["awsRegion"] == "us-east-1"
    assert first["invokeIdentityArn"].endswith(":role/lambda-role")
    assert first["eventID"] == f"{puts[0]['ShardId']}:{puts[0]['SequenceNumber']}"
    kin = first["kinesis"]
    assert kin["kinesisSchemaVersion"] == "1.0"
    assert kin["partitionKey"] == "dev-1"
    assert kin["sequenceNumber"] == puts[0]["SequenceNumber"]
    assert json.loads(base64.b64decode(kin["data"])) == {"t": 0}
    assert abs(kin["approximateArrivalTimestamp"] - sandbox.clock.time()) < 5
    seen = [json.loads(base64.b64decode(r["kinesis"]["data"]))["t"] for b in batches for r in b]
    assert seen == [0, 1, 2, 3, 4]


def test_latest_skips_records_put_before_the_mapping(sandbox, make_function):
    arn = stream(sandbox, "s")
    kinesis = sandbox.client("kinesis")
    kinesis.put_record(StreamName="s", Data=b"old", PartitionKey="k")
    make_function("rec", RECORDER)
    sandbox.client("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName="rec", StartingPosition="LATEST")
    assert records_of(sandbox, "rec") == []
    kinesis.put_record(StreamName="s", Data=b"new", PartitionKey="k")
    [[record]] = records_of(sandbox, "rec")
    assert base64.b64decode(record["kinesis"]["data"]) == b"new"


def test_per_shard_order_with_many_shards(sandbox, make_function):
    arn = stream(sandbox, "multi", shards=4)
    kinesis = sandbox.client("kinesis")
    for i in range(40):
        kinesis.put_record(StreamName="multi", Data=str(i).encode(), PartitionKey=f"device-{i % 5}")
    make_function("rec", RECORDER)
    sandbox.client("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName="rec", StartingPosition="TRIM_HORIZON", BatchSize=100)
    per_key: dict[str, list[int]] = {}
    shards_by_key: dict[str, set[str]] = {}
    for batch in records_of(sandbox, "rec"):
        assert len({r["eventID"].split(":")[0] for r in batch}) == 1  # one shard per batch
        for r in batch:
            key = r["kinesis"]["partitionKey"]
            per_key.setdefault(key, []).append(int(base64.b64decode(r["kinesis"]["data"])))
            shards_by_key.setdefault(key, set()).add(r["eventID"].split(":")[0])
    assert sum(len(v) for v in per_key.values()) == 40
    for key, values in per_key.items():
        assert values == sorted(values), key
        assert len(shards_by_key[key]) == 1


def test_failure_blocks_the_shard_retries_then_on_failure_destination(sandbox, make_function):
    arn = stream(sandbox, "orders")
    sqs = sandbox.client("sqs")
    url = sqs.create_queue(QueueName="kinesis-failures")["QueueUrl"]
    dest = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    kinesis = sandbox.client("kinesis")
    kinesis.put_record(StreamName="orders", Data=b"poison", PartitionKey="k")
    kinesis.put_record(StreamName="orders", Data=b"fine", PartitionKey="k")
    make_function("picky", (
        "import base64\n"
        "def handler(event, context):\n"
        "    for r in event['Records']:\n"
        "        if base64.b64decode(r['kinesis']['data']) == b'poison':\n"
        "            raise ValueError('cannot parse')\n"))
    sandbox.client("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName="picky", StartingPosition="TRIM_HORIZON", BatchSize=1,
        MaximumRetryAttempts=2, DestinationConfig={"OnFailure": {"Destination": dest}})
    assert len(records_of(sandbox, "picky")) == 1
    sandbox.clock.advance(seconds=1)
    assert len(records_of(sandbox, "picky")) == 2  # first retry after 1 s
    sandbox.clock.advance(seconds=2)
    batches = records_of(sandbox, "picky")
    data = [base64.b64decode(b[0]["kinesis"]["data"]) for b in batches]
    assert data == [b"poison", b"poison", b"poison", b"fine"]  # then skipped, shard moves on
    [message] = sqs.receive_message(QueueUrl=url)["Messages"]
    info = json.loads(message["Body"])
    assert info["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert info["requestContext"]["approximateInvokeCount"] == 3
    assert info["KinesisBatchInfo"]["batchSize"] == 1
    assert info["KinesisBatchInfo"]["streamArn"] == arn
    assert info["KinesisBatchInfo"]["startSequenceNumber"] == batches[0][0]["kinesis"]["sequenceNumber"]


def test_report_batch_item_failures_resumes_from_the_failed_record(sandbox, make_function):
    arn = stream(sandbox, "partial")
    kinesis = sandbox.client("kinesis")
    for word in [b"a", b"b", b"bad", b"c"]:
        kinesis.put_record(StreamName="partial", Data=word, PartitionKey="k")
    make_function("partial", (
        "import base64\n"
        "seen = set()\n"
        "def handler(event, context):\n"
        "    for r in event['Records']:\n"
        "        if base64.b64decode(r['kinesis']['data']) == b'bad' and r['eventID'] not in seen:\n"
        "            seen.add(r['eventID'])\n"
        "            return {'batchItemFailures': [{'itemIdentifier': r['kinesis']['sequenceNumber']}]}\n"
        "    return {'batchItemFailures': []}\n"))
    sandbox.client("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName="partial", StartingPosition="TRIM_HORIZON", BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"])
    sandbox.clock.advance(seconds=1)
    batches = [[base64.b64decode(r["kinesis"]["data"]) for r in b] for b in records_of(sandbox, "partial")]
    assert batches == [[b"a", b"b", b"bad", b"c"], [b"bad", b"c"]]
