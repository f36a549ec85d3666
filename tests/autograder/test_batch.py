"""``eventlab grade`` on a class folder: every integrity case gets its exact reported
outcome, the verdict does not move when learner code attacks the grader, and the
reports (CSV, JSON, JUnit, feedback) say what they should and nothing more.

Lab 1's golden set comes from the session's ``lab_course`` (tests/labs_support.py, which
grades every lab's golden set both ways); ``limits`` is one more run, with tight limits,
for the loops, the memory hog and a kernel that dies.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import html
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest

from autograder.batch import find_submissions
from autograder.lab import checks_of
from eventlab.cli import main
from eventlab.paths import project_root
from tests.labs_support import MUTATIONS, TOTALS, filled, source_notebook

LAB = "lab01"
TOTAL = TOTALS[LAB]


def _points(*ids: str) -> float:
    return float(sum(c.points for c in checks_of(LAB) if c.id in ids))


def _with_cell(nb, source: str, *, at: int | None = None, meta: dict | None = None):
    nb = copy.deepcopy(nb)
    cell = nbformat.v4.new_code_cell(source)
    if meta:
        cell.metadata["nbgrader"] = meta
    nb.cells.insert(len(nb.cells) if at is None else at, cell)
    return nb


def _grade(folder: Path, out: Path, *flags: str) -> dict[str, dict]:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["grade", LAB, str(folder), "--json", "-o", str(out), "-j", "2", *flags])
    assert code == 0, buf.getvalue()[-3000:]
    return {o["student"]: o for o in json.loads(buf.getvalue())}


def test_golden_outcomes_of_lab1_are_as_expected(lab_course) -> None:
    """The golden set's hostile cases for every lab are in tests/labs/test_grading.py;
    here, lab 1's in full, as an instructor reads them."""
    g = {o["student"]: o for o in lab_course.grade_json[LAB]}
    assert (g["solution"]["score"], g["solution"]["status"], g["solution"]["flags"]) == (TOTAL, "graded", [])
    assert (g["untouched"]["score"], g["untouched"]["status"]) == (0, "graded")
    assert g["broken-json"]["flags"] == [
        "lab01_fanout.ipynb is not valid JSON (line 1, column 12: Expecting value)"]
    assert all(r["message"].startswith("Nothing was graded: the submitted file")
               for r in g["not-a-notebook"]["results"])
    first = next(m for m in MUTATIONS[LAB] if m.fails)
    assert g["intruder"]["score"] == TOTAL - _points(*first.fails)     # patched grader: no effect
    assert "refused: tampering: POST /moto-api/reset" in g["intruder"]["flags"]
    assert not (lab_course.courses[LAB] / "outside.txt").exists()


def test_originals_are_untouched(lab_course) -> None:
    """Both graders read every submission; none was changed."""
    assert lab_course.written
    for path, data in lab_course.written.items():
        assert path.read_bytes() == data, path


def test_the_golden_set_is_the_same_on_every_write(tmp_path) -> None:
    from autograder.golden import write

    write(tmp_path / "a", LAB)
    write(tmp_path / "b", LAB)
    for path in (tmp_path / "a" / "submitted").rglob("*.ipynb"):
        twin = tmp_path / "b" / "submitted" / path.relative_to(tmp_path / "a" / "submitted")
        same = path.read_text().replace(str(tmp_path / "a"), str(tmp_path / "b"))
        assert twin.read_text() == same, path


def test_csv_json_and_junit_agree_with_the_outcomes(lab_course) -> None:
    g = {o["student"]: o for o in lab_course.grade_json[LAB]}
    out = lab_course.root / LAB / "grades"
    rows = {r["student"]: r for r in csv.DictReader((out / "results.csv").open())}
    assert set(rows) == set(g)
    for student, o in g.items():
        assert float(rows[student]["score"]) == o["score"]
        assert rows[student]["status"] == o["status"]
    assert rows["no-dlq"]["dlq"] == "0" and rows["no-dlq"]["queues"] == "1"
    assert json.loads((out / "results.json").read_text()) == lab_course.grade_json[LAB]
    suites = {s.get("name"): s for s in ET.parse(out / "results.junit.xml").getroot()}
    intruder = suites["intruder"]
    first = next(m for m in MUTATIONS[LAB] if m.fails)
    assert int(intruder.get("failures")) == len(first.fails) + 1      # and the integrity case
    props = {p.get("name"): p.get("value") for p in intruder.find("properties")}
    assert props["score"] == f"{TOTAL - _points(*first.fails):g}"
    assert props["status"] == "graded-with-flags"
    assert suites["solution"].get("failures") == "0"


def test_feedback_shows_criteria_and_hides_code_paths_and_classmates(lab_course) -> None:
    out = lab_course.root / LAB / "grades"
    page = (out / "feedback" / "intruder.html").read_text()
    for check in checks_of(LAB):
        assert html.escape(check.title) in page
    assert "def " not in page and "sandbox.client(" not in page
    course = lab_course.courses[LAB]
    for secret in (str(course), str(project_root()), "site-packages", "/tmp/"):
        assert secret not in page
    for other in ("solution", "tampered", "untouched", "no-dlq"):
        assert other not in page
    assert "refused: network: look up example.com" in page
    assert "refused: read other students&#x27; work or the grader&#x27;s files: read &lt;path&gt;" in page


def _then(*cells: str):
    """The full solution, then ``cells``: what it built before them keeps its points."""
    nb = filled(LAB)
    for source in cells:
        nb = _with_cell(nb, source)
    return nb


SOLUTION_CELLS = len(filled(LAB).cells)


@pytest.fixture(scope="module")
def limits(tmp_path_factory):
    root = tmp_path_factory.mktemp("limits")
    folder = root / "submitted"
    folder.mkdir()
    subs = {
        "looper": _then("while True:\n    pass", "after = 1"),
        # SIGINT ignored: the per-cell interrupt cannot stop it; the per-submission limit does
        "stubborn": _then("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                          "while True:\n    pass", *["after = 1"] * 12),
        "hog": _then("data = b'x' * (3 * 2**30)", "after = 1"),
        "crasher": _then("import os\nos._exit(3)", "after = 1"),
    }
    for name, nb in subs.items():
        nbformat.write(nb, folder / f"{name}.ipynb")
    return _grade(folder, root / "grades", "--cell-timeout", "5", "--submission-timeout", "40",
                  "--memory", "600")


def test_a_loop_is_interrupted_at_the_cell_limit(limits) -> None:
    o = limits["looper"]
    assert (o["score"], o["status"]) == (TOTAL, "graded-with-flags")
    assert o["flags"] == [f"cell {SOLUTION_CELLS + 1} ran longer than 5 s (the per-cell limit) "
                          "and was interrupted"]


def test_an_uninterruptible_loop_is_stopped_at_the_submission_limit(limits) -> None:
    o = limits["stubborn"]
    assert (o["score"], o["status"]) == (TOTAL, "time-limit")
    stopped = [f for f in o["flags"] if f.startswith("the notebook ran longer than 40 s")]
    assert len(stopped) == 1, o["flags"]
    assert stopped[0].endswith("(the per-submission limit) and was stopped in cell "
                               f"{stopped[0].split('cell ')[1].split(';')[0]}; what it had built "
                               "by then was graded")
    assert f"cell {SOLUTION_CELLS + 1} ran longer than 5 s (the per-cell limit) and was " \
           "interrupted" in o["flags"]


def test_a_kernel_that_dies_keeps_what_it_built(limits) -> None:
    o = limits["crasher"]
    assert (o["score"], o["status"]) == (TOTAL, "kernel-died")
    assert o["flags"] == [f"the kernel died in cell {SOLUTION_CELLS + 1}; what it had built "
                          "by then was graded"]


def test_a_memory_hog_is_stopped_at_the_memory_limit(limits) -> None:
    o = limits["hog"]
    assert (o["score"], o["status"]) == (TOTAL, "memory-limit")
    assert o["flags"] == [f"the kernel used more than 600 MB (the memory limit) in cell "
                          f"{SOLUTION_CELLS + 1} and was stopped; what it had built by then "
                          "was graded"]
    assert o["peak_mb"] >= 600     # sampled at the moment it passed 600 MB (1 decimal)


def test_nbgrader_layout_and_missing_notebooks_are_found(tmp_path) -> None:
    course = tmp_path / "course"
    for student in ("ana", "ben"):
        (course / "submitted" / student / "lab01_fanout").mkdir(parents=True)
    (course / "submitted" / "ana" / "lab01_fanout" / "lab01_fanout.ipynb").write_text("{}")
    (course / "submitted" / "ben" / "lab01_fanout" / "notes.txt").write_text("")
    (course / "submitted" / "cy" / "lab03_eventbridge").mkdir(parents=True)
    found = {s.student: s for s in find_submissions(LAB, [course])}
    assert sorted(found) == ["ana", "ben", "cy"]
    assert found["ana"].path.name == "lab01_fanout.ipynb" and not found["ana"].problem
    assert found["ben"].problem == "ben/lab01_fanout/ has no notebook"
    assert found["cy"].problem == "cy/ has no lab01_fanout/ folder"
    assert source_notebook(LAB).exists()
