"""Every lab's golden set (autograder/golden.py) graded two ways, by ``eventlab grade``
and by a real ``nbgrader autograde`` (with the guard after it), once per session:

- the source and the solution get full marks, the untouched learner copy runs and scores
  0, each typical mistake loses exactly the points of the checks that test it;
- the hostile submissions (tampered, intruder, not a notebook) get exactly their expected
  outcome: the same score from both graders where both can give one, and every flag from
  ``eventlab grade`` and every line from the nbgrader guard.
"""

from __future__ import annotations

import nbformat
import pytest

from autograder import golden
from autograder.lab import checks_of
from tests.labs_support import LABS, MUTATIONS, TOTALS, learner_notebook

CASES = [(lab, m) for lab in LABS for m in MUTATIONS[lab]]
HOSTILE = [(lab, s) for lab in LABS for s in ("tampered", "intruder", "broken-json", "not-a-notebook")]


def points(lab: str, ids) -> float:
    return float(sum(c.points for c in checks_of(lab) if c.id in ids))


def case(lab_course, lab: str, student: str) -> golden.Case:
    return next(c for c in lab_course.golden[lab] if c.student == student)


@pytest.mark.parametrize("lab", LABS)
def test_totals(lab: str) -> None:
    assert points(lab, {c.id for c in checks_of(lab)}) == TOTALS[lab]


@pytest.mark.parametrize("lab", LABS)
def test_at_least_five_typical_mistakes_each_failing_only_some_checks(lab: str) -> None:
    mistakes = [m for m in MUTATIONS[lab] if m.fails]
    assert len(mistakes) >= 5
    ids = {c.id for c in checks_of(lab)}
    for m in mistakes:
        assert m.fails <= ids, m.name
        assert 0 < points(lab, m.fails) < TOTALS[lab], m.name


@pytest.mark.parametrize("lab", LABS)
def test_source_notebook_gets_full_marks(lab: str, lab_course) -> None:
    graded = lab_course.grade(lab, "source")
    assert graded["score"] == graded["points"] == TOTALS[lab], graded["results"]
    assert graded["cell_errors"] == [] and graded["flags"] == []


@pytest.mark.parametrize("lab", LABS)
def test_filled_in_learner_copy_gets_full_marks_both_ways(lab: str, lab_course) -> None:
    assert lab_course.grade(lab, "solution")["score"] == TOTALS[lab]
    assert lab_course.nbgrader_score(lab, "solution") == TOTALS[lab]
    assert lab_course.guard_lines(lab, "solution") == []


@pytest.mark.parametrize("lab", LABS)
def test_untouched_learner_copy_runs_and_scores_zero(lab: str, lab_course) -> None:
    graded = lab_course.grade(lab, "untouched")
    assert graded["score"] == 0 and graded["points"] == TOTALS[lab]
    # the learner's empty cells (and demos that need what they would build) raised; no check did
    learner = nbformat.read(learner_notebook(lab), as_version=4).cells
    raised = {int(e.split(":")[0].removeprefix("cell ")) - 1 for e in graded["cell_errors"]}
    assert raised
    assert not [i for i in raised if learner[i].metadata["nbgrader"].get("grade")]
    assert lab_course.nbgrader_score(lab, "untouched") == 0
    nb = nbformat.read(lab_course.autograded(lab, "untouched"), as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            assert [o["data"]["text/plain"] for o in cell.outputs
                    if o["output_type"] == "execute_result"] == ["0.0"], meta["grade_id"]


@pytest.mark.parametrize("lab,mistake", CASES, ids=[f"{lab}-{m.name}" for lab, m in CASES])
def test_wrong_submission_loses_exactly_its_points(lab: str, mistake, lab_course) -> None:
    graded = lab_course.grade(lab, mistake.name)
    failed = {r["id"] for r in graded["results"] if not r["ok"]}
    assert failed == set(mistake.fails)
    expected = TOTALS[lab] - points(lab, mistake.fails)
    assert graded["score"] == expected
    assert lab_course.nbgrader_score(lab, mistake.name) == expected
    assert lab_course.guard_lines(lab, mistake.name) == []
    messages = " ".join(r["message"] for r in graded["results"] if not r["ok"])
    assert mistake.says in messages
    for r in graded["results"]:
        if not r["ok"]:
            assert r["hint"] and r["message"].endswith(tuple(".)'0123456789abcdefghijklmnopqrstuvwxyz"))


@pytest.mark.parametrize("lab,student", HOSTILE, ids=[f"{lab}-{s}" for lab, s in HOSTILE])
def test_hostile_submission_gets_exactly_its_expected_outcome_from_eventlab_grade(
        lab: str, student: str, lab_course) -> None:
    want = case(lab_course, lab, student)
    problems = golden.compare({student: want.expected()}, [lab_course.grade(lab, student)])
    assert problems == []


@pytest.mark.parametrize("lab,student", HOSTILE, ids=[f"{lab}-{s}" for lab, s in HOSTILE])
def test_hostile_submission_through_nbgrader_is_scored_as_expected_and_the_guard_says_why(
        lab: str, student: str, lab_course) -> None:
    want = case(lab_course, lab, student)
    assert lab_course.guard_lines(lab, student) == sorted(want.guard)
    assert lab_course.nbgrader_score(lab, student) == want.nbgrader_score


@pytest.mark.parametrize("lab", LABS)
def test_the_guard_reports_nothing_but_the_hostile_submissions(lab: str, lab_course) -> None:
    hostile = {s for _, s in HOSTILE}
    named = {line.split(":")[0] for line in lab_course.guard[lab]}
    assert named == {s for s in hostile if case(lab_course, lab, s).guard}, lab_course.guard[lab]
    log = "\n".join(lab_course.logs[lab])
    assert "$ nbgrader generate_assignment" in log and "$ nbgrader generate_feedback" in log


@pytest.mark.parametrize("lab", LABS)
def test_nbgrader_feedback_is_generated(lab: str, lab_course) -> None:
    name = LABS[lab]
    html = lab_course.courses[lab] / "feedback" / "solution" / name / f"{name}.html"
    assert html.exists()
    text = html.read_text()
    assert "PASS" in text and f"{TOTALS[lab]:g}" in text
