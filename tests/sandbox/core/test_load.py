"""Load on the virtual clock: calls spread over virtual seconds, throttles counted, and
every message accounted for (processed, in the DLQ, or still queued)."""

from __future__ import annotations

import json

import pytest
from botocore.config import Config

from tests.sandbox.helpers import admin, make_queue

WORKER = """
import time
def handler(event, context):
    time.sleep(1.0)               # a backend that takes a second per batch
    return {}
"""


def test_a_burst_above_the_consumers_rate_builds_a_backlog_that_drains(sandbox, make_function):
    """100 orders/s for 20 s into a queue whose consumer handles 50/s (reserved concurrency
    5, batches of 10, 1 s each): the backlog peaks near (100 - 50) x 20 = 1,000 and drains
    in about 1,000 / 50 = 20 s; nothing is lost."""
    dlq_url, dlq_arn = make_queue(sandbox, "orders-dlq")
    url, arn = make_queue(sandbox, "orders", VisibilityTimeout="60",
                          RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}))
    make_function("worker", WORKER, timeout=10)
    lam = sandbox.client("lambda")
    lam.put_function_concurrency(FunctionName="worker", ReservedConcurrentExecutions=5)
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="worker", BatchSize=10,
                                    ScalingConfig={"MaximumConcurrency": 5})
    sqs = sandbox.client("sqs")
    result = sandbox.load(rate=100, seconds=20, queue="orders", dlq="orders-dlq",
                          send=lambda i: sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"order": i})))
    assert (result.sent, result.accepted, result.throttled, result.errors) == (2000, 2000, 0, 0)
    assert result.processed == 2000 and result.in_dlq == 0 and result.unaccounted == 0
    assert 900 <= result.backlog_peak <= 1100
    assert result.drained_at - 20 == pytest.approx(20, abs=3)
    text = str(result)
    assert "accepted 2,000" in text and "unaccounted 0" in text


def test_throttled_calls_are_counted_not_raised(sandbox):
    sandbox.quotas.set("kinesis.shard.write-records", 50)
    kinesis = sandbox.client("kinesis")
    kinesis.create_stream(StreamName="s", ShardCount=1)
    import boto3

    strict = boto3.client("kinesis", region_name="us-east-1",
                          config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
    result = sandbox.load(rate=80, seconds=5,
                          send=lambda i: strict.put_record(StreamName="s", Data=b"x", PartitionKey="k"))
    assert (result.sent, result.accepted, result.throttled) == (400, 250, 150)   # 50 a second get in


def test_bad_arguments_are_refused(sandbox):
    with pytest.raises(ValueError, match="must be positive"):
        sandbox.load(rate=0, seconds=1, send=lambda i: None)


def post(sandbox, path, body):
    return admin(sandbox, "POST", path, body)


def test_load_over_http_spreads_described_calls_over_virtual_seconds(sandbox):
    sandbox.quotas.set("kinesis.shard.write-records", 50)
    sandbox.client("kinesis").create_stream(StreamName="s", ShardCount=1)
    status, result = post(sandbox, "/_eventlab/load", {
        "rate": 80, "seconds": 5,
        "call": {"service": "kinesis", "operation": "PutRecord",
                 "params": {"StreamName": "s", "Data": "reading {i}", "PartitionKey": "k"}}})
    assert status == 200
    assert (result["sent"], result["accepted"], result["throttled"]) == (400, 250, 150)
    records = sandbox.client("kinesis").get_records(ShardIterator=sandbox.client("kinesis").get_shard_iterator(
        StreamName="s", ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON")["ShardIterator"],
        Limit=2)["Records"]
    assert [r["Data"] for r in records] == [b"reading 0", b"reading 1"]


def test_load_over_http_with_a_queue_reports_the_backlog(sandbox):
    url, _ = make_queue(sandbox, "orders")
    status, result = post(sandbox, "/_eventlab/load", {
        "rate": 10, "seconds": 3, "queue": "orders", "drain": False,
        "call": {"service": "sqs", "operation": "SendMessage",
                 "params": {"QueueUrl": url, "MessageBody": "order {i}"}}})
    assert status == 200
    assert result["accepted"] == 30 and result["backlogPeak"] == 30 and result["unaccounted"] == 0


@pytest.mark.parametrize(("body", "complaint"), [
    ({"rate": 1, "seconds": 1, "call": {"service": "sqs", "operation": "Send"}}, "no operation 'Send'"),
    ({"rate": 1, "seconds": 1}, '"call" needs'),
    ({"rate": "fast", "seconds": 1, "call": {"service": "sqs", "operation": "ListQueues"}}, '"rate"'),
])
def test_load_over_http_says_what_is_wrong(sandbox, body, complaint):
    status, answer = post(sandbox, "/_eventlab/load", body)
    assert status == 400 and complaint in answer["message"]
