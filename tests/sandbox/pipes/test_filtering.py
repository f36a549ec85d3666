"""Pipe filtering with event patterns on the source records; filtered-out SQS messages are
consumed (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-event-filtering.html)."""

from __future__ import annotations

import base64
import json

from tests.sandbox.helpers import depth, drain, make_queue, recorder
from tests.sandbox.pipes.helpers import running_pipe, stream


def filters(*patterns):
    return {"FilterCriteria": {"Filters": [{"Pattern": json.dumps(p)} for p in patterns]}}


def test_a_json_body_is_matched_field_by_field_and_the_rest_is_consumed(sandbox):
    url, arn = make_queue(sandbox, "orders")
    out, out_arn = make_queue(sandbox, "big-orders")
    running_pipe(sandbox, "big-only", arn, out_arn, SourceParameters=filters(
        {"body": {"total": [{"numeric": [">", 100]}]}}))
    sqs = sandbox.client("sqs")
    for total in (50, 150, 500):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"total": total}))
    sqs.send_message(QueueUrl=url, MessageBody="not json")
    assert sorted(json.loads(r["body"])["total"] for r in drain(sandbox, out)) == [150, 500]
    assert depth(sandbox, url) == 0          # the two filtered out are deleted, not left behind
    batches = sandbox.service("pipes").batches
    assert sum(b["filtered_out"] for b in batches) == 2


def test_any_of_several_filters_lets_a_record_through(sandbox):
    url, arn = make_queue(sandbox, "orders")
    out, out_arn = make_queue(sandbox, "picked")
    running_pipe(sandbox, "two-filters", arn, out_arn, SourceParameters=filters(
        {"body": {"kind": ["refund"]}}, {"messageAttributes": {"priority": {"stringValue": ["high"]}}}))
    sqs = sandbox.client("sqs")
    sqs.send_message(QueueUrl=url, MessageBody='{"kind": "refund"}')
    sqs.send_message(QueueUrl=url, MessageBody='{"kind": "order"}', MessageAttributes={
        "priority": {"DataType": "String", "StringValue": "high"}})
    sqs.send_message(QueueUrl=url, MessageBody='{"kind": "order"}')
    assert len(drain(sandbox, out)) == 2


def test_kinesis_data_is_decoded_for_the_filter(sandbox):
    arn = stream(sandbox, "telemetry")
    fn, received = recorder(sandbox, "hot")
    running_pipe(sandbox, "hot-only", arn, fn, SourceParameters={
        "KinesisStreamParameters": {"StartingPosition": "TRIM_HORIZON"},
        **filters({"data": {"temperature": [{"numeric": [">=", 30]}]}})})
    kinesis = sandbox.client("kinesis")
    for t in (10, 35, 29, 40):
        kinesis.put_record(StreamName="telemetry", Data=json.dumps({"temperature": t}).encode(), PartitionKey="s")
    seen = [json.loads(base64.b64decode(r["data"]))["temperature"] for b in drain(sandbox, received) for r in b]
    assert seen == [35, 40]


def test_a_bad_filter_is_refused_at_create_time_naming_the_filter(sandbox):
    import pytest
    from botocore.exceptions import ClientError

    from tests.sandbox.pipes.helpers import role

    _, arn = make_queue(sandbox, "orders")
    pipes = sandbox.client("pipes")
    for spec, words in ((filters({"body": "order"}), "Filters[0].Pattern"),
                        (filters(*({"body": {"n": [i]}} for i in range(6))), "at most 5")):
        with pytest.raises(ClientError) as err:
            pipes.create_pipe(Name="bad", Source=arn, Target=arn, RoleArn=role(sandbox), SourceParameters=spec)
        assert err.value.response["Error"]["Code"] == "ValidationException"
        assert words in err.value.response["Error"]["Message"]
