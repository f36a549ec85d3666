"""Kinesis Data Streams limits on the virtual clock: per-shard writes and reads, per-record
throttling in PutRecords, on-demand capacity, and the metrics that show them
(https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html)."""

from __future__ import annotations

from datetime import timedelta

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def kinesis(sandbox, over="in-process"):
    endpoint = {"endpoint_url": sandbox.endpoint_url} if over == "http" else {}
    return boto3.client("kinesis", region_name="us-east-1", config=NO_RETRY, **endpoint)


def batch(n, key="device-1", size=100):
    return [{"Data": b"x" * size, "PartitionKey": key} for _ in range(n)]


def metric(sandbox, name, stream):
    cw = sandbox.client("cloudwatch")
    now = sandbox.clock.now()
    points = cw.get_metric_statistics(
        Namespace="AWS/Kinesis", MetricName=name, Dimensions=[{"Name": "StreamName", "Value": stream}],
        StartTime=now - timedelta(minutes=10), EndTime=now + timedelta(minutes=1), Period=600,
        Statistics=["Sum"])["Datapoints"]
    return sum(p["Sum"] for p in points)


@pytest.mark.parametrize("over", ["in-process", "http"])
def test_a_hot_partition_key_throttles_its_shard_record_by_record(sandbox, over):
    k = kinesis(sandbox, over)
    k.create_stream(StreamName="telemetry", ShardCount=2)
    with sandbox.clock.held():
        results = [k.put_records(StreamName="telemetry", Records=batch(500)) for _ in range(3)]
    assert [r["FailedRecordCount"] for r in results] == [0, 0, 500]
    failed = results[2]["Records"][0]
    shard = results[0]["Records"][0]["ShardId"]
    assert failed == {"ErrorCode": "ProvisionedThroughputExceededException",
                      "ErrorMessage": f"Rate exceeded for shard {shard} in stream telemetry "
                                      "under account 123456789012."}
    assert metric(sandbox, "WriteProvisionedThroughputExceeded", "telemetry") == 500
    assert metric(sandbox, "IncomingRecords", "telemetry") == 1000


def test_spread_keys_use_every_shard_and_a_second_later_the_shard_takes_more(sandbox):
    k = kinesis(sandbox)
    k.create_stream(StreamName="spread", ShardCount=2)
    with sandbox.clock.held():
        spread = [{"Data": b"x", "PartitionKey": f"device-{i}"} for i in range(500)]
        assert [k.put_records(StreamName="spread", Records=spread)["FailedRecordCount"]
                for _ in range(3)] == [0, 0, 0]        # 1,500 records over two shards
        assert k.put_records(StreamName="spread", Records=batch(500))["FailedRecordCount"] > 0
        sandbox.clock.advance(seconds=1)
        assert k.put_records(StreamName="spread", Records=batch(500))["FailedRecordCount"] == 0


def test_bytes_per_second_throttle_too(sandbox):
    k = kinesis(sandbox)
    k.create_stream(StreamName="big", ShardCount=1)
    with sandbox.clock.held():
        records = batch(5, size=1_000_000)           # ~5 MB into one shard: 1 MiB/s
        result = k.put_records(StreamName="big", Records=records)
    assert result["FailedRecordCount"] == 4
    assert "SequenceNumber" in result["Records"][0]


def test_put_record_over_the_limit_is_refused_with_aws_error(sandbox):
    sandbox.quotas.set("kinesis.shard.write-records", 3)
    k = kinesis(sandbox)
    k.create_stream(StreamName="small", ShardCount=1)
    with sandbox.clock.held():
        for _ in range(3):
            k.put_record(StreamName="small", Data=b"r", PartitionKey="k")
        with pytest.raises(ClientError) as raised:
            k.put_record(StreamName="small", Data=b"r", PartitionKey="k")
        sandbox.clock.advance(seconds=1)
        k.put_record(StreamName="small", Data=b"r", PartitionKey="k")
    error = raised.value.response["Error"]
    assert error["Code"] == "ProvisionedThroughputExceededException"
    assert error["Message"] == ("Rate exceeded for shard shardId-000000000000 in stream small "
                                "under account 123456789012.")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_get_records_five_calls_a_second_per_shard(sandbox):
    k = kinesis(sandbox)
    k.create_stream(StreamName="reads", ShardCount=1)
    iterator = k.get_shard_iterator(StreamName="reads", ShardId="shardId-000000000000",
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    with sandbox.clock.held():
        for _ in range(5):
            iterator = k.get_records(ShardIterator=iterator)["NextShardIterator"]
        with pytest.raises(ClientError, match="ProvisionedThroughputExceededException"):
            k.get_records(ShardIterator=iterator)
        sandbox.clock.advance(seconds=1)
        k.get_records(ShardIterator=iterator)
    assert metric(sandbox, "ReadProvisionedThroughputExceeded", "reads") == 1


def test_a_big_read_overdraws_and_the_shard_refuses_reads_until_paid_back(sandbox):
    k = kinesis(sandbox)
    k.create_stream(StreamName="heavy", ShardCount=1)
    with sandbox.clock.held():
        for _ in range(6):
            k.put_record(StreamName="heavy", Data=b"x" * 900_000, PartitionKey="k")
            sandbox.clock.advance(seconds=1)
        iterator = k.get_shard_iterator(StreamName="heavy", ShardId="shardId-000000000000",
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        first = k.get_records(ShardIterator=iterator)          # 5.4 MB at once
        assert len(first["Records"]) == 6
        sandbox.clock.advance(seconds=1)
        with pytest.raises(ClientError, match="ProvisionedThroughputExceededException"):
            k.get_records(ShardIterator=first["NextShardIterator"])
        sandbox.clock.advance(seconds=2)
        k.get_records(ShardIterator=first["NextShardIterator"])


def test_on_demand_streams_start_at_4000_records_a_second_then_follow_twice_the_peak(sandbox):
    k = kinesis(sandbox)
    k.create_stream(StreamName="od", StreamModeDetails={"StreamMode": "ON_DEMAND"})
    spread = [{"Data": b"x", "PartitionKey": f"key-{i}"} for i in range(500)]
    with sandbox.clock.held():
        accepted = sum(500 - k.put_records(StreamName="od", Records=spread)["FailedRecordCount"]
                       for _ in range(10))
        assert accepted == 4000
        sandbox.clock.advance(seconds=1)
        accepted = sum(500 - k.put_records(StreamName="od", Records=spread)["FailedRecordCount"]
                       for _ in range(20))
        assert accepted == 8000                               # twice the peak of 4,000/s
