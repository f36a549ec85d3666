"""Every service the sandbox serves answers the installed (locked) botocore, in-process
and over HTTP: one write and one read each, so that the next wire-protocol move in botocore
(Athena went json -> rest-json in 1.44) fails here, not in a learner's notebook."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest

from eventlab.sandbox.core.protocols import SERVED

ROLE = "arn:aws:iam::123456789012:role/service-role"


def _sqs(c: Any, make: Callable[[str], Any]) -> Any:
    c.create_queue(QueueName="proto")
    return any(u.endswith("/proto") for u in c.list_queues()["QueueUrls"])


def _sns(c: Any, make: Callable[[str], Any]) -> Any:
    arn = c.create_topic(Name="proto")["TopicArn"]
    return arn in [t["TopicArn"] for t in c.list_topics()["Topics"]]


def _lambda(c: Any, make: Callable[[str], Any]) -> Any:
    role = make("iam").create_role(RoleName="proto-fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    c.create_function(FunctionName="proto", Runtime="python3.12", Role=role, Handler="h.handler",
                      Code={"ZipFile": _zip()})
    return c.get_function(FunctionName="proto")["Configuration"]["FunctionName"] == "proto"


def _events(c: Any, make: Callable[[str], Any]) -> Any:
    c.create_event_bus(Name="proto")
    return c.describe_event_bus(Name="proto")["Name"] == "proto"


def _scheduler(c: Any, make: Callable[[str], Any]) -> Any:
    c.create_schedule_group(Name="proto")
    return c.get_schedule_group(Name="proto")["Name"] == "proto"


def _kinesis(c: Any, make: Callable[[str], Any]) -> Any:
    c.create_stream(StreamName="proto", ShardCount=1)
    return c.describe_stream_summary(StreamName="proto")["StreamDescriptionSummary"]["StreamName"] == "proto"


def _firehose(c: Any, make: Callable[[str], Any]) -> Any:
    make("s3").create_bucket(Bucket="proto-bucket")
    c.create_delivery_stream(DeliveryStreamName="proto", ExtendedS3DestinationConfiguration={
        "BucketARN": "arn:aws:s3:::proto-bucket", "RoleARN": ROLE})
    return "proto" in c.list_delivery_streams()["DeliveryStreamNames"]


def _s3(c: Any, make: Callable[[str], Any]) -> Any:
    c.create_bucket(Bucket="proto-bucket")
    c.put_object(Bucket="proto-bucket", Key="k", Body=b"v")
    return c.get_object(Bucket="proto-bucket", Key="k")["Body"].read() == b"v"


def _athena(c: Any, make: Callable[[str], Any]) -> Any:
    c.create_work_group(Name="proto")
    return c.get_work_group(WorkGroup="proto")["WorkGroup"]["Name"] == "proto"


def _glue(c: Any, make: Callable[[str], Any]) -> Any:
    c.create_database(DatabaseInput={"Name": "proto"})
    return c.get_database(Name="proto")["Database"]["Name"] == "proto"


def _stepfunctions(c: Any, make: Callable[[str], Any]) -> Any:
    arn = c.create_state_machine(name="proto", roleArn=ROLE, definition=(
        '{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}'))["stateMachineArn"]
    return c.describe_state_machine(stateMachineArn=arn)["name"] == "proto"


def _apigateway(c: Any, make: Callable[[str], Any]) -> Any:
    api = c.create_rest_api(name="proto")["id"]
    return c.get_rest_api(restApiId=api)["name"] == "proto"


def _apigatewayv2(c: Any, make: Callable[[str], Any]) -> Any:
    api = c.create_api(Name="proto", ProtocolType="HTTP")["ApiId"]
    return c.get_api(ApiId=api)["Name"] == "proto"


def _cloudwatch(c: Any, make: Callable[[str], Any]) -> Any:
    c.put_metric_data(Namespace="Proto", MetricData=[{"MetricName": "m", "Value": 1.0}])
    return [m["MetricName"] for m in c.list_metrics(Namespace="Proto")["Metrics"]] == ["m"]


def _logs(c: Any, make: Callable[[str], Any]) -> Any:
    c.create_log_group(logGroupName="/proto")
    return [g["logGroupName"] for g in c.describe_log_groups(logGroupNamePrefix="/proto")["logGroups"]] == ["/proto"]


def _appscaling(c: Any, make: Callable[[str], Any]) -> Any:
    ecs = make("ecs")
    ecs.create_cluster(clusterName="c")
    ecs.create_service(cluster="c", serviceName="proto", desiredCount=1)
    c.register_scalable_target(ServiceNamespace="ecs", ResourceId="service/c/proto",
                               ScalableDimension="ecs:service:DesiredCount", MinCapacity=1, MaxCapacity=2)
    return len(c.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]) == 1


def _kafka(c: Any, make: Callable[[str], Any]) -> Any:
    c.create_cluster_v2(ClusterName="proto", Serverless={"VpcConfigs": [{"SubnetIds": ["subnet-1"]}]})
    return [x["ClusterName"] for x in c.list_clusters_v2()["ClusterInfoList"]] == ["proto"]


def _iam(c: Any, make: Callable[[str], Any]) -> Any:
    c.create_role(RoleName="proto", AssumeRolePolicyDocument="{}")
    return c.get_role(RoleName="proto")["Role"]["RoleName"] == "proto"


def _sts(c: Any, make: Callable[[str], Any]) -> Any:
    return c.get_caller_identity()["Account"] == "123456789012"


def _dynamodb(c: Any, make: Callable[[str], Any]) -> Any:
    c.create_table(TableName="proto", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                   AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                   BillingMode="PAY_PER_REQUEST")
    return "proto" in c.list_tables()["TableNames"]


def _ecs(c: Any, make: Callable[[str], Any]) -> Any:
    c.create_cluster(clusterName="proto")
    return any(a.endswith("/proto") for a in c.list_clusters()["clusterArns"])


def _pipes(c: Any, make: Callable[[str], Any]) -> Any:
    c.create_pipe(Name="proto", RoleArn=ROLE, Source="arn:aws:sqs:us-east-1:123456789012:a",
                  Target="arn:aws:sqs:us-east-1:123456789012:b")
    return c.describe_pipe(Name="proto")["Name"] == "proto"


def _datasync(c: Any, make: Callable[[str], Any]) -> Any:
    arn = c.create_location_smb(ServerHostname="127.0.0.1", Subdirectory="/share", User="u",
                                Password="p", AgentArns=["arn:aws:datasync:us-east-1:123456789012:agent/agent-1"])
    return c.describe_location_smb(LocationArn=arn["LocationArn"])["LocationArn"] == arn["LocationArn"]


def _zip() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("h.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


CALLS: dict[str, Callable[[Any, Callable[[str], Any]], Any]] = {
    "sqs": _sqs, "sns": _sns, "lambda": _lambda, "events": _events, "scheduler": _scheduler,
    "kinesis": _kinesis, "firehose": _firehose, "s3": _s3, "athena": _athena, "glue": _glue,
    "stepfunctions": _stepfunctions, "apigateway": _apigateway, "apigatewayv2": _apigatewayv2,
    "cloudwatch": _cloudwatch, "logs": _logs, "application-autoscaling": _appscaling,
    "kafka": _kafka, "iam": _iam, "sts": _sts, "dynamodb": _dynamodb, "ecs": _ecs,
    "pipes": _pipes, "datasync": _datasync,
}


def test_every_served_service_has_a_call():
    assert set(CALLS) == set(SERVED)


@pytest.mark.parametrize("over", ["in-process", "http"])
@pytest.mark.parametrize("service", sorted(CALLS))
def test_one_write_and_one_read_with_the_installed_botocore(sandbox, service, over):
    endpoint = {"endpoint_url": sandbox.endpoint_url} if over == "http" else {}

    def make(name: str) -> Any:
        return boto3.client(name, region_name="us-east-1", **endpoint)

    client = make(service)
    assert CALLS[service](client, make), f"{service} ({client.meta.service_model.protocol}) over {over}"


def test_athena_runs_a_query_over_http_with_the_installed_botocore(sandbox):
    sandbox.client("s3").create_bucket(Bucket="proto-results")
    athena = boto3.client("athena", region_name="us-east-1", endpoint_url=sandbox.endpoint_url)
    assert athena.meta.service_model.protocol in ("json", "rest-json")
    run = athena.start_query_execution(QueryString="SELECT 40 + 2 AS answer",
                                       ResultConfiguration={"OutputLocation": "s3://proto-results/q/"})
    execution = athena.get_query_execution(QueryExecutionId=run["QueryExecutionId"])["QueryExecution"]
    assert execution["Status"]["State"] == "SUCCEEDED"
    rows = athena.get_query_results(QueryExecutionId=run["QueryExecutionId"])["ResultSet"]["Rows"]
    assert [r["Data"][0]["VarCharValue"] for r in rows] == ["answer", "42"]


@pytest.mark.parametrize("over", ["in-process", "http"])
def test_an_action_inside_a_json_body_is_data_not_the_operation(sandbox, over):
    """moto read ``Action=`` from any body it could split as a form: these calls failed."""
    endpoint = {"endpoint_url": sandbox.endpoint_url} if over == "http" else {}
    sqs = boto3.client("sqs", region_name="us-east-1", **endpoint)
    url = sqs.create_queue(QueueName="forms")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="size=2&Action=DeleteQueue")
    [message] = sqs.receive_message(QueueUrl=url)["Messages"]
    assert message["Body"] == "size=2&Action=DeleteQueue"
    events = boto3.client("events", region_name="us-east-1", **endpoint)
    answer = events.put_events(Entries=[{"Source": "shop", "DetailType": "search",
                                         "Detail": '{"query": "q=shoes&Action=Buy"}'}])
    assert answer["FailedEntryCount"] == 0
    apigw = boto3.client("apigateway", region_name="us-east-1", **endpoint)
    api = apigw.create_rest_api(name="forms")["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    apigw.put_method(restApiId=api, resourceId=root, httpMethod="POST", authorizationType="NONE")
    template = "MessageBody=$util.urlEncode($input.body)&Action=SendMessage"   # Action last
    apigw.put_integration(restApiId=api, resourceId=root, httpMethod="POST", type="AWS",
                          integrationHttpMethod="POST", uri="arn:aws:apigateway:us-east-1:sqs:path/123456789012/forms",
                          requestTemplates={"application/json": template})
    stored = apigw.get_integration(restApiId=api, resourceId=root, httpMethod="POST")
    assert stored["requestTemplates"] == {"application/json": template}


def test_the_query_protocol_still_routes_by_action(sandbox):
    """A form-encoded body (SQS's query protocol, as API Gateway integrations and old SDKs
    speak it) still names its operation with Action."""
    import requests

    url = sandbox.client("sqs").create_queue(QueueName="query")["QueueUrl"]
    signed = {"Authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261206/us-east-1/"
                               "sqs/aws4_request, SignedHeaders=host, Signature=0"}   # names the service
    answer = requests.post(sandbox.endpoint_url, headers=signed, timeout=10,
                           data={"Action": "SendMessage", "QueueUrl": url, "MessageBody": "a=1&b=2"})
    assert answer.status_code == 200 and "<MessageId>" in answer.text
    [message] = sandbox.client("sqs").receive_message(QueueUrl=url)["Messages"]
    assert message["Body"] == "a=1&b=2"


@pytest.mark.parametrize("over", ["in-process", "http"])
@pytest.mark.parametrize("bucket", ["logs", "events", "kinesis.raw"])
def test_a_bucket_named_like_a_service_is_s3s(sandbox, bucket, over):
    """In-process boto3 asks ``https://logs.s3.amazonaws.com/``, which moto sent to CloudWatch
    Logs (404 on CreateBucket); AWS serves any ``<bucket>.s3...`` host from S3."""
    endpoint = {"endpoint_url": sandbox.endpoint_url} if over == "http" else {}
    s3 = boto3.client("s3", region_name="us-east-1", **endpoint)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a/1.json", Body=b'{"n": 1}')
    assert s3.get_object(Bucket=bucket, Key="a/1.json")["Body"].read() == b'{"n": 1}'
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["a/1.json"]
    west = boto3.client("s3", region_name="eu-west-1", **endpoint)
    west.create_bucket(Bucket=f"{bucket}-west", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert west.get_bucket_location(Bucket=f"{bucket}-west")["LocationConstraint"] == "eu-west-1"
    # the services whose names the buckets borrowed still answer for themselves
    assert boto3.client("logs", region_name="us-east-1", **endpoint).describe_log_groups()["logGroups"] is not None
