"""Pipe sources: SQS and Kinesis, with AWS's record shapes, batching and starting positions
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-sqs.html,
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-kinesis.html)."""

from __future__ import annotations

import base64
import json

from tests.sandbox.helpers import depth, drain, make_queue, recorder
from tests.sandbox.pipes.helpers import role, running_pipe, stream


def test_an_sqs_record_reaches_a_queue_target_with_the_esm_shape(sandbox):
    url, arn = make_queue(sandbox, "orders")
    out, out_arn = make_queue(sandbox, "shipping")
    running_pipe(sandbox, "orders-to-shipping", arn, out_arn)
    sqs = sandbox.client("sqs")
    sent = sqs.send_message(QueueUrl=url, MessageBody='{"id": 7}', MessageAttributes={
        "tenant": {"DataType": "String", "StringValue": "acme"}})
    [record] = drain(sandbox, out)
    assert record["messageId"] == sent["MessageId"]
    assert record["body"] == '{"id": 7}'                          # the body stays text
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == arn
    assert record["awsRegion"] == "us-east-1" and record["md5OfBody"] == sent["MD5OfMessageBody"]
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert set(record["attributes"]) >= {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"}
    assert record["messageAttributes"]["tenant"]["stringValue"] == "acme"
    assert "receiptHandle" in record
    assert depth(sandbox, url) == 0                               # delivered: deleted


def test_sqs_batch_size_and_batching_window_on_the_virtual_clock(sandbox):
    url, arn = make_queue(sandbox, "orders")
    fn, received = recorder(sandbox, "batcher")
    with sandbox.clock.held():
        running_pipe(sandbox, "batched", arn, fn, SourceParameters={
            "SqsQueueParameters": {"BatchSize": 5, "MaximumBatchingWindowInSeconds": 20}})
        sqs = sandbox.client("sqs")
        for i in range(3):
            sqs.send_message(QueueUrl=url, MessageBody=str(i))
        sandbox.clock.advance(seconds=19)
        assert drain(sandbox, received) == []                     # waiting for a fuller batch
        sandbox.clock.advance(seconds=1)
        [batch] = drain(sandbox, received)
    assert isinstance(batch, list)                                # a JSON array, not {"Records": ...}
    assert sorted(r["body"] for r in batch) == ["0", "1", "2"]


def test_a_full_batch_goes_at_once_and_larger_batches_are_split(sandbox):
    url, arn = make_queue(sandbox, "orders")
    fn, received = recorder(sandbox, "batcher")
    with sandbox.clock.held():
        running_pipe(sandbox, "batched", arn, fn, SourceParameters={
            "SqsQueueParameters": {"BatchSize": 4, "MaximumBatchingWindowInSeconds": 60}})
        sandbox.client("sqs").send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "MessageBody": str(i)} for i in range(9)])
        sizes = [len(b) for b in drain(sandbox, received)]
    assert sizes == [4, 4]                                        # the ninth waits for its window


def test_kinesis_latest_skips_older_records_and_flattens_the_record(sandbox):
    arn = stream(sandbox, "clicks")
    kinesis = sandbox.client("kinesis")
    kinesis.put_record(StreamName="clicks", Data=b'{"n": 0}', PartitionKey="a")   # before the pipe
    fn, received = recorder(sandbox, "reader")
    running_pipe(sandbox, "clicks-latest", arn, fn, SourceParameters={
        "KinesisStreamParameters": {"StartingPosition": "LATEST", "BatchSize": 10}})
    put = kinesis.put_record(StreamName="clicks", Data=b'{"n": 1}', PartitionKey="user-1")
    [[record]] = drain(sandbox, received)
    assert json.loads(base64.b64decode(record["data"])) == {"n": 1}
    assert record["partitionKey"] == "user-1" and record["sequenceNumber"] == put["SequenceNumber"]
    assert record["kinesisSchemaVersion"] == "1.0" and "kinesis" not in record   # flat, as Pipes sends it
    assert record["eventSource"] == "aws:kinesis" and record["eventName"] == "aws:kinesis:record"
    assert record["eventID"] == f"{put['ShardId']}:{put['SequenceNumber']}"
    assert record["invokeIdentityArn"] == role(sandbox) and record["eventSourceARN"] == arn
    assert isinstance(record["approximateArrivalTimestamp"], float)


def test_kinesis_trim_horizon_reads_from_the_oldest_record_in_order(sandbox):
    arn = stream(sandbox, "clicks")
    kinesis = sandbox.client("kinesis")
    for i in range(5):
        kinesis.put_record(StreamName="clicks", Data=str(i).encode(), PartitionKey="a")
    fn, received = recorder(sandbox, "reader")
    running_pipe(sandbox, "clicks-all", arn, fn, SourceParameters={
        "KinesisStreamParameters": {"StartingPosition": "TRIM_HORIZON", "BatchSize": 2}})
    batches = drain(sandbox, received)
    assert [[base64.b64decode(r["data"]).decode() for r in b] for b in batches] == [["0", "1"], ["2", "3"], ["4"]]


def test_a_kinesis_source_without_starting_position_is_refused(sandbox):
    import pytest
    from botocore.exceptions import ClientError

    arn = stream(sandbox, "clicks")
    with pytest.raises(ClientError) as err:
        sandbox.client("pipes").create_pipe(Name="p", Source=arn, RoleArn=role(sandbox),
                                            Target="arn:aws:sqs:us-east-1:123456789012:x")
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert "StartingPosition" in err.value.response["Error"]["Message"]


def dynamodb_table(sandbox, name="orders"):
    ddb = sandbox.client("dynamodb")
    table = ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                             AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                             BillingMode="PAY_PER_REQUEST",
                             StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    return ddb, table["TableDescription"]["LatestStreamArn"]


def test_dynamodb_stream_records_reach_the_target_in_order(sandbox):
    ddb, stream_arn = dynamodb_table(sandbox)
    ddb.put_item(TableName="orders", Item={"id": {"S": "old"}})              # before the pipe: LATEST skips it
    fn, received = recorder(sandbox, "changes")
    running_pipe(sandbox, "order-changes", stream_arn, fn, SourceParameters={
        "DynamoDBStreamParameters": {"StartingPosition": "LATEST", "BatchSize": 10,
                                     "MaximumBatchingWindowInSeconds": 1}})
    with sandbox.clock.held():
        ddb.put_item(TableName="orders", Item={"id": {"S": "o-1"}, "status": {"S": "new"}})
        ddb.put_item(TableName="orders", Item={"id": {"S": "o-1"}, "status": {"S": "paid"}})
        ddb.delete_item(TableName="orders", Key={"id": {"S": "o-1"}})
        sandbox.clock.advance(seconds=1)
    [batch] = drain(sandbox, received)
    assert [r["eventName"] for r in batch] == ["INSERT", "MODIFY", "REMOVE"]
    insert, modify, _ = batch
    assert insert["eventSource"] == "aws:dynamodb" and insert["eventSourceARN"] == stream_arn
    assert insert["dynamodb"]["Keys"] == {"id": {"S": "o-1"}}
    assert insert["dynamodb"]["NewImage"]["status"] == {"S": "new"} and "OldImage" not in insert["dynamodb"]
    assert modify["dynamodb"]["OldImage"]["status"] == {"S": "new"}
    assert modify["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert isinstance(insert["dynamodb"]["ApproximateCreationDateTime"], float)
    assert int(modify["dynamodb"]["SequenceNumber"]) > int(insert["dynamodb"]["SequenceNumber"])


def test_a_dynamodb_filter_on_new_image(sandbox):
    ddb, stream_arn = dynamodb_table(sandbox)
    out, out_arn = make_queue(sandbox, "paid")
    running_pipe(sandbox, "paid-only", stream_arn, out_arn, SourceParameters={
        "DynamoDBStreamParameters": {"StartingPosition": "TRIM_HORIZON"},
        "FilterCriteria": {"Filters": [{"Pattern": json.dumps(
            {"dynamodb": {"NewImage": {"status": {"S": ["paid"]}}}})}]}},
        TargetParameters={"InputTemplate": '{"order": <$.dynamodb.Keys.id.S>}'})
    for status in ("new", "paid"):
        ddb.put_item(TableName="orders", Item={"id": {"S": f"o-{status}"}, "status": {"S": status}})
    assert drain(sandbox, out) == [{"order": "o-paid"}]


SLOW = '''
import time
def handler(event, context):
    time.sleep(0.5)       # the handler's run time counts in virtual time too
    return {}
'''


def test_sqs_messages_stay_in_flight_until_the_lambda_target_returns(sandbox):
    from tests.sandbox.helpers import make_function

    url, arn = make_queue(sandbox, "orders", VisibilityTimeout="60")
    fn = make_function(sandbox, "slow", SLOW, timeout=30)
    with sandbox.clock.held():
        running_pipe(sandbox, "slow-target", arn, fn)
        sandbox.client("sqs").send_message(QueueUrl=url, MessageBody="x")
        [batch] = sandbox.service("pipes").batches
        assert batch["ok"]
        attributes = sandbox.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"     # the target is still running
        sandbox.clock.advance(seconds=10)
    assert depth(sandbox, url) == 0
    attributes = sandbox.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_a_kinesis_shard_waits_for_its_slow_target_before_the_next_batch(sandbox):
    from tests.sandbox.helpers import make_function

    arn = stream(sandbox, "clicks")
    fn = make_function(sandbox, "slow", SLOW, timeout=30)
    with sandbox.clock.held():
        running_pipe(sandbox, "slow-shard", arn, fn, SourceParameters={
            "KinesisStreamParameters": {"StartingPosition": "TRIM_HORIZON", "BatchSize": 1}})
        kinesis = sandbox.client("kinesis")
        for i in range(3):
            kinesis.put_record(StreamName="clicks", Data=str(i).encode(), PartitionKey="k")
        assert len(sandbox.service("pipes").batches) == 1
        sandbox.clock.advance(seconds=20)
    times = [b["time"] for b in sandbox.service("pipes").batches]
    assert len(times) == 3 and all(later - earlier >= 0.49 for earlier, later in zip(times, times[1:], strict=False))
