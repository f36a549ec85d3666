"""Step Functions' StartExecution token buckets on the virtual clock: Standard and Express
each their own, StartSyncExecution sharing Express's, ThrottlingException past them
(https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.sandbox.helpers import api_client, metric, outcomes

ROLE = "arn:aws:iam::123456789012:role/sfn-role"
PASS = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})


def sfn(sandbox, over="in-process"):
    return api_client(sandbox, "stepfunctions", over)


def machine(sandbox, name, kind="STANDARD"):
    return sandbox.client("stepfunctions").create_state_machine(
        name=name, definition=PASS, roleArn=ROLE, type=kind)["stateMachineArn"]


def throttled_events(sandbox, api):
    return metric(sandbox, "AWS/States", "ThrottledEvents", {"APIName": api})


@pytest.mark.parametrize("over", ["in-process", "http"])
def test_standard_start_execution_spends_a_bucket_that_refills_at_its_rate(sandbox, over):
    assert (sandbox.quotas["stepfunctions.standard.start-burst"],
            sandbox.quotas["stepfunctions.standard.start-rate"]) == (1300, 300)
    sandbox.quotas.set("stepfunctions.standard.start-burst", 4)
    sandbox.quotas.set("stepfunctions.standard.start-rate", 2)
    client = sfn(sandbox, over)
    arn = machine(sandbox, f"orders-{over[:2]}")
    start = lambda i: client.start_execution(stateMachineArn=arn)  # noqa: E731
    with sandbox.clock.held():
        assert outcomes(start, 5) == ["ok"] * 4 + ["ThrottlingException"]
        with pytest.raises(ClientError) as raised:
            start(0)
        sandbox.clock.advance(seconds=1)               # 2 tokens back, not the whole bucket
        assert outcomes(start, 3) == ["ok", "ok", "ThrottlingException"]
    error = raised.value.response
    assert (error["Error"]["Code"], error["Error"]["Message"]) == ("ThrottlingException", "Rate exceeded")
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert len(client.list_executions(stateMachineArn=arn)["executions"]) == 6
    assert throttled_events(sandbox, "StartExecution") == 3


def test_express_has_its_own_bucket_shared_by_start_sync_execution(sandbox):
    sandbox.quotas.set("stepfunctions.standard.start-burst", 1)
    sandbox.quotas.set("stepfunctions.express.start-burst", 2)
    sandbox.quotas.set("stepfunctions.express.start-rate", 2)
    client = sfn(sandbox)
    standard, express = machine(sandbox, "std"), machine(sandbox, "fast", "EXPRESS")
    with sandbox.clock.held():
        assert outcomes(lambda i: client.start_execution(stateMachineArn=standard), 2) == ["ok", "ThrottlingException"]
        assert outcomes(lambda i: client.start_execution(stateMachineArn=express), 1) == ["ok"]
        assert outcomes(lambda i: client.start_sync_execution(stateMachineArn=express), 2) == ["ok", "ThrottlingException"]
    assert throttled_events(sandbox, "StartSyncExecution") == 1


def test_the_normal_path_starts_every_execution(sandbox):
    client = sfn(sandbox)
    arn = machine(sandbox, "plain")
    with sandbox.clock.held():
        assert outcomes(lambda i: client.start_execution(stateMachineArn=arn), 30) == ["ok"] * 30


def test_outside_the_largest_regions_the_standard_bucket_is_aws_smaller_one(sandbox):
    # AWS: 1,300 refilled at 300/s in us-east-1, us-west-2 and eu-west-1; 800 at 150/s elsewhere
    mumbai = sandbox.client("stepfunctions", region="ap-south-1")
    arn = mumbai.create_state_machine(name="orders", definition=PASS, roleArn=ROLE)["stateMachineArn"]
    start = lambda i: mumbai.start_execution(stateMachineArn=arn, name=f"e{i}")  # noqa: E731
    with sandbox.clock.held():
        assert outcomes(start, 801) == ["ok"] * 800 + ["ThrottlingException"]
        sandbox.clock.advance(seconds=1)               # 150 tokens back, not 300
        assert outcomes(lambda i: start(1000 + i), 151) == ["ok"] * 150 + ["ThrottlingException"]
