"""EventBridge Pipes' roles under ``iam="enforce"``: reading the source is checked when the
pipe starts (refused: CREATE_FAILED with AWS's StateReason), each enrichment and target call
when it is made (refused: retried as a customer error, then the DLQ)."""

from __future__ import annotations

import json

import pytest

from eventlab.sandbox import Sandbox
from eventlab.sandbox.pipes.service import TRANSITION_SECONDS
from tests.sandbox.helpers import drain, make_queue
from tests.sandbox.iam.test_identity import CENTRAL, allow, make_role
from tests.sandbox.pipes.helpers import state, stream

PIPES = {"Service": "pipes.amazonaws.com"}
READ_SQS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
READ_KINESIS = ("kinesis:DescribeStream", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards")
INVALID = "Input parameter is invalid from the request due to : "


@pytest.fixture
def enforced():
    with Sandbox(iam="enforce") as sb:
        yield sb


def pipe(sb, name, source, target, role, **spec):
    sb.client("pipes").create_pipe(Name=name, Source=source, Target=target, RoleArn=role, **spec)
    sb.clock.advance(seconds=TRANSITION_SECONDS)
    return sb.client("pipes").describe_pipe(Name=name)


def test_a_role_that_may_not_read_the_queue_fails_the_pipe_with_awss_reason(enforced):
    sb = enforced
    url, arn = make_queue(sb, "orders")
    out, out_arn = make_queue(sb, "out")
    role = make_role(sb, "half", PIPES, allow(["sqs:ReceiveMessage", "sqs:SendMessage"], "*"))
    sb.client("sqs").send_message(QueueUrl=url, MessageBody="waiting")
    got = pipe(sb, "half", arn, out_arn, role)
    assert got["CurrentState"] == "CREATE_FAILED"
    assert got["StateReason"] == (INVALID + "The provided customer role does not have permissions to call "
                                  "DeleteMessage on SQS")
    sb.clock.advance(seconds=5)
    assert drain(sb, out) == [] and [m["Body"] for m in drain(sb, url, attributes=True)] == ["waiting"]


def test_a_role_with_the_documented_permissions_runs_the_pipe(enforced):
    sb = enforced
    url, arn = make_queue(sb, "orders")
    out, out_arn = make_queue(sb, "out")
    role = make_role(sb, "full", PIPES, allow(list(READ_SQS), arn), allow("sqs:SendMessage", out_arn))
    assert pipe(sb, "full", arn, out_arn, role)["CurrentState"] == "RUNNING"
    sb.client("sqs").send_message(QueueUrl=url, MessageBody="through")
    assert [m["body"] for m in drain(sb, out)] == ["through"]


def test_an_aws_managed_policy_is_enough_for_a_pipe(enforced):
    sb = enforced
    url, arn = make_queue(sb, "orders")
    out, out_arn = make_queue(sb, "out")
    role = make_role(sb, "managed", PIPES)
    sb.client("iam").attach_role_policy(RoleName="managed", PolicyArn="arn:aws:iam::aws:policy/AmazonSQSFullAccess")
    assert pipe(sb, "managed", arn, out_arn, role)["CurrentState"] == "RUNNING"
    sb.client("sqs").send_message(QueueUrl=url, MessageBody="managed")
    assert [m["body"] for m in drain(sb, out)] == ["managed"]


def test_stream_sources_dlqs_and_trust_are_checked_at_start(enforced):
    sb = enforced
    arn = stream(sb, "payments")
    out, out_arn = make_queue(sb, "out")
    dlq, dlq_arn = make_queue(sb, "dlq")
    params = {"KinesisStreamParameters": {"StartingPosition": "TRIM_HORIZON", "DeadLetterConfig": {"Arn": dlq_arn}}}
    reader = make_role(sb, "reader", PIPES, allow(list(READ_KINESIS[:3]), arn), allow("sqs:SendMessage", "*"))
    got = pipe(sb, "no-list-shards", arn, out_arn, reader, SourceParameters=params)
    assert got["StateReason"] == (INVALID + f"Cannot access stream {arn}. Please ensure the customer role can "
                                  "perform actions on source stream")
    no_dlq = make_role(sb, "no-dlq", PIPES, allow(list(READ_KINESIS), arn), allow("sqs:SendMessage", out_arn))
    got = pipe(sb, "no-dlq", arn, out_arn, no_dlq, SourceParameters=params)
    assert (got["CurrentState"], got["StateReason"]) == (
        "CREATE_FAILED", INVALID + f"Error occurred while sending message to SQS queue: {dlq_arn}")
    lambdas = make_role(sb, "for-lambda", {"Service": "lambda.amazonaws.com"}, allow("*", "*"))
    got = pipe(sb, "wrong-trust", arn, out_arn, lambdas, SourceParameters=params)
    assert got["CurrentState"] == "CREATE_FAILED" and "pipes.amazonaws.com cannot assume" in got["StateReason"]
    sb.client("kinesis").put_record(StreamName="payments", Data=b"1", PartitionKey="k")
    sb.clock.advance(seconds=5)
    assert drain(sb, out) == [] and sb.service("pipes").batches == []


def test_start_pipe_fails_when_the_role_lost_the_source_permission(enforced):
    sb = enforced
    url, arn = make_queue(sb, "orders")
    out, out_arn = make_queue(sb, "out")
    role = make_role(sb, "later", PIPES, allow(list(READ_SQS), arn), allow("sqs:SendMessage", out_arn))
    assert pipe(sb, "later", arn, out_arn, role, DesiredState="STOPPED")["CurrentState"] == "STOPPED"
    sb.client("iam").put_role_policy(RoleName="later", PolicyName="inline", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [allow("sqs:SendMessage", out_arn)]}))
    sb.client("pipes").start_pipe(Name="later")
    sb.clock.advance(seconds=TRANSITION_SECONDS)
    assert state(sb, "later") == "START_FAILED"


def test_a_target_the_role_may_not_send_to_is_retried_until_the_redrive(enforced):
    sb = enforced
    dlq, dlq_arn = make_queue(sb, "orders-dlq")
    url, arn = make_queue(sb, "orders", VisibilityTimeout="30",
                          RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}))
    out, out_arn = make_queue(sb, "out")
    role = make_role(sb, "reads-only", PIPES, allow(list(READ_SQS), arn))
    assert pipe(sb, "reads-only", arn, out_arn, role)["CurrentState"] == "RUNNING"
    sb.client("sqs").send_message(QueueUrl=url, MessageBody="refused")
    first = sb.service("pipes").batches[-1]
    assert first["ok"] is False and first["error"] == (
        f"NO_PERMISSIONS: User: arn:aws:sts::{CENTRAL}:assumed-role/reads-only/reads-only is not authorized to "
        f"perform: sqs:SendMessage on resource: {out_arn} because no identity-based policy allows the "
        "sqs:SendMessage action")
    sb.clock.advance(seconds=31)                       # received a second time, refused again
    sb.clock.advance(seconds=31)                       # maxReceiveCount 2: moved to the queue's DLQ
    assert [b["ok"] for b in sb.service("pipes").batches] == [False, False]
    assert [m["Body"] for m in drain(sb, dlq, attributes=True)] == ["refused"] and drain(sb, out) == []
    refused = [r for r in sb.service("identity").refused if r["action"] == "sqs:SendMessage"]
    assert len(refused) == 2


def test_a_refused_stream_batch_is_retried_then_dead_lettered(enforced):
    sb = enforced
    arn = stream(sb, "payments")
    dlq, dlq_arn = make_queue(sb, "payments-dlq")
    out, out_arn = make_queue(sb, "out")
    role = make_role(sb, "no-target", PIPES, allow(list(READ_KINESIS), arn), allow("sqs:SendMessage", dlq_arn))
    params = {"KinesisStreamParameters": {"StartingPosition": "TRIM_HORIZON", "MaximumRetryAttempts": 2,
                                          "DeadLetterConfig": {"Arn": dlq_arn}}}
    assert pipe(sb, "no-target", arn, out_arn, role, SourceParameters=params)["CurrentState"] == "RUNNING"
    sb.client("kinesis").put_record(StreamName="payments", Data=b"1", PartitionKey="k")
    sb.clock.advance(seconds=10)
    assert len(sb.service("pipes").batches) == 3       # the first try and 2 retries
    [message] = drain(sb, dlq)
    assert message["context"]["condition"] == "RetryAttemptsExhausted"
    assert "not authorized to perform: sqs:SendMessage" in message["context"]["errorMessage"]
    assert drain(sb, out) == []


ECHO = "def handler(event, context):\n    return event\n"


def test_enrichment_needs_lambda_invoke_function(enforced):
    from tests.sandbox.helpers import zip_code

    sb = enforced
    fn_role = make_role(sb, "fn", {"Service": "lambda.amazonaws.com"})
    fn = sb.client("lambda").create_function(FunctionName="echo", Runtime="python3.12", Role=fn_role,
                                             Handler="lambda_function.handler", Code={"ZipFile": zip_code(ECHO)})
    url, arn = make_queue(sb, "orders", VisibilityTimeout="30")
    out, out_arn = make_queue(sb, "out")
    role = make_role(sb, "enricher", PIPES, allow(list(READ_SQS), arn), allow("sqs:SendMessage", out_arn))
    assert pipe(sb, "enricher", arn, out_arn, role, Enrichment=fn["FunctionArn"])["CurrentState"] == "RUNNING"
    sb.client("sqs").send_message(QueueUrl=url, MessageBody="enrich me")
    batch = sb.service("pipes").batches[-1]
    assert batch["ok"] is False and "lambda:InvokeFunction on resource: " + fn["FunctionArn"] in batch["error"]
    sb.client("iam").put_role_policy(RoleName="enricher", PolicyName="invoke", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [allow("lambda:InvokeFunction", fn["FunctionArn"])]}))
    sb.clock.advance(seconds=31)                       # back after the visibility timeout: now allowed
    assert [m["body"] for m in drain(sb, out)] == ["enrich me"]


def test_a_dynamodb_stream_source_needs_list_streams_too(enforced):
    from tests.sandbox.pipes.test_sources import dynamodb_table

    sb = enforced
    ddb, stream_arn = dynamodb_table(sb)
    out, out_arn = make_queue(sb, "out")
    three = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
    role = make_role(sb, "ddb", PIPES, allow(three, stream_arn), allow("sqs:SendMessage", out_arn))
    params = {"DynamoDBStreamParameters": {"StartingPosition": "TRIM_HORIZON"}}
    got = pipe(sb, "no-list", stream_arn, out_arn, role, SourceParameters=params)
    assert got["StateReason"] == (INVALID + f"Cannot access stream {stream_arn}. Please ensure the customer role "
                                  "can perform actions on source stream")
    sb.client("iam").put_role_policy(RoleName="ddb", PolicyName="list", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [allow("dynamodb:ListStreams", "*")]}))
    assert pipe(sb, "listed", stream_arn, out_arn, role, SourceParameters=params)["CurrentState"] == "RUNNING"
    ddb.put_item(TableName="orders", Item={"id": {"S": "o-1"}})
    sb.clock.advance(seconds=1)
    assert [r["dynamodb"]["Keys"] for r in drain(sb, out)] == [{"id": {"S": "o-1"}}]
