"""AWS Fault Injection Service's Lambda actions through the FIS API, on the virtual clock
(https://docs.aws.amazon.com/fis/latest/userguide/use-lambda-actions.html)."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.sandbox.helpers import drain, make_function, recorder

ROLE = "arn:aws:iam::123456789012:role/fis"


def fis(sandbox, over="in-process"):
    endpoint = {"endpoint_url": sandbox.endpoint_url} if over == "http" else {}
    return boto3.client("fis", region_name="us-east-1", **endpoint)


def template(client, action_id, parameters, target):
    return client.create_experiment_template(
        description="lambda faults", roleArn=ROLE, stopConditions=[{"source": "none"}],
        targets={"fns": {"resourceType": "aws:lambda:function", "selectionMode": "ALL", **target}},
        actions={"fault": {"actionId": action_id, "parameters": parameters,
                           "targets": {"Functions": "fns"}}})["experimentTemplate"]["id"]


@pytest.mark.parametrize("over", ["in-process", "http"])
def test_add_delay_slows_that_share_of_invocations_for_the_duration(sandbox, over):
    arn = make_function(sandbox, "rec", "def handler(event, context):\n    return 1\n", timeout=60)
    client = fis(sandbox, over)
    template_id = template(client, "aws:lambda:invocation-add-delay",
                           {"duration": "PT2M", "invocationPercentage": "50",
                            "startupDelayMilliseconds": "30000"}, {"resourceArns": [arn]})
    experiment = client.start_experiment(experimentTemplateId=template_id)["experiment"]
    assert experiment["state"]["status"] == "running"
    lam = sandbox.client("lambda")
    for _ in range(4):
        lam.invoke(FunctionName="rec", Payload=b"{}")
    sandbox.clock.advance(minutes=2)
    lam.invoke(FunctionName="rec", Payload=b"{}")                      # after the experiment
    durations = [e["duration_ms"] for e in sandbox.service("lambda").invocation_log]
    assert [d >= 30_000 for d in durations] == [False, True, False, True, False]
    done = client.get_experiment(id=experiment["id"])["experiment"]
    assert done["state"]["status"] == "completed"
    assert done["actions"]["fault"]["state"]["status"] == "completed"
    assert (done["endTime"] - done["startTime"]).total_seconds() == pytest.approx(120, abs=1)


def test_invocation_error_on_tagged_functions_until_the_experiment_is_stopped(sandbox):
    _, received = recorder(sandbox, "rec")
    lam = sandbox.client("lambda")
    lam.tag_resource(Resource=lam.get_function(FunctionName="rec")["Configuration"]["FunctionArn"],
                     Tags={"chaos": "yes"})
    client = fis(sandbox)
    template_id = template(client, "aws:lambda:invocation-error",
                           {"duration": "PT10M", "preventExecution": "true"},
                           {"resourceTags": {"chaos": "yes"}})
    experiment_id = client.start_experiment(experimentTemplateId=template_id)["experiment"]["id"]
    response = lam.invoke(FunctionName="rec", Payload=b'{"n": 1}')
    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read())["errorType"] == "FaultInjectionError"
    assert drain(sandbox, received) == []                              # the code never ran
    stopped = client.stop_experiment(id=experiment_id)["experiment"]
    assert stopped["state"]["status"] == "stopped"
    assert "FunctionError" not in lam.invoke(FunctionName="rec", Payload=b'{"n": 2}')
    assert drain(sandbox, received) == [{"n": 2}]


@pytest.mark.parametrize(("parameters", "complaint"), [
    ({"duration": "PT30S"}, "from PT1M to PT12H"),
    ({"duration": "5 minutes"}, "ISO 8601"),
    ({"duration": "PT5M", "invocationPercentage": "0"}, "invocationPercentage"),
    ({"duration": "PT5M", "startupDelayMilliseconds": "900001"}, "startupDelayMilliseconds"),
])
def test_templates_with_parameters_outside_aws_ranges_are_refused(sandbox, parameters, complaint):
    arn, _ = recorder(sandbox, "rec")
    with pytest.raises(ClientError) as raised:
        template(fis(sandbox), "aws:lambda:invocation-add-delay", parameters, {"resourceArns": [arn]})
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert complaint in raised.value.response["Error"]["Message"]
