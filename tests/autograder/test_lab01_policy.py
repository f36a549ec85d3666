"""Lab 1's queue-policy check, statement by statement: every form AWS accepts as
'only this topic may send' passes, and each open form fails saying what it found."""

from __future__ import annotations

import pytest

from autograder.labs.lab01 import _policy_hint, _statement

TOPIC = "arn:aws:sns:us-east-1:123456789012:video-uploads"
QUEUE = "arn:aws:sqs:us-east-1:123456789012:thumbnails"


def st(principal, condition=None, action="sqs:SendMessage"):
    out = {"Effect": "Allow", "Principal": principal, "Action": action, "Resource": QUEUE}
    if condition is not None:
        out["Condition"] = condition
    return out


@pytest.mark.parametrize("statement", [
    st({"Service": "sns.amazonaws.com"}, {"ArnEquals": {"aws:SourceArn": TOPIC}}),
    st({"Service": ["sns.amazonaws.com"]}, {"ArnLike": {"aws:SourceArn": [TOPIC]}}),
    st("*", {"ArnEquals": {"aws:SourceArn": TOPIC}}),
    # what the SDKs' subscribe-queue helpers write
    st({"AWS": "*"}, {"ArnLike": {"aws:SourceArn": TOPIC}}, action="SQS:SendMessage"),
    st("*", {"StringEquals": {"aws:SourceAccount": "123456789012"}}),
    st({"Service": "sns.amazonaws.com"}, {"StringEquals": {"aws:sourcearn": TOPIC}}, action=["sqs:*"]),
], ids=["service+arn", "lists", "star+arn", "sdk-helper", "star+account", "key-case+sqs:*"])
def test_forms_aws_accepts_let_the_topic_send(statement) -> None:
    assert _statement(statement, TOPIC) == (True, None)


def test_an_owner_account_statement_is_neither_wrong_nor_enough() -> None:
    owner = st({"AWS": "arn:aws:iam::123456789012:root"}, action="SQS:*")
    assert _statement(owner, TOPIC) == (False, None)


@pytest.mark.parametrize("statement,found", [
    (st("*"), "Principal is everyone ('*') and it has no aws:SourceArn (or aws:SourceAccount) condition"),
    (st({"AWS": ["*"]}, {"ArnEquals": {"aws:SourceArn": TOPIC + "-old"}}),
     f"Principal is everyone ('*') and its aws:SourceArn condition is {TOPIC}-old, not {TOPIC}"),
    (st({"Service": "sns.amazonaws.com"}), "it has no aws:SourceArn (or aws:SourceAccount) condition"),
    (st("*", {"StringEquals": {"aws:SourceAccount": "999999999999"}}),
     "Principal is everyone ('*') and its aws:SourceAccount condition is 999999999999, not 123456789012"),
    (st({"Service": "events.amazonaws.com"}, {"ArnEquals": {"aws:SourceArn": TOPIC}}),
     'Principal is {"Service": "events.amazonaws.com"}, not the SNS service'),
    (st({"Service": "sns.amazonaws.com"}, {"ArnEquals": {"aws:SourceArn": TOPIC}}, action="sqs:ReceiveMessage"),
     "the statement does not allow sqs:SendMessage"),
])
def test_open_or_wrong_forms_fail_saying_what_was_found(statement, found) -> None:
    ok, problem = _statement(statement, TOPIC)
    assert not ok and problem == found


def test_the_hint_follows_what_was_found() -> None:
    assert "add Condition" in _policy_hint("thumbnails: Principal is everyone ('*') and it has no ...")
    assert "create_topic(Name='video-uploads')" in _policy_hint("thumbnails: ... condition is x, not y")
    assert _policy_hint("thumbnails has no policy statement allowing the topic to send") is None
