"""Lab 2 through the shared lab tests: its own nbgrader course (generate, autograde,
feedback) and ``eventlab grade`` on the source, the learner's copy, the solution and each
wrong submission, then every test of test_grading.py and test_notebooks.py for lab 2.

The shared support (tests/labs_support.py) lists labs 1 and 3; this module adds lab 2 to
its tables for its own duration only, so the session's ``lab_course`` is unaffected.
"""

from __future__ import annotations

from unittest import mock

import nbformat
import pytest

from tests.labs import test_grading as grading
from tests.labs import test_notebooks as notebooks
from tests.labs_support import (
    LABS,
    MUTATIONS,
    TOTALS,
    M,
    build_lab_course,
    learner_notebook,
    source_notebook,
)

LAB = "lab02"
NAME = "lab02_kinesis"
TOTAL = 21.0

WRONG = [
    M("constant-partition-key", "lab02-producer",
      [('"PartitionKey": r["device_id"]', '"PartitionKey": "telemetry"')],
      {"partition-key"}, "have a partition key that is not their device_id"),
    M("consumer-never-alerts", "lab02-alerts",
      [('if reading["temperature"] > THRESHOLD:', 'if reading.get("temp", 0) > THRESHOLD:')],
      {"alert-probe"}, "produced no message in alert-inbox"),
    M("alerts-on-everything", "lab02-alerts",
      [('"THRESHOLD": "80"', '"THRESHOLD": "0"')],
      {"no-false-alert"}, "produced an alert"),
    M("prefix-without-dates", "lab02-firehose",
      [('"Prefix": "readings/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/"',
        '"Prefix": "readings/"')],
      {"date-prefix"}, "without !{timestamp:yyyy}"),
    M("no-gzip", "lab02-firehose",
      [('"CompressionFormat": "GZIP",', '"CompressionFormat": "UNCOMPRESSED",')],
      {"gzip"}, "CompressionFormat is UNCOMPRESSED"),
    M("processor-drops-records", "lab02-firehose",
      [('"result": "Ok"', '"result": "Dropped"')],
      {"delivery-probe"}, "0 of 5 probe readings"),
    M("processor-without-newline", "lab02-firehose",
      [('line = (json.dumps(reading) + "\\\\n").encode()', "line = json.dumps(reading).encode()")],
      {"delivery-probe"}, "glued together on one line"),
    M("athena-grouped-by-device", "lab02-athena",
      [("date_trunc('minute', from_unixtime(ts)) AS minute,", "max(from_unixtime(ts)) AS minute,"),
       ("GROUP BY device_id, date_trunc('minute', from_unixtime(ts))", "GROUP BY device_id")],
      {"athena-query"}, "expected one row per minute"),
    M("lag-alarm-on-average", "lab02-metrics",
      [('Statistic="Maximum", Period=60', 'Statistic="Average", Period=60')],
      {"lag-alarm"}, "use Maximum"),
]


@pytest.fixture(scope="module")
def lab02_course(tmp_path_factory: pytest.TempPathFactory):
    """Lab 2 alone in the shared tables while this module runs."""
    with mock.patch.dict(LABS, {LAB: NAME}, clear=True), \
            mock.patch.dict(TOTALS, {LAB: TOTAL}, clear=True), \
            mock.patch.dict(MUTATIONS, {LAB: WRONG}, clear=True):
        yield build_lab_course(tmp_path_factory.mktemp("lab02"))


def test_at_least_five_wrong_submissions_each_failing_only_its_checks() -> None:
    assert len(WRONG) >= 5
    from autograder.lab import checks_of

    ids = {c.id for c in checks_of(LAB)}
    for m in WRONG:
        assert m.fails <= ids, m.name
        assert 0 < sum(c.points for c in checks_of(LAB) if c.id in m.fails) < TOTAL


def test_totals() -> None:
    with mock.patch.dict(TOTALS, {LAB: TOTAL}):
        grading.test_totals(LAB)


def test_source_notebook_gets_full_marks(lab02_course) -> None:
    grading.test_source_notebook_gets_full_marks(LAB, lab02_course)


def test_filled_in_learner_copy_gets_full_marks_both_ways(lab02_course) -> None:
    grading.test_filled_in_learner_copy_gets_full_marks_both_ways(LAB, lab02_course)


def test_untouched_learner_copy_runs_and_scores_zero(lab02_course) -> None:
    grading.test_untouched_learner_copy_runs_and_scores_zero(LAB, lab02_course)


@pytest.mark.parametrize("mistake", WRONG, ids=[m.name for m in WRONG])
def test_wrong_submission_loses_exactly_its_points(mistake, lab02_course) -> None:
    grading.test_wrong_submission_loses_exactly_its_points(LAB, mistake, lab02_course)


def test_nbgrader_ran_cleanly_and_every_test_cell_scored(lab02_course) -> None:
    grading.test_nbgrader_ran_cleanly_and_every_test_cell_scored(LAB, lab02_course)


def test_nbgrader_feedback_is_generated(lab02_course) -> None:
    grading.test_nbgrader_feedback_is_generated(LAB, lab02_course)


def test_learner_copy_is_what_nbgrader_generates_now(lab02_course) -> None:
    notebooks.test_learner_copy_is_what_nbgrader_generates_now(LAB, lab02_course)


def test_notebook_structure() -> None:
    with mock.patch.dict(LABS, {LAB: NAME}):
        notebooks.test_source_metadata_is_complete_and_valid(LAB)
        notebooks.test_check_cells_are_worth_their_checks(LAB)
        notebooks.test_every_step_explains_links_the_notes_and_has_code_and_a_check(LAB)
        notebooks.test_learner_copy_holds_no_solutions_or_hidden_tests(LAB)
        notebooks.test_lab_ends_with_the_decision_quiz(LAB, "kinesis-vs-sqs")
        notebooks.test_first_code_cell_starts_the_sandbox_with_one_call(LAB)
        for path in (source_notebook(LAB), learner_notebook(LAB)):
            notebooks.test_links_to_the_notes_resolve(path)


def test_hot_shard_failure_shows_the_per_shard_counts(lab02_course) -> None:
    graded = lab02_course.grade(LAB, "constant-partition-key")
    message = next(r["message"] for r in graded["results"] if r["id"] == "partition-key")
    assert "readings per shard: shardId-000000000000:" in message
    assert message.count("shardId-") == 4


def test_lab_has_six_steps() -> None:
    nb = nbformat.read(source_notebook(LAB), as_version=4)
    assert sum(1 for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("## Step")) == 6


def test_source_is_what_the_generator_writes() -> None:
    """Stale if labs/make/lab02.py changed without regenerating the notebooks."""
    from labs.make import lab02 as make

    built = make.build()
    source = nbformat.read(source_notebook(LAB), as_version=4)
    assert [(c.cell_type, c.source, c.metadata) for c in built.cells] == \
        [(c.cell_type, c.source, c.metadata) for c in source.cells]
