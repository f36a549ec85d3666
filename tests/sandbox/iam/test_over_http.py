"""Accounts and resource policies over ``eventlab serve``, as an SDK user meets them."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.conftest import serve_process

MEMBER = "111111111111"


def client(service, url, key="AKIADEFAULTACCOUNT00"):
    return boto3.client(service, endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key="y")


def queue(url, name, key="AKIADEFAULTACCOUNT00"):
    sqs = client("sqs", url, key)
    q = sqs.create_queue(QueueName=name)["QueueUrl"]
    return q, sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def test_a_twelve_digit_key_selects_the_account_and_cross_account_calls_follow_policies(served):
    url, _ = served
    assert client("sts", url, MEMBER).get_caller_identity()["Account"] == MEMBER
    assert client("sts", url).get_caller_identity()["Account"] == "123456789012"
    q, arn = queue(url, "orders")
    assert "/123456789012/orders" in q
    with pytest.raises(ClientError) as denied:
        client("sqs", url, MEMBER).send_message(QueueUrl=q, MessageBody="x")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    client("sqs", url).set_queue_attributes(QueueUrl=q, Attributes={"Policy": json.dumps({"Statement": [{
        "Effect": "Allow", "Principal": {"AWS": MEMBER}, "Action": "sqs:SendMessage", "Resource": arn}]})})
    client("sqs", url, MEMBER).send_message(QueueUrl=q, MessageBody="from member")
    assert [m["Body"] for m in client("sqs", url).receive_message(QueueUrl=q)["Messages"]] == ["from member"]
    mine, _ = queue(url, "orders", MEMBER)                 # the same name in another account
    assert f"/{MEMBER}/orders" in mine
    assert client("sqs", url, MEMBER).receive_message(QueueUrl=mine).get("Messages") is None


def test_cross_account_put_events_and_sns_deliveries_over_http(served):
    url, _ = served
    q, arn = queue(url, "central-in")
    events = client("events", url)
    bus = events.create_event_bus(Name="central")["EventBusArn"]
    events.put_rule(Name="all", EventBusName="central", EventPattern=json.dumps({"source": ["shop"]}))
    events.put_targets(Rule="all", EventBusName="central", Targets=[{"Id": "q", "Arn": arn}])
    entry = {"Source": "shop", "DetailType": "order", "Detail": "{}", "EventBusName": bus}
    with pytest.raises(ClientError) as denied:
        client("events", url, MEMBER).put_events(Entries=[entry])
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    events.put_permission(EventBusName="central", Action="events:PutEvents", Principal=MEMBER, StatementId="m")
    assert client("events", url, MEMBER).put_events(Entries=[entry])["FailedEntryCount"] == 0
    got = client("sqs", url).receive_message(QueueUrl=q)["Messages"]
    assert json.loads(got[0]["Body"])["source"] == "shop"


def test_strict_serve_drops_an_sns_delivery_to_a_queue_without_policy(tmp_path):
    with serve_process(tmp_path, "--policies", "strict") as (url, _):
        sns = client("sns", url)
        topic = sns.create_topic(Name="uploads")["TopicArn"]
        open_q, open_arn = queue(url, "no-policy")
        ok_q, ok_arn = queue(url, "with-policy")
        client("sqs", url).set_queue_attributes(QueueUrl=ok_q, Attributes={"Policy": json.dumps({"Statement": [{
            "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
            "Resource": ok_arn, "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]})})
        for endpoint in (open_arn, ok_arn):
            sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=endpoint)
        sns.publish(TopicArn=topic, Message="hello")
        assert client("sqs", url).receive_message(QueueUrl=open_q).get("Messages") is None
        assert len(client("sqs", url).receive_message(QueueUrl=ok_q)["Messages"]) == 1


def test_serve_iam_enforce_decides_a_handlers_calls_with_its_role(tmp_path):
    from eventlab.sandbox import zip_code
    from tests.sandbox.iam.test_identity import SENDER, allow, document, trust

    with serve_process(tmp_path, "--iam", "enforce") as (url, _):
        ok_q, ok_arn = queue(url, "handler-ok")
        no_q, no_arn = queue(url, "handler-no")
        iam = client("iam", url)
        role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument=trust(
            {"Service": "lambda.amazonaws.com"}))["Role"]["Arn"]
        iam.put_role_policy(RoleName="fn", PolicyName="send", PolicyDocument=document(allow("sqs:SendMessage", ok_arn)))
        lam = client("lambda", url)
        lam.create_function(FunctionName="sender", Runtime="python3.12", Role=role, Timeout=60,
                            Handler="lambda_function.handler", Code={"ZipFile": zip_code(SENDER)})
        got = json.loads(lam.invoke(FunctionName="sender", Payload=json.dumps({"urls": [ok_q, no_q]}))["Payload"].read())
        assert got["me"] == "arn:aws:sts::123456789012:assumed-role/fn/sender"
        assert got["results"][0] == "sent"
        assert got["results"][1].startswith("AccessDenied: User: arn:aws:sts::123456789012:assumed-role/fn/sender "
                                            f"is not authorized to perform: sqs:SendMessage on resource: {no_arn}")
        with pytest.raises(ClientError) as refused:    # the trust policy names Lambda only
            client("sts", url).assume_role(RoleArn=role, RoleSessionName="me")
        assert refused.value.response["Error"]["Code"] == "AccessDenied"
        assert client("sqs", url).receive_message(QueueUrl=no_q).get("Messages") is None


def test_serve_validates_s3_notification_destinations_and_applies_a_same_account_deny(served):
    url, _ = served
    s3 = client("s3", url)
    s3.create_bucket(Bucket="served-uploads")
    q, arn = queue(url, "served-uploads-events")
    sqs = client("sqs", url)
    config = {"QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]}
    only_other_bucket = {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sqs:SendMessage",
                         "Resource": arn, "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::other"}}}
    sqs.set_queue_attributes(QueueUrl=q, Attributes={"Policy": json.dumps({"Statement": [only_other_bucket]})})
    with pytest.raises(ClientError) as refused:
        s3.put_bucket_notification_configuration(Bucket="served-uploads", NotificationConfiguration=config)
    assert refused.value.response["Error"]["Code"] == "InvalidArgument"
    allowed = dict(only_other_bucket, Condition={"ArnLike": {"aws:SourceArn": "arn:aws:s3:::served-uploads"}})
    sqs.set_queue_attributes(QueueUrl=q, Attributes={"Policy": json.dumps({"Statement": [allowed, {
        "Effect": "Deny", "Principal": "*", "Action": "sqs:PurgeQueue", "Resource": arn}]})})
    s3.put_bucket_notification_configuration(Bucket="served-uploads", NotificationConfiguration=config)
    s3.put_object(Bucket="served-uploads", Key="k.csv", Body=b"1")
    events = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10)["Messages"]]
    assert [e.get("Event") or e["Records"][0]["s3"]["object"]["key"] for e in events] == ["s3:TestEvent", "k.csv"]
    with pytest.raises(ClientError) as denied:
        sqs.purge_queue(QueueUrl=q)
    assert denied.value.response["Error"]["Code"] == "AccessDenied"


def test_serve_iam_enforce_checks_s3_managed_policies_and_pipe_roles(tmp_path):
    import urllib.request

    from tests.sandbox.iam.test_identity import allow, document, trust

    with serve_process(tmp_path, "--iam", "enforce") as (url, _):
        iam = client("iam", url)
        role = iam.create_role(RoleName="worker", AssumeRolePolicyDocument=trust({"AWS": "123456789012"}))["Role"]["Arn"]
        iam.attach_role_policy(RoleName="worker", PolicyArn="arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess")
        iam.put_role_policy(RoleName="worker", PolicyName="s3", PolicyDocument=document(
            allow("s3:PutObject", "arn:aws:s3:::served-iam/in/*")))
        client("s3", url).create_bucket(Bucket="served-iam")
        keys = client("sts", url).assume_role(RoleArn=role, RoleSessionName="cli")["Credentials"]
        s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id=keys["AccessKeyId"],
                          aws_secret_access_key=keys["SecretAccessKey"], aws_session_token=keys["SessionToken"])
        s3.put_object(Bucket="served-iam", Key="in/a", Body=b"1")
        with pytest.raises(ClientError) as refused:
            s3.put_object(Bucket="served-iam", Key="out/a", Body=b"1")
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        assert refused.value.response["Error"]["Code"] == "AccessDenied"
        assert "s3:PutObject on resource: arn:aws:s3:::served-iam/out/a" in refused.value.response["Error"]["Message"]
        _, source_arn = queue(url, "pipe-in")
        _, target_arn = queue(url, "pipe-out")
        pipes_role = iam.create_role(RoleName="pipe", AssumeRolePolicyDocument=trust(
            {"Service": "pipes.amazonaws.com"}))["Role"]["Arn"]
        iam.attach_role_policy(RoleName="pipe", PolicyArn="arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess")
        client("pipes", url).create_pipe(Name="read-only", Source=source_arn, Target=target_arn, RoleArn=pipes_role)
        advance = urllib.request.Request(f"{url}/_eventlab/clock/advance", data=json.dumps({"seconds": 1}).encode(),
                                         method="POST", headers={"Content-Type": "application/json"})
        urllib.request.urlopen(advance).read()
        described = client("pipes", url).describe_pipe(Name="read-only")
        assert described["CurrentState"] == "CREATE_FAILED"    # read-only: no sqs:ReceiveMessage
        assert described["StateReason"].endswith("does not have permissions to call ReceiveMessage on SQS")
