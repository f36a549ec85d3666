"""Resource policies decide deliveries and cross-account calls, with AWS's outcomes."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from eventlab.sandbox import Sandbox
from eventlab.sandbox.iam.accounts import add_to_organization
from tests.sandbox.helpers import RECORDER, make_function, make_queue

CENTRAL, MEMBER, STRANGER = "123456789012", "111111111111", "999999999999"


def statement(principal, action, resource, condition=None, effect="Allow"):
    s = {"Effect": effect, "Principal": principal, "Action": action, "Resource": resource}
    if condition:
        s["Condition"] = condition
    return s


def set_queue_policy(owner, url, *statements):
    owner.client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(
        {"Version": "2012-10-17", "Statement": list(statements)})})


def received(owner, url):
    return owner.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                               MessageAttributeNames=["All"]).get("Messages", [])


def failed(sb, topic_name):
    return sb.service("metrics").total("AWS/SNS", "NumberOfNotificationsFailed", {"TopicName": topic_name})


def test_sns_delivers_only_from_the_topic_the_queue_policy_names(sandbox):
    sns = sandbox.client("sns")
    allowed = sns.create_topic(Name="uploads")["TopicArn"]
    other = sns.create_topic(Name="spam")["TopicArn"]
    url, arn = make_queue(sandbox, "inbox")
    set_queue_policy(sandbox, url, statement({"Service": "sns.amazonaws.com"}, "sqs:SendMessage", arn,
                                             {"ArnEquals": {"aws:SourceArn": allowed}}))
    for topic in (allowed, other):
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
        sns.publish(TopicArn=topic, Message=topic.rsplit(":", 1)[1])
    assert [m["Body"] for m in received(sandbox, url)] == ["uploads"]
    assert failed(sandbox, "spam") == 1 and failed(sandbox, "uploads") == 0
    assert sandbox.service("policies").refused[0]["target"] == arn


def test_an_explicit_deny_in_the_queue_policy_drops_sns_deliveries(sandbox):
    sns = sandbox.client("sns")
    topic = sns.create_topic(Name="uploads")["TopicArn"]
    url, arn = make_queue(sandbox, "inbox")
    set_queue_policy(sandbox, url, statement("*", "sqs:*", arn),
                     statement({"Service": "sns.amazonaws.com"}, "sqs:SendMessage", arn, effect="Deny"))
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    sns.publish(TopicArn=topic, Message="x")
    assert received(sandbox, url) == [] and failed(sandbox, "uploads") == 1


def test_strict_mode_refuses_a_delivery_to_a_queue_without_policy_as_aws_does():
    with Sandbox(policies="strict", background=False) as sb:
        sns = sb.client("sns")
        topic = sns.create_topic(Name="uploads")["TopicArn"]
        url, arn = make_queue(sb, "inbox")
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
        sns.publish(TopicArn=topic, Message="lost")
        assert received(sb, url) == [] and failed(sb, "uploads") == 1
        assert "no resource policy" in sb.service("policies").refused[0]["reason"]


def test_the_default_mode_lets_a_same_account_delivery_reach_a_queue_without_policy(sandbox):
    sns = sandbox.client("sns")
    topic = sns.create_topic(Name="uploads")["TopicArn"]
    url, arn = make_queue(sandbox, "inbox")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    sns.publish(TopicArn=topic, Message="kept")
    assert len(received(sandbox, url)) == 1


def test_cross_account_send_message_needs_the_queue_policy(sandbox):
    member = sandbox.account(MEMBER)
    url, arn = make_queue(sandbox, "orders")
    with pytest.raises(ClientError) as denied:
        member.client("sqs").send_message(QueueUrl=url, MessageBody="x")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError):
        member.client("sqs").get_queue_url(QueueName="orders", QueueOwnerAWSAccountId=CENTRAL)
    set_queue_policy(sandbox, url, statement({"AWS": f"arn:aws:iam::{MEMBER}:root"},
                                             ["sqs:SendMessage", "sqs:GetQueueUrl"], arn))
    assert member.client("sqs").get_queue_url(QueueName="orders", QueueOwnerAWSAccountId=CENTRAL)["QueueUrl"] == url
    member.client("sqs").send_message(QueueUrl=url, MessageBody="from member")
    with pytest.raises(ClientError):     # the policy allows sending, not receiving
        member.client("sqs").receive_message(QueueUrl=url)
    assert [m["Body"] for m in received(sandbox, url)] == ["from member"]


def test_an_organization_wide_queue_policy(sandbox):
    add_to_organization(sandbox, MEMBER, management=CENTRAL)
    url, arn = make_queue(sandbox, "orders")
    org = sandbox.client("organizations").describe_organization()["Organization"]["Id"]
    set_queue_policy(sandbox, url, statement("*", "sqs:SendMessage", arn,
                                             {"StringEquals": {"aws:PrincipalOrgID": org}}))
    sandbox.account(MEMBER).client("sqs").send_message(QueueUrl=url, MessageBody="member")
    with pytest.raises(ClientError):
        sandbox.account(STRANGER).client("sqs").send_message(QueueUrl=url, MessageBody="stranger")
    assert [m["Body"] for m in received(sandbox, url)] == ["member"]


def test_cross_account_topic_subscribe_and_publish_follow_the_topic_policy(sandbox):
    member = sandbox.account(MEMBER)
    topic = sandbox.client("sns").create_topic(Name="alerts")["TopicArn"]
    url, arn = make_queue(member, "alerts-copy")
    with pytest.raises(ClientError) as denied:       # the default topic policy: its owner only
        member.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    assert denied.value.response["Error"]["Code"] == "AuthorizationError"
    sandbox.client("sns").set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps({
        "Version": "2012-10-17",
        "Statement": [statement({"AWS": MEMBER}, ["sns:Subscribe", "sns:Publish"], topic)]}))
    member.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                                   Attributes={"RawMessageDelivery": "true"})
    member.client("sns").publish(TopicArn=topic, Message="no queue policy yet")
    assert received(member, url) == []                # cross-account: the queue must allow the topic
    set_queue_policy(member, url, statement({"Service": "sns.amazonaws.com"}, "sqs:SendMessage", arn,
                                            {"ArnEquals": {"aws:SourceArn": topic}}))
    member.client("sns").publish(TopicArn=topic, Message="delivered")
    assert [m["Body"] for m in received(member, url)] == ["delivered"]
    assert failed(sandbox, "alerts") == 1


def _rule_to(sb, arn, **target):
    events = sb.client("events")
    rule = events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["shop"]}))["RuleArn"]
    events.put_targets(Rule="orders", Targets=[{"Id": "t", "Arn": arn, **target}])
    return rule


def _put(sb, account=None, bus=None):
    entry = {"Source": "shop", "DetailType": "order", "Detail": json.dumps({"id": 1})}
    if bus:
        entry["EventBusName"] = bus
    client = sb.client("events") if account is None else sb.account(account).client("events")
    return client.put_events(Entries=[entry])


def _dlq_attributes(sb, dlq_url):
    got = received(sb, dlq_url)
    assert len(got) == 1
    return {k: v["StringValue"] for k, v in got[0].get("MessageAttributes", {}).items()}


def test_eventbridge_to_lambda_needs_the_function_policy_for_that_rule(sandbox):
    out_url, _ = make_queue(sandbox, "out")
    dlq_url, dlq_arn = make_queue(sandbox, "dlq")
    fn = make_function(sandbox, "recorder", RECORDER, {"OUT": out_url})
    rule = _rule_to(sandbox, fn, DeadLetterConfig={"Arn": dlq_arn})
    lam = sandbox.client("lambda")
    lam.add_permission(FunctionName="recorder", StatementId="other-rule", Action="lambda:InvokeFunction",
                       Principal="events.amazonaws.com", SourceArn=rule + "-other")
    _put(sandbox)
    sandbox.clock.advance(seconds=5)
    assert received(sandbox, out_url) == []
    attributes = _dlq_attributes(sandbox, dlq_url)
    assert attributes["ERROR_CODE"] == "NO_PERMISSIONS" and attributes["RULE_ARN"] == rule
    assert attributes["TARGET_ARN"] == fn and attributes["RETRY_ATTEMPTS"] == "0"
    lam.add_permission(FunctionName="recorder", StatementId="this-rule", Action="lambda:InvokeFunction",
                       Principal="events.amazonaws.com", SourceArn=rule)
    _put(sandbox)
    sandbox.clock.advance(seconds=5)
    assert json.loads(received(sandbox, out_url)[0]["Body"])["source"] == "shop"


def test_sns_to_lambda_is_refused_when_the_function_policy_names_another_topic(sandbox):
    out_url, _ = make_queue(sandbox, "out")
    fn = make_function(sandbox, "recorder", RECORDER, {"OUT": out_url})
    sns = sandbox.client("sns")
    topic = sns.create_topic(Name="news")["TopicArn"]
    sandbox.client("lambda").add_permission(
        FunctionName="recorder", StatementId="s", Action="lambda:InvokeFunction",
        Principal="sns.amazonaws.com", SourceArn=topic + "-other")
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=fn)
    sns.publish(TopicArn=topic, Message="x")
    sandbox.clock.advance(seconds=5)
    assert received(sandbox, out_url) == [] and failed(sandbox, "news") == 1


def test_eventbridge_to_sns_needs_a_topic_policy_naming_events(sandbox):
    topic = sandbox.client("sns").create_topic(Name="fanout")["TopicArn"]
    url, arn = make_queue(sandbox, "copy")
    sandbox.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    dlq_url, dlq_arn = make_queue(sandbox, "dlq")
    rule = _rule_to(sandbox, topic, DeadLetterConfig={"Arn": dlq_arn})
    sandbox.client("sns").set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps({
        "Version": "2012-10-17", "Statement": [statement({"Service": "events.amazonaws.com"}, "sns:Publish",
                                                         topic, {"ArnEquals": {"aws:SourceArn": rule + "x"}})]}))
    _put(sandbox)
    assert _dlq_attributes(sandbox, dlq_url)["ERROR_CODE"] == "NO_PERMISSIONS"
    assert received(sandbox, url) == []


def test_cross_account_put_events_onto_a_bus_arn_follows_the_bus_policy(sandbox):
    url, arn = make_queue(sandbox, "central-in")
    events = sandbox.client("events")
    bus = events.create_event_bus(Name="central")["EventBusArn"]
    events.put_rule(Name="all", EventBusName="central", EventPattern=json.dumps({"source": ["shop"]}))
    events.put_targets(Rule="all", EventBusName="central", Targets=[{"Id": "q", "Arn": arn}])
    with pytest.raises(ClientError) as denied:
        _put(sandbox, MEMBER, bus)
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    add_to_organization(sandbox, MEMBER, management=CENTRAL)
    org = sandbox.client("organizations").describe_organization()["Organization"]["Id"]
    events.put_permission(EventBusName="central", Action="events:PutEvents", Principal="*",
                          StatementId="org", Condition={"Type": "StringEquals", "Key": "aws:PrincipalOrgID",
                                                        "Value": org})
    assert _put(sandbox, MEMBER, bus)["FailedEntryCount"] == 0
    with pytest.raises(ClientError):
        _put(sandbox, STRANGER, bus)
    assert len(received(sandbox, url)) == 1


def test_a_bus_to_bus_target_in_another_account_needs_that_bus_policy(sandbox):
    member = sandbox.account(MEMBER)
    url, arn = make_queue(sandbox, "central-in")
    events = sandbox.client("events")
    bus = events.create_event_bus(Name="central")["EventBusArn"]
    events.put_rule(Name="all", EventBusName="central", EventPattern=json.dumps({"source": ["shop"]}))
    events.put_targets(Rule="all", EventBusName="central", Targets=[{"Id": "q", "Arn": arn}])
    dlq_url, dlq_arn = make_queue(member, "forward-dlq")
    _rule_to(member, bus, DeadLetterConfig={"Arn": dlq_arn},
             RoleArn=f"arn:aws:iam::{MEMBER}:role/forwarder")
    _put(sandbox, MEMBER)
    assert received(sandbox, url) == []
    assert _dlq_attributes(member, dlq_url)["ERROR_CODE"] == "NO_PERMISSIONS"
    events.put_permission(EventBusName="central", Action="events:PutEvents", Principal=MEMBER, StatementId="m")
    _put(sandbox, MEMBER)
    assert len(received(sandbox, url)) == 1


def _sns_to_encrypted_queue(sb, key_id):
    sns = sb.client("sns")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    url, arn = make_queue(sb, "encrypted", KmsMasterKeyId=key_id)
    set_queue_policy(sb, url, statement({"Service": "sns.amazonaws.com"}, "sqs:SendMessage", arn,
                                        {"ArnEquals": {"aws:SourceArn": topic}}))
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    sns.publish(TopicArn=topic, Message="secret")
    return url


def test_sns_cannot_deliver_to_a_queue_encrypted_with_the_aws_managed_key(sandbox):
    url = _sns_to_encrypted_queue(sandbox, "alias/aws/sqs")
    assert received(sandbox, url) == [] and failed(sandbox, "orders") == 1
    assert "AWS managed key" in sandbox.service("policies").refused[0]["reason"]


@pytest.mark.parametrize("allow_sns", [True, False])
def test_a_customer_managed_key_delivers_only_if_its_policy_lets_sns_use_it(sandbox, allow_sns):
    statements = [statement({"AWS": f"arn:aws:iam::{CENTRAL}:root"}, "kms:*", "*")]
    if allow_sns:
        statements.append(statement({"Service": "sns.amazonaws.com"}, ["kms:GenerateDataKey*", "kms:Decrypt"], "*"))
    key = sandbox.client("kms").create_key(Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    url = _sns_to_encrypted_queue(sandbox, key["KeyMetadata"]["Arn"])
    assert len(received(sandbox, url)) == (1 if allow_sns else 0)
    assert failed(sandbox, "orders") == (0 if allow_sns else 1)


def test_eventbridge_to_a_queue_with_the_aws_managed_key_dead_letters(sandbox):
    url, arn = make_queue(sandbox, "encrypted", KmsMasterKeyId="alias/aws/sqs")
    dlq_url, dlq_arn = make_queue(sandbox, "dlq")
    _rule_to(sandbox, arn, DeadLetterConfig={"Arn": dlq_arn})
    _put(sandbox)
    assert received(sandbox, url) == []
    assert _dlq_attributes(sandbox, dlq_url)["ERROR_CODE"] == "NO_PERMISSIONS"
