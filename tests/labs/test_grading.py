"""Each lab graded two ways, by ``eventlab grade`` and by a real ``nbgrader autograde``:
the source gets full marks, the untouched learner copy runs and scores 0, and each wrong
submission loses exactly the points of the checks that test its mistake."""

from __future__ import annotations

import nbformat
import pytest

from autograder.lab import checks_of
from autograder.nbgrader_guard import check_course
from tests.labs_support import LABS, MUTATIONS, TOTALS, learner_notebook

CASES = [(lab, m) for lab in LABS for m in MUTATIONS[lab]]


def points(lab: str, ids) -> float:
    return float(sum(c.points for c in checks_of(lab) if c.id in ids))


@pytest.mark.parametrize("lab", LABS)
def test_totals(lab: str) -> None:
    assert points(lab, {c.id for c in checks_of(lab)}) == TOTALS[lab]


@pytest.mark.parametrize("lab", LABS)
def test_source_notebook_gets_full_marks(lab: str, lab_course) -> None:
    graded = [g for g in lab_course.grade_json[lab] if "/source/" in g["notebook"]][0]
    assert graded["score"] == graded["points"] == TOTALS[lab], graded["results"]
    assert graded["cell_errors"] == []


@pytest.mark.parametrize("lab", LABS)
def test_filled_in_learner_copy_gets_full_marks_both_ways(lab: str, lab_course) -> None:
    assert lab_course.grade(lab, "solution")["score"] == TOTALS[lab]
    assert lab_course.nbgrader_score(lab, "solution") == TOTALS[lab]


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
    messages = " ".join(r["message"] for r in graded["results"] if not r["ok"])
    assert mistake.says in messages
    for r in graded["results"]:
        if not r["ok"]:
            assert r["hint"] and r["message"].endswith(tuple(".)'0123456789abcdefghijklmnopqrstuvwxyz"))


@pytest.mark.parametrize("lab", LABS)
def test_nbgrader_ran_cleanly_and_every_test_cell_scored(lab: str, lab_course) -> None:
    log = "\n".join(lab_course.logs[lab])
    assert log.count("-> 0") == 3, log[-4000:]
    assert check_course(lab_course.courses[lab]) == []


@pytest.mark.parametrize("lab", LABS)
def test_nbgrader_feedback_is_generated(lab: str, lab_course) -> None:
    name = LABS[lab]
    html = lab_course.courses[lab] / "feedback" / "solution" / name / f"{name}.html"
    assert html.exists()
    text = html.read_text()
    assert "PASS" in text and f"{TOTALS[lab]:g}" in text
