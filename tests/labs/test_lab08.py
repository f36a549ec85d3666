"""Lab 8 (a central event bus across accounts) beyond the shared tests of test_grading.py
and test_notebooks.py: the organisation the lab starts with, the other accounts as a graded
kernel reaches them, what the checks say about a bus open to everyone and a refused
forward, and the correct variants keeping full marks through both graders."""

from __future__ import annotations

import json

import pytest

from autograder import lab as lab_api
from autograder.checks import run_check
from autograder.golden import MUTATIONS, TOTALS
from autograder.labs import lab08
from autograder.remote import RemoteSandbox
from eventlab.sandbox import inspect

LAB = "lab08"


@pytest.fixture
def lab_sandbox():
    sb = lab_api.start(LAB)
    yield sb
    lab_api.stop()


def _check(sb, check_id):
    [c] = [c for c in lab08.CHECKS if c.id == check_id]
    return run_check(c, sb)


def test_the_lab_starts_with_the_organisation_and_the_outsider_outside_it(lab_sandbox) -> None:
    org = lab_sandbox.client("organizations")
    assert org.describe_organization()["Organization"]["MasterAccountId"] == lab08.CENTRAL
    accounts = {a["Id"] for a in org.list_accounts()["Accounts"]}
    assert {lab08.CENTRAL, lab08.WORKLOAD, lab08.SECURITY} <= accounts
    assert lab08.OUTSIDER not in accounts


def test_a_bus_open_to_everyone_admits_the_outsider_and_the_check_says_so(lab_sandbox) -> None:
    events = lab_sandbox.client("events")
    events.create_event_bus(Name=lab08.CENTRAL_BUS)
    assert not _check(lab_sandbox, "members-in").ok          # no policy yet: members refused
    events.put_permission(EventBusName=lab08.CENTRAL_BUS, Action="events:PutEvents", Principal="*",
                          StatementId="everyone")
    members, outsider = _check(lab_sandbox, "members-in"), _check(lab_sandbox, "outsider-out")
    assert members.ok and members.earned == 2
    assert not outsider.ok and outsider.earned == 0
    assert "account 999999999999, outside the organisation, put an event onto central-bus" in outsider.message


def _forwarding(sb, *, security_grants: str) -> None:
    """The routing of findings only: the security bus (granting ``security_grants``) with its
    inbox, and the central rule forwarding to it with a role and a DLQ."""
    security = sb.account(lab08.SECURITY)
    sec_events, sec_sqs = security.client("events"), security.client("sqs")
    sec_events.create_event_bus(Name=lab08.SECURITY_BUS)
    sec_events.put_permission(EventBusName=lab08.SECURITY_BUS, Action="events:PutEvents",
                              Principal=security_grants, StatementId="grant")
    url = sec_sqs.create_queue(QueueName=lab08.FINDINGS_INBOX)["QueueUrl"]
    arn = sec_sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = sec_events.put_rule(Name="in", EventBusName=lab08.SECURITY_BUS,
                               EventPattern=json.dumps({"source": ["acme.security"]}))["RuleArn"]
    sec_sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({"Statement": [{
        "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": arn, "Condition": {"ArnEquals": {"aws:SourceArn": rule}}}]})})
    sec_events.put_targets(Rule="in", EventBusName=lab08.SECURITY_BUS, Targets=[{"Id": "q", "Arn": arn}])
    events, sqs = sb.client("events"), sb.client("sqs")
    events.create_event_bus(Name=lab08.CENTRAL_BUS)
    dlq = sqs.create_queue(QueueName=lab08.DLQ)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    central_rule = events.put_rule(Name=lab08.FINDINGS_RULE, EventBusName=lab08.CENTRAL_BUS,
                                   EventPattern=json.dumps({"source": ["acme.security"]}))["RuleArn"]
    sqs.set_queue_attributes(QueueUrl=dlq, Attributes={"Policy": json.dumps({"Statement": [{
        "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": dlq_arn, "Condition": {"ArnEquals": {"aws:SourceArn": central_rule}}}]})})
    events.put_targets(Rule=lab08.FINDINGS_RULE, EventBusName=lab08.CENTRAL_BUS, Targets=[{
        "Id": "owner", "Arn": lab08.bus_arn(lab08.SECURITY, lab08.SECURITY_BUS),
        "RoleArn": f"arn:aws:iam::{lab08.CENTRAL}:role/central-forwarder",
        "DeadLetterConfig": {"Arn": dlq_arn}}])


def test_a_forward_the_owner_refuses_is_dead_lettered_and_the_check_names_the_policy(lab_sandbox) -> None:
    _forwarding(lab_sandbox, security_grants=lab08.WORKLOAD)     # the wrong account
    result = _check(lab_sandbox, "findings-routed")
    assert not result.ok
    assert ("the policy of event bus arn:aws:events:us-east-1:222222222222:event-bus/security-bus "
            "does not allow account 123456789012") in result.message
    [dead] = inspect.messages(lab_sandbox, lab08.DLQ)
    assert json.loads(dead.body)["source"] == "acme.security"
    assert dead.message_attributes["ERROR_CODE"]["StringValue"] == "NO_PERMISSIONS"


def test_a_granted_forward_reaches_the_owner_s_queue_read_in_its_account(lab_sandbox) -> None:
    _forwarding(lab_sandbox, security_grants=lab08.CENTRAL)
    assert _check(lab_sandbox, "findings-routed").ok
    bodies = [json.loads(m.body) for m in inspect.messages(lab_sandbox, lab08.FINDINGS_INBOX,
                                                           account=lab08.SECURITY)]
    assert [b["detail-type"] for b in bodies] == ["Security Finding"]
    assert inspect.messages(lab_sandbox, lab08.FINDINGS_INBOX) == []   # not in the central account


def test_a_graded_kernel_reaches_the_other_accounts_over_http(lab_sandbox) -> None:
    url = lab_sandbox.serve("127.0.0.1", 0).url
    remote = RemoteSandbox({"region": lab_sandbox.region, "account_id": lab_sandbox.account_id,
                            "endpoint_url": url})
    identity = remote.account(lab08.SECURITY).client("sts").get_caller_identity()
    assert identity["Account"] == lab08.SECURITY
    remote.account(lab08.SECURITY).client("sqs").create_queue(QueueName="only-in-security")
    assert [m.body for m in inspect.messages(lab_sandbox, "only-in-security", account=lab08.SECURITY)] == []
    assert "only-in-security" not in inspect.queue_names(lab_sandbox)
    with pytest.raises(ValueError, match="an AWS account id is 12 digits, like '111111111111'; got '1234'"):
        remote.account("1234")


@pytest.mark.parametrize("variant", ["central-policy-by-account-list", "owner-buses-open-to-the-organisation",
                                     "central-policy-as-a-document"])
def test_the_correct_variants_keep_full_marks(variant: str, lab_course) -> None:
    assert not next(m for m in MUTATIONS[LAB] if m.name == variant).fails
    assert lab_course.grade(LAB, variant)["score"] == TOTALS[LAB]
    assert lab_course.nbgrader_score(LAB, variant) == TOTALS[LAB]
