"""Kinesis -> Lambda: ParallelizationFactor and BisectBatchOnFunctionError as AWS documents
them (https://docs.aws.amazon.com/lambda/latest/dg/kinesis-parallelization.html,
https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html)."""

from __future__ import annotations

import base64

import boto3
import pytest

from eventlab.sandbox.awslambda.esm.kinesis import lane_of
from tests.sandbox.helpers import drain, make_queue

POISON = """
import base64
def handler(event, context):
    if any(base64.b64decode(r['kinesis']['data']) == b'poison' for r in event['Records']):
        raise ValueError('cannot parse')
"""
SLOW = """
import time, base64
def handler(event, context):
    if any(base64.b64decode(r['kinesis']['data']).startswith(b'poison') for r in event['Records']):
        raise ValueError('cannot parse')
    time.sleep(10)
"""


def stream(sandbox, name):
    kinesis = sandbox.client("kinesis")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    return kinesis.describe_stream(StreamName=name)["StreamDescription"]["StreamARN"]


def batches_of(sandbox, name):
    return [([base64.b64decode(r["kinesis"]["data"]).decode() for r in e["event"]["Records"]], e["ok"])
            for e in sandbox.service("lambda").invocation_log if e["function"] == name]


@pytest.mark.parametrize("over", ["in-process", "http"])
def test_bisect_splits_a_failing_batch_until_the_bad_record_is_alone(sandbox, make_function, over):
    arn = stream(sandbox, "orders")
    url, dest = make_queue(sandbox, "skipped")
    words = ["r0", "r1", "r2", "r3", "r4", "poison", "r6", "r7"]
    for word in words:
        sandbox.client("kinesis").put_record(StreamName="orders", Data=word.encode(), PartitionKey="k")
    make_function("picky", POISON)
    endpoint = {"endpoint_url": sandbox.endpoint_url} if over == "http" else {}
    lam = boto3.client("lambda", region_name="us-east-1", **endpoint)
    mapping = lam.create_event_source_mapping(
        EventSourceArn=arn, FunctionName="picky", StartingPosition="TRIM_HORIZON", BatchSize=8,
        BisectBatchOnFunctionError=True, MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": dest}})
    assert mapping["BisectBatchOnFunctionError"] is True
    sandbox.clock.advance(seconds=5)
    assert batches_of(sandbox, "picky") == [
        (words, False),
        (["r0", "r1", "r2", "r3"], True),
        (["r4", "poison", "r6", "r7"], False),
        (["r4", "poison"], False),
        (["r4"], True),
        (["poison"], False),          # alone: now its retries count
        (["poison"], False),          # MaximumRetryAttempts=1 used up
        (["r6", "r7"], True),
    ]
    [info] = drain(sandbox, url)
    assert info["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert info["requestContext"]["approximateInvokeCount"] == 2
    assert info["KinesisBatchInfo"]["batchSize"] == 1
    seq = sandbox.client("kinesis").get_records(ShardIterator=sandbox.client("kinesis").get_shard_iterator(
        StreamName="orders", ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    )["Records"][5]["SequenceNumber"]
    assert info["KinesisBatchInfo"]["startSequenceNumber"] == seq


def test_without_bisect_the_whole_batch_is_retried_and_skipped(sandbox, make_function):
    arn = stream(sandbox, "orders")
    url, dest = make_queue(sandbox, "skipped")
    for word in ["r0", "poison", "r2"]:
        sandbox.client("kinesis").put_record(StreamName="orders", Data=word.encode(), PartitionKey="k")
    make_function("picky", POISON)
    sandbox.client("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName="picky", StartingPosition="TRIM_HORIZON", BatchSize=8,
        MaximumRetryAttempts=0, DestinationConfig={"OnFailure": {"Destination": dest}})
    assert batches_of(sandbox, "picky") == [(["r0", "poison", "r2"], False)]
    [info] = drain(sandbox, url)
    assert info["KinesisBatchInfo"]["batchSize"] == 3


def keys_in_two_lanes():
    a = "device-a"
    b = next(k for k in (f"device-{i}" for i in range(100)) if lane_of(k, 2) != lane_of(a, 2))
    return a, b


@pytest.mark.parametrize(("factor", "done"), [(1, 3), (2, 6)])
def test_parallelization_factor_runs_that_many_batches_of_a_shard_at_once(
        sandbox, make_function, factor, done):
    arn = stream(sandbox, "telemetry")
    a, b = keys_in_two_lanes()
    for i in range(3):
        for key in (a, b):
            sandbox.client("kinesis").put_record(StreamName="telemetry", Data=f"{key}:{i}".encode(),
                                                 PartitionKey=key)
    make_function("slow", SLOW, timeout=60)
    with sandbox.clock.held():
        sandbox.client("lambda").create_event_source_mapping(
            EventSourceArn=arn, FunctionName="slow", StartingPosition="TRIM_HORIZON", BatchSize=1,
            ParallelizationFactor=factor)
        sandbox.clock.advance(seconds=25)          # each batch takes 10 s
    batches = [words for words, _ in batches_of(sandbox, "slow")]
    assert len(batches) == done
    for key in (a, b):                             # each key's records in order
        seen = [w[0] for w in batches if w[0].startswith(key)]
        assert seen == sorted(seen)
    peak = max(e["concurrent"] for e in sandbox.service("lambda").invocation_log)
    assert peak == factor


def test_a_failing_key_holds_only_its_own_lane(sandbox, make_function):
    arn = stream(sandbox, "telemetry")
    a, b = keys_in_two_lanes()
    sandbox.client("kinesis").put_record(StreamName="telemetry", Data=b"poison", PartitionKey=a)
    for i in range(3):
        sandbox.client("kinesis").put_record(StreamName="telemetry", Data=f"{a}:{i}".encode(), PartitionKey=a)
        sandbox.client("kinesis").put_record(StreamName="telemetry", Data=f"{b}:{i}".encode(), PartitionKey=b)
    make_function("slow", SLOW, timeout=60)
    sandbox.client("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName="slow", StartingPosition="TRIM_HORIZON", BatchSize=1,
        ParallelizationFactor=2)                   # retried forever (no MaximumRetryAttempts)
    sandbox.clock.advance(seconds=120)
    done = [words[0] for words, ok in batches_of(sandbox, "slow") if ok]
    assert done == [f"{b}:0", f"{b}:1", f"{b}:2"]  # key a waits behind its poison record
    assert {tuple(w) for w, ok in batches_of(sandbox, "slow") if not ok} == {("poison",)}
