"""A pipe over ``eventlab serve``: created and fed with the SDK against the endpoint."""

from __future__ import annotations

import json
import urllib.request

import boto3


def client(service, url):
    return boto3.client(service, endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="y")


def test_a_pipe_with_a_filter_and_a_template_runs_over_http(served):
    url, _ = served
    sqs = client("sqs", url)
    source = sqs.create_queue(QueueName="orders")["QueueUrl"]
    target = sqs.create_queue(QueueName="paid")["QueueUrl"]
    arns = [sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            for q in (source, target)]
    role = client("iam", url).create_role(RoleName="pipe", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    pipes = client("pipes", url)
    created = pipes.create_pipe(
        Name="paid-orders", Source=arns[0], Target=arns[1], RoleArn=role,
        SourceParameters={"FilterCriteria": {"Filters": [{"Pattern": json.dumps({"body": {"paid": [True]}})}]}},
        TargetParameters={"InputTemplate": '{"order": <$.body.id>}'})
    assert created["CurrentState"] == "CREATING"
    request = urllib.request.Request(f"{url}/_eventlab/clock/advance", data=json.dumps({"seconds": 1}).encode(),
                                     method="POST")
    urllib.request.urlopen(request, timeout=10).read()
    assert pipes.describe_pipe(Name="paid-orders")["CurrentState"] == "RUNNING"
    sqs.send_message(QueueUrl=source, MessageBody=json.dumps({"id": 1, "paid": True}))
    sqs.send_message(QueueUrl=source, MessageBody=json.dumps({"id": 2, "paid": False}))
    got = sqs.receive_message(QueueUrl=target, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"]) for m in got] == [{"order": 1}]
    attributes = sqs.get_queue_attributes(QueueUrl=source, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_a_kinesis_pipe_with_a_lambda_enrichment_runs_over_http(served):
    from eventlab.sandbox import zip_code

    url, _ = served
    kinesis = client("kinesis", url)
    kinesis.create_stream(StreamName="clicks", ShardCount=1)
    stream = kinesis.describe_stream(StreamName="clicks")["StreamDescription"]["StreamARN"]
    sqs = client("sqs", url)
    target = sqs.create_queue(QueueName="enriched")["QueueUrl"]
    target_arn = sqs.get_queue_attributes(QueueUrl=target, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    role = client("iam", url).create_role(RoleName="pipe", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    fn = client("lambda", url).create_function(
        FunctionName="enrich", Runtime="python3.12", Role=role, Handler="lambda_function.handler",
        Code={"ZipFile": zip_code("def handler(event, context):\n"
                                  "    return [{'user': e['user'], 'seen': len(event)} for e in event]\n")},
        Timeout=30)["FunctionArn"]
    pipes = client("pipes", url)
    pipes.create_pipe(Name="clicks", Source=stream, Target=target_arn, RoleArn=role, Enrichment=fn,
                      SourceParameters={"KinesisStreamParameters": {"StartingPosition": "TRIM_HORIZON"}},
                      EnrichmentParameters={"InputTemplate": '{"user": <$.data.user>}'})
    kinesis.put_record(StreamName="clicks", Data=json.dumps({"user": "ada"}).encode(), PartitionKey="ada")
    request = urllib.request.Request(f"{url}/_eventlab/clock/advance", data=json.dumps({"seconds": 1}).encode(),
                                     method="POST")
    urllib.request.urlopen(request, timeout=30).read()
    got = sqs.receive_message(QueueUrl=target, MaxNumberOfMessages=10, WaitTimeSeconds=5)["Messages"]
    assert [json.loads(m["Body"]) for m in got] == [{"user": "ada", "seen": 1}]
