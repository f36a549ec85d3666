"""Malformed input to every operation of the services the labs use, over HTTP: the
answer is always an AWS error a client can parse (never an HTML page, never a 500), and
the server keeps serving.

The requests come from botocore's service models (the locked botocore, the one the
server parses with): for each operation, one request without its required members and
one with every required member present but garbage (strings that name nothing, negative
numbers, one-element lists of garbage).  botocore's own parameter validation is off, and
so are retries, so that each request reaches the server exactly once.
"""

from __future__ import annotations

import datetime
import json
import urllib.request

import boto3
import botocore.exceptions
import pytest
from botocore import xform_name
from botocore.config import Config

SERVICES = ["sqs", "sns", "kinesis", "events", "lambda", "stepfunctions", "firehose", "logs",
            "cloudwatch", "apigateway", "apigatewayv2", "kafka", "scheduler", "athena", "pipes",
            "application-autoscaling", "datasync"]
# Operations whose garbage would make the server wait for real (a long poll of 20 s is
# valid input) or that botocore cannot send without a real stream.
SKIP = {("kinesis", "SubscribeToShard"), ("lambda", "InvokeWithResponseStream")}
GARBAGE = "not-a-valid-value!"


def garbage(shape, depth=0):
    kind = shape.type_name
    if kind == "structure":
        if depth > 3:
            return {}
        return {name: garbage(shape.members[name], depth + 1) for name in shape.required_members}
    if kind == "list":
        return [garbage(shape.member, depth + 1)]
    if kind == "map":
        return {GARBAGE: garbage(shape.value, depth + 1)}
    if kind in ("integer", "long"):
        return -7
    if kind in ("float", "double"):
        return -7.5
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return datetime.datetime(1970, 1, 2, tzinfo=datetime.UTC)
    if kind == "blob":
        return b"\x00\xffgarbage"
    if shape.enum:
        return "NOT_AN_ENUM_VALUE"
    return GARBAGE


def requests_for(client):
    model = client.meta.service_model
    for name in model.operation_names:
        if (model.service_name, name) in SKIP or model.operation_model(name).has_event_stream_output:
            continue
        shape = model.operation_model(name).input_shape
        if shape is None:
            yield name, "no input", {}
            continue
        full = garbage(shape)
        # without the required members (those in the URL path stay: no URL without them)
        yield name, "missing", {k: v for k, v in full.items()
                                if shape.members[k].serialization.get("location") == "uri"}
        if shape.required_members:
            yield name, "garbage", full


def test_no_operation_answers_html_or_500(served):
    url, proc = served
    config = Config(parameter_validation=False, retries={"total_max_attempts": 1}, inject_host_prefix=False,
                    read_timeout=30, connect_timeout=5)
    failures: list[str] = []
    operations = requests = 0
    for service in SERVICES:
        client = boto3.client(service, endpoint_url=url, region_name="us-east-1", config=config,
                              aws_access_key_id="x", aws_secret_access_key="y")
        seen = set()
        for operation, variant, params in requests_for(client):
            method = getattr(client, xform_name(operation))
            requests += 1
            seen.add(operation)
            try:
                method(**params)
            except botocore.exceptions.ClientError as exc:
                status = exc.response["ResponseMetadata"]["HTTPStatusCode"]
                headers = exc.response["ResponseMetadata"].get("HTTPHeaders", {})
                code = exc.response["Error"].get("Code")
                if "html" in headers.get("content-type", "") or (status >= 500 and status != 501):
                    failures.append(f"{service} {operation} ({variant}): {status} {code}")
                elif not code:
                    failures.append(f"{service} {operation} ({variant}): {status} without an error code")
                elif status == 501:
                    assert operation in exc.response["Error"]["Message"] or \
                        "not implemented" in exc.response["Error"]["Message"], exc.response["Error"]
            except (botocore.exceptions.ParamValidationError, botocore.exceptions.ValidationError,
                    TypeError, ValueError, KeyError) as exc:   # botocore could not even build the request
                if "could not be parsed" in str(exc) or "Unable to parse" in str(exc):
                    failures.append(f"{service} {operation} ({variant}): {type(exc).__name__}: {str(exc)[:160]}")
                requests -= 1
            except Exception as exc:   # noqa: BLE001 - an answer botocore could not read
                failures.append(f"{service} {operation} ({variant}): {type(exc).__name__}: {str(exc)[:160]}")
        operations += len(seen)
    print(f"malformed input: {operations} operations of {len(SERVICES)} services, {requests} requests")
    assert proc.poll() is None, "the server died"
    health = json.loads(urllib.request.urlopen(f"{url}/_eventlab/health", timeout=10).read())
    assert health == {"status": "ok"}
    assert failures == [], "\n".join(failures)
    assert operations > 500


@pytest.mark.parametrize("iterator", ["AAAA", "bm90LWFuLWl0ZXJhdG9y", "%%%"])
def test_a_mistyped_shard_iterator_is_invalid_argument(served, iterator):
    url, _ = served
    kinesis = boto3.client("kinesis", endpoint_url=url, region_name="us-east-1",
                           aws_access_key_id="x", aws_secret_access_key="y",
                           config=Config(retries={"total_max_attempts": 1}))
    kinesis.create_stream(StreamName="s", ShardCount=1)
    good = kinesis.get_shard_iterator(StreamName="s", ShardId="shardId-000000000000",
                                      ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert "\n" not in good
    assert kinesis.get_records(ShardIterator=good)["Records"] == []
    with pytest.raises(kinesis.exceptions.InvalidArgumentException, match="Invalid ShardIterator"):
        kinesis.get_records(ShardIterator=iterator)


def test_an_unimplemented_operation_is_named(served):
    url, _ = served
    datasync = boto3.client("datasync", endpoint_url=url, region_name="us-east-1",
                            aws_access_key_id="x", aws_secret_access_key="y",
                            config=Config(retries={"total_max_attempts": 1}))
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        datasync.create_location_nfs(ServerHostname="nfs.example.com", Subdirectory="/exports",
                                     OnPremConfig={"AgentArns": ["arn:aws:datasync:us-east-1:123456789012:agent/a"]})
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert error["Error"]["Code"] == "NotImplemented"
    assert "CreateLocationNfs" in error["Error"]["Message"]
    assert "not implemented by the eventlab sandbox" in error["Error"]["Message"]


def test_an_unknown_path_is_an_aws_error_not_a_page(served):
    url, _ = served
    request = urllib.request.Request(f"{url}/no/such/thing", method="GET")
    try:
        urllib.request.urlopen(request, timeout=10)
        raise AssertionError("expected an error")
    except urllib.error.HTTPError as exc:
        body = exc.read()
        assert "html" not in exc.headers.get("Content-Type", "")
        assert b"<html" not in body.lower()
        assert exc.code < 500
