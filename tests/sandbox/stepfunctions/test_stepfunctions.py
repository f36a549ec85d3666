"""Step Functions in the sandbox: executions really run, on the virtual clock, settled.

Every assertion is made right after the API call (or ``clock.advance``) that should have
caused it: the sandbox settles each request until the executions have run as far as they
can without time passing.  Nothing here sleeps for real.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.sandbox.helpers import make_function as deploy

ROLE = "arn:aws:iam::123456789012:role/sfn-role"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


# -- helpers ---------------------------------------------------------------------------
def make_machine(sb: Any, definition: dict[str, Any], *, name: str = "sm", kind: str = "STANDARD") -> str:
    return sb.client("stepfunctions").create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=ROLE, type=kind)["stateMachineArn"]


def make_function(sb: Any, name: str, source: str) -> str:
    return deploy(sb, name, source, timeout=30)


def run(sb: Any, machine_arn: str, payload: Any = None, **kwargs: Any) -> str:
    return sb.client("stepfunctions").start_execution(
        stateMachineArn=machine_arn, input=json.dumps(payload or {}), **kwargs)["executionArn"]


def describe(sb: Any, execution_arn: str) -> dict[str, Any]:
    return sb.client("stepfunctions").describe_execution(executionArn=execution_arn)


def history(sb: Any, execution_arn: str) -> list[dict[str, Any]]:
    return sb.client("stepfunctions").get_execution_history(executionArn=execution_arn)["events"]


def types_of(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in events]


def chain(*states: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """A definition running ``states`` one after the other."""
    named = {}
    for index, (name, state) in enumerate(states):
        state = dict(state)
        if state["Type"] not in ("Choice", "Succeed", "Fail"):
            if index + 1 < len(states):
                state["Next"] = states[index + 1][0]
            else:
                state["End"] = True
        named[name] = state
    return {"StartAt": states[0][0], "States": named}


@pytest.fixture(autouse=True)
def no_thread_left_busy(sandbox: Any) -> Any:
    yield
    # Executions still waiting (for time or a token) are idle; none may leave the count raised.
    assert sandbox.clock.wait_idle(timeout=5.0)
    assert sandbox.clock.busy_threads == 0


# -- Task on Lambda ----------------------------------------------------------------------
def test_lambda_task_runs_the_handler_and_passes_its_output_on(sandbox: Any) -> None:
    fn = make_function(sandbox, "double", """
def handler(event, context):
    return {"doubled": event["n"] * 2, "request": context.aws_request_id != ""}
""")
    sm = make_machine(sandbox, chain(
        ("Double", {"Type": "Task", "Resource": fn, "ResultPath": "$.result"}),
        ("Shape", {"Type": "Pass", "Parameters": {"answer.$": "$.result.doubled", "n.$": "$.n"}}),
    ))
    execution = run(sandbox, sm, {"n": 21})
    out = describe(sandbox, execution)
    assert out["status"] == "SUCCEEDED"
    assert json.loads(out["output"]) == {"answer": 42, "n": 21}
    assert [i["function"] for i in sandbox.service("lambda").invocation_log] == ["double"]
    assert sandbox.service("lambda").invocation_log[0]["event"] == {"n": 21}


def test_lambda_invoke_integration_wraps_the_payload(sandbox: Any) -> None:
    fn = make_function(sandbox, "echo", "def handler(event, context):\n    return {'got': event}\n")
    sm = make_machine(sandbox, chain(
        ("Invoke", {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": fn, "Payload.$": "$"},
                    "OutputPath": "$.Payload"}),
    ))
    out = describe(sandbox, run(sandbox, sm, {"k": "v"}))
    assert out["status"] == "SUCCEEDED"
    assert json.loads(out["output"]) == {"got": {"k": "v"}}


# -- service integrations ------------------------------------------------------------------
def test_sqs_send_message_integration(sandbox: Any) -> None:
    sqs = sandbox.client("sqs")
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    sm = make_machine(sandbox, chain(
        ("Send", {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                  "Parameters": {"QueueUrl": url, "MessageBody.$": "$.order"}}),
    ))
    out = describe(sandbox, run(sandbox, sm, {"order": {"id": 7}}))
    assert out["status"] == "SUCCEEDED"
    result = json.loads(out["output"])
    assert re.fullmatch(r"[0-9a-f-]{36}", result["MessageId"])
    assert len(result["MD5OfMessageBody"]) == 32
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"]) for m in messages] == [{"id": 7}]
    assert messages[0]["MessageId"] == result["MessageId"]


def test_sns_publish_integration_reaches_a_subscribed_queue(sandbox: Any) -> None:
    sns, sqs = sandbox.client("sns"), sandbox.client("sqs")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    url = sqs.create_queue(QueueName="alert-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn,
                  Attributes={"RawMessageDelivery": "true"})
    sm = make_machine(sandbox, chain(
        ("Publish", {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                     "Parameters": {"TopicArn": topic, "Message.$": "$.text", "Subject": "alert"}}),
    ))
    out = describe(sandbox, run(sandbox, sm, {"text": "disk full"}))
    assert out["status"] == "SUCCEEDED"
    assert "MessageId" in json.loads(out["output"])
    bodies = [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]]
    assert bodies == ["disk full"]


def test_dynamodb_put_item_integration(sandbox: Any) -> None:
    ddb = sandbox.client("dynamodb")
    ddb.create_table(TableName="orders", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    sm = make_machine(sandbox, chain(
        ("Put", {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                 "Parameters": {"TableName": "orders",
                                "Item": {"pk": {"S.$": "$.id"}, "total": {"N.$": "States.Format('{}', $.total)"}}},
                 "ResultPath": None}),
    ))
    out = describe(sandbox, run(sandbox, sm, {"id": "o-1", "total": 12}))
    assert out["status"] == "SUCCEEDED"
    assert json.loads(out["output"]) == {"id": "o-1", "total": 12}
    item = ddb.get_item(TableName="orders", Key={"pk": {"S": "o-1"}})["Item"]
    assert item == {"pk": {"S": "o-1"}, "total": {"N": "12"}}


# -- Retry and Catch ---------------------------------------------------------------------
FLAKY = """
import boto3

def handler(event, context):
    table = boto3.resource("dynamodb").Table("attempts")
    count = table.update_item(Key={"pk": "flaky"}, UpdateExpression="ADD n :one",
                              ExpressionAttributeValues={":one": 1},
                              ReturnValues="UPDATED_NEW")["Attributes"]["n"]
    if count < 3:
        raise RuntimeError(f"attempt {count} fails")
    return {"attempts": int(count)}
"""


def test_retry_backs_off_on_the_clock_then_succeeds(sandbox: Any) -> None:
    sandbox.client("dynamodb").create_table(
        TableName="attempts", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    fn = make_function(sandbox, "flaky", FLAKY)
    sm = make_machine(sandbox, chain(
        ("Call", {"Type": "Task", "Resource": fn,
                  # 10 s, then 10*5 = 50 s capped at 15 s
                  "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 10, "BackoffRate": 5,
                             "MaxDelaySeconds": 15, "MaxAttempts": 3}]}),
    ))
    execution = run(sandbox, sm)
    failed = [e for e in history(sandbox, execution) if e["type"] == "LambdaFunctionFailed"]
    assert describe(sandbox, execution)["status"] == "RUNNING"  # backing off: no time has passed
    assert len(failed) == 1
    assert failed[0]["lambdaFunctionFailedEventDetails"]["error"] == "RuntimeError"
    cause = json.loads(failed[0]["lambdaFunctionFailedEventDetails"]["cause"])
    assert cause["errorMessage"] == "attempt 1 fails"
    assert cause["errorType"] == "RuntimeError"

    sandbox.clock.advance(9)
    assert len([e for e in history(sandbox, execution) if e["type"] == "LambdaFunctionFailed"]) == 1
    sandbox.clock.advance(1)  # 10 s: the second attempt runs (and fails)
    assert len([e for e in history(sandbox, execution) if e["type"] == "LambdaFunctionFailed"]) == 2
    sandbox.clock.advance(14)
    assert describe(sandbox, execution)["status"] == "RUNNING"
    sandbox.clock.advance(1)  # 15 s (MaxDelaySeconds), not 50 s
    out = describe(sandbox, execution)
    assert out["status"] == "SUCCEEDED"
    assert json.loads(out["output"]) == {"attempts": 3}

    # The back-off runs from each failure to the next attempt (the attempts' own run time,
    # a cold start included, is real time and not part of it).
    events = history(sandbox, execution)
    failed_at = [e["timestamp"] for e in events if e["type"] == "LambdaFunctionFailed"]
    scheduled = [e["timestamp"] for e in events if e["type"] == "LambdaFunctionScheduled"]
    gaps = [(retry - failure).total_seconds() for failure, retry in zip(failed_at, scheduled[1:], strict=True)]
    assert 10 <= gaps[0] < 10.5 and 15 <= gaps[1] < 15.5, gaps


def test_catch_routes_to_the_fallback_with_the_error_in_result_path(sandbox: Any) -> None:
    fn = make_function(sandbox, "strict", """
def handler(event, context):
    raise ValueError("amount must be positive")
""")
    sm = make_machine(sandbox, {
        "StartAt": "Charge",
        "States": {
            "Charge": {"Type": "Task", "Resource": fn, "Next": "Done",
                       "Catch": [{"ErrorEquals": ["ValueError"], "ResultPath": "$.error", "Next": "Fallback"}]},
            "Fallback": {"Type": "Pass", "Parameters": {"handled": True, "error.$": "$.error.Error",
                                                        "amount.$": "$.amount"}, "End": True},
            "Done": {"Type": "Succeed"},
        },
    })
    execution = run(sandbox, sm, {"amount": -5})
    out = describe(sandbox, execution)
    assert out["status"] == "SUCCEEDED"
    assert json.loads(out["output"]) == {"handled": True, "error": "ValueError", "amount": -5}
    entered = [e["stateEnteredEventDetails"] for e in history(sandbox, execution)
               if e["type"] == "PassStateEntered"]
    fallback_input = json.loads(entered[0]["input"])
    assert fallback_input["amount"] == -5
    assert fallback_input["error"]["Error"] == "ValueError"
    cause = json.loads(fallback_input["error"]["Cause"])
    assert cause["errorType"] == "ValueError"
    assert cause["errorMessage"] == "amount must be positive"


# -- Choice, Parallel, Map ---------------------------------------------------------------
def test_choice_picks_the_branch(sandbox: Any) -> None:
    sm = make_machine(sandbox, {
        "StartAt": "Size",
        "States": {
            "Size": {"Type": "Choice", "Default": "Small",
                     "Choices": [{"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"}]},
            "Big": {"Type": "Pass", "Result": "big", "End": True},
            "Small": {"Type": "Pass", "Result": "small", "End": True},
        },
    })
    assert json.loads(describe(sandbox, run(sandbox, sm, {"n": 11}))["output"]) == "big"
    assert json.loads(describe(sandbox, run(sandbox, sm, {"n": 3}))["output"]) == "small"


def test_parallel_runs_every_branch_and_collects_the_outputs_in_order(sandbox: Any) -> None:
    fn = make_function(sandbox, "square", "def handler(event, context):\n    return event['n'] ** 2\n")
    sm = make_machine(sandbox, chain(
        ("Both", {"Type": "Parallel", "Branches": [
            chain(("Square", {"Type": "Task", "Resource": fn})),
            chain(("Wait", {"Type": "Wait", "Seconds": 30}), ("Echo", {"Type": "Pass", "InputPath": "$.n"})),
        ]}),
    ))
    execution = run(sandbox, sm, {"n": 4})
    assert describe(sandbox, execution)["status"] == "RUNNING"  # the second branch waits 30 s
    sandbox.clock.advance(30)
    out = describe(sandbox, execution)
    assert out["status"] == "SUCCEEDED"
    assert json.loads(out["output"]) == [16, 4]


def test_map_runs_an_iteration_per_item(sandbox: Any) -> None:
    fn = make_function(sandbox, "triple", "def handler(event, context):\n    return event * 3\n")
    sm = make_machine(sandbox, chain(
        ("Each", {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2,
                  "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"},
                                    **chain(("Triple", {"Type": "Task", "Resource": fn}))}}),
    ))
    execution = run(sandbox, sm, {"items": [1, 2, 3, 4, 5]})
    out = describe(sandbox, execution)
    assert out["status"] == "SUCCEEDED"
    assert json.loads(out["output"]) == [3, 6, 9, 12, 15]
    assert types_of(history(sandbox, execution)).count("MapIterationSucceeded") == 5


# -- Wait --------------------------------------------------------------------------------
ONE_HOUR = chain(("Nap", {"Type": "Wait", "Seconds": 3600}), ("Up", {"Type": "Pass", "Result": "awake"}))


def test_one_hour_wait_stays_running_until_the_clock_moves(sandbox: Any) -> None:
    execution = run(sandbox, make_machine(sandbox, ONE_HOUR))
    assert describe(sandbox, execution)["status"] == "RUNNING"
    sandbox.clock.advance(minutes=59)
    assert describe(sandbox, execution)["status"] == "RUNNING"
    assert types_of(history(sandbox, execution))[-1] == "WaitStateEntered"


def test_one_hour_wait_completes_when_the_clock_advances_an_hour(sandbox: Any) -> None:
    execution = run(sandbox, make_machine(sandbox, ONE_HOUR))
    sandbox.clock.advance(hours=1)
    out = describe(sandbox, execution)
    assert out["status"] == "SUCCEEDED"
    assert json.loads(out["output"]) == "awake"
    events = history(sandbox, execution)
    entered = next(e["timestamp"] for e in events if e["type"] == "WaitStateEntered")
    exited = next(e["timestamp"] for e in events if e["type"] == "WaitStateExited")
    assert round((exited - entered).total_seconds()) == 3600
    assert round((out["stopDate"] - out["startDate"]).total_seconds()) == 3600


def test_every_kind_of_wait_follows_the_clock(sandbox: Any) -> None:
    start = sandbox.clock.now().replace(microsecond=0)
    at = (start + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    at_path = (start + timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    sm = make_machine(sandbox, chain(
        ("Seconds", {"Type": "Wait", "Seconds": 60}),
        ("SecondsPath", {"Type": "Wait", "SecondsPath": "$.delay"}),
        ("Timestamp", {"Type": "Wait", "Timestamp": at}),
        ("TimestampPath", {"Type": "Wait", "TimestampPath": "$.until"}),
    ))
    execution = run(sandbox, sm, {"delay": 120, "until": at_path})
    sandbox.clock.advance(60)
    assert types_of(history(sandbox, execution))[-1] == "WaitStateEntered"  # SecondsPath
    sandbox.clock.advance(120)
    sandbox.clock.advance(minutes=7)  # just past 10 minutes after start: the Timestamp wait ends
    events = history(sandbox, execution)
    assert [e["stateEnteredEventDetails"]["name"] for e in events
            if e["type"] == "WaitStateEntered"] == ["Seconds", "SecondsPath", "Timestamp", "TimestampPath"]
    assert describe(sandbox, execution)["status"] == "RUNNING"
    sandbox.clock.advance(minutes=10)
    assert describe(sandbox, execution)["status"] == "SUCCEEDED"


# -- callbacks ---------------------------------------------------------------------------
def test_wait_for_task_token_completes_with_send_task_success(sandbox: Any) -> None:
    sqs, sfn = sandbox.client("sqs"), sandbox.client("stepfunctions")
    url = sqs.create_queue(QueueName="approvals")["QueueUrl"]
    sm = make_machine(sandbox, chain(
        ("Ask", {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                 "Parameters": {"QueueUrl": url,
                                "MessageBody": {"token.$": "$$.Task.Token", "order.$": "$.order"}},
                 "ResultPath": "$.approval"}),
        ("After", {"Type": "Pass"}),
    ))
    execution = run(sandbox, sm, {"order": "o-9"})
    assert describe(sandbox, execution)["status"] == "RUNNING"
    body = json.loads(sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"])
    assert body["order"] == "o-9"

    sfn.send_task_success(taskToken=body["token"], output=json.dumps({"approved": True}))
    # No polling: when SendTaskSuccess returns, the execution has finished.
    out = describe(sandbox, execution)
    assert out["status"] == "SUCCEEDED"
    assert json.loads(out["output"]) == {"order": "o-9", "approval": {"approved": True}}
    with pytest.raises(ClientError) as err:
        sfn.send_task_success(taskToken=body["token"], output="{}")
    assert err.value.response["Error"]["Code"] in ("InvalidToken", "TaskTimedOut", "TaskDoesNotExist")


def test_a_task_timeout_fires_on_the_clock(sandbox: Any) -> None:
    url = sandbox.client("sqs").create_queue(QueueName="slow-approvals")["QueueUrl"]
    sm = make_machine(sandbox, chain(
        ("Ask", {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                 "TimeoutSeconds": 600,
                 "Parameters": {"QueueUrl": url, "MessageBody": {"token.$": "$$.Task.Token"}}}),
    ))
    execution = run(sandbox, sm)
    sandbox.clock.advance(599)
    assert describe(sandbox, execution)["status"] == "RUNNING"
    sandbox.clock.advance(1)
    out = describe(sandbox, execution)
    assert out["status"] == "FAILED"
    assert out["error"] == "States.Timeout"


# -- history, names ------------------------------------------------------------------------
def test_execution_history_lists_states_entered_and_exited_in_order(sandbox: Any) -> None:
    fn = make_function(sandbox, "ok", "def handler(event, context):\n    return 'ok'\n")
    sm = make_machine(sandbox, chain(
        ("First", {"Type": "Pass"}),
        ("Call", {"Type": "Task", "Resource": fn}),
        ("Pause", {"Type": "Wait", "Seconds": 5}),
        ("Last", {"Type": "Succeed"}),
    ))
    execution = run(sandbox, sm)
    sandbox.clock.advance(5)
    events = history(sandbox, execution)
    assert types_of(events) == [
        "ExecutionStarted",
        "PassStateEntered", "PassStateExited",
        "TaskStateEntered", "LambdaFunctionScheduled", "LambdaFunctionStarted",
        "LambdaFunctionSucceeded", "TaskStateExited",
        "WaitStateEntered", "WaitStateExited",
        "SucceedStateEntered", "SucceedStateExited",
        "ExecutionSucceeded",
    ]
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    names = [e.get("stateEnteredEventDetails", {}).get("name") for e in events if e["type"].endswith("Entered")]
    assert names == ["First", "Call", "Pause", "Last"]
    timestamps = [e["timestamp"] for e in events]
    assert timestamps == sorted(timestamps)


def test_executions_without_a_name_get_unique_uuid_names(sandbox: Any) -> None:
    sm = make_machine(sandbox, chain(("Only", {"Type": "Pass"})))
    first, second = run(sandbox, sm), run(sandbox, sm)
    assert first != second
    for arn in (first, second):
        out = describe(sandbox, arn)
        assert out["status"] == "SUCCEEDED"
        assert UUID.match(out["name"])
        assert arn == f"arn:aws:states:us-east-1:123456789012:execution:sm:{out['name']}"
    listed = sandbox.client("stepfunctions").list_executions(stateMachineArn=sm)["executions"]
    assert sorted(e["executionArn"] for e in listed) == sorted([first, second])


def test_a_named_execution_keeps_its_name(sandbox: Any) -> None:
    sm = make_machine(sandbox, chain(("Only", {"Type": "Pass"})))
    arn = run(sandbox, sm, name="order-42")
    assert arn.endswith(":execution:sm:order-42")


# -- StartSyncExecution --------------------------------------------------------------------
def test_start_sync_execution_runs_an_express_machine(sandbox: Any) -> None:
    fn = make_function(sandbox, "greet", "def handler(event, context):\n    return 'hi ' + event['who']\n")
    sm = make_machine(sandbox, chain(("Greet", {"Type": "Task", "Resource": fn}),
                                     ("Brief", {"Type": "Wait", "Seconds": 2})),
                      name="express", kind="EXPRESS")
    before = sandbox.clock.time()
    out = sandbox.client("stepfunctions").start_sync_execution(stateMachineArn=sm, input='{"who": "ada"}')
    assert out["status"] == "SUCCEEDED"
    assert json.loads(out["output"]) == "hi ada"
    assert json.loads(out["input"]) == {"who": "ada"}
    assert out["stateMachineArn"] == sm
    assert UUID.match(out["name"])
    assert out["executionArn"].startswith(f"arn:aws:states:us-east-1:123456789012:express:express:{out['name']}:")
    assert "error" not in out and "cause" not in out
    billing = out["billingDetails"]
    assert billing["billedMemoryUsedInMB"] == 64
    assert billing["billedDurationInMilliseconds"] >= 2000
    assert billing["billedDurationInMilliseconds"] % 100 == 0
    assert out["stopDate"] >= out["startDate"]
    assert sandbox.clock.time() - before >= 2  # the 2 s Wait passed on the clock, at once


def test_start_sync_execution_reports_a_failure_in_the_answer(sandbox: Any) -> None:
    sm = make_machine(sandbox, chain(("Boom", {"Type": "Fail", "Error": "Order.Invalid",
                                               "Cause": "no items"})),
                      name="express-fail", kind="EXPRESS")
    out = sandbox.client("stepfunctions").start_sync_execution(stateMachineArn=sm, name="bad-order")
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert out["status"] == "FAILED"
    assert out["error"] == "Order.Invalid"
    assert out["cause"] == "no items"
    assert out["name"] == "bad-order"
    assert "output" not in out
    assert out["billingDetails"]["billedMemoryUsedInMB"] == 64


def test_start_sync_execution_on_a_standard_machine_fails_as_on_aws(sandbox: Any) -> None:
    sm = make_machine(sandbox, chain(("Only", {"Type": "Pass"})), name="standard")
    with pytest.raises(ClientError) as err:
        sandbox.client("stepfunctions").start_sync_execution(stateMachineArn=sm)
    error = err.value.response["Error"]
    assert error["Code"] == "StateMachineTypeNotSupported"
    assert error["Message"] == "This operation is not supported by this type of state machine"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


# -- scale and robustness --------------------------------------------------------------------
def test_a_twenty_state_chain_completes(sandbox: Any) -> None:
    states = [(f"Step{i:02d}", {"Type": "Pass", "Parameters": {"step": i, "prev.$": "$.step"}})
              for i in range(1, 21)]
    sm = make_machine(sandbox, chain(*states))
    execution = run(sandbox, sm, {"step": 0})
    out = describe(sandbox, execution)
    assert out["status"] == "SUCCEEDED"
    assert json.loads(out["output"]) == {"step": 20, "prev": 19}
    assert types_of(history(sandbox, execution)).count("PassStateExited") == 20


def test_a_thread_that_dies_does_not_leave_the_clock_busy(sandbox: Any) -> None:
    busy_thread = sandbox.service("stepfunctions").BusyThread
    errors: list[BaseException] = []
    hook = threading.excepthook
    threading.excepthook = lambda args: errors.append(args.exc_value)
    try:
        def boom() -> None:
            raise RuntimeError("worker crashed")

        thread = busy_thread(target=boom, daemon=True)
        thread.start()
        thread.join()
    finally:
        threading.excepthook = hook
    assert [str(e) for e in errors] == ["worker crashed"]
    assert sandbox.clock.busy_threads == 0


def test_stop_execution_interrupts_a_wait(sandbox: Any) -> None:
    execution = run(sandbox, make_machine(sandbox, ONE_HOUR))
    sandbox.client("stepfunctions").stop_execution(executionArn=execution)
    assert describe(sandbox, execution)["status"] == "ABORTED"
