"""The framework's parts without a kernel: checks, reports, the checklist, the picture."""

from __future__ import annotations

import json

import pytest

from autograder import lab
from autograder.checks import Check, CheckFailed, Report, run_check
from autograder.diagram import picture
from autograder.display import checklist, html_table, text_table
from autograder.golden import TOTALS


def _check(run, points=2, hidden=False) -> Check:
    return Check("c", "s", "a criterion", points, run, "it holds.", "it is missing.",
                 "do the thing.", hidden)


def test_a_check_passes_fails_or_reports_a_crash_as_a_failure() -> None:
    ok = run_check(_check(lambda sb: None), None)
    assert (ok.ok, ok.earned, ok.message) == (True, 2, "it holds.")

    def fails(sb):
        raise CheckFailed("queue q has 30 s")

    bad = run_check(_check(fails), None)
    assert (bad.ok, bad.earned) == (False, 0)
    assert bad.message == "it is missing. Found: queue q has 30 s" and bad.hint == "do the thing."
    crash = run_check(_check(lambda sb: 1 / 0), None)
    assert not crash.ok and "could not run: ZeroDivisionError" in crash.message


def test_a_failure_can_carry_a_hint_for_what_was_found() -> None:
    """A learner who did too much (raw delivery on every queue) must not be told to turn
    it on: the check names what it found and gives the hint for that case."""
    def too_much(sb):
        raise CheckFailed("raw delivery is on for thumbnails", hint="turn it off for thumbnails.")

    result = run_check(_check(too_much), None)
    assert result.message == "it is missing. Found: raw delivery is on for thumbnails"
    assert result.hint == "turn it off for thumbnails."


def test_a_check_never_writes_to_stderr(capsys) -> None:
    """nbgrader gives a test cell 0 when it prints anything on stderr."""
    import sys
    import warnings

    def noisy(sb):
        warnings.warn("deprecated", DeprecationWarning, stacklevel=1)
        print("oops", file=sys.stderr)

    assert run_check(_check(noisy), None).ok
    assert capsys.readouterr().err == ""


def test_report_table_widget_and_html_agree() -> None:
    report = Report("lab01", [run_check(_check(lambda sb: None), None),
                              run_check(_check(lambda sb: 1 / 0, points=1, hidden=True), None)],
                    title="step 's'")
    assert (report.score, report.points) == (2, 3)
    text = text_table(report)
    assert "PASS" in text and "FAIL" in text and "2/3" in text and "hint: do the thing." in text
    assert "(hidden)" in text
    view = checklist(report)
    assert len(view.children) == 3                       # header + one row per criterion
    failing = view.children[2]
    assert "eventlab-check-fail" in failing._dom_classes
    assert failing.children[1].titles == ("Hint",)       # the hint is folded away
    bundle = view._repr_mimebundle_()
    assert bundle["text/plain"] == text
    assert "FAIL" in bundle["text/html"] == html_table(report)
    report.add([run_check(_check(lambda sb: None, points=1), None)])
    assert report.points == 4


def test_grade_report_without_a_sandbox_scores_zero_and_says_why() -> None:
    lab.stop()
    report = lab.grade_report("lab03")
    assert report.score == 0 and report.points == TOTALS["lab03"] == 22
    assert all("never started its sandbox" in r.message for r in report.results)


def test_unknown_lab_and_step_are_named() -> None:
    with pytest.raises(KeyError, match="known: lab01, lab02, lab03"):
        lab.lab_module("lab09")


@pytest.fixture
def lab_sandbox():
    sb = lab.start("lab01")
    yield sb
    lab.stop()


def test_start_gives_a_sandbox_a_role_and_zip_code(lab_sandbox) -> None:
    import builtins

    assert builtins.ROLE_ARN.endswith(":role/eventlab-lab-role")
    assert callable(builtins.zip_code)
    with pytest.raises(KeyError, match="has no step 'nope'"):
        lab.check("nope")


def test_each_service_gets_a_role_only_it_may_assume_and_lab_start_stays_put() -> None:
    """Lab 2 hands Firehose FIREHOSE_ROLE_ARN, lab 5 API Gateway APIGATEWAY_ROLE_ARN:
    each trusted by its own service principal only; LAB_START does not move with the clock."""
    import builtins

    from autograder.probes import trust_problem

    try:
        for name, lab_name, service in [("FIREHOSE_ROLE_ARN", "lab02", "firehose.amazonaws.com"),
                                        ("APIGATEWAY_ROLE_ARN", "lab05", "apigateway.amazonaws.com")]:
            sb = lab.start(lab_name)
            arn = getattr(builtins, name)
            assert trust_problem(sb, arn, service) is None
            assert trust_problem(sb, arn, "lambda.amazonaws.com") is not None
            assert trust_problem(sb, builtins.ROLE_ARN, service) == (
                f"the role eventlab-lab-role can be assumed only by lambda.amazonaws.com, "
                f"not {service}")
            policy = sb.client("iam").get_role_policy(RoleName=arn.split("/")[-1],
                                                      PolicyName=arn.split("/")[-1] + "-permissions")
            assert policy["PolicyDocument"]["Statement"]
            started = builtins.LAB_START
            assert abs(started.timestamp() - sb.clock.time()) < 5
            sb.clock.advance(hours=3)
            assert builtins.LAB_START == started
    finally:
        lab.stop()


def test_check_cells_keep_a_running_score_and_the_last_cell_says_how_to_be_graded(
        lab_sandbox, capsys) -> None:
    sns = lab_sandbox.client("sns")
    sns.create_topic(Name="video-uploads")
    lab.check("queues")      # the topic earns 1 of the step's 4 points
    out = capsys.readouterr().out
    assert "Running score: 1 of 22 points from the checks you can see (1 of 7 steps checked); " \
           "hidden checks add up to 2 more when graded." in out
    text = lab.score()
    assert "  queues           1/4" in text
    assert "  filters          not checked yet (+1 hidden)" in text
    assert text.endswith("eventlab grade lab01 lab01_fanout.ipynb")


def test_the_picture_draws_resources_and_counts_deliveries(lab_sandbox) -> None:
    sb = lab_sandbox
    sns, sqs = sb.client("sns"), sb.client("sqs")
    topic = sns.create_topic(Name="video-uploads")["TopicArn"]
    url = sqs.create_queue(QueueName="thumbnails")["QueueUrl"]
    dlq = sqs.create_queue(QueueName="video-dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"})})
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                  Attributes={"FilterPolicy": json.dumps({"kind": ["a"]})})
    # labs apply resource policies as AWS does: nothing arrives without the queue policy
    sns.publish(TopicArn=topic, Message="{}", MessageAttributes={
        "kind": {"DataType": "String", "StringValue": "a"}})
    assert 'refused by its resource policy' in picture(sb, lab.session().traffic).mermaid()
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({"Statement": [{
        "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage", "Resource": arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]})})
    for kind in ("a", "a", "b"):
        sns.publish(TopicArn=topic, Message="{}", MessageAttributes={
            "kind": {"DataType": "String", "StringValue": kind}})
    pic = picture(sb, lab.session().traffic)
    mermaid = pic.mermaid()
    assert mermaid.startswith("flowchart LR")
    assert 't_video_uploads -->|"2 msgs filter"| q_thumbnails' in mermaid
    assert 'q_thumbnails -.->|"DLQ after 3 receives"| q_video_dlq' in mermaid
    assert 'q_thumbnails[["thumbnails (SQS), 2 waiting"]]' in mermaid
    assert "video-uploads (SNS) -> thumbnails (SQS), 2 waiting  (2 msgs filter)" in pic.text()


def test_an_empty_sandbox_draws_a_placeholder(lab_sandbox) -> None:
    assert "nothing created yet" in picture(lab_sandbox).mermaid()
