"""Lambda on the virtual clock: time.sleep costs virtual time, invocations hold
concurrency while they run, and reserved and account concurrency throttle as AWS
documents (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html,
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html)."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.sandbox.helpers import drain, make_queue

SLOW = """
import time
def handler(event, context):
    started = time.time()
    time.sleep(event.get("seconds", 2))
    return {"slept": round(time.time() - started, 3), "remaining": context.get_remaining_time_in_millis()}
"""
NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def lam(sandbox, over="in-process"):
    endpoint = {"endpoint_url": sandbox.endpoint_url} if over == "http" else {}
    return boto3.client("lambda", region_name="us-east-1", config=NO_RETRY, **endpoint)


def invoke(client, seconds, name="slow"):
    return client.invoke(FunctionName=name, Payload=json.dumps({"seconds": seconds}).encode())


def metric(sandbox, name, function=None, stat="Sum"):
    dims = [{"Name": "FunctionName", "Value": function}] if function else []
    now = sandbox.clock.now()
    points = sandbox.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/Lambda", MetricName=name, Dimensions=dims, StartTime=now - timedelta(hours=8),
        EndTime=now + timedelta(minutes=1), Period=3600 * 9, Statistics=[stat])["Datapoints"]
    return [p[stat] for p in points]


def test_sleep_costs_virtual_time_not_real_time(sandbox, make_function):
    make_function("slow", SLOW, timeout=60)
    real = time.perf_counter()
    payload = json.loads(invoke(lam(sandbox), 30)["Payload"].read())
    assert time.perf_counter() - real < 5
    assert payload == {"slept": 30.0, "remaining": pytest.approx(30_000, abs=1_000)}
    report = sandbox.client("logs").filter_log_events(logGroupName="/aws/lambda/slow")["events"][-1]["message"]
    duration = float(report.split("Duration: ")[1].split(" ms")[0])
    assert 30_000 <= duration < 35_000
    assert metric(sandbox, "Duration", "slow", "Maximum")[0] >= 30_000


def test_a_sleep_past_the_timeout_ends_the_invocation_at_the_deadline(sandbox, make_function):
    make_function("slow", SLOW, timeout=10)
    response = invoke(lam(sandbox), 3600)
    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read())["errorMessage"].endswith("Task timed out after 10.00 seconds")


@pytest.mark.parametrize("over", ["in-process", "http"])
def test_reserved_concurrency_zero_throttles_every_synchronous_invoke(sandbox, make_function, over):
    make_function("slow", SLOW)
    client = lam(sandbox, over)
    client.put_function_concurrency(FunctionName="slow", ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError) as raised:
        invoke(client, 0)
    response = raised.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert response["Error"]["Code"] == "TooManyRequestsException"
    assert response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert response["Type"] == "User"
    assert metric(sandbox, "Throttles", "slow") == [1.0]
    assert metric(sandbox, "Invocations", "slow") == []


@pytest.mark.parametrize("over", ["in-process", "http"])
def test_invocations_hold_their_concurrency_while_they_run(sandbox, make_function, over):
    make_function("slow", SLOW, timeout=60)
    client = lam(sandbox, over)
    client.put_function_concurrency(FunctionName="slow", ReservedConcurrentExecutions=2)
    with sandbox.clock.held():
        invoke(client, 10)
        invoke(client, 5)
        with pytest.raises(ClientError, match="TooManyRequestsException"):
            invoke(client, 1)                     # two are still running
        sandbox.clock.advance(seconds=5)
        invoke(client, 1)                         # the 5 s one has ended
        with pytest.raises(ClientError, match="TooManyRequestsException"):
            invoke(client, 1)
        sandbox.clock.advance(seconds=5)
        invoke(client, 1)
    assert metric(sandbox, "ConcurrentExecutions", "slow", "Maximum") == [2.0]
    assert metric(sandbox, "Throttles", "slow") == [2.0]


def test_the_unreserved_pool_is_the_account_quota_less_every_reservation(sandbox, make_function):
    sandbox.quotas.set("lambda.concurrent-executions", 103)
    make_function("slow", SLOW, timeout=60)
    make_function("other", SLOW, timeout=60)
    client = lam(sandbox)
    client.put_function_concurrency(FunctionName="other", ReservedConcurrentExecutions=1)
    with sandbox.clock.held():
        for _ in range(102):                      # 103 - 1 reserved for "other"
            invoke(client, 10)
        with pytest.raises(ClientError) as raised:
            invoke(client, 10)
        invoke(client, 10, name="other")          # its reservation is its own
    assert raised.value.response["Reason"] == "ConcurrentInvocationLimitExceeded"
    assert metric(sandbox, "ConcurrentExecutions", None, "Maximum") == [103.0]


def test_a_reservation_may_not_leave_less_than_100_unreserved(sandbox, make_function):
    make_function("slow", SLOW)
    with pytest.raises(ClientError) as raised:
        lam(sandbox).put_function_concurrency(FunctionName="slow", ReservedConcurrentExecutions=901)
    assert raised.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "below its minimum value of [100]" in raised.value.response["Error"]["Message"]
    lam(sandbox).put_function_concurrency(FunctionName="slow", ReservedConcurrentExecutions=900)


def test_async_events_with_reserved_concurrency_zero_go_straight_to_the_dead_letter_queue(
        sandbox, make_function):
    url, arn = make_queue(sandbox, "slow-dlq")
    make_function("slow", SLOW, DeadLetterConfig={"TargetArn": arn})
    client = lam(sandbox)
    client.put_function_concurrency(FunctionName="slow", ReservedConcurrentExecutions=0)
    client.invoke(FunctionName="slow", InvocationType="Event", Payload=b'{"seconds": 1}')
    [message] = drain(sandbox, url, attributes=True)
    assert json.loads(message["Body"]) == {"seconds": 1}
    assert message["MessageAttributes"]["ErrorCode"]["StringValue"] == "429"
    assert sandbox.service("lambda").invocation_log == []       # it never ran


def test_throttled_async_events_are_retried_until_concurrency_frees_up(sandbox, make_function):
    make_function("slow", SLOW, timeout=60)
    client = lam(sandbox)
    client.put_function_concurrency(FunctionName="slow", ReservedConcurrentExecutions=1)
    with sandbox.clock.held():
        invoke(client, 20)                                       # holds the only unit for 20 s
        client.invoke(FunctionName="slow", InvocationType="Event", Payload=b'{"seconds": 0}')
        assert len(sandbox.service("lambda").invocation_log) == 1
        sandbox.clock.advance(seconds=40)
    log = sandbox.service("lambda").invocation_log
    assert len(log) == 2 and log[1]["event"] == {"seconds": 0}
    # tried at 0, 1, 3, 7, 15 s (back-off 1, 2, 4, 8, 16 s); the unit was free from 20 s,
    # and the next try, at 31 s, ran
    assert log[1]["time"] - log[0]["time"] == pytest.approx(31, abs=0.5)
    assert metric(sandbox, "Throttles", "slow") == [5.0]


def test_throttled_async_events_past_their_maximum_age_go_to_the_on_failure_destination(
        sandbox, make_function):
    url, arn = make_queue(sandbox, "failures")
    make_function("slow", SLOW, timeout=900)
    client = lam(sandbox)
    client.put_function_concurrency(FunctionName="slow", ReservedConcurrentExecutions=1)
    client.put_function_event_invoke_config(
        FunctionName="slow", MaximumEventAgeInSeconds=60,
        DestinationConfig={"OnFailure": {"Destination": arn}})
    with sandbox.clock.held():
        invoke(client, 900)
        client.invoke(FunctionName="slow", InvocationType="Event", Payload=b'{"seconds": 0}')
        sandbox.clock.advance(seconds=120)
    [record] = drain(sandbox, url)
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["responseContext"]["statusCode"] == 429
    assert record["requestPayload"] == {"seconds": 0}


def test_a_throttled_kinesis_batch_holds_its_shard_until_the_function_has_concurrency(
        sandbox, make_function):
    make_function("slow", SLOW)
    kinesis = sandbox.client("kinesis")
    kinesis.create_stream(StreamName="readings", ShardCount=1)
    arn = kinesis.describe_stream(StreamName="readings")["StreamDescription"]["StreamARN"]
    client = lam(sandbox)
    client.put_function_concurrency(FunctionName="slow", ReservedConcurrentExecutions=0)
    client.create_event_source_mapping(EventSourceArn=arn, FunctionName="slow",
                                       StartingPosition="TRIM_HORIZON", MaximumRetryAttempts=1)
    for i in range(3):
        kinesis.put_record(StreamName="readings", Data=json.dumps({"seconds": 0, "i": i}).encode(),
                           PartitionKey="k")
    sandbox.clock.advance(seconds=30)
    batches = sandbox.service("kinesis").batches
    assert batches and all(b.get("throttled") for b in batches)     # never ran, never skipped
    assert sandbox.service("lambda").invocation_log == []
    client.delete_function_concurrency(FunctionName="slow")
    sandbox.clock.advance(seconds=2)
    [ran] = sandbox.service("lambda").invocation_log
    assert [json.loads(__import__("base64").b64decode(r["kinesis"]["data"]))["i"]
            for r in ran["event"]["Records"]] == [0, 1, 2]


@pytest.mark.parametrize("over", ["in-process", "http"])
def test_a_function_adds_environments_at_the_scaling_rate_and_reuses_idle_ones(
        sandbox, make_function, over):
    # AWS: 1,000 new environments per function every 10 s, refilled continuously; made
    # 10 per 10 s here so that the test stays small (one new environment a second)
    sandbox.quotas.set("lambda.scaling-rate", 10)
    make_function("slow", SLOW, timeout=60)
    client = lam(sandbox, over)
    with sandbox.clock.held():
        for _ in range(10):
            invoke(client, 30)                    # the whole burst budget at once
        with pytest.raises(ClientError) as raised:
            invoke(client, 30)
        sandbox.clock.advance(seconds=1)          # one more environment's worth refilled
        invoke(client, 30)
        with pytest.raises(ClientError):
            invoke(client, 30)
        sandbox.clock.advance(seconds=30)         # all 11 have ended: their environments are warm
        for _ in range(11):
            invoke(client, 1)                     # reused, no new environment needed
    response = raised.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert response["Reason"] == "FunctionInvocationRateLimitExceeded"
    assert metric(sandbox, "Throttles", "slow") == [2.0]
    assert metric(sandbox, "ConcurrentExecutions", "slow", "Maximum") == [11.0]


def test_the_scaling_rate_is_per_function(sandbox, make_function):
    sandbox.quotas.set("lambda.scaling-rate", 2)
    make_function("slow", SLOW, timeout=60)
    make_function("other", SLOW, timeout=60)
    client = lam(sandbox)
    with sandbox.clock.held():
        invoke(client, 30)
        invoke(client, 30)
        with pytest.raises(ClientError, match="TooManyRequestsException"):
            invoke(client, 30)
        invoke(client, 30, name="other")          # its own budget
        invoke(client, 30, name="other")


def test_async_events_throttled_by_the_scaling_rate_run_once_it_refills(sandbox, make_function):
    sandbox.quotas.set("lambda.scaling-rate", 1)  # one new environment every 10 s
    make_function("slow", SLOW, timeout=60)
    client = lam(sandbox)
    with sandbox.clock.held():
        for _ in range(3):
            client.invoke(FunctionName="slow", InvocationType="Event", Payload=b'{"seconds": 50}')
        sandbox.clock.advance(seconds=60)
    log = sandbox.service("lambda").invocation_log
    # one environment at 0 s; the two others are tried at 1, 3, 7, 15, 31 s (back-off
    # 1, 2, 4, 8, 16 s): one takes the environment refilled by 10 s at 15 s, the other
    # the one refilled by 25 s at 31 s
    assert [round(e["time"] - log[0]["time"]) for e in log] == [0, 15, 31]
    assert {t["reason"] for t in sandbox.service("lambda").throttle_log} == {"FunctionInvocationRateLimitExceeded"}


FAILING = "def handler(event, context):\n    raise ValueError('no')\n"


@pytest.mark.parametrize("over", ["in-process", "http"])
def test_async_metrics_count_received_age_and_dropped_events(sandbox, make_function, over):
    # https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html
    url, arn = make_queue(sandbox, "failed-events")
    make_function("failing", FAILING, DeadLetterConfig={"TargetArn": arn})
    make_function("slow", SLOW, timeout=60)
    client = lam(sandbox, over)
    client.put_function_event_invoke_config(FunctionName="failing", MaximumRetryAttempts=1)
    with sandbox.clock.held():
        for _ in range(2):
            client.invoke(FunctionName="failing", InvocationType="Event", Payload=b"{}")
        client.invoke(FunctionName="slow", InvocationType="Event", Payload=b'{"seconds": 0}')
        sandbox.clock.advance(minutes=5)
    assert metric(sandbox, "AsyncEventsReceived", "failing") == [2.0]
    assert metric(sandbox, "AsyncEventsReceived", "slow") == [1.0]
    # each event ran at once (age 0) and once more after the 1-minute retry delay
    assert metric(sandbox, "AsyncEventAge", "failing", "SampleCount") == [4.0]
    assert metric(sandbox, "AsyncEventAge", "failing", "Maximum") == [pytest.approx(60_000, abs=1_000)]
    assert metric(sandbox, "AsyncEventAge", "failing", "Minimum") == [0.0]
    assert metric(sandbox, "AsyncEventsDropped", "failing") == [2.0]     # then to the DLQ
    assert len(drain(sandbox, url)) == 2
    assert metric(sandbox, "AsyncEventsDropped", "slow") == []


def test_async_events_dropped_counts_events_refused_by_reserved_concurrency_zero(sandbox, make_function):
    make_function("slow", SLOW, timeout=60)
    client = lam(sandbox)
    client.put_function_concurrency(FunctionName="slow", ReservedConcurrentExecutions=0)
    client.invoke(FunctionName="slow", InvocationType="Event", Payload=b'{"seconds": 0}')
    sandbox.clock.advance(seconds=10)
    assert metric(sandbox, "AsyncEventsReceived", "slow") == [1.0]
    assert metric(sandbox, "AsyncEventsDropped", "slow") == [1.0]       # no destination: gone
    assert metric(sandbox, "AsyncEventAge", "slow") == []               # it never ran
