"""The sandbox's own fault injection (sb.faults), on the virtual clock."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from eventlab.sandbox.core.faults import FaultError
from tests.sandbox.helpers import admin, drain, make_queue, recorder

NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})
SLOW = "import time\ndef handler(event, context):\n    time.sleep(event.get('seconds', 0))\n    return 'ok'\n"


def client(sandbox, service, over):
    endpoint = {"endpoint_url": sandbox.endpoint_url} if over == "http" else {}
    return boto3.client(service, region_name="us-east-1", config=NO_RETRY, **endpoint)


@pytest.mark.parametrize("over", ["in-process", "http"])
def test_throttle_refuses_a_callers_requests_to_one_api(sandbox, over):
    url, _ = make_queue(sandbox, "orders")
    sqs = client(sandbox, "sqs", over)
    sandbox.faults.throttle("sqs:SendMessage", times=2)
    for _ in range(2):
        with pytest.raises(ClientError) as raised:
            sqs.send_message(QueueUrl=url, MessageBody="x")
        assert raised.value.response["Error"]["Code"] == "ThrottlingException"
    sqs.send_message(QueueUrl=url, MessageBody="third")
    sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])      # other APIs untouched
    assert [m["Body"] for m in drain(sandbox, url, attributes=True)] == ["third"]


def test_throttle_for_some_virtual_seconds(sandbox):
    url, _ = make_queue(sandbox, "orders")
    sqs = client(sandbox, "sqs", "in-process")
    sandbox.faults.throttle("sqs:SendMessage", seconds=30, code="RequestThrottled")
    with pytest.raises(ClientError, match="RequestThrottled"):
        sqs.send_message(QueueUrl=url, MessageBody="x")
    sandbox.clock.advance(seconds=30)
    sqs.send_message(QueueUrl=url, MessageBody="y")


def test_the_sandbox_own_deliveries_are_not_throttled(sandbox, make_function):
    url, dlq = make_queue(sandbox, "dead-letters")
    make_function("failing", "def handler(event, context):\n    raise ValueError('no')\n",
                  DeadLetterConfig={"TargetArn": dlq})
    lam = client(sandbox, "lambda", "in-process")
    lam.put_function_event_invoke_config(FunctionName="failing", MaximumRetryAttempts=0)
    sandbox.faults.throttle("sqs:SendMessage")
    lam.invoke(FunctionName="failing", InvocationType="Event", Payload=b'{"n": 1}')
    sandbox.faults.clear("sqs:SendMessage")
    assert [m["Body"] for m in drain(sandbox, url, attributes=True)] == ['{"n": 1}']


def test_bad_fault_arguments_say_what_to_give(sandbox, make_function):
    with pytest.raises(FaultError, match="service:Action"):
        sandbox.faults.throttle("SendMessage")
    with pytest.raises(FaultError, match="no Lambda function 'nope'"):
        sandbox.faults.slow_function("nope", 1)
    make_function("slow", SLOW)
    with pytest.raises(FaultError, match="from 0 to 900"):
        sandbox.faults.slow_function("slow", 901)
    with pytest.raises(FaultError, match="percentage"):
        sandbox.faults.fail_function("slow", percentage=0)
    assert sandbox.faults.active() == []


@pytest.mark.parametrize("over", ["in-process", "http"])
def test_slow_function_delays_each_start_and_holds_concurrency(sandbox, make_function, over):
    make_function("slow", SLOW, timeout=10)
    lam = client(sandbox, "lambda", over)
    lam.put_function_concurrency(FunctionName="slow", ReservedConcurrentExecutions=1)
    sandbox.faults.slow_function("slow", 4)
    with sandbox.clock.held():
        assert json.loads(lam.invoke(FunctionName="slow", Payload=b"{}")["Payload"].read()) == "ok"
        with pytest.raises(ClientError, match="TooManyRequestsException"):
            lam.invoke(FunctionName="slow", Payload=b"{}")              # the first still holds it
        sandbox.clock.advance(seconds=4)
        lam.invoke(FunctionName="slow", Payload=b"{}")
    durations = [e["duration_ms"] for e in sandbox.service("lambda").invocation_log]
    assert len(durations) == 2 and all(4000 <= d < 5000 for d in durations)
    sandbox.faults.slow_function("slow", 10)                             # as long as the timeout
    sandbox.clock.advance(seconds=10)
    response = lam.invoke(FunctionName="slow", Payload=b"{}")
    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read())["errorType"] == "Sandbox.Timedout"


@pytest.mark.parametrize("prevent", [True, False])
def test_fail_function_fails_invocations_with_or_without_running_them(sandbox, prevent):
    _, received = recorder(sandbox, "rec")
    sandbox.faults.fail_function("rec", prevent_execution=prevent)
    response = client(sandbox, "lambda", "in-process").invoke(FunctionName="rec", Payload=b'{"k": 1}')
    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read())["errorType"] == "FaultInjectionError"
    assert drain(sandbox, received) == ([] if prevent else [{"k": 1}])
    sandbox.faults.clear("rec")
    assert "FunctionError" not in client(sandbox, "lambda", "in-process").invoke(FunctionName="rec", Payload=b"{}")


def test_percentage_picks_that_share_of_invocations_in_a_fixed_pattern(sandbox):
    recorder(sandbox, "rec")
    sandbox.faults.fail_function("rec", percentage=25)
    lam = client(sandbox, "lambda", "in-process")
    failed = ["FunctionError" in lam.invoke(FunctionName="rec", Payload=b"{}") for _ in range(8)]
    assert failed == [False, False, False, True] * 2


def call(sandbox, method, body=None):
    """A request to /_eventlab/faults, as an `eventlab serve` user makes it."""
    return admin(sandbox, method, "/_eventlab/faults", body)


def test_faults_over_http_throttle_an_api_until_spent_or_ended(sandbox):
    url, _ = make_queue(sandbox, "orders")
    sqs = client(sandbox, "sqs", "http")
    status, answer = call(sandbox, "POST", {"throttle": "sqs:SendMessage", "times": 2})
    assert status == 200
    assert answer["faults"] == [{"fault": "throttle", "key": "sqs:SendMessage", "source": "sandbox",
                                 "until": None, "code": "ThrottlingException", "message": "Rate exceeded",
                                 "timesLeft": 2}]
    with pytest.raises(ClientError) as raised:
        sqs.send_message(QueueUrl=url, MessageBody="refused")
    assert raised.value.response["Error"]["Code"] == "ThrottlingException"
    status, answer = call(sandbox, "GET")
    assert (answer["faults"][0]["timesLeft"], answer["injected"]) == (1, 1)
    status, answer = call(sandbox, "DELETE", {"key": "sqs:SendMessage"})
    assert (status, answer["faults"]) == (200, [])
    sqs.send_message(QueueUrl=url, MessageBody="accepted")
    assert [m["Body"] for m in drain(sandbox, url, attributes=True)] == ["accepted"]


def test_faults_over_http_fail_and_slow_a_function(sandbox, make_function):
    make_function("slow", SLOW, timeout=10)
    status, answer = call(sandbox, "POST", [{"slow_function": "slow", "seconds": 3},
                                            {"fail_function": "slow", "prevent_execution": True}])
    assert status == 200 and [f["fault"] for f in answer["faults"]] == ["slow_function", "fail_function"]
    lam = client(sandbox, "lambda", "http")
    response = lam.invoke(FunctionName="slow", Payload=b"{}")
    assert json.loads(response["Payload"].read())["errorType"] == "FaultInjectionError"
    assert 3000 <= sandbox.service("lambda").invocation_log[-1]["duration_ms"] < 4000
    assert call(sandbox, "DELETE")[1]["faults"] == []                   # no body: every fault ends
    assert "FunctionError" not in lam.invoke(FunctionName="slow", Payload=b"{}")


@pytest.mark.parametrize(("body", "complaint"), [
    ({"throttle": "SendMessage"}, "service:Action"),
    ({"throttle": "sqs:SendMessage", "percentage": 5}, "throttle takes code, message, times, seconds; not percentage"),
    ({"explode": "everything"}, 'send one of {"throttle": ...}'),
    ({"slow_function": "nope", "seconds": 1}, "no Lambda function 'nope'"),
    ({"fail_function": 7}, '"fail_function" names what to fault'),
])
def test_faults_over_http_say_what_is_wrong(sandbox, body, complaint):
    status, answer = call(sandbox, "POST", body)
    assert status == 400 and complaint in answer["message"]
    assert sandbox.faults.active() == []
