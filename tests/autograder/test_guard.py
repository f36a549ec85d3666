"""The guard for nbgrader's silent failures and the course's feedback preprocessor, on
doctored autograded notebooks (tests/autograder/test_nbgrader_workflow.py has the real
nbgrader runs: invalid files, copied, made-up and edited cells, a dead kernel, a timeout)."""

from __future__ import annotations

import json

import nbformat

from autograder.nbgrader_guard import CHECK_STEP as STEP
from autograder.nbgrader_guard import check_course
from autograder.nbgrader_host import record_paths
from autograder.nbgrader_preprocessors import HideHiddenTests
from tests.labs_support import LABS, learner_notebook, new_course, source_notebook

NAME = LABS["lab01"]
WHERE = f"ana: {NAME}/{NAME}.ipynb"


def _course(tmp_path, edit, verdicts=None) -> list[str]:
    """A course whose one learner's autograded notebook is the source, run, then edited;
    with the verdicts its grading host recorded (by default: each step's full points)."""
    course = new_course(tmp_path)
    nb = nbformat.read(source_notebook("lab01"), as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.execution_count = i
            meta = cell.metadata["nbgrader"]
            if meta["grade"]:
                cell.outputs = [nbformat.v4.new_output(
                    "execute_result", data={"text/plain": f"{meta['points']}"}, execution_count=i)]
    records = [] if verdicts is not None else [
        {"kind": "check", "value": {"step": STEP.search(c.source).group(1), "hidden": False,
                                    "earned": c.metadata["nbgrader"]["points"]}}
        for c in nb.cells if c.metadata["nbgrader"].get("grade") and STEP.search(c.source)]
    edit(nb)
    path = course / "autograded" / "ana" / NAME / f"{NAME}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)
    recorded = record_paths(path.parent)
    recorded["verdicts"].parent.mkdir(exist_ok=True)
    lines = records if verdicts is None else verdicts
    if lines is not False:
        recorded["verdicts"].write_text("".join(json.dumps(r) + "\n" for r in lines))
    return check_course(course, NAME)


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata["nbgrader"]["grade_id"] == grade_id)


def test_a_clean_notebook_passes(tmp_path) -> None:
    assert _course(tmp_path, lambda nb: None) == []


def test_deleted_test_cell_is_reported(tmp_path) -> None:
    def delete(nb):
        nb.cells.remove(_cell(nb, "lab01-check-dlq"))

    assert _course(tmp_path, delete) == [f"{WHERE}: test cell lab01-check-dlq was deleted (it scored 0)"]


def test_test_cell_without_a_score_is_reported(tmp_path) -> None:
    def silence(nb):
        _cell(nb, "lab01-check-queues").outputs = [
            nbformat.v4.new_output("stream", name="stdout", text="hi")]

    assert _course(tmp_path, silence) == [
        f"{WHERE}: test cell lab01-check-queues produced no score (nbgrader would give it full credit)"]


def test_failed_helper_import_is_reported(tmp_path) -> None:
    def broken(nb):
        nb.cells[1].outputs = [nbformat.v4.new_output(
            "error", ename="ModuleNotFoundError", evalue="No module named 'autograder'", traceback=[])]
        _cell(nb, "lab01-check-dlq").outputs = [nbformat.v4.new_output(
            "error", ename="NameError", evalue="name 'check' is not defined", traceback=[])]

    assert _course(tmp_path, broken) == [
        f"{WHERE}: test cell lab01-check-dlq raised NameError: name 'check' is not defined",
        f"{WHERE}: the set-up cell failed (is the autograder package installed where the kernels run?)"]


def test_cells_after_a_dead_kernel_never_ran(tmp_path) -> None:
    def died(nb):
        for cell in nb.cells[nb.cells.index(_cell(nb, "lab01-poison")):]:
            if cell.cell_type == "code":
                cell.execution_count, cell.outputs = None, []

    assert _course(tmp_path, died) == [
        f"{WHERE}: test cell lab01-check-poison never ran (did the kernel die?)"]


def test_a_timed_out_cell_is_reported(tmp_path) -> None:
    def timed_out(nb):
        _cell(nb, "lab01-fifo").outputs = [nbformat.v4.new_output(
            "error", ename="CellTimeoutError", evalue="", traceback=[])]

    assert _course(tmp_path, timed_out) == [
        f"{WHERE}: cell lab01-fifo timed out (nbgrader interrupted it and went on)"]


def test_a_submission_nbgrader_failed_on_is_named_with_the_cause_from_its_log(tmp_path) -> None:
    found = _course(tmp_path, lambda nb: None)
    assert found == []
    course = tmp_path / "course"
    for student in ("bo", "cy"):
        path = course / "submitted" / student / NAME / f"{NAME}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nbformat.read(learner_notebook("lab01"), as_version=4), path)
    sub = course / "submitted"
    (course / ".nbgrader.log").write_text(
        f"[AutogradeApp | INFO] Sanitizing {sub}/bo/{NAME}/{NAME}.ipynb\n"
        "[AutogradeApp | ERROR] Kernel died while waiting for execute reply.\n"
        f"[AutogradeApp | ERROR] There was an error processing assignment: {sub}/bo/{NAME}\n"
        f"[AutogradeApp | INFO] Sanitizing {sub}/cy/{NAME}/{NAME}.ipynb\n"
        f"[AutogradeApp | ERROR] There was an error processing assignment: {sub}/cy/{NAME}\n")
    assert check_course(course, NAME) == [
        f"bo: {NAME}/{NAME}.ipynb: not graded: the kernel died (.nbgrader.log)",
        f"cy: {NAME}/{NAME}.ipynb: not graded (nbgrader failed on it: see its log)"]


def test_a_course_without_autograded_notebooks_is_reported(tmp_path) -> None:
    assert "no autograded notebooks" in check_course(tmp_path)[0]


def test_feedback_hides_a_hidden_test_and_the_paths_in_its_traceback(tmp_path, monkeypatch) -> None:
    nb = nbformat.read(source_notebook("lab01"), as_version=4)
    cell = _cell(nb, "lab01-check-filters")
    assert 'result.add(hidden("filters"))' in cell.source
    site = "/opt/py/lib/python3.11/site-packages"
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text=f"ran in {tmp_path}/autograded/ana\n"),
        nbformat.v4.new_output("display_data", data={"text/html": f"<b>{tmp_path}/x</b>"}),
        nbformat.v4.new_output("error", ename="ValueError", evalue=f"bad {site}/x.py", traceback=[
            "----> 3 result.add(hidden(\"filters\"))", f"File {site}/autograder/lab.py:12"])]
    monkeypatch.chdir(tmp_path)   # nbgrader converts in the course directory
    out, _ = HideHiddenTests().preprocess(nb, {})
    cell = _cell(out, "lab01-check-filters")
    assert cell.source == 'result = check("filters")\n# (hidden tests: not shown)\nresult.score'
    assert cell.outputs[0]["text"] == "ran in <course>/autograded/ana\n"
    assert cell.outputs[1]["data"]["text/html"] == "<b>&lt;course&gt;/x</b>"
    assert cell.outputs[2]["traceback"] == ["ValueError: bad <python>/x.py"]


def test_a_score_the_grading_host_did_not_give_is_caught(tmp_path) -> None:
    verdicts = [{"kind": "check", "value": {"step": "queues", "hidden": False, "earned": 1.0}},
                {"kind": "check", "value": {"step": "queues", "hidden": True, "earned": 0.0}}]
    found = _course(tmp_path, lambda nb: None, verdicts=verdicts)
    assert f"{WHERE}: test cell lab01-check-queues shows 4 points, but its checks, run outside " \
           "the kernel, gave 1: the notebook changed its own verdict" in found
    assert f"{WHERE}: test cell lab01-check-dlq shows 2 points, but its checks, run outside " \
           "the kernel, gave nothing: the notebook changed its own verdict" in found


def test_no_verdicts_at_all_is_reported(tmp_path) -> None:
    assert _course(tmp_path, lambda nb: None, verdicts=False) == [
        f"{WHERE}: no verdict was recorded outside the kernel (start(...) never reached the "
        "grading sandbox): its scores are the kernel's own"]
