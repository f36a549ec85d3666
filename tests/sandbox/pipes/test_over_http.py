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


def test_an_msk_pipe_delivers_what_a_kafka_producer_sent_over_http(served):
    from eventlab.kafka import tools

    url, _ = served

    def advance(seconds):
        urllib.request.urlopen(urllib.request.Request(f"{url}/_eventlab/clock/advance", method="POST",
                                                      data=json.dumps({"seconds": seconds}).encode()),
                               timeout=30).read()

    kafka = client("kafka", url)
    cluster = kafka.create_cluster(ClusterName="orders", KafkaVersion="3.6.0", NumberOfBrokerNodes=1,
                                   BrokerNodeGroupInfo={"InstanceType": "kafka.m5.large",
                                                        "ClientSubnets": ["subnet-a"]})["ClusterArn"]
    advance(300)
    bootstrap = kafka.get_bootstrap_brokers(ClusterArn=cluster)["BootstrapBrokerStringTls"]
    tools.create_topic(bootstrap, "orders", 2)
    sqs = client("sqs", url)
    target = sqs.create_queue(QueueName="orders-out")["QueueUrl"]
    target_arn = sqs.get_queue_attributes(QueueUrl=target, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    role = client("iam", url).create_role(RoleName="pipe", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    client("pipes", url).create_pipe(
        Name="orders", Source=cluster, Target=target_arn, RoleArn=role,
        SourceParameters={"ManagedStreamingKafkaParameters": {
            "TopicName": "orders", "StartingPosition": "TRIM_HORIZON", "ConsumerGroupID": "orders-pipe"}},
        TargetParameters={"InputTemplate": '{"order": <$.value.id>}'})
    advance(1)
    tools.produce(bootstrap, "orders", [(f"customer-{i % 2}", json.dumps({"id": i})) for i in range(6)])
    advance(1)
    got = []
    while len(got) < 6:
        messages = sqs.receive_message(QueueUrl=target, MaxNumberOfMessages=10).get("Messages", [])
        assert messages, f"only {len(got)} of 6 orders arrived"
        got += [json.loads(m["Body"]) for m in messages]
        sqs.delete_message_batch(QueueUrl=target, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])
    assert sorted(g["order"] for g in got) == list(range(6))      # the JSON value, read by the template
    assert tools.describe_group(bootstrap, "orders-pipe").total_lag == 0
