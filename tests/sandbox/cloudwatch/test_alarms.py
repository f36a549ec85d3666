"""Alarms evaluated on the virtual clock, with history and the SNS notification AWS sends."""

from __future__ import annotations

import json
from typing import Any

from tests.sandbox.helpers import drain, make_queue


def alarm_topic(sb: Any) -> tuple[str, str]:
    sns = sb.client("sns")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    url, arn = make_queue(sb, "alerts-inbox")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return topic, url


def state(sb: Any, name: str) -> dict[str, Any]:
    return sb.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"][0]


def test_dlq_depth_alarm_notifies_sns(sandbox: Any) -> None:
    topic, inbox = alarm_topic(sandbox)
    dlq, _ = make_queue(sandbox, "orders-dlq")
    cw = sandbox.client("cloudwatch")
    cw.put_metric_alarm(
        AlarmName="dlq-not-empty", AlarmDescription="messages in the DLQ",
        Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName", "Value": "orders-dlq"}], Statistic="Maximum",
        Period=60, EvaluationPeriods=1, Threshold=0, ComparisonOperator="GreaterThanThreshold",
        AlarmActions=[topic], OKActions=[topic])
    assert state(sandbox, "dlq-not-empty")["StateValue"] == "INSUFFICIENT_DATA"
    sandbox.clock.advance(minutes=2)
    assert state(sandbox, "dlq-not-empty")["StateValue"] == "OK"
    drain(sandbox, inbox)
    sandbox.client("sqs").send_message(QueueUrl=dlq, MessageBody="poison")
    sandbox.clock.advance(minutes=2)
    alarm = state(sandbox, "dlq-not-empty")
    assert alarm["StateValue"] == "ALARM"
    assert alarm["StateReason"].startswith("Threshold Crossed: 1 out of the last 1 datapoints [1.0 (")
    assert alarm["StateReason"].endswith(
        "was greater than the threshold (0.0) (minimum 1 datapoint for OK -> ALARM transition).")
    reason_data = json.loads(alarm["StateReasonData"])
    assert reason_data["recentDatapoints"] == [1.0] and reason_data["period"] == 60
    [envelope] = drain(sandbox, inbox)
    assert envelope["Subject"] == 'ALARM: "dlq-not-empty" in US East (N. Virginia)'
    body = json.loads(envelope["Message"])
    assert body["AlarmName"] == "dlq-not-empty"
    assert body["AlarmDescription"] == "messages in the DLQ"
    assert body["AWSAccountId"] == "123456789012"
    assert body["NewStateValue"] == "ALARM" and body["OldStateValue"] == "OK"
    assert body["NewStateReason"] == alarm["StateReason"]
    assert body["Region"] == "US East (N. Virginia)"
    assert body["AlarmArn"] == "arn:aws:cloudwatch:us-east-1:123456789012:alarm:dlq-not-empty"
    assert body["StateChangeTime"].endswith("+0000")
    assert body["AlarmActions"] == [topic] and body["OKActions"] == [topic]
    assert body["Trigger"] == {
        "MetricName": "ApproximateNumberOfMessagesVisible", "Namespace": "AWS/SQS",
        "StatisticType": "Statistic", "Statistic": "MAXIMUM", "Unit": None,
        "Dimensions": [{"value": "orders-dlq", "name": "QueueName"}], "Period": 60,
        "EvaluationPeriods": 1, "DatapointsToAlarm": 1,
        "ComparisonOperator": "GreaterThanThreshold", "Threshold": 0.0,
        "TreatMissingData": "missing", "EvaluateLowSampleCountPercentile": ""}
    history = cw.describe_alarm_history(AlarmName="dlq-not-empty", HistoryItemType="StateUpdate")
    summaries = [h["HistorySummary"] for h in history["AlarmHistoryItems"]]
    assert summaries == ["Alarm updated from OK to ALARM", "Alarm updated from INSUFFICIENT_DATA to OK"]


def test_lambda_error_alarm_m_out_of_n(sandbox: Any, make_function: Any) -> None:
    make_function("boom", "def handler(event, context):\n    raise RuntimeError('x')\n")
    cw = sandbox.client("cloudwatch")
    cw.put_metric_alarm(
        AlarmName="errors", Namespace="AWS/Lambda", MetricName="Errors",
        Dimensions=[{"Name": "FunctionName", "Value": "boom"}], Statistic="Sum", Period=60,
        EvaluationPeriods=3, DatapointsToAlarm=2, Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="notBreaching")
    lam = sandbox.client("lambda")
    sandbox.clock.advance(seconds=60 - sandbox.clock.time() % 60 + 1)  # just after a minute starts
    lam.invoke(FunctionName="boom", Payload=b"{}")
    sandbox.clock.advance(minutes=1)
    assert state(sandbox, "errors")["StateValue"] == "OK"  # 1 of 3 breaching, missing = fine
    lam.invoke(FunctionName="boom", Payload=b"{}")
    sandbox.clock.advance(minutes=1)
    assert state(sandbox, "errors")["StateValue"] == "ALARM"
    sandbox.clock.advance(minutes=3)
    assert state(sandbox, "errors")["StateValue"] == "OK"


def test_missing_data_and_custom_metric(sandbox: Any) -> None:
    cw = sandbox.client("cloudwatch")
    cw.put_metric_alarm(
        AlarmName="heartbeat", Namespace="App", MetricName="Beats", Statistic="SampleCount",
        Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="LessThanThreshold",
        TreatMissingData="breaching")
    cw.put_metric_alarm(
        AlarmName="quiet", Namespace="App", MetricName="Nothing", Statistic="Sum",
        Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    sandbox.clock.advance(minutes=2)
    assert state(sandbox, "heartbeat")["StateValue"] == "ALARM"
    assert state(sandbox, "quiet")["StateValue"] == "INSUFFICIENT_DATA"
    assert state(sandbox, "quiet")["StateReason"] == "Unchecked: Initial alarm creation"  # no change
    cw.put_metric_data(Namespace="App", MetricData=[{"MetricName": "Beats", "Value": 1}])
    sandbox.clock.advance(minutes=1)
    assert state(sandbox, "heartbeat")["StateValue"] == "OK"
