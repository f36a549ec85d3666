"""A pipe's execution log in CloudWatch Logs (LogConfiguration: Level, IncludeExecutionData)
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-logs.html)."""

from __future__ import annotations

import json

from tests.sandbox.helpers import make_function, make_queue
from tests.sandbox.pipes.helpers import running_pipe

GROUP = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/pipes/orders"


def records(sandbox):
    logs = sandbox.client("logs")
    events = logs.get_log_events(logGroupName="/aws/vendedlogs/pipes/orders", logStreamName="orders")["events"]
    return [json.loads(e["message"]) for e in events]


def pipe_with_log(sandbox, target, level, data=False):
    sandbox.client("logs").create_log_group(logGroupName="/aws/vendedlogs/pipes/orders")
    url, arn = make_queue(sandbox, "orders", VisibilityTimeout="30")
    config = {"Level": level, "CloudwatchLogsLogDestination": {"LogGroupArn": GROUP}}
    if data:
        config["IncludeExecutionData"] = ["ALL"]
    pipe_arn = running_pipe(sandbox, "orders", arn, target, LogConfiguration=config)
    return url, pipe_arn


def test_info_logs_the_execution_and_its_stages(sandbox):
    _, out_arn = make_queue(sandbox, "out")
    url, pipe_arn = pipe_with_log(sandbox, out_arn, "INFO")
    sandbox.client("sqs").send_message(QueueUrl=url, MessageBody="x")
    got = records(sandbox)
    assert [r["messageType"] for r in got] == ["ExecutionStarted", "TargetStageEntered",
                                               "TargetStageSucceeded", "ExecutionSucceeded"]
    assert {r["resourceArn"] for r in got} == {pipe_arn} and len({r["executionId"] for r in got}) == 1
    assert all("payload" not in r for r in got)


def test_error_logs_only_the_failure_with_its_message_and_trace_adds_the_payload(sandbox):
    fn = make_function(sandbox, "down", "def handler(event, context):\n    raise RuntimeError('target down')\n")
    url, _ = pipe_with_log(sandbox, fn, "ERROR")
    sandbox.client("sqs").send_message(QueueUrl=url, MessageBody="x")
    got = records(sandbox)
    assert [r["messageType"] for r in got] == ["TargetInvocationFailed", "TargetStageFailed", "ExecutionFailed"]
    assert "target down" in got[0]["error"]["message"] and got[0]["logLevel"] == "ERROR"


def test_trace_with_execution_data_includes_the_payload(sandbox):
    _, out_arn = make_queue(sandbox, "out")
    url, _ = pipe_with_log(sandbox, out_arn, "TRACE", data=True)
    sandbox.client("sqs").send_message(QueueUrl=url, MessageBody="hello")
    got = {r["messageType"]: r for r in records(sandbox)}
    assert json.loads(got["TargetInvocationStarted"]["payload"])[0]["body"] == "hello"
    assert "TargetInvocationSucceeded" in got


def test_pipe_metrics_count_invocations_events_and_failures(sandbox):
    from tests.sandbox.helpers import metric

    _, out_arn = make_queue(sandbox, "out")
    url, arn = make_queue(sandbox, "in", VisibilityTimeout="30")
    running_pipe(sandbox, "good", arn, out_arn, SourceParameters={
        "SqsQueueParameters": {"BatchSize": 10, "MaximumBatchingWindowInSeconds": 1}})
    sqs = sandbox.client("sqs")
    with sandbox.clock.held():
        for i in range(3):
            sqs.send_message(QueueUrl=url, MessageBody=str(i))
        sandbox.clock.advance(seconds=1)
    fn = make_function(sandbox, "down", "def handler(event, context):\n    raise RuntimeError('no')\n")
    bad_url, bad_arn = make_queue(sandbox, "bad-in", VisibilityTimeout="30")
    running_pipe(sandbox, "bad", bad_arn, fn)
    sqs.send_message(QueueUrl=bad_url, MessageBody="x")
    good, bad = {"PipeName": "good"}, {"PipeName": "bad"}
    assert metric(sandbox, "AWS/EventBridge/Pipes", "Invocations", good) == 1
    assert metric(sandbox, "AWS/EventBridge/Pipes", "EventCount", good) == 3
    assert metric(sandbox, "AWS/EventBridge/Pipes", "ExecutionFailed", good) == 0
    assert metric(sandbox, "AWS/EventBridge/Pipes", "ExecutionFailed", bad) == 1
    assert metric(sandbox, "AWS/EventBridge/Pipes", "TargetStageFailed", bad) == 1
