"""The policy evaluator against AWS's evaluation logic, statement by statement."""

from __future__ import annotations

import json

import pytest

from eventlab.sandbox.iam.policy import Decision, PolicyError, Request, compile_policy, evaluate

QUEUE = "arn:aws:sqs:us-east-1:123456789012:orders"
TOPIC = "arn:aws:sns:us-east-1:123456789012:uploads"


def sns(source: str = TOPIC, account: str = "123456789012") -> Request:
    return Request("sns.amazonaws.com", "sqs:SendMessage", QUEUE,
                   {"aws:SourceArn": source, "aws:SourceAccount": account})


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ALLOW_TOPIC = {"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
               "Action": "sqs:SendMessage", "Resource": QUEUE,
               "Condition": {"ArnEquals": {"aws:SourceArn": TOPIC}}}


def test_a_service_principal_with_its_source_arn_is_allowed_and_another_topic_is_not():
    assert evaluate(policy(ALLOW_TOPIC), sns()) is Decision.ALLOW
    assert evaluate(policy(ALLOW_TOPIC), sns(TOPIC + "-other")) is Decision.NONE
    assert evaluate(None, sns()) is Decision.NONE


def test_an_explicit_deny_wins_over_an_allow():
    deny = {"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:SourceAccount": "123456789012"}}}
    assert evaluate(policy(ALLOW_TOPIC, deny), sns()) is Decision.ALLOW
    assert evaluate(policy(ALLOW_TOPIC, deny), sns(account="999999999999")) is Decision.DENY


def test_principals_accounts_roots_roles_and_wildcards():
    stmt = {"Effect": "Allow", "Principal": {"AWS": ["111111111111", "arn:aws:iam::222222222222:role/Sender"]},
            "Action": "SQS:Send*", "Resource": "arn:aws:sqs:*:123456789012:*"}
    doc = policy(stmt)
    root = Request("arn:aws:iam::111111111111:root", "sqs:SendMessage", QUEUE)
    role = Request("arn:aws:sts::222222222222:assumed-role/Sender/s1", "sqs:SendMessageBatch", QUEUE)
    other_role = Request("arn:aws:iam::222222222222:role/Other", "sqs:SendMessage", QUEUE)
    assert evaluate(doc, root) is Decision.ALLOW
    assert evaluate(doc, role) is Decision.ALLOW               # actions: case-insensitive, wildcard
    assert evaluate(doc, other_role) is Decision.NONE
    assert evaluate(doc, Request("arn:aws:iam::111111111111:root", "sqs:ReceiveMessage", QUEUE)) is Decision.NONE
    assert evaluate(doc, sns()) is Decision.NONE               # an AWS principal is not a service
    assert evaluate(policy(dict(stmt, Principal="*")), sns()) is Decision.ALLOW


def test_not_action_not_resource_and_not_principal():
    doc = policy({"Effect": "Deny", "NotPrincipal": {"AWS": "111111111111"}, "NotAction": "sqs:Receive*",
                  "NotResource": "arn:aws:sqs:us-east-1:123456789012:public-*"})
    assert evaluate(doc, Request("arn:aws:iam::333333333333:root", "sqs:SendMessage", QUEUE)) is Decision.DENY
    assert evaluate(doc, Request("arn:aws:iam::111111111111:root", "sqs:SendMessage", QUEUE)) is Decision.NONE
    assert evaluate(doc, Request("arn:aws:iam::333333333333:root", "sqs:ReceiveMessage", QUEUE)) is Decision.NONE
    public = "arn:aws:sqs:us-east-1:123456789012:public-feed"
    assert evaluate(doc, Request("arn:aws:iam::333333333333:root", "sqs:SendMessage", public)) is Decision.NONE


@pytest.mark.parametrize(("condition", "context", "expected"), [
    ({"StringLike": {"aws:SourceArn": "arn:aws:sns:*:123456789012:up*"}}, {"aws:SourceArn": TOPIC}, True),
    ({"ArnLike": {"aws:SourceArn": "arn:aws:sns:us-east-1:*:uploads"}}, {"aws:SourceArn": TOPIC}, True),
    ({"ArnNotEquals": {"aws:SourceArn": TOPIC}}, {"aws:SourceArn": TOPIC}, False),
    ({"StringEqualsIgnoreCase": {"aws:sourceaccount": "123456789012"}}, {"AWS:SourceAccount": "123456789012"}, True),
    ({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "7"}, True),
    ({"NumericGreaterThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "7"}, False),
    ({"DateLessThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"}}, {"aws:CurrentTime": "2026-12-06T09:00:00Z"}, True),
    ({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": True}, True),
    ({"Bool": {"aws:SecureTransport": "true"}}, {}, False),
    ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "10.1.2.3"}, True),
    ({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "10.1.2.3"}, False),
    ({"Null": {"aws:SourceArn": "true"}}, {}, True),
    ({"Null": {"aws:SourceArn": "false"}}, {}, False),
    ({"StringEquals": {"aws:SourceAccount": "1"}}, {}, False),           # missing key: positive fails
    ({"StringNotEquals": {"aws:SourceAccount": "1"}}, {}, True),         # missing key: negated passes
    ({"StringEqualsIfExists": {"aws:SourceAccount": "1"}}, {}, True),
    ({"StringEquals": {"aws:SourceAccount": ["1", "2"]}}, {"aws:SourceAccount": "2"}, True),  # values OR-ed
    ({"StringEquals": {"aws:SourceAccount": "2", "aws:SourceArn": TOPIC}}, {"aws:SourceAccount": "2"}, False),  # keys AND-ed
    ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {"aws:TagKeys": ["c", "b"]}, True),
    ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {"aws:TagKeys": ["c", "b"]}, False),
    ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {}, True),
    ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {}, False),
])
def test_condition_operators(condition, context, expected):
    doc = policy({"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*", "Condition": condition})
    decision = evaluate(doc, Request("sns.amazonaws.com", "sqs:SendMessage", QUEUE, context))
    assert (decision is Decision.ALLOW) is expected


def test_a_document_is_compiled_once():
    text = policy(ALLOW_TOPIC)
    assert compile_policy(text) is compile_policy(text)


@pytest.mark.parametrize(("document", "message"), [
    ("{not json", "not valid JSON"),
    (policy({"Effect": "Maybe", "Action": "*"}), "Effect 'Maybe'"),
    (policy({"Effect": "Allow", "Action": "*", "Condition": {"StringSorta": {"a": "b"}}}), "StringSorta"),
])
def test_a_broken_policy_is_named_clearly(document, message):
    with pytest.raises(PolicyError, match=message):
        evaluate(document, sns())
