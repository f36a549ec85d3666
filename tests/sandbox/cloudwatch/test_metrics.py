"""CloudWatch metrics the sandbox publishes after real flows, read back through the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from eventlab.sandbox.cloudwatch.metrics import record_api_request
from tests.sandbox.helpers import make_queue


def stats(sb: Any, namespace: str, name: str, dims: dict[str, str], stat: str = "Sum") -> list[Any]:
    now = sb.clock.now()
    got = sb.client("cloudwatch").get_metric_statistics(
        Namespace=namespace, MetricName=name, Period=60, Statistics=[stat],
        Dimensions=[{"Name": k, "Value": v} for k, v in dims.items()],
        StartTime=now - timedelta(hours=1), EndTime=now + timedelta(minutes=1))
    return sorted(got["Datapoints"], key=lambda d: d["Timestamp"])


def total(sb: Any, namespace: str, name: str, dims: dict[str, str]) -> float:
    return sum(d["Sum"] for d in stats(sb, namespace, name, dims))


def test_sqs_counters_and_gauges(sandbox: Any) -> None:
    sqs = sandbox.client("sqs")
    url, _ = make_queue(sandbox, "orders")
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "x"} for i in range(3)])
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=600)["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
    q = {"QueueName": "orders"}
    assert total(sandbox, "AWS/SQS", "NumberOfMessagesSent", q) == 3
    assert total(sandbox, "AWS/SQS", "NumberOfMessagesReceived", q) == 2
    assert total(sandbox, "AWS/SQS", "NumberOfMessagesDeleted", q) == 1
    sandbox.clock.advance(minutes=2)
    visible = stats(sandbox, "AWS/SQS", "ApproximateNumberOfMessagesVisible", q, "Maximum")
    in_flight = stats(sandbox, "AWS/SQS", "ApproximateNumberOfMessagesNotVisible", q, "Maximum")
    assert [d["Maximum"] for d in visible][-1] == 1
    assert [d["Maximum"] for d in in_flight][-1] == 1
    assert visible[-1]["Unit"] == "Count"
    age = stats(sandbox, "AWS/SQS", "ApproximateAgeOfOldestMessage", q, "Maximum")
    assert age[-1]["Unit"] == "Seconds" and age[-1]["Maximum"] >= 60
    # datapoints are stamped on the virtual clock, on minute boundaries
    assert all(d["Timestamp"].second == 0 for d in visible)


def test_lambda_invocations_errors_and_duration(sandbox: Any, make_function: Any) -> None:
    make_function("flaky", "def handler(event, context):\n"
                           "    if event.get('fail'):\n        raise ValueError('boom')\n"
                           "    return 1\n")
    lam = sandbox.client("lambda")
    lam.invoke(FunctionName="flaky", Payload=b'{}')
    lam.invoke(FunctionName="flaky", Payload=b'{"fail": true}')
    fn = {"FunctionName": "flaky"}
    assert total(sandbox, "AWS/Lambda", "Invocations", fn) == 2
    assert total(sandbox, "AWS/Lambda", "Errors", fn) == 1
    assert total(sandbox, "AWS/Lambda", "Throttles", fn) == 0
    duration = stats(sandbox, "AWS/Lambda", "Duration", fn, "Maximum")
    assert duration[0]["Unit"] == "Milliseconds" and duration[0]["Maximum"] > 0


def test_step_functions_executions(sandbox: Any) -> None:
    sfn = sandbox.client("stepfunctions")
    definition = ('{"StartAt":"Go","States":{"Go":{"Type":"Choice","Choices":[{"Variable":"$.ok",'
                  '"BooleanEquals":true,"Next":"Done"}],"Default":"Bad"},"Done":{"Type":"Succeed"},'
                  '"Bad":{"Type":"Fail","Error":"Nope"}}}')
    arn = sfn.create_state_machine(name="flow", definition=definition,
                                   roleArn="arn:aws:iam::123456789012:role/sfn")["stateMachineArn"]
    sfn.start_execution(stateMachineArn=arn, input='{"ok": true}')
    sfn.start_execution(stateMachineArn=arn, input='{"ok": false}')
    sfn.start_execution(stateMachineArn=arn, input='{"ok": true}')
    dims = {"StateMachineArn": arn}
    assert total(sandbox, "AWS/States", "ExecutionsStarted", dims) == 3
    assert total(sandbox, "AWS/States", "ExecutionsSucceeded", dims) == 2
    assert total(sandbox, "AWS/States", "ExecutionsFailed", dims) == 1


def test_sns_publish_and_deliveries(sandbox: Any) -> None:
    sns = sandbox.client("sns")
    topic = sns.create_topic(Name="news")["TopicArn"]
    _, arn = make_queue(sandbox, "reader")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    sns.publish(TopicArn=topic, Message="hello")
    t = {"TopicName": "news"}
    assert total(sandbox, "AWS/SNS", "NumberOfMessagesPublished", t) == 1
    assert total(sandbox, "AWS/SNS", "NumberOfNotificationsDelivered", t) == 1
    assert total(sandbox, "AWS/SQS", "NumberOfMessagesSent", {"QueueName": "reader"}) == 1


def test_kinesis_metrics_not_double_counted(sandbox: Any) -> None:
    kinesis = sandbox.client("kinesis")
    kinesis.create_stream(StreamName="clicks", ShardCount=1)
    kinesis.put_record(StreamName="clicks", Data=b"abc", PartitionKey="k")
    kinesis.put_records(StreamName="clicks", Records=[{"Data": b"x", "PartitionKey": "k"}] * 2)
    s = {"StreamName": "clicks"}
    assert total(sandbox, "AWS/Kinesis", "IncomingRecords", s) == 3
    shard = kinesis.describe_stream(StreamName="clicks")["StreamDescription"]["Shards"][0]["ShardId"]
    it = kinesis.get_shard_iterator(StreamName="clicks", ShardId=shard,
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    sandbox.clock.advance(seconds=5)
    kinesis.get_records(ShardIterator=it)
    age = stats(sandbox, "AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", s, "Maximum")
    assert age[-1]["Maximum"] >= 5000 and age[-1]["Unit"] == "Milliseconds"


def test_record_api_request(sandbox: Any) -> None:
    record_api_request(sandbox, "shop", "prod", 200, 12.0)
    record_api_request(sandbox, "shop", "prod", 404, 3.0)
    record_api_request(sandbox, "shop", "prod", 502, 30.0)
    api = {"ApiName": "shop", "Stage": "prod"}
    assert total(sandbox, "AWS/ApiGateway", "Count", api) == 3
    assert total(sandbox, "AWS/ApiGateway", "4XXError", api) == 1
    assert total(sandbox, "AWS/ApiGateway", "5XXError", api) == 1
    assert stats(sandbox, "AWS/ApiGateway", "Latency", api, "Maximum")[0]["Maximum"] == 30.0
    now = sandbox.clock.now()
    data = sandbox.client("cloudwatch").get_metric_data(
        MetricDataQueries=[{"Id": "c", "MetricStat": {"Metric": {
            "Namespace": "AWS/ApiGateway", "MetricName": "Count",
            "Dimensions": [{"Name": "ApiName", "Value": "shop"}]}, "Period": 60, "Stat": "Sum"}}],
        StartTime=now - timedelta(minutes=5), EndTime=now + timedelta(minutes=1))
    assert sum(data["MetricDataResults"][0]["Values"]) == 3
