"""Lab 6 (MSK trading stream) through the shared lab tests: the notebook tests of
test_notebooks.py and the grading tests of test_grading.py, run for lab06 on its own
nbgrader course (``eventlab grade`` and a real ``nbgrader autograde``).

The shared support keys everything on ``tests.labs_support.LABS``/``TOTALS``/``MUTATIONS``;
this module adds lab 6 to them only while its own tests run (the dicts are restored after),
so the session's course for labs 1 and 3 is untouched.
"""

from __future__ import annotations

from unittest.mock import patch

import pytest

from tests.labs import test_grading as grading
from tests.labs import test_notebooks as notebooks
from tests.labs_support import LABS, MUTATIONS, TOTALS, M, build_lab_course

LAB = "lab06"
NAME = "lab06_msk"
TOTAL = 18.0

PRODUCE = 'producer.produce("trades", key=trade["symbol"], value=json.dumps(trade))'
WRONG = [
    M("random-key", "lab06-produce",
      [(PRODUCE, PRODUCE.replace('key=trade["symbol"]', "key=str(random.random())"))],
      # a symbol's trades arrive out of order from several partitions: the windows drop some
      {"keyed", "bars"}, "are not keyed by their symbol"),
    M("constant-key", "lab06-produce",
      [(PRODUCE, PRODUCE.replace('key=trade["symbol"]', 'key="trades"'))],
      {"keyed"}, "keys seen: 'trades'"),
    M("one-partition", "lab06-topic",
      [('NewTopic("trades", num_partitions=6,', 'NewTopic("trades", num_partitions=1,')],
      {"topic", "topic-probe", "split"}, "has 1 partition(s)"),
    M("one-group", "lab06-analytics",
      [('"analytics"', '"dashboard"')],
      {"analytics-group", "two-groups"}, "no consumer group 'analytics'"),
    M("five-minute-window", "lab06-ohlc",
      [("window=timedelta(minutes=1)", "window=timedelta(minutes=5)")],
      {"bars"}, "instead of 1 minute"),
    M("commit-before-processing", "lab06-settle",
      [("    for i, msg in enumerate(batch):",
        "    consumer.commit(asynchronous=False)\n    for i, msg in enumerate(batch):"),
       ("    out.flush()\n    consumer.commit(asynchronous=False)", "    out.flush()")],
      {"settled", "redelivered"}, "committed but not processed"),
]


@pytest.fixture(scope="module")
def lab06_course(tmp_path_factory: pytest.TempPathFactory):
    with patch.dict(LABS, {LAB: NAME}, clear=True), patch.dict(TOTALS, {LAB: TOTAL}), \
            patch.dict(MUTATIONS, {LAB: WRONG}):
        yield build_lab_course(tmp_path_factory.mktemp("lab06"))


@pytest.fixture(scope="module", autouse=True)
def _lab06_registered():
    with patch.dict(LABS, {LAB: NAME}), patch.dict(TOTALS, {LAB: TOTAL}), \
            patch.dict(MUTATIONS, {LAB: WRONG}):
        yield


# -- the notebook itself ------------------------------------------------------------------
def test_source_metadata_is_complete_and_valid() -> None:
    notebooks.test_source_metadata_is_complete_and_valid(LAB)


def test_check_cells_are_worth_their_checks() -> None:
    notebooks.test_check_cells_are_worth_their_checks(LAB)


def test_every_step_explains_links_the_notes_and_has_code_and_a_check() -> None:
    notebooks.test_every_step_explains_links_the_notes_and_has_code_and_a_check(LAB)


@pytest.mark.parametrize("which", ["source", "learner"])
def test_links_to_the_notes_resolve(which: str) -> None:
    from tests.labs_support import learner_notebook, source_notebook

    notebooks.test_links_to_the_notes_resolve(
        source_notebook(LAB) if which == "source" else learner_notebook(LAB))


def test_learner_copy_holds_no_solutions_or_hidden_tests() -> None:
    notebooks.test_learner_copy_holds_no_solutions_or_hidden_tests(LAB)


def test_lab_ends_with_the_kinesis_vs_msk_quiz() -> None:
    notebooks.test_lab_ends_with_the_decision_quiz(LAB, "kinesis-vs-msk")


def test_first_code_cell_starts_the_sandbox_with_one_call() -> None:
    notebooks.test_first_code_cell_starts_the_sandbox_with_one_call(LAB)


def test_learner_copy_is_what_nbgrader_generates_now(lab06_course) -> None:
    notebooks.test_learner_copy_is_what_nbgrader_generates_now(LAB, lab06_course)


# -- grading, both ways -------------------------------------------------------------------
def test_totals() -> None:
    grading.test_totals(LAB)


def test_source_notebook_gets_full_marks(lab06_course) -> None:
    grading.test_source_notebook_gets_full_marks(LAB, lab06_course)


def test_filled_in_learner_copy_gets_full_marks_both_ways(lab06_course) -> None:
    grading.test_filled_in_learner_copy_gets_full_marks_both_ways(LAB, lab06_course)


def test_untouched_learner_copy_runs_and_scores_zero(lab06_course) -> None:
    grading.test_untouched_learner_copy_runs_and_scores_zero(LAB, lab06_course)


@pytest.mark.parametrize("mistake", WRONG, ids=[m.name for m in WRONG])
def test_wrong_submission_loses_exactly_its_points(mistake, lab06_course) -> None:
    grading.test_wrong_submission_loses_exactly_its_points(LAB, mistake, lab06_course)


def test_nbgrader_ran_cleanly_and_every_test_cell_scored(lab06_course) -> None:
    grading.test_nbgrader_ran_cleanly_and_every_test_cell_scored(LAB, lab06_course)


def test_nbgrader_feedback_is_generated(lab06_course) -> None:
    grading.test_nbgrader_feedback_is_generated(LAB, lab06_course)


def test_at_least_five_wrong_submissions() -> None:
    assert len(WRONG) >= 5


# -- the architecture picture (autograder/diagram.py draws MSK for this lab) ---------------
def test_picture_shows_the_cluster_topics_and_group_backlog(sandbox) -> None:
    from autograder import diagram
    from eventlab.kafka import tools

    kafka = sandbox.client("kafka")
    arn = kafka.create_cluster_v2(ClusterName="trading", Serverless={
        "VpcConfigs": [{"SubnetIds": ["subnet-a", "subnet-b"]}]})["ClusterArn"]
    assert "trading (MSK Serverless, CREATING)" in diagram.picture(sandbox).mermaid()
    sandbox.clock.advance(minutes=2)
    bs = kafka.get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerStringSaslIam"]
    tools.create_topic(bs, "trades", partitions=3)
    tools.produce(bs, "trades", [("AAPL", "1"), ("MSFT", "2"), ("GOOG", "3")])
    tools.consume(bs, "trades", "analytics", max_messages=1)
    text = diagram.picture(sandbox).text()
    assert "trading (MSK Serverless, ACTIVE) -> trades (3 partitions, 3 msgs)  (topic)" in text
    assert "-> analytics (group, 0 live)  (backlog 2)" in text
