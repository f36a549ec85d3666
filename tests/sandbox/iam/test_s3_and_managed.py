"""Identity policies (``iam="enforce"``) for S3 calls made with a role, and AWS managed
policies attached to a role (moto's documents, looked up when first attached)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from eventlab.sandbox import Sandbox
from tests.sandbox.helpers import make_queue, zip_code
from tests.sandbox.iam.test_identity import CENTRAL, allow, as_role, error, make_role, run_sender

BUCKET = "uploads-iam"
DENIED = f"User: arn:aws:sts::{CENTRAL}:assumed-role/{{role}}/{{session}} is not authorized to perform: {{action}} " \
         f"on resource: {{resource}} because no identity-based policy allows the {{action}} action"

S3_HANDLER = '''
import boto3
from botocore.exceptions import ClientError
def handler(event, context):
    s3, out = boto3.client("s3"), []
    for key in event["keys"]:
        try:
            s3.put_object(Bucket=event["bucket"], Key=key, Body=b"data")
            out.append("put")
        except ClientError as exc:
            out.append(str(exc.response["ResponseMetadata"]["HTTPStatusCode"]) + " "
                       + exc.response["Error"]["Code"] + ": " + exc.response["Error"]["Message"])
    try:
        out.append(s3.get_object(Bucket=event["bucket"], Key=event["keys"][0])["Body"].read().decode())
    except ClientError as exc:
        out.append(exc.response["Error"]["Code"])
    return {"results": out}
'''


@pytest.fixture
def enforced():
    with Sandbox(iam="enforce") as sb:
        yield sb


def invoke(sb, name, role, code, payload):
    sb.client("lambda").create_function(FunctionName=name, Runtime="python3.12", Role=role, Timeout=60,
                                        Handler="lambda_function.handler", Code={"ZipFile": zip_code(code)})
    out = sb.client("lambda").invoke(FunctionName=name, Payload=json.dumps(payload))
    return json.loads(out["Payload"].read())


def test_a_handlers_s3_calls_are_checked_against_its_role(enforced):
    sb = enforced
    sb.client("s3").create_bucket(Bucket=BUCKET)
    role = make_role(sb, "writer", {"Service": "lambda.amazonaws.com"},
                     allow("s3:PutObject", f"arn:aws:s3:::{BUCKET}/incoming/*"))
    got = invoke(sb, "s3-writer", role, S3_HANDLER, {"bucket": BUCKET, "keys": ["incoming/a.csv", "other/b.csv"]})
    denied = DENIED.format(role="writer", session="s3-writer", action="s3:PutObject",
                           resource=f"arn:aws:s3:::{BUCKET}/other/b.csv")
    assert got["results"] == ["put", f"403 AccessDenied: {denied}", "AccessDenied"]   # no s3:GetObject either
    keys = [o["Key"] for o in sb.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == ["incoming/a.csv"]                                  # the refused put wrote nothing
    assert [r["action"] for r in sb.service("identity").refused] == ["s3:PutObject", "s3:GetObject"]


def test_bucket_actions_are_checked_on_the_bucket_and_a_deny_wins(enforced):
    sb = enforced
    sb.client("s3").create_bucket(Bucket=BUCKET)
    sb.client("s3").put_object(Bucket=BUCKET, Key="secret/x", Body=b"1")
    role = make_role(sb, "reader", {"AWS": CENTRAL}, allow("s3:ListBucket", f"arn:aws:s3:::{BUCKET}"),
                     allow("s3:GetObject", f"arn:aws:s3:::{BUCKET}/*"),
                     allow("s3:GetObject", f"arn:aws:s3:::{BUCKET}/secret/*", "Deny"))
    s3 = as_role(sb, role, "s3")
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]] == ["secret/x"]
    s3.head_bucket(Bucket=BUCKET)                                       # HeadBucket is s3:ListBucket
    code, message = error(lambda: s3.get_object(Bucket=BUCKET, Key="secret/x"))
    assert code == "AccessDenied" and message.endswith("with an explicit deny in an identity-based policy")
    assert error(lambda: s3.head_object(Bucket=BUCKET, Key="secret/x")) == ("403", "Forbidden")   # no body
    code, message = error(lambda: s3.list_buckets())
    assert code == "AccessDenied" and "s3:ListAllMyBuckets on resource: *" in message
    code, _ = error(lambda: s3.create_bucket(Bucket="another-bucket-iam"))
    assert code == "AccessDenied"
    assert "another-bucket-iam" not in [b["Name"] for b in sb.client("s3").list_buckets()["Buckets"]]


def test_s3_is_not_checked_for_the_accounts_own_keys_or_with_iam_off(sandbox):
    sandbox.client("s3").create_bucket(Bucket=BUCKET)
    role = make_role(sandbox, "nothing", {"AWS": CENTRAL})
    as_role(sandbox, role, "s3").put_object(Bucket=BUCKET, Key="k", Body=b"1")   # iam="off": not checked
    assert sandbox.client("s3").get_object(Bucket=BUCKET, Key="k")["Body"].read() == b"1"


BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
SQS_FULL = "arn:aws:iam::aws:policy/AmazonSQSFullAccess"


def test_aws_managed_policies_attach_and_decide(enforced):
    sb = enforced
    url, arn = make_queue(sb, "managed")
    role = make_role(sb, "with-managed", {"Service": "lambda.amazonaws.com"})
    iam = sb.client("iam")
    iam.attach_role_policy(RoleName="with-managed", PolicyArn=BASIC)
    assert run_sender(sb, role, [url])["results"] == [
        "AccessDenied: " + DENIED.format(role="with-managed", session="sender", action="sqs:SendMessage",
                                         resource=arn)]      # logs only: no SQS permission yet
    iam.attach_role_policy(RoleName="with-managed", PolicyArn=SQS_FULL)
    out = sb.client("lambda").invoke(FunctionName="sender", Payload=json.dumps({"urls": [url]}))
    assert json.loads(out["Payload"].read())["results"] == ["sent"]
    attached = iam.list_attached_role_policies(RoleName="with-managed")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["AWSLambdaBasicExecutionRole", "AmazonSQSFullAccess"]
    policy = iam.get_policy(PolicyArn=SQS_FULL)["Policy"]
    version = iam.get_policy_version(PolicyArn=SQS_FULL, VersionId=policy["DefaultVersionId"])
    assert version["PolicyVersion"]["Document"]["Statement"][0]["Action"] == ["sqs:*"]


@pytest.mark.parametrize("arn", ["arn:aws:iam::aws:policy/NoSuchPolicyAnywhere",
                                 "arn:aws:iam::aws:policy/AWSLambdaBasicExecutionRole"])   # wrong path
def test_an_aws_managed_policy_aws_does_not_have_is_no_such_entity(sandbox, arn):
    make_role(sandbox, "r", {"AWS": CENTRAL})
    with pytest.raises(ClientError) as caught:
        sandbox.client("iam").attach_role_policy(RoleName="r", PolicyArn=arn)
    assert caught.value.response["Error"]["Code"] == "NoSuchEntity"
    assert caught.value.response["Error"]["Message"] == f"Policy {arn} does not exist or is not attachable."
    assert sandbox.client("iam").list_attached_role_policies(RoleName="r")["AttachedPolicies"] == []


def test_attaching_a_managed_policy_works_without_iam_and_loads_only_that_one(sandbox):
    sandbox.client("iam").create_role(RoleName="plain", AssumeRolePolicyDocument="{}")
    sandbox.client("iam").attach_role_policy(RoleName="plain", PolicyArn=BASIC)
    from moto.iam.models import iam_backends

    aws_owned = [p for p in iam_backends[CENTRAL]["aws"].managed_policies if ":iam::aws:" in p]
    assert aws_owned == [BASIC]
