"""Identity policies (``Sandbox(iam="enforce")``): the calls made with a role's credentials,
by a Lambda handler, a state machine, an EventBridge target or anyone who assumed it."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from eventlab.sandbox import Sandbox, SandboxError
from tests.sandbox.helpers import make_queue, zip_code

CENTRAL, MEMBER = "123456789012", "111111111111"

SENDER = '''
import boto3
from botocore.exceptions import ClientError
def handler(event, context):
    sqs, out = boto3.client("sqs"), []
    for url in event["urls"]:
        try:
            sqs.send_message(QueueUrl=url, MessageBody="hi")
            out.append("sent")
        except ClientError as exc:
            out.append(exc.response["Error"]["Code"] + ": " + exc.response["Error"]["Message"])
    return {"results": out, "me": boto3.client("sts").get_caller_identity()["Arn"]}
'''


def document(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource, effect="Allow", **extra):
    return {"Effect": effect, "Action": action, "Resource": resource, **extra}


def trust(principal):
    return document({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"})


def make_role(owner, name, principal, *statements):
    iam = owner.client("iam")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(principal))["Role"]["Arn"]
    if statements:
        iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=document(*statements))
    return arn


def as_role(owner, role_arn, service):
    """A client acting as a session of ``role_arn`` (assumed by ``owner``'s root)."""
    keys = owner.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="tester")["Credentials"]
    return boto3.client(service, region_name="us-east-1", aws_access_key_id=keys["AccessKeyId"],
                        aws_secret_access_key=keys["SecretAccessKey"], aws_session_token=keys["SessionToken"])


def error(call):
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def run_sender(sb, role, urls):
    sb.client("lambda").create_function(FunctionName="sender", Runtime="python3.12", Role=role, Timeout=60,
                                        Handler="lambda_function.handler", Code={"ZipFile": zip_code(SENDER)})
    out = sb.client("lambda").invoke(FunctionName="sender", Payload=json.dumps({"urls": urls}))
    payload = json.loads(out["Payload"].read())
    assert "results" in payload, payload       # the handler itself ran to the end
    return payload


def bodies(sb, url):
    return [m["Body"] for m in sb.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)
            .get("Messages", [])]


@pytest.fixture
def enforced():
    with Sandbox(iam="enforce") as sb:
        yield sb


def test_a_lambda_handler_calls_with_its_execution_role(enforced):
    sb = enforced
    allowed, allowed_arn = make_queue(sb, "allowed")
    other, other_arn = make_queue(sb, "other")
    role = make_role(sb, "sender-role", {"Service": "lambda.amazonaws.com"}, allow("sqs:SendMessage", allowed_arn))
    got = run_sender(sb, role, [allowed, other])
    assert got["me"] == f"arn:aws:sts::{CENTRAL}:assumed-role/sender-role/sender"
    assert got["results"] == ["sent", (
        f"AccessDenied: User: arn:aws:sts::{CENTRAL}:assumed-role/sender-role/sender is not authorized to "
        f"perform: sqs:SendMessage on resource: {other_arn} because no identity-based policy allows "
        "the sqs:SendMessage action")]
    assert bodies(sb, allowed) == ["hi"] and bodies(sb, other) == []
    assert sb.service("identity").refused[0]["resource"] == other_arn


def test_off_by_default_the_same_role_without_policies_can_do_anything(sandbox):
    assert sandbox.iam == "off"
    url, _ = make_queue(sandbox, "anything")
    role = make_role(sandbox, "bare", {"Service": "lambda.amazonaws.com"})
    assert run_sender(sandbox, role, [url])["results"] == ["sent"]


def test_explicit_deny_wins_and_managed_policies_count(enforced):
    sb = enforced
    url, arn = make_queue(sb, "orders")
    role = make_role(sb, "ops", {"AWS": CENTRAL}, allow("sqs:SendMessage", arn, "Deny"))
    managed = sb.client("iam").create_policy(PolicyName="sqs-all", PolicyDocument=document(allow("sqs:*", "*")))
    sb.client("iam").attach_role_policy(RoleName="ops", PolicyArn=managed["Policy"]["Arn"])
    sqs = as_role(sb, role, "sqs")
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]["QueueArn"] == arn
    code, message = error(lambda: sqs.send_message(QueueUrl=url, MessageBody="x"))
    assert code == "AccessDenied" and message.endswith("with an explicit deny in an identity-based policy")
    code, _ = error(lambda: sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "1", "MessageBody": "x"}]))
    assert code == "AccessDenied"        # a batch is authorised as sqs:SendMessage, as on AWS


def test_conditions_in_identity_policies(enforced):
    sb = enforced
    url, arn = make_queue(sb, "audit")
    role = make_role(sb, "auditor", {"AWS": CENTRAL},
                     allow("sqs:SendMessage", arn, Condition={"StringEquals": {"aws:PrincipalAccount": MEMBER}}),
                     allow("sqs:ReceiveMessage", arn, Condition={"StringEquals": {"aws:PrincipalAccount": CENTRAL}}))
    sqs = as_role(sb, role, "sqs")
    assert error(lambda: sqs.send_message(QueueUrl=url, MessageBody="x"))[0] == "AccessDenied"
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None


def test_same_account_a_resource_policy_naming_the_role_is_enough_and_its_deny_wins(enforced):
    sb = enforced
    url, arn = make_queue(sb, "shared")
    role = make_role(sb, "writer", {"AWS": CENTRAL})          # no identity policy at all
    sqs = as_role(sb, role, "sqs")
    assert error(lambda: sqs.send_message(QueueUrl=url, MessageBody="x"))[0] == "AccessDenied"
    policy = {"Effect": "Allow", "Principal": {"AWS": role}, "Action": "sqs:SendMessage", "Resource": arn}
    sb.client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": document(policy)})
    sqs.send_message(QueueUrl=url, MessageBody="by queue policy")
    assert bodies(sb, url) == ["by queue policy"]
    sb.client("iam").put_role_policy(RoleName="writer", PolicyName="all", PolicyDocument=document(allow("sqs:*", "*")))
    sb.client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": document(dict(policy, Effect="Deny"))})
    code, message = error(lambda: sqs.send_message(QueueUrl=url, MessageBody="x"))
    assert code == "AccessDenied" and message.endswith("with an explicit deny in a resource-based policy")


def test_cross_account_needs_both_the_identity_and_the_resource_policy(enforced):
    sb = enforced
    url, arn = make_queue(sb, "central-in")
    member = sb.account(MEMBER)
    role = make_role(member, "shipper", {"AWS": MEMBER}, allow("sqs:SendMessage", arn))
    sqs = as_role(member, role, "sqs")
    code, message = error(lambda: sqs.send_message(QueueUrl=url, MessageBody="x"))
    assert code == "AccessDenied" and "no resource-based policy allows" in message
    sb.client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": document(
        {"Effect": "Allow", "Principal": {"AWS": MEMBER}, "Action": "sqs:SendMessage", "Resource": arn})})
    sqs.send_message(QueueUrl=url, MessageBody="from member")
    assert bodies(sb, url) == ["from member"]
    member.client("iam").delete_role_policy(RoleName="shipper", PolicyName="inline")
    code, message = error(lambda: sqs.send_message(QueueUrl=url, MessageBody="x"))
    assert code == "AccessDenied" and "no identity-based policy allows" in message


def test_other_services_answer_their_own_denial(enforced):
    sb = enforced
    role = make_role(sb, "nobody", {"AWS": CENTRAL})
    code, message = error(lambda: as_role(sb, role, "sns").create_topic(Name="t"))
    assert code == "AuthorizationError" and f"sns:CreateTopic on resource: arn:aws:sns:us-east-1:{CENTRAL}:t" in message
    code, message = error(lambda: as_role(sb, role, "events").put_events(
        Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}"}]))
    assert code == "AccessDeniedException" and "event-bus/default because no identity-based" in message
    assert as_role(sb, role, "sts").get_caller_identity()["Arn"].endswith("assumed-role/nobody/tester")


def test_trust_policies_decide_who_may_assume_a_role(enforced):
    sb = enforced
    role = make_role(sb, "for-states", {"Service": "states.amazonaws.com"})
    code, message = error(lambda: sb.client("sts").assume_role(RoleArn=role, RoleSessionName="me"))
    assert code == "AccessDenied" and "sts:AssumeRole on resource: " + role in message
    code, message = error(lambda: sb.client("lambda").create_function(
        FunctionName="f", Runtime="python3.12", Role=role, Handler="lambda_function.handler",
        Code={"ZipFile": zip_code(SENDER)}))
    assert (code, message) == ("InvalidParameterValueException",
                               "The role defined for the function cannot be assumed by Lambda.")
    lambda_role = make_role(sb, "for-lambda", {"Service": "lambda.amazonaws.com"})
    code, _ = error(lambda: sb.client("stepfunctions").create_state_machine(
        name="m", roleArn=lambda_role, definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})))
    assert code == "AccessDeniedException"


def test_a_state_machine_task_calls_with_the_state_machine_role(enforced):
    sb = enforced
    allowed, allowed_arn = make_queue(sb, "steps-ok")
    other, _ = make_queue(sb, "steps-no")
    role = make_role(sb, "machine", {"Service": "states.amazonaws.com"}, allow("sqs:SendMessage", allowed_arn))
    send = lambda url, after: {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",  # noqa: E731
                               "Parameters": {"QueueUrl": url, "MessageBody": "step"}, **after}
    sfn = sb.client("stepfunctions")
    machine = sfn.create_state_machine(name="m", roleArn=role, definition=json.dumps({"StartAt": "A", "States": {
        "A": send(allowed, {"Next": "B"}),
        "B": send(other, {"Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Refused",
                                     "ResultPath": "$.error"}], "End": True}),
        "Refused": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    out = sfn.describe_execution(executionArn=execution)
    assert out["status"] == "SUCCEEDED"
    cause = json.loads(out["output"])["error"]["Cause"]
    assert cause.startswith(f"User: arn:aws:sts::{CENTRAL}:assumed-role/machine/") and "sqs:SendMessage" in cause
    assert bodies(sb, allowed) == ["step"] and bodies(sb, other) == []


def test_eventbridge_targets_with_a_role_need_its_permission(enforced):
    sb = enforced
    dlq, dlq_arn = make_queue(sb, "rule-dlq")
    sfn = sb.client("stepfunctions")
    machine_role = make_role(sb, "m-role", {"Service": "states.amazonaws.com"})
    machine = sfn.create_state_machine(name="on-order", roleArn=machine_role, definition=json.dumps(
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
    can_start = make_role(sb, "can-start", {"Service": "events.amazonaws.com"}, allow("states:StartExecution", machine))
    cannot = make_role(sb, "cannot", {"Service": "events.amazonaws.com"}, allow("sqs:SendMessage", "*"))
    untrusted = make_role(sb, "untrusted", {"Service": "lambda.amazonaws.com"}, allow("states:StartExecution", "*"))
    events = sb.client("events")
    events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["shop"]}))
    events.put_targets(Rule="orders", Targets=[
        {"Id": role.rsplit("/", 1)[1], "Arn": machine, "RoleArn": role, "DeadLetterConfig": {"Arn": dlq_arn}}
        for role in (can_start, cannot, untrusted)])
    events.put_events(Entries=[{"Source": "shop", "DetailType": "order", "Detail": "{}"}])
    assert len(sfn.list_executions(stateMachineArn=machine)["executions"]) == 1
    dead = sb.client("sqs").receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
    attributes = sorted((m["MessageAttributes"]["ERROR_CODE"]["StringValue"],
                         m["MessageAttributes"]["ERROR_MESSAGE"]["StringValue"]) for m in dead["Messages"])
    assert [code for code, _ in attributes] == ["NO_PERMISSIONS", "NO_PERMISSIONS"]
    assert any("assumed-role/cannot/" in m and "states:StartExecution" in m for _, m in attributes)
    assert any("cannot assume " + untrusted in m for _, m in attributes)
    assert sb.service("metrics").total("AWS/Events", "FailedInvocations", {"RuleName": "orders"}) == 2


def test_a_bus_to_bus_target_in_another_account_needs_the_role_and_the_bus_policy(enforced):
    sb = enforced
    member = sb.account(MEMBER)
    central_bus = sb.client("events").create_event_bus(Name="central")["EventBusArn"]
    inbox, inbox_arn = make_queue(sb, "central-inbox")
    sb.client("sqs").set_queue_attributes(QueueUrl=inbox, Attributes={"Policy": document(
        {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
         "Resource": inbox_arn})})
    sb.client("events").put_rule(Name="all", EventBusName="central", EventPattern=json.dumps({"source": ["shop"]}))
    sb.client("events").put_targets(Rule="all", EventBusName="central", Targets=[{"Id": "q", "Arn": inbox_arn}])
    sb.client("events").put_permission(EventBusName="central", Action="events:PutEvents", Principal=MEMBER,
                                       StatementId="member")
    dlq, dlq_arn = make_queue(member, "forward-dlq")
    forward = make_role(member, "forwarder", {"Service": "events.amazonaws.com"},
                        allow("events:PutEvents", central_bus))
    mute = make_role(member, "mute", {"Service": "events.amazonaws.com"})
    events = member.client("events")
    events.put_rule(Name="to-central", EventPattern=json.dumps({"source": ["shop"]}))
    events.put_targets(Rule="to-central", Targets=[
        {"Id": "ok", "Arn": central_bus, "RoleArn": forward},
        {"Id": "mute", "Arn": central_bus, "RoleArn": mute, "DeadLetterConfig": {"Arn": dlq_arn}}])
    events.put_events(Entries=[{"Source": "shop", "DetailType": "order", "Detail": "{}"}])
    assert len(bodies(sb, inbox)) == 1                    # only the permitted role's copy arrived
    dead = member.client("sqs").receive_message(QueueUrl=dlq, MessageAttributeNames=["All"])["Messages"]
    message = dead[0]["MessageAttributes"]["ERROR_MESSAGE"]["StringValue"]
    assert dead[0]["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "NO_PERMISSIONS"
    assert message == (f"User: arn:aws:sts::{MEMBER}:assumed-role/mute/EventBridgeSession is not authorized "
                       f"to perform: events:PutEvents on resource: {central_bus} because no identity-based "
                       "policy allows the events:PutEvents action")


def test_a_bad_mode_is_named():
    with pytest.raises(SandboxError, match="iam='on'"):
        Sandbox(iam="on")


def test_strict_policies_apply_trust_policies_without_iam():
    with Sandbox(policies="strict", background=False) as sb:
        role = make_role(sb, "member-only", {"AWS": MEMBER})
        code, _ = error(lambda: sb.client("sts").assume_role(RoleArn=role, RoleSessionName="me"))
        assert code == "AccessDenied"
        assert sb.account(MEMBER).client("sts").assume_role(RoleArn=role, RoleSessionName="me")[
            "AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{CENTRAL}:assumed-role/member-only/me"


def test_same_account_explicit_deny_in_a_resource_policy_wins_in_the_lenient_mode(sandbox):
    assert sandbox.policies == "enforce" and sandbox.iam == "off"
    url, arn = make_queue(sandbox, "locked")
    sqs = sandbox.client("sqs")
    sqs.send_message(QueueUrl=url, MessageBody="before")
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": document(
        {"Effect": "Deny", "Principal": "*", "Action": "sqs:SendMessage", "Resource": arn})})
    assert error(lambda: sqs.send_message(QueueUrl=url, MessageBody="x"))[0] == "AccessDenied"
    assert bodies(sandbox, url) == ["before"]          # what the Deny does not name still works
    sns = sandbox.client("sns")
    topic = sns.create_topic(Name="frozen")["TopicArn"]
    sns.publish(TopicArn=topic, Message="fine")
    sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=document(
        {"Effect": "Deny", "Principal": {"AWS": CENTRAL}, "Action": "SNS:Publish", "Resource": topic}))
    assert error(lambda: sns.publish(TopicArn=topic, Message="x"))[0] == "AuthorizationError"
    assert sns.get_topic_attributes(TopicArn=topic)["Attributes"]["TopicArn"] == topic


def test_an_event_source_mapping_needs_the_role_to_read_the_queue(enforced):
    sb = enforced
    url, arn = make_queue(sb, "jobs")
    role = make_role(sb, "consumer", {"Service": "lambda.amazonaws.com"}, allow("sqs:ReceiveMessage", arn))
    lam = sb.client("lambda")
    lam.create_function(FunctionName="consumer", Runtime="python3.12", Role=role, Handler="lambda_function.handler",
                        Code={"ZipFile": zip_code("def handler(event, context):\n    return 1\n")})
    code, message = error(lambda: lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="consumer"))
    assert (code, message) == ("InvalidParameterValueException",
                               "The provided execution role does not have permissions to call DeleteMessage on SQS")
    sb.client("iam").put_role_policy(RoleName="consumer", PolicyName="poll", PolicyDocument=document(
        allow(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], arn)))
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="consumer", BatchSize=1)
    sb.client("sqs").send_message(QueueUrl=url, MessageBody="job")
    assert sb.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"][
        "ApproximateNumberOfMessages"] == "0"


def test_lambda_kinesis_and_step_functions_calls_are_checked_too(enforced):
    sb = enforced
    sb.client("kinesis").create_stream(StreamName="clicks", ShardCount=1)
    machine_role = make_role(sb, "m", {"Service": "states.amazonaws.com"})
    machine = sb.client("stepfunctions").create_state_machine(name="m", roleArn=machine_role, definition=json.dumps(
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
    role = make_role(sb, "caller", {"AWS": CENTRAL}, allow("kinesis:PutRecord", "*"))
    code, message = error(lambda: as_role(sb, role, "lambda").invoke(FunctionName="anything"))
    assert code == "AccessDeniedException" and "lambda:InvokeFunction on resource: " \
        f"arn:aws:lambda:us-east-1:{CENTRAL}:function:anything" in message
    code, message = error(lambda: as_role(sb, role, "stepfunctions").start_execution(stateMachineArn=machine))
    assert code == "AccessDeniedException" and f"states:StartExecution on resource: {machine}" in message
    as_role(sb, role, "kinesis").put_record(StreamName="clicks", Data=b"x", PartitionKey="k")
    code, message = error(lambda: as_role(sb, role, "kinesis").put_records(
        StreamName="clicks", Records=[{"Data": b"x", "PartitionKey": "k"}]))
    assert code == "AccessDeniedException" and "kinesis:PutRecords on resource: " \
        f"arn:aws:kinesis:us-east-1:{CENTRAL}:stream/clicks" in message


def test_a_schedule_delivers_with_its_role(enforced):
    sb = enforced
    url, arn = make_queue(sb, "scheduled")
    dlq, dlq_arn = make_queue(sb, "schedule-dlq")
    sender = make_role(sb, "sched-ok", {"Service": "scheduler.amazonaws.com"}, allow("sqs:SendMessage", arn))
    mute = make_role(sb, "sched-mute", {"Service": "scheduler.amazonaws.com"})
    scheduler = sb.client("scheduler")
    for name, role in (("ok", sender), ("mute", mute)):
        scheduler.create_schedule(Name=name, ScheduleExpression="rate(10 minutes)", FlexibleTimeWindow={"Mode": "OFF"},
                                  Target={"Arn": arn, "RoleArn": role, "Input": json.dumps(name),
                                          "RetryPolicy": {"MaximumRetryAttempts": 0},
                                          "DeadLetterConfig": {"Arn": dlq_arn}})
    sb.clock.advance(minutes=11)
    assert bodies(sb, url) == ['"ok"']
    dead = sb.client("sqs").receive_message(QueueUrl=dlq, MessageAttributeNames=["All"])["Messages"]
    assert dead[0]["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "NO_PERMISSIONS"
    assert "assumed-role/sched-mute/SchedulerSession is not authorized to perform: sqs:SendMessage" in \
        dead[0]["MessageAttributes"]["ERROR_MESSAGE"]["StringValue"]


def test_api_gateway_integrations_with_credentials_use_the_role(enforced):
    from tests.sandbox.apigateway.apigw import (
        ECHO,
        SQS_TEMPLATE,
        deploy,
        integration_response,
        lambda_uri,
        method,
        resource,
        rest_api,
    )
    sb = enforced
    url, arn = make_queue(sb, "api-orders")
    fn = sb.client("lambda").create_function(
        FunctionName="echo", Runtime="python3.12", Handler="lambda_function.handler", Code={"ZipFile": zip_code(ECHO)},
        Role=make_role(sb, "echo-role", {"Service": "lambda.amazonaws.com"}))["FunctionArn"]
    can_send = make_role(sb, "api-sqs", {"Service": "apigateway.amazonaws.com"}, allow("sqs:SendMessage", arn))
    apigw, api_id, root = rest_api(sb)
    for part, role in (("ok", can_send), ("denied", make_role(sb, "api-none", {"Service": "apigateway.amazonaws.com"}))):
        leaf = resource(apigw, api_id, root, part)
        method(apigw, api_id, leaf, "POST", type="AWS", integrationHttpMethod="POST", credentials=role,
               uri=f"arn:aws:apigateway:us-east-1:sqs:path/{CENTRAL}/api-orders",
               requestParameters={"integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"},
               requestTemplates={"application/json": SQS_TEMPLATE})
        integration_response(apigw, api_id, leaf, "POST", "200", selectionPattern="")
        integration_response(apigw, api_id, leaf, "POST", "403", selectionPattern="403")
    proxied = resource(apigw, api_id, root, "echo")
    method(apigw, api_id, proxied, "ANY", type="AWS_PROXY", integrationHttpMethod="POST", credentials=can_send,
           uri=lambda_uri(sb, fn))
    deploy(apigw, api_id)
    service = sb.service("apigateway")
    assert service.invoke(api_id, "prod", "POST", "/ok", body='{"n": 1}')[0] == 200
    status, _, body = service.invoke(api_id, "prod", "POST", "/denied", body='{"n": 2}')
    assert status == 403 and b"assumed-role/api-none/" in body
    assert bodies(sb, url) == ['{"n": 1}']
    status, _, body = service.invoke(api_id, "prod", "GET", "/echo")
    assert (status, json.loads(body)) == (500, {"message": "Internal server error"})
    assert "Invalid permissions on Lambda function" in service.errors[-1]
