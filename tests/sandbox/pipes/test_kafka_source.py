"""Pipes from Kafka: an MSK cluster's topic (and a self-managed cluster's) read from a real
broker, with AWS's record shape, positions, batching, filters, order, retries and offsets
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-msk.html,
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-kafka.html)."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError
from confluent_kafka import Producer

from eventlab.kafka import tools
from eventlab.sandbox import Sandbox
from tests.sandbox.helpers import drain, make_queue
from tests.sandbox.pipes.conftest import Cluster
from tests.sandbox.pipes.helpers import running_pipe, state


def produce(bootstrap: str, topic: str, *records: dict[str, Any]) -> None:
    """Produce records (``value``, and ``key``, ``headers``, ``timestamp``, ``partition``
    when given) and wait until the broker has them all."""
    producer = Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2_random", "log_level": 0})
    for r in records:
        producer.produce(topic, **r)
    assert producer.flush(10) == 0


def kafka_pipe(sb: Sandbox, msk: Cluster, name: str, target: str, **params: Any) -> str:
    spec = {k: params.pop(k) for k in ("FilterCriteria",) if k in params}
    return running_pipe(sb, name, msk.arn, target, SourceParameters={
        "ManagedStreamingKafkaParameters": {"TopicName": msk.topic, **params}, **spec})


def value(record: dict[str, Any]) -> str:
    return base64.b64decode(record["value"]).decode()


def committed(msk: Cluster, group: str) -> dict[int, int | None]:
    return {p.partition: p.committed for p in tools.describe_group(msk.bootstrap, group).partitions}


def test_a_record_reaches_a_queue_with_the_msk_shape(sandbox, msk):
    tools.create_topic(msk.bootstrap, msk.topic, 2)
    out, out_arn = make_queue(sandbox, "orders-out")
    kafka_pipe(sandbox, msk, "orders", out_arn, StartingPosition="TRIM_HORIZON")
    produce(msk.bootstrap, msk.topic, {"key": b"order-7", "value": b'{"id": 7}', "partition": 1,
                                       "headers": [("trace", b"abc")], "timestamp": 1_790_000_000_123})
    sandbox.clock.advance(seconds=1)
    [record] = drain(sandbox, out)
    assert record == {
        "eventSource": "aws:kafka", "eventSourceArn": msk.arn, "eventSourceKey": f"{msk.topic}-1",
        "topic": msk.topic, "partition": "1", "offset": 0, "timestamp": 1_790_000_000_123,
        "timestampType": "CREATE_TIME", "key": base64.b64encode(b"order-7").decode(),
        "value": base64.b64encode(b'{"id": 7}').decode(), "headers": [{"trace": [97, 98, 99]}]}


def test_trim_horizon_reads_older_records_and_latest_only_new_ones(sandbox, msk):
    tools.create_topic(msk.bootstrap, msk.topic, 1)
    produce(msk.bootstrap, msk.topic, {"value": b"old-1"}, {"value": b"old-2"})
    everything, everything_arn = make_queue(sandbox, "everything")
    new, new_arn = make_queue(sandbox, "new")
    kafka_pipe(sandbox, msk, "from-start", everything_arn, StartingPosition="TRIM_HORIZON")
    kafka_pipe(sandbox, msk, "from-now", new_arn, StartingPosition="LATEST")
    produce(msk.bootstrap, msk.topic, {"value": b"new-1"})
    sandbox.clock.advance(seconds=1)
    assert [value(r) for r in drain(sandbox, everything)] == ["old-1", "old-2", "new-1"]
    assert [value(r) for r in drain(sandbox, new)] == ["new-1"]


def test_batch_size_and_batching_window_on_the_virtual_clock(sandbox, msk):
    tools.create_topic(msk.bootstrap, msk.topic, 1)
    out, out_arn = make_queue(sandbox, "batched")
    batches = sandbox.service("pipes").batches
    with sandbox.clock.held():
        kafka_pipe(sandbox, msk, "batched", out_arn, StartingPosition="TRIM_HORIZON", BatchSize=3,
                   MaximumBatchingWindowInSeconds=20)
        produce(msk.bootstrap, msk.topic, *({"value": str(i).encode()} for i in range(2)))
        sandbox.clock.advance(seconds=19)
        assert batches == []                          # waiting for a fuller batch
        sandbox.clock.advance(seconds=1)
        assert [b["size"] for b in batches] == [2]
        produce(msk.bootstrap, msk.topic, *({"value": str(i).encode()} for i in range(2, 9)))
        sandbox.clock.advance(seconds=1)
        assert [b["size"] for b in batches] == [2, 3, 3]   # full batches go at once, the last waits
        sandbox.clock.advance(seconds=19)
        assert [b["size"] for b in batches] == [2, 3, 3, 1]
    assert [value(r) for r in drain(sandbox, out)] == [str(i) for i in range(9)]


def test_filters_read_the_decoded_value_and_filtered_records_are_committed(sandbox, msk):
    tools.create_topic(msk.bootstrap, msk.topic, 1)
    out, out_arn = make_queue(sandbox, "paid")
    group = f"paid-{uuid.uuid4().hex[:6]}"
    kafka_pipe(sandbox, msk, "paid-only", out_arn, StartingPosition="TRIM_HORIZON", ConsumerGroupID=group,
               FilterCriteria={"Filters": [{"Pattern": json.dumps({"value": {"status": ["paid"]}})}]})
    produce(msk.bootstrap, msk.topic, {"value": b'{"id": 1, "status": "paid"}'},
            {"value": b'{"id": 2, "status": "new"}'}, {"value": b"paid"})
    sandbox.clock.advance(seconds=1)
    # a plain-text value against a JSON pattern is filtered on the other fields only (AWS's table)
    assert [value(r) for r in drain(sandbox, out)] == ['{"id": 1, "status": "paid"}', "paid"]
    assert committed(msk, group) == {0: 3}           # the filtered-out record is consumed too


def test_a_plain_text_pattern_matches_a_text_value_and_templates_read_json(sandbox, msk):
    tools.create_topic(msk.bootstrap, msk.topic, 1)
    text, text_arn = make_queue(sandbox, "text")
    kafka_pipe(sandbox, msk, "greetings", text_arn, StartingPosition="TRIM_HORIZON",
               FilterCriteria={"Filters": [{"Pattern": json.dumps({"value": [{"prefix": "hello"}]})}]})
    ids, ids_arn = make_queue(sandbox, "ids")
    running_pipe(sandbox, "ids", msk.arn, ids_arn, SourceParameters={"ManagedStreamingKafkaParameters": {
        "TopicName": msk.topic, "StartingPosition": "TRIM_HORIZON"}},
        TargetParameters={"InputTemplate": '{"id": <$.value.id>, "at": "<$.eventSourceKey>"}'})
    produce(msk.bootstrap, msk.topic, {"value": b"hello world"}, {"value": b"goodbye"},
            {"value": b'{"id": 9}'})
    sandbox.clock.advance(seconds=1)
    # "goodbye" is filtered out; a JSON value against a text pattern is filtered on the other
    # fields only (AWS's table), so it passes
    assert [value(r) for r in drain(sandbox, text)] == ["hello world", '{"id": 9}']
    assert drain(sandbox, ids)[-1] == {"id": 9, "at": f"{msk.topic}-0"}


def test_order_is_kept_within_each_partition(sandbox, msk):
    tools.create_topic(msk.bootstrap, msk.topic, 3)
    out, out_arn = make_queue(sandbox, "ordered")
    kafka_pipe(sandbox, msk, "ordered", out_arn, StartingPosition="TRIM_HORIZON", BatchSize=7)
    produce(msk.bootstrap, msk.topic, *({"key": f"user-{i % 5}".encode(), "value": str(i).encode()}
                                        for i in range(60)))
    sandbox.clock.advance(seconds=1)
    records = drain(sandbox, out)
    assert sorted(int(value(r)) for r in records) == list(range(60))
    by_partition: dict[str, list[int]] = {}
    by_key: dict[str, list[int]] = {}
    for r in records:
        by_partition.setdefault(r["partition"], []).append(r["offset"])
        by_key.setdefault(r["key"], []).append(int(value(r)))
    assert len(by_partition) > 1
    assert all(offsets == list(range(len(offsets))) for offsets in by_partition.values())
    assert all(values == sorted(values) for values in by_key.values())


def test_a_failing_target_blocks_its_partition_and_the_batch_is_retried(sandbox, msk):
    tools.create_topic(msk.bootstrap, msk.topic, 1)
    group = f"retry-{uuid.uuid4().hex[:6]}"
    missing = "arn:aws:sqs:us-east-1:123456789012:not-yet"
    batches = sandbox.service("pipes").batches
    with sandbox.clock.held():
        kafka_pipe(sandbox, msk, "blocked", missing, StartingPosition="TRIM_HORIZON", ConsumerGroupID=group)
        produce(msk.bootstrap, msk.topic, {"value": b"a"}, {"value": b"b"})
        sandbox.clock.advance(seconds=1)
        sandbox.clock.advance(seconds=10)
        produce(msk.bootstrap, msk.topic, {"value": b"c"})
        sandbox.clock.advance(seconds=1)
        times = [b["time"] for b in batches]
        assert [b["ok"] for b in batches] == [False] * 4
        assert [later - earlier for earlier, later in zip(times, times[1:], strict=False)] == [1, 2, 4]
        assert {b["size"] for b in batches} == {2}        # the whole batch again; "c" waits behind it
        assert tools.committed_offsets(msk.bootstrap, group, [(msk.topic, 0)]) == {(msk.topic, 0): None}
        url, _ = make_queue(sandbox, "not-yet")            # the target appears: the next retry gets through
        sandbox.clock.advance(seconds=8)
    assert [value(r) for r in drain(sandbox, url)] == ["a", "b", "c"]
    assert committed(msk, group) == {0: 3}


def test_a_blocked_batch_is_given_up_once_its_records_expire(sandbox, msk):
    from confluent_kafka import TopicPartition

    tools.create_topic(msk.bootstrap, msk.topic, 1)
    group = f"expire-{uuid.uuid4().hex[:6]}"
    with sandbox.clock.held():
        kafka_pipe(sandbox, msk, "expiring", "arn:aws:sqs:us-east-1:123456789012:later",
                   StartingPosition="TRIM_HORIZON", ConsumerGroupID=group)
        produce(msk.bootstrap, msk.topic, {"value": b"a"}, {"value": b"b"})
        sandbox.clock.advance(seconds=5)                  # failing, retried
        # the broker deletes "a" and "b" (retention, or DeleteRecords as here): they expired
        [done] = tools.admin(msk.bootstrap).delete_records([TopicPartition(msk.topic, 0, 2)]).values()
        done.result(10)
        produce(msk.bootstrap, msk.topic, {"value": b"c"})
        url, _ = make_queue(sandbox, "later")
        sandbox.clock.advance(seconds=60)
    assert [value(r) for r in drain(sandbox, url)] == ["c"]
    assert committed(msk, group) == {0: 3}


def test_the_group_commits_after_delivery_and_its_offsets_win_over_the_starting_position(sandbox, msk):
    tools.create_topic(msk.bootstrap, msk.topic, 2)
    out, out_arn = make_queue(sandbox, "committed")
    group = f"orders-{uuid.uuid4().hex[:6]}"
    kafka_pipe(sandbox, msk, "first", out_arn, StartingPosition="TRIM_HORIZON", ConsumerGroupID=group)
    produce(msk.bootstrap, msk.topic, *({"value": str(i).encode(), "partition": i % 2} for i in range(5)))
    sandbox.clock.advance(seconds=1)
    assert len(drain(sandbox, out)) == 5
    lag = tools.describe_group(msk.bootstrap, group)
    assert committed(msk, group) == {0: 3, 1: 2} and lag.total_lag == 0
    sandbox.client("pipes").delete_pipe(Name="first")
    produce(msk.bootstrap, msk.topic, {"value": b"while-away", "partition": 0})
    assert tools.describe_group(msk.bootstrap, group).total_lag == 1
    # LATEST would skip "while-away"; the group's committed offset is where the new pipe starts
    kafka_pipe(sandbox, msk, "second", out_arn, StartingPosition="LATEST", ConsumerGroupID=group)
    sandbox.clock.advance(seconds=1)
    assert [value(r) for r in drain(sandbox, out)] == ["while-away"]


def test_stop_pipe_stops_reading_and_start_resumes_from_the_committed_offset(sandbox, msk):
    tools.create_topic(msk.bootstrap, msk.topic, 1)
    out, out_arn = make_queue(sandbox, "stoppable")
    group = f"stop-{uuid.uuid4().hex[:6]}"
    arn = kafka_pipe(sandbox, msk, "stoppable", out_arn, StartingPosition="TRIM_HORIZON", ConsumerGroupID=group)
    reading = sandbox.service("pipes").kafka[0]
    produce(msk.bootstrap, msk.topic, {"value": b"1"})
    sandbox.clock.advance(seconds=1)
    assert [value(r) for r in drain(sandbox, out)] == ["1"] and reading.reading == {arn}
    pipes = sandbox.client("pipes")
    pipes.stop_pipe(Name="stoppable")
    sandbox.clock.advance(seconds=1)
    assert state(sandbox, "stoppable") == "STOPPED" and reading.reading == set()
    produce(msk.bootstrap, msk.topic, {"value": b"2"}, {"value": b"3"})
    sandbox.clock.advance(seconds=30)
    assert drain(sandbox, out) == [] and tools.describe_group(msk.bootstrap, group).total_lag == 2
    pipes.start_pipe(Name="stoppable")
    sandbox.clock.advance(seconds=1)
    assert [value(r) for r in drain(sandbox, out)] == ["2", "3"]
    pipes.delete_pipe(Name="stoppable")
    sandbox.clock.advance(seconds=1)
    assert reading.reading == set()                    # deleted: its consumer is closed


def test_update_pipe_keeps_the_topic_and_changes_the_batch_size(sandbox, msk):
    tools.create_topic(msk.bootstrap, msk.topic, 1)
    out, out_arn = make_queue(sandbox, "updated")
    kafka_pipe(sandbox, msk, "updated", out_arn, StartingPosition="TRIM_HORIZON", BatchSize=1)
    from tests.sandbox.pipes.helpers import role
    sandbox.client("pipes").update_pipe(Name="updated", RoleArn=role(sandbox), SourceParameters={
        "ManagedStreamingKafkaParameters": {"BatchSize": 4}})
    sandbox.clock.advance(seconds=1)
    assert state(sandbox, "updated") == "RUNNING"
    produce(msk.bootstrap, msk.topic, *({"value": str(i).encode()} for i in range(4)))
    sandbox.clock.advance(seconds=1)
    assert [b["size"] for b in sandbox.service("pipes").batches] == [4]
    assert len(drain(sandbox, out)) == 4


def test_a_self_managed_kafka_source_reads_the_same_broker(sandbox, msk):
    tools.create_topic(msk.bootstrap, msk.topic, 1)
    out, out_arn = make_queue(sandbox, "smk")
    running_pipe(sandbox, "smk", f"smk://{msk.bootstrap}", out_arn, SourceParameters={
        "SelfManagedKafkaParameters": {"TopicName": msk.topic, "StartingPosition": "TRIM_HORIZON"}})
    produce(msk.bootstrap, msk.topic, {"key": b"k", "value": b"v"})
    sandbox.clock.advance(seconds=1)
    [record] = drain(sandbox, out)
    assert record["eventSource"] == "SelfManagedKafka" and record["bootstrapServers"] == msk.bootstrap
    assert "eventSourceArn" not in record and record["eventSourceKey"] == f"{msk.topic}-0"
    assert value(record) == "v"


def test_kafka_sources_that_cannot_be_read_say_why(sandbox, msk):
    out, out_arn = make_queue(sandbox, "nowhere")
    running_pipe(sandbox, "remote", "smk://b-1.example.com:9092", out_arn, SourceParameters={
        "SelfManagedKafkaParameters": {"TopicName": "orders"}})
    sandbox.clock.advance(seconds=1)
    assert "on this machine only" in sandbox.client("pipes").describe_pipe(Name="remote")["StateReason"]
    with pytest.raises(ClientError) as err:
        sandbox.client("pipes").create_pipe(Name="no-topic", Source=f"smk://{msk.bootstrap}", Target=out_arn,
                                            RoleArn="arn:aws:iam::123456789012:role/pipe-role")
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert "SelfManagedKafkaParameters.TopicName" in err.value.response["Error"]["Message"]


def test_a_broker_that_does_not_answer_is_reported_and_tried_again_a_minute_later(sandbox, monkeypatch):
    from eventlab.kafka.broker import free_port
    from eventlab.sandbox.pipes import kafka

    monkeypatch.setattr(kafka, "SAFETY_SECONDS", 0.5)
    out, out_arn = make_queue(sandbox, "unanswered")
    running_pipe(sandbox, "silent", f"smk://127.0.0.1:{free_port()}", out_arn, SourceParameters={
        "SelfManagedKafkaParameters": {"TopicName": "orders"}})
    errors = sandbox.service("pipes").errors
    assert len(errors) == 1 and "could not read topic 'orders'" in errors[0]
    assert "silent" in errors[0]
    assert "could not read topic" in sandbox.client("pipes").describe_pipe(Name="silent")["StateReason"]
    sandbox.clock.advance(seconds=30)
    assert len(errors) == 1                            # not at every pump round
    sandbox.clock.advance(seconds=30)
    assert len(errors) == 2


def test_deleting_the_cluster_closes_the_pipes_consumer(sandbox, msk):
    tools.create_topic(msk.bootstrap, msk.topic, 1)
    out, out_arn = make_queue(sandbox, "orphan")
    arn = kafka_pipe(sandbox, msk, "orphan", out_arn)
    reading = sandbox.service("pipes").kafka[0]
    assert reading.reading == {arn}
    sandbox.client("kafka").delete_cluster(ClusterArn=msk.arn)
    sandbox.clock.advance(seconds=1)
    assert reading.reading == set()
    assert "does not exist" in sandbox.client("pipes").describe_pipe(Name="orphan")["StateReason"]
