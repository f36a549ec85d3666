"""The architecture picture draws the data paths too: API Gateway, Kinesis, Firehose, Step Functions."""

from __future__ import annotations

import json

from autograder.diagram import picture


def test_data_paths_in_the_picture(sandbox):
    sandbox.client("sqs").create_queue(QueueName="orders")
    gw = sandbox.client("apigateway")
    api = gw.create_rest_api(name="shop")["id"]
    root = next(r["id"] for r in gw.get_resources(restApiId=api)["items"] if r["path"] == "/")
    orders = gw.create_resource(restApiId=api, parentId=root, pathPart="orders")["id"]
    gw.put_method(restApiId=api, resourceId=orders, httpMethod="POST", authorizationType="NONE")
    gw.put_integration(restApiId=api, resourceId=orders, httpMethod="POST", type="AWS",
                       integrationHttpMethod="POST",
                       uri="arn:aws:apigateway:us-east-1:sqs:path/123456789012/orders")
    kinesis = sandbox.client("kinesis")
    kinesis.create_stream(StreamName="telemetry", ShardCount=2)
    kinesis.put_record(StreamName="telemetry", Data=b"21.5", PartitionKey="dev-1")
    stream_arn = kinesis.describe_stream(StreamName="telemetry")["StreamDescription"]["StreamARN"]
    sandbox.client("s3").create_bucket(Bucket="lake")
    role = "arn:aws:iam::123456789012:role/firehose"
    sandbox.client("firehose").create_delivery_stream(
        DeliveryStreamName="to-lake", DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={"KinesisStreamARN": stream_arn, "RoleARN": role},
        ExtendedS3DestinationConfiguration={"BucketARN": "arn:aws:s3:::lake", "RoleARN": role,
                                            "CompressionFormat": "GZIP"})
    sfn = sandbox.client("stepfunctions")
    machine = sfn.create_state_machine(name="saga", roleArn=role, definition=json.dumps(
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
    sfn.start_execution(stateMachineArn=machine)

    text = picture(sandbox).text()
    assert "shop (API Gateway) -> orders (SQS)  (POST /orders)" in text
    assert "telemetry (Kinesis, 2 shards, 1 record) -> to-lake (Firehose)  (reads)" in text
    assert "to-lake (Firehose) -> lake (S3)  (GZIP)" in text
    assert "saga (Step Functions STANDARD, 1 run)" in text


def test_function_errors_and_throttles_show_as_red_nodes_with_an_error_edge(sandbox, make_function):
    make_function("thumbnailer", "def handler(event, context):\n    return event['video_id']\n")
    make_function("billing", "def handler(event, context):\n    return event\n")
    lam = sandbox.client("lambda")
    lam.invoke(FunctionName="thumbnailer", Payload=b'{"Records": []}')
    lam.invoke(FunctionName="thumbnailer", Payload=b'{"Records": []}')
    lam.put_function_concurrency(FunctionName="billing", ReservedConcurrentExecutions=0)
    lam.invoke(FunctionName="billing", InvocationType="Event", Payload=b"{}")
    lam.invoke(FunctionName="billing", InvocationType="Event", Payload=b"{}")
    pic = picture(sandbox)
    text = pic.text()
    assert "thumbnailer (Lambda) -> 2 errors, last KeyError: 'video_id'  (errors)" in text
    assert "billing (Lambda) -> 2 invocations throttled (no concurrency left)  (throttled)" in text
    mermaid = pic.mermaid()
    assert "class f_billing,f_thumbnailer problem" in mermaid
    assert '-.->|"errors"|' in mermaid


def test_a_healthy_function_is_not_marked(sandbox, make_function):
    make_function("ok", "def handler(event, context):\n    return 1\n")
    sandbox.client("lambda").invoke(FunctionName="ok")
    assert "problem" not in picture(sandbox).mermaid()


def test_a_delivery_refused_by_a_queue_policy_shows_as_a_red_queue(sandbox):
    sns, sqs = sandbox.client("sns"), sandbox.client("sqs")
    topic = sns.create_topic(Name="uploads")["TopicArn"]
    url = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({"Statement": [{
        "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": arn, "Condition": {"ArnEquals": {"aws:SourceArn": topic + "-old"}}}]})})
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    sns.publish(TopicArn=topic, Message="x")
    pic = picture(sandbox)
    assert "inbox (SQS) -> 1 delivery from uploads refused by its resource policy  (refused)" in pic.text()
    assert "class q_inbox problem" in pic.mermaid()


def test_a_pipe_is_drawn_from_its_queue_to_its_bus_with_its_enrichment(sandbox, make_function):
    sqs, events = sandbox.client("sqs"), sandbox.client("events")
    url = sqs.create_queue(QueueName="storefront")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = events.create_event_bus(Name="orders")["EventBusArn"]
    make_function("lookup", "def handler(event, context):\n    return event\n")
    lookup = sandbox.client("lambda").get_function(FunctionName="lookup")["Configuration"]["FunctionArn"]
    role = sandbox.client("iam").create_role(RoleName="pipe", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    sandbox.client("pipes").create_pipe(
        Name="orders-in", RoleArn=role, Source=queue, Enrichment=lookup, Target=bus,
        SourceParameters={"FilterCriteria": {"Filters": [{"Pattern": '{"body": {"status": ["PLACED"]}}'}]}})
    sandbox.clock.advance(seconds=2)
    for status in ("PLACED", "DRAFT", "PLACED"):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"status": status}))
    sandbox.clock.advance(seconds=2)
    text = picture(sandbox).text()
    assert "storefront (SQS) -> pipe orders-in (RUNNING)  (3 msgs, 1 filtered out)" in text
    assert "pipe orders-in (RUNNING) -> lookup (Lambda)  (enrichment)" in text
    assert "pipe orders-in (RUNNING) -> orders (bus)  (2 msgs)" in text
