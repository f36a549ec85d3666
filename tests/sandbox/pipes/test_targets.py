"""Pipe targets, input templates, partial batch failures and the pipe's role
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-event-target.html,
eb-pipes-input-transformation.html, eb-pipes-batching-concurrency.html)."""

from __future__ import annotations

import base64
import json

from tests.sandbox.helpers import depth, drain, make_function, make_queue, recorder
from tests.sandbox.pipes.helpers import role, running_pipe, stream


def source(sandbox, *bodies):
    url, arn = make_queue(sandbox, "orders")
    return url, arn, bodies


def send(sandbox, url, *bodies):
    for body in bodies:
        sandbox.client("sqs").send_message(QueueUrl=url, MessageBody=body)


def test_an_input_template_shapes_each_event_with_paths_and_reserved_variables(sandbox):
    url, arn = make_queue(sandbox, "orders")
    out, out_arn = make_queue(sandbox, "shaped")
    pipe_arn = running_pipe(sandbox, "shaper", arn, out_arn, TargetParameters={"InputTemplate": (
        '{"order": <$.body.id>, "items": <$.body.items>, "from": "<aws.pipes.pipe-name>", '
        '"note": "order <$.body.id> by <$.attributes.SenderId>", "source": "<aws.pipes.source-arn>"}')})
    send(sandbox, url, json.dumps({"id": 9, "items": ["a", "b"]}))
    [shaped] = drain(sandbox, out)
    assert shaped["order"] == 9 and shaped["items"] == ["a", "b"]
    assert shaped["from"] == "shaper" and shaped["source"] == arn
    assert shaped["note"].startswith("order 9 by ") and pipe_arn.endswith(":pipe/shaper")


def test_a_text_template_gives_plain_text(sandbox):
    url, arn = make_queue(sandbox, "orders")
    out, out_arn = make_queue(sandbox, "texts")
    running_pipe(sandbox, "texter", arn, out_arn, TargetParameters={"InputTemplate": "Hello, <$.body.name>"})
    send(sandbox, url, '{"name": "Ada"}')
    [message] = drain(sandbox, out, attributes=True)
    assert message["Body"] == "Hello, Ada"


def test_sns_target_publishes_each_event(sandbox):
    url, arn = make_queue(sandbox, "orders")
    out, out_arn = make_queue(sandbox, "subscriber")
    sns = sandbox.client("sns")
    topic = sns.create_topic(Name="orders-topic")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=out_arn, Attributes={"RawMessageDelivery": "true"})
    running_pipe(sandbox, "to-sns", arn, topic, TargetParameters={"InputTemplate": "<$.body>"})
    send(sandbox, url, '{"id": 1}', '{"id": 2}')
    assert sorted(m["id"] for m in drain(sandbox, out)) == [1, 2]


def test_event_bus_target_puts_events_from_the_pipe(sandbox):
    url, arn = make_queue(sandbox, "orders")
    out, out_arn = make_queue(sandbox, "bus-listener")
    events = sandbox.client("events")
    events.put_rule(Name="from-pipe", EventPattern=json.dumps({"source": ["Pipe to-bus"]}))
    events.put_targets(Rule="from-pipe", Targets=[{"Id": "q", "Arn": out_arn}])
    bus = "arn:aws:events:us-east-1:123456789012:event-bus/default"
    running_pipe(sandbox, "to-bus", arn, bus)
    send(sandbox, url, '{"id": 5}')
    [event] = drain(sandbox, out)
    assert event["source"] == "Pipe to-bus" and event["detail-type"] == "Event from aws:sqs"
    assert event["detail"]["body"] == '{"id": 5}' and event["detail"]["eventSource"] == "aws:sqs"


def test_event_bus_target_parameters_set_source_and_detail_type(sandbox):
    url, arn = make_queue(sandbox, "orders")
    out, out_arn = make_queue(sandbox, "bus-listener")
    events = sandbox.client("events")
    events.put_rule(Name="orders", EventPattern=json.dumps({"detail-type": ["OrderPlaced"]}))
    events.put_targets(Rule="orders", Targets=[{"Id": "q", "Arn": out_arn}])
    running_pipe(sandbox, "to-bus", arn, "arn:aws:events:us-east-1:123456789012:event-bus/default",
                 TargetParameters={"InputTemplate": "<$.body>", "EventBridgeEventBusParameters": {
                     "Source": "shop.orders", "DetailType": "OrderPlaced"}})
    send(sandbox, url, '{"id": 6}')
    [event] = drain(sandbox, out)
    assert (event["source"], event["detail"]) == ("shop.orders", {"id": 6})


def test_kinesis_target_with_a_partition_key_path(sandbox):
    url, arn = make_queue(sandbox, "orders")
    stream(sandbox, "orders-stream")
    running_pipe(sandbox, "to-kinesis", arn, "arn:aws:kinesis:us-east-1:123456789012:stream/orders-stream",
                 TargetParameters={"InputTemplate": "<$.body>",
                                   "KinesisStreamParameters": {"PartitionKey": "$.body.customer"}})
    send(sandbox, url, '{"customer": "c-1", "id": 1}')
    kinesis = sandbox.client("kinesis")
    shard = kinesis.list_shards(StreamName="orders-stream")["Shards"][0]["ShardId"]
    it = kinesis.get_shard_iterator(StreamName="orders-stream", ShardId=shard,
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    [record] = kinesis.get_records(ShardIterator=it)["Records"]
    assert record["PartitionKey"] == "c-1" and json.loads(record["Data"]) == {"customer": "c-1", "id": 1}


def test_cloudwatch_logs_target_writes_each_event(sandbox):
    url, arn = make_queue(sandbox, "orders")
    logs = sandbox.client("logs")
    logs.create_log_group(logGroupName="/pipes/orders")
    running_pipe(sandbox, "to-logs", arn, "arn:aws:logs:us-east-1:123456789012:log-group:/pipes/orders",
                 TargetParameters={"InputTemplate": "<$.body>",
                                   "CloudWatchLogsParameters": {"LogStreamName": "orders"}})
    send(sandbox, url, '{"id": 1}')
    got = logs.get_log_events(logGroupName="/pipes/orders", logStreamName="orders")["events"]
    assert [json.loads(e["message"]) for e in got] == [{"id": 1}]


def test_firehose_target_receives_each_event(sandbox):
    url, arn = make_queue(sandbox, "orders")
    sandbox.client("s3").create_bucket(Bucket="lake")
    firehose = sandbox.client("firehose")
    firehose.create_delivery_stream(DeliveryStreamName="orders-fh", ExtendedS3DestinationConfiguration={
        "RoleARN": role(sandbox), "BucketARN": "arn:aws:s3:::lake",
        "BufferingHints": {"IntervalInSeconds": 60, "SizeInMBs": 1}})
    running_pipe(sandbox, "to-firehose", arn, "arn:aws:firehose:us-east-1:123456789012:deliverystream/orders-fh",
                 TargetParameters={"InputTemplate": "<$.body>"})
    send(sandbox, url, '{"id": 1}')
    sandbox.clock.advance(seconds=61)
    s3 = sandbox.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="lake").get("Contents", [])]
    assert keys and b'{"id": 1}' in s3.get_object(Bucket="lake", Key=keys[0])["Body"].read()


def test_step_functions_target_starts_an_execution_with_the_batch(sandbox):
    sfn = sandbox.client("stepfunctions")
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
    machine = sfn.create_state_machine(name="orders-flow", definition=json.dumps(definition),
                                       roleArn=role(sandbox))["stateMachineArn"]
    url, arn = make_queue(sandbox, "orders")
    running_pipe(sandbox, "to-sfn", arn, machine, TargetParameters={
        "InputTemplate": "<$.body>", "StepFunctionStateMachineParameters": {"InvocationType": "FIRE_AND_FORGET"}})
    send(sandbox, url, '{"id": 4}')
    [execution] = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"]) == [{"id": 4}]


PARTIAL = '''
import json
def handler(event, context):
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event if r["body"] == "bad"]}
'''


def test_lambda_target_partial_batch_failure_keeps_only_the_failed_message(sandbox):
    dlq, dlq_arn = make_queue(sandbox, "orders-dlq")
    url, arn = make_queue(sandbox, "orders", VisibilityTimeout="20", RedrivePolicy=json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"}))
    fn = make_function(sandbox, "picky", PARTIAL)
    running_pipe(sandbox, "partial", arn, fn, SourceParameters={
        "SqsQueueParameters": {"BatchSize": 3, "MaximumBatchingWindowInSeconds": 1}})
    with sandbox.clock.held():
        send(sandbox, url, "good", "bad", "fine")
        sandbox.clock.advance(seconds=1)
        [batch] = sandbox.service("pipes").batches
        assert batch["size"] == 3 and len(batch["failed"]) == 1
        assert depth(sandbox, url) == 0                    # the bad one in flight, the others deleted
        sandbox.clock.advance(seconds=21)
    assert [m["Body"] for m in drain(sandbox, dlq, attributes=True)] == ["bad"]


def test_a_queue_policy_denying_the_pipe_role_stops_the_delivery(sandbox):
    url, arn = make_queue(sandbox, "orders", VisibilityTimeout="30")
    out, out_arn = make_queue(sandbox, "guarded")
    deny = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": {"AWS": role(sandbox)},
                                                    "Action": "sqs:SendMessage", "Resource": out_arn}]}
    sandbox.client("sqs").set_queue_attributes(QueueUrl=out, Attributes={"Policy": json.dumps(deny)})
    running_pipe(sandbox, "denied", arn, out_arn)
    send(sandbox, url, "x")
    [batch] = sandbox.service("pipes").batches
    assert batch["ok"] is False and batch["error"].startswith("NO_PERMISSIONS")
    assert drain(sandbox, out) == []


def test_a_queue_of_another_account_takes_the_pipe_only_if_its_policy_allows_the_role(sandbox):
    other = sandbox.account("111111111111")
    out = other.client("sqs").create_queue(QueueName="partner")["QueueUrl"]
    out_arn = "arn:aws:sqs:us-east-1:111111111111:partner"
    url, arn = make_queue(sandbox, "orders", VisibilityTimeout="30")
    running_pipe(sandbox, "cross", arn, out_arn)
    send(sandbox, url, "first")
    assert sandbox.service("pipes").batches[-1]["error"].startswith("NO_PERMISSIONS")
    allow = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": role(sandbox)},
                                                     "Action": "sqs:SendMessage", "Resource": out_arn}]}
    other.client("sqs").set_queue_attributes(QueueUrl=out, Attributes={"Policy": json.dumps(allow)})
    sandbox.clock.advance(seconds=31)                       # the message comes back and now goes through
    got = other.client("sqs").receive_message(QueueUrl=out)["Messages"]
    assert [json.loads(m["Body"])["body"] for m in got] == ["first"]


FAIL = "def handler(event, context):\n    raise RuntimeError('down')\n"


def test_kinesis_source_retries_then_sends_the_batch_to_its_dead_letter_queue(sandbox):
    arn = stream(sandbox, "payments")
    dlq, dlq_arn = make_queue(sandbox, "payments-dlq")
    fn = make_function(sandbox, "down", FAIL)
    with sandbox.clock.held():
        running_pipe(sandbox, "payments-pipe", arn, fn, SourceParameters={"KinesisStreamParameters": {
            "StartingPosition": "TRIM_HORIZON", "MaximumRetryAttempts": 2, "DeadLetterConfig": {"Arn": dlq_arn}}})
        put = sandbox.client("kinesis").put_record(StreamName="payments", Data=b"1", PartitionKey="k")
        assert len(sandbox.service("pipes").batches) == 1
        sandbox.clock.advance(seconds=1)                    # retry 1 after 1 s
        assert depth(sandbox, dlq) == 0
        sandbox.clock.advance(seconds=2)                    # retry 2 after 2 more: exhausted
    assert len(sandbox.service("pipes").batches) == 3
    [message] = drain(sandbox, dlq)
    info = message["KinesisBatchInfo"]
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == put["SequenceNumber"]
    assert info["batchSize"] == 1 and info["streamArn"] == arn and info["shardId"] == put["ShardId"]
    assert message["context"]["condition"] == "RetryAttemptsExhausted"
    sandbox.client("kinesis").put_record(StreamName="payments", Data=b"2", PartitionKey="k")
    assert len(sandbox.service("pipes").batches) == 4       # the shard moved on past the skipped batch


def test_a_recorder_target_gets_base64_data_without_a_template(sandbox):
    arn = stream(sandbox, "s")
    fn, received = recorder(sandbox, "rec")
    running_pipe(sandbox, "raw", arn, fn, SourceParameters={"KinesisStreamParameters": {"StartingPosition": "LATEST"}})
    sandbox.client("kinesis").put_record(StreamName="s", Data=b"hello", PartitionKey="k")
    [[record]] = drain(sandbox, received)
    assert base64.b64decode(record["data"]) == b"hello"


def test_a_fifo_queue_target_takes_its_group_from_a_path(sandbox):
    url, arn = make_queue(sandbox, "orders")
    out, out_arn = make_queue(sandbox, "orders.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    running_pipe(sandbox, "to-fifo", arn, out_arn, TargetParameters={
        "InputTemplate": "<$.body>", "SqsQueueParameters": {"MessageGroupId": "$.body.customer"}})
    send(sandbox, url, '{"customer": "c-7", "n": 1}')
    [message] = drain(sandbox, out, attributes=True)
    assert message["Attributes"]["MessageGroupId"] == "c-7" and json.loads(message["Body"])["n"] == 1


API_SINK = '''
import json, os, boto3
def handler(event, context):
    boto3.client("sqs").send_message(QueueUrl=os.environ["OUT"], MessageBody=event["body"])
    return {"statusCode": 202, "body": ""}
'''


def test_an_api_gateway_target_gets_one_request_per_event(sandbox):
    received, _ = make_queue(sandbox, "api-received")
    fn = make_function(sandbox, "api-sink", API_SINK, {"OUT": received})
    api = sandbox.client("apigatewayv2").create_api(Name="sink", ProtocolType="HTTP", Target=fn)["ApiId"]
    url, arn = make_queue(sandbox, "orders")
    running_pipe(sandbox, "to-api", arn, f"arn:aws:execute-api:us-east-1:123456789012:{api}/$default/POST/orders",
                 TargetParameters={"InputTemplate": "<$.body>"})
    send(sandbox, url, '{"id": 1}', '{"id": 2}')
    assert sorted(m["id"] for m in drain(sandbox, received)) == [1, 2]


KINESIS_PARTIAL = '''
import base64
def handler(event, context):
    bad = [r["sequenceNumber"] for r in event if base64.b64decode(r["data"]) == b"bad"]
    return {"batchItemFailures": [{"itemIdentifier": s} for s in bad[:1]]}
'''


def test_a_kinesis_partial_failure_resumes_from_the_first_failed_record(sandbox):
    arn = stream(sandbox, "events")
    fn = make_function(sandbox, "partial", KINESIS_PARTIAL)
    with sandbox.clock.held():
        running_pipe(sandbox, "resume", arn, fn, SourceParameters={"KinesisStreamParameters": {
            "StartingPosition": "TRIM_HORIZON", "BatchSize": 3, "MaximumBatchingWindowInSeconds": 1,
            "MaximumRetryAttempts": 1}})
        kinesis = sandbox.client("kinesis")
        for data in (b"ok-1", b"bad", b"ok-2"):
            kinesis.put_record(StreamName="events", Data=data, PartitionKey="k")
        sandbox.clock.advance(seconds=1)                   # the window closes: first batch
        sandbox.clock.advance(seconds=1)                   # the retry, 1 s later
    first, second = sandbox.service("pipes").batches
    assert first["size"] == 3 and len(first["failed"]) == 1
    assert second["size"] == 2                             # "bad" and what follows it, again
    [dead] = sandbox.service("pipes").dead_lettered        # no retries left: skipped (no DLQ set)
    assert dead["record"]["KinesisBatchInfo"]["batchSize"] == 2


def test_automatic_bisect_isolates_the_bad_record(sandbox):
    arn = stream(sandbox, "events")
    dlq, dlq_arn = make_queue(sandbox, "events-dlq")
    fn = make_function(sandbox, "picky", '''
import base64
def handler(event, context):
    if any(base64.b64decode(r["data"]) == b"bad" for r in event):
        raise ValueError("bad record in the batch")
''')
    with sandbox.clock.held():
        running_pipe(sandbox, "bisect", arn, fn, SourceParameters={"KinesisStreamParameters": {
            "StartingPosition": "TRIM_HORIZON", "BatchSize": 4, "MaximumBatchingWindowInSeconds": 1,
            "MaximumRetryAttempts": 0, "OnPartialBatchItemFailure": "AUTOMATIC_BISECT",
            "DeadLetterConfig": {"Arn": dlq_arn}}})
        kinesis = sandbox.client("kinesis")
        puts = [kinesis.put_record(StreamName="events", Data=d, PartitionKey="k") for d in (b"a", b"b", b"bad", b"c")]
        sandbox.clock.advance(seconds=1)
    sizes = [b["size"] for b in sandbox.service("pipes").batches]
    assert sizes == [4, 2, 2, 1, 1]                     # 4 fails; [a b] ok; [bad c] fails; [bad] fails; [c] ok
    [message] = drain(sandbox, dlq)
    assert message["KinesisBatchInfo"]["startSequenceNumber"] == puts[2]["SequenceNumber"]
    assert message["KinesisBatchInfo"]["batchSize"] == 1


def test_a_template_path_the_pipe_cannot_read_fails_the_batch_not_the_sandbox(sandbox):
    url, arn = make_queue(sandbox, "orders", VisibilityTimeout="30")
    out, out_arn = make_queue(sandbox, "out")
    running_pipe(sandbox, "broken-template", arn, out_arn, TargetParameters={"InputTemplate": "<$.body..x>"})
    good_url, good_arn = make_queue(sandbox, "other")
    good_out, good_out_arn = make_queue(sandbox, "other-out")
    running_pipe(sandbox, "fine", good_arn, good_out_arn)
    send(sandbox, url, '{"x": 1}')
    send(sandbox, good_url, "still flows")
    broken = [b for b in sandbox.service("pipes").batches if b["pipe"] == "broken-template"]
    assert broken[0]["ok"] is False and "JSON path" in broken[0]["error"]
    assert [m["body"] for m in drain(sandbox, good_out)] == ["still flows"]


def test_a_refused_stream_delivery_is_retried_as_a_customer_error_then_dead_lettered(sandbox):
    arn = stream(sandbox, "payments")
    dlq, dlq_arn = make_queue(sandbox, "payments-dlq")
    out, out_arn = make_queue(sandbox, "guarded")
    deny = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": {"AWS": role(sandbox)},
                                                    "Action": "sqs:SendMessage", "Resource": out_arn}]}
    sandbox.client("sqs").set_queue_attributes(QueueUrl=out, Attributes={"Policy": json.dumps(deny)})
    running_pipe(sandbox, "refused", arn, out_arn, SourceParameters={"KinesisStreamParameters": {
        "StartingPosition": "TRIM_HORIZON", "MaximumRetryAttempts": 1, "DeadLetterConfig": {"Arn": dlq_arn}}})
    sandbox.client("kinesis").put_record(StreamName="payments", Data=b"1", PartitionKey="k")
    assert drain(sandbox, dlq) == []                    # retried first (AWS: insufficient permissions are retried)
    sandbox.clock.advance(seconds=2)
    [message] = drain(sandbox, dlq)
    assert message["context"]["condition"] == "RetryAttemptsExhausted"
    assert "NO_PERMISSIONS" in message["context"]["errorMessage"]
    assert len(sandbox.service("pipes").batches) == 2 and drain(sandbox, out) == []


def test_a_batch_no_retry_can_mend_goes_to_the_dead_letter_queue_at_once_named_by_its_error(sandbox):
    """A target function that does not exist: retrying cannot help, so the batch is skipped
    on its first attempt (not after MaximumRetryAttempts) and the DLQ says why."""
    arn = stream(sandbox, "refunds")
    dlq, dlq_arn = make_queue(sandbox, "refunds-dlq")
    missing = "arn:aws:lambda:us-east-1:123456789012:function:gone"
    with sandbox.clock.held():
        running_pipe(sandbox, "refunds-pipe", arn, missing, SourceParameters={"KinesisStreamParameters": {
            "StartingPosition": "TRIM_HORIZON", "MaximumRetryAttempts": 5, "DeadLetterConfig": {"Arn": dlq_arn}}})
        sandbox.client("kinesis").put_record(StreamName="refunds", Data=b"1", PartitionKey="k")
    assert len(sandbox.service("pipes").batches) == 1
    [message] = drain(sandbox, dlq)
    assert message["context"]["condition"] == "NO_RESOURCE"
    assert message["context"]["approximateInvokeCount"] == 1
    assert "Function not found" in message["context"]["errorMessage"]
