"""Lab 5 (API Gateway -> SQS -> Lambda) graded both ways, by ``eventlab grade`` and a real
``nbgrader autograde``: the source gets full marks, the untouched learner copy runs and
scores 0, each wrong submission loses exactly the points of its mistake, and a correct
variant (the ``action/SendMessage`` URI) keeps full marks.

The shared support (tests/labs_support.py) builds the course; this module registers lab 5
there only while its own course is built and its tests run, and reuses the shared tests
of tests/labs/test_grading.py and test_notebooks.py on it.
"""

from __future__ import annotations

import pytest

import tests.labs_support as support
from tests.labs import test_grading as grading
from tests.labs import test_notebooks as notebooks
from tests.labs_support import M

LAB = "lab05"
NAME = "lab05_apigw_sqs"
TOTAL = 20.0

MUTATIONS = [
    M("wrong-template-body", "lab05-api",
      [("MessageBody=$util.urlEncode($input.body)", "MessageBody=$util.urlEncode($input.json('$.orderId'))")],
      {"api-probe", "url-encoding", "e2e", "buffer"}, "did not get the body"),
    M("no-url-encoding", "lab05-api",
      [("MessageBody=$util.urlEncode($input.body)", "MessageBody=$input.body")],
      {"url-encoding"}, "fragile & heavy"),
    M("no-content-type", "lab05-api",
      [("""    requestParameters={"integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"},\n""",
        "")],
      {"content-type", "api-probe", "url-encoding", "e2e", "buffer"},
      "maps no integration.request.header.Content-Type"),
    M("max-receive-3", "lab05-queues",
      [('"maxReceiveCount": "5"', '"maxReceiveCount": "3"')],
      {"dlq", "e2e"}, "maxReceiveCount is 3, not 5"),
    M("handler-drops-messages", "lab05-handler",
      [('failures.append({"itemIdentifier": record["messageId"]})', "pass  # logged, not reported")],
      {"handler", "e2e"}, "reported no failures"),
    M("no-report-batch-item-failures", "lab05-consumer",
      [(',\n    FunctionResponseTypes=["ReportBatchItemFailures"])', ")")],
      {"mapping", "e2e"}, "no FunctionResponseTypes ['ReportBatchItemFailures']"),
    M("no-batching-window", "lab05-buffer",
      [("BatchSize=1000,\n                                          MaximumBatchingWindowInSeconds=300)",
        "BatchSize=10)"),
       ('mapping["MaximumBatchingWindowInSeconds"]', "mapping.get('MaximumBatchingWindowInSeconds')")],
      {"buffer"}, "the consumer kept pace"),
    M("alarm-on-main-queue", "lab05-monitoring",
      [('Dimensions=[{"Name": "QueueName", "Value": "orders-dlq"}]',
        'Dimensions=[{"Name": "QueueName", "Value": "orders-queue"}]')],
      {"alarm", "alarm-probe"}, "expected QueueName = orders-dlq"),
    M("alarm-on-age-metric", "lab05-monitoring",
      [('MetricName="ApproximateNumberOfMessagesVisible",\n    Dimensions=[{"Name": "QueueName", "Value": "orders-dlq"}]',
        'MetricName="ApproximateAgeOfOldestMessage",\n    Dimensions=[{"Name": "QueueName", "Value": "orders-dlq"}]')],
      {"alarm"}, "ApproximateAgeOfOldestMessage"),
    # a correct variant: the action/SendMessage URI with QueueUrl as a request parameter
    M("action-uri-variant", "lab05-api",
      [('uri=f"arn:aws:apigateway:{REGION}:sqs:path/{ACCOUNT}/orders-queue",',
        'uri=f"arn:aws:apigateway:{REGION}:sqs:action/SendMessage",'),
       ("""requestParameters={"integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"},""",
        """requestParameters={"integration.request.header.Content-Type": "'application/x-www-form-urlencoded'",\n"""
        """                       "integration.request.querystring.QueueUrl": f"'{queue_url}'"},""")],
      set(), ""),
]
MISTAKES = [m for m in MUTATIONS if m.fails]


@pytest.fixture(scope="module")
def lab05_course(tmp_path_factory: pytest.TempPathFactory):
    """Lab 5 alone through nbgrader and ``eventlab grade`` (the shared builder, lab 5 only)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(support, "LABS", {LAB: NAME})
        mp.setattr(support, "MUTATIONS", {LAB: MUTATIONS})
        mp.setattr(support, "TOTALS", {LAB: TOTAL})
        return support.build_lab_course(tmp_path_factory.mktemp("lab05"))


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lab 5 in the shared tables while one of the shared tests runs on it."""
    monkeypatch.setitem(support.LABS, LAB, NAME)
    monkeypatch.setitem(support.TOTALS, LAB, TOTAL)
    monkeypatch.setitem(support.MUTATIONS, LAB, MUTATIONS)


def test_totals(registered) -> None:
    grading.test_totals(LAB)


def test_source_notebook_gets_full_marks(registered, lab05_course) -> None:
    grading.test_source_notebook_gets_full_marks(LAB, lab05_course)


def test_filled_in_learner_copy_gets_full_marks_both_ways(registered, lab05_course) -> None:
    grading.test_filled_in_learner_copy_gets_full_marks_both_ways(LAB, lab05_course)


def test_untouched_learner_copy_runs_and_scores_zero(registered, lab05_course) -> None:
    grading.test_untouched_learner_copy_runs_and_scores_zero(LAB, lab05_course)


def test_at_least_five_wrong_submissions() -> None:
    assert len(MISTAKES) >= 5


@pytest.mark.parametrize("mistake", MUTATIONS, ids=[m.name for m in MUTATIONS])
def test_wrong_submission_loses_exactly_its_points(registered, mistake, lab05_course) -> None:
    grading.test_wrong_submission_loses_exactly_its_points(LAB, mistake, lab05_course)


def test_nbgrader_ran_cleanly_and_every_test_cell_scored(registered, lab05_course) -> None:
    grading.test_nbgrader_ran_cleanly_and_every_test_cell_scored(LAB, lab05_course)


def test_nbgrader_feedback_is_generated(registered, lab05_course) -> None:
    grading.test_nbgrader_feedback_is_generated(LAB, lab05_course)


def test_source_metadata_is_complete_and_valid(registered) -> None:
    notebooks.test_source_metadata_is_complete_and_valid(LAB)


def test_check_cells_are_worth_their_checks(registered) -> None:
    notebooks.test_check_cells_are_worth_their_checks(LAB)


def test_every_step_explains_links_the_notes_and_has_code_and_a_check(registered) -> None:
    notebooks.test_every_step_explains_links_the_notes_and_has_code_and_a_check(LAB)


@pytest.mark.parametrize("which", ["source", "learner"])
def test_links_to_the_notes_resolve(registered, which: str) -> None:
    path = support.source_notebook(LAB) if which == "source" else support.learner_notebook(LAB)
    notebooks.test_links_to_the_notes_resolve(path)


def test_learner_copy_holds_no_solutions_or_hidden_tests(registered) -> None:
    notebooks.test_learner_copy_holds_no_solutions_or_hidden_tests(LAB)


def test_learner_copy_is_what_nbgrader_generates_now(registered, lab05_course) -> None:
    notebooks.test_learner_copy_is_what_nbgrader_generates_now(LAB, lab05_course)


def test_lab_ends_with_the_decision_quiz(registered) -> None:
    notebooks.test_lab_ends_with_the_decision_quiz(LAB, "sync-vs-async")


def test_first_code_cell_starts_the_sandbox_with_one_call(registered) -> None:
    notebooks.test_first_code_cell_starts_the_sandbox_with_one_call(LAB)
