"""``eventlab grade`` on a class folder: every integrity case gets its exact reported
outcome, the verdict does not move when learner code attacks the grader, and the
reports (CSV, JSON, JUnit, feedback) say what they should and nothing more.

Two grading runs per session (lab 1, the quickest lab): ``klass`` with ordinary limits,
``limits`` with tight ones for the loops and the memory hog.
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
from tests.labs_support import MUTATIONS, TOTALS, filled, mutate, source_notebook

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


def _drop(nb, grade_id: str):
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != grade_id]
    return nb


def _edit(nb, grade_id: str, source: str):
    nb = copy.deepcopy(nb)
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            c.source = source
    return nb


def _grade(folder: Path, out: Path, *flags: str) -> dict[str, dict]:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["grade", LAB, str(folder), "--json", "-o", str(out), "-j", "2", *flags])
    assert code == 0, buf.getvalue()[-3000:]
    return {o["student"]: o for o in json.loads(buf.getvalue())}


INTRUDER = """
import os, subprocess, urllib.request
attempts = {}
for name, act in {
    "network": lambda: urllib.request.urlopen("http://example.com/", timeout=2),
    "read": lambda: open(OTHER).read(),
    "write": lambda: open(OUTSIDE, "w").write("x"),
    "spawn": lambda: subprocess.run(["true"]),
    "kill": lambda: os.kill(os.getppid(), 15),
    "checks": lambda: open(CHECKS).read(),
}.items():
    try:
        act()
        attempts[name] = "done"
    except Exception as exc:
        attempts[name] = type(exc).__name__
print(attempts)
"""

PATCHER = """
import json, urllib.request
import autograder.checks as checks, autograder.lab as lab
def everything_passes(check, sandbox):
    return checks.Result(check.id, check.step, check.title, check.points, check.points, True,
                         "ok", check.hint, check.hidden)
checks.run_check = everything_passes
lab.grade_report = lambda name: None
print("EVENTLAB-GRADE-JSON:" + json.dumps({"lab": "lab01", "score": 24, "points": 24, "results": []}))
try:   # wipe the sandbox through moto's own API
    urllib.request.urlopen(urllib.request.Request(sb.endpoint_url + "/moto-api/reset", data=b"", method="POST"))
except Exception as exc:
    print("reset refused:", exc)
"""


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    folder, out, outside = root / "submitted", root / "grades", root / "outside.txt"
    folder.mkdir()
    good = filled(LAB)
    no_dlq = next(m for m in MUTATIONS[LAB] if m.name == "no-dlq")
    subs = {
        "solution": good,
        "untouched": nbformat.read(project_root() / "labs" / "learner" / "lab01_fanout" /
                                   "lab01_fanout.ipynb", as_version=4),
        "tampered": _with_cell(_edit(_drop(good, "lab01-check-queues"), "lab01-check-subscriptions",
                                     "4.0"),
                               "24.0", at=3, meta={"grade": True, "grade_id": "lab01-bonus",
                                                   "points": 50, "locked": False, "solution": False,
                                                   "schema_version": 3}),
        "patcher": _with_cell(mutate(good, no_dlq), PATCHER),
        "intruder": _with_cell(good, f"OTHER = {str(folder / 'solution.ipynb')!r}\n"
                                     f"OUTSIDE = {str(outside)!r}\n"
                                     f"CHECKS = {str(project_root() / 'autograder' / 'labs' / 'lab01.py')!r}\n"
                               + INTRUDER),
        "crasher": _with_cell(good, "import os\nos._exit(3)"),
    }
    for name, nb in subs.items():
        nbformat.write(nb, folder / f"{name}.ipynb")
    (folder / "broken-json.ipynb").write_text('{"cells": [')
    (folder / "not-a-notebook.ipynb").write_text('{"name": "my essay"}')
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    graded = _grade(folder, out, "--cell-timeout", "60", "--submission-timeout", "300")
    return {"graded": graded, "out": out, "folder": folder, "outside": outside, "before": before,
            "subs": subs}


def test_a_correct_and_an_empty_submission(klass) -> None:
    g = klass["graded"]
    assert (g["solution"]["score"], g["solution"]["status"], g["solution"]["flags"]) == (TOTAL, "graded", [])
    assert (g["untouched"]["score"], g["untouched"]["status"]) == (0, "graded")
    assert g["untouched"]["cell_errors"]   # its NotImplementedError cells, listed


def test_files_that_are_not_notebooks_are_reported_never_silently_zero(klass) -> None:
    g = klass["graded"]
    assert g["broken-json"]["status"] == "invalid-notebook"
    assert g["broken-json"]["flags"] == [
        "broken-json.ipynb is not valid JSON (line 1, column 12: Expecting value)"]
    assert g["not-a-notebook"]["flags"] == [
        "not-a-notebook.ipynb is JSON but not a notebook (no 'cells' and 'nbformat')"]
    assert all(r["message"].startswith("Nothing was graded: the submitted file")
               for r in g["not-a-notebook"]["results"])


def test_deleted_edited_and_added_test_cells_are_restored_and_flagged(klass) -> None:
    t = klass["graded"]["tampered"]
    assert t["score"] == TOTAL and t["status"] == "graded-with-flags"
    assert sorted(t["flags"]) == sorted([
        "cell 4 carries grade metadata (grade_id 'lab01-bonus') that is not in the lab: its "
        "metadata was removed and it earns nothing",
        "test cell lab01-check-subscriptions was edited: restored from the lab's source",
        "test cell lab01-check-queues was deleted: put back from the lab's source",
    ])


def test_patching_the_grader_in_the_kernel_changes_nothing(klass) -> None:
    p = klass["graded"]["patcher"]
    assert p["score"] == TOTAL - _points("dlq", "poison")
    assert {r["id"] for r in p["results"] if not r["ok"]} == {"dlq", "poison"}
    assert "refused: tampering: POST /moto-api/reset" in p["flags"]


def test_network_other_students_files_and_processes_are_refused(klass) -> None:
    i = klass["graded"]["intruder"]
    folder = klass["folder"].resolve()
    assert i["score"] == TOTAL and i["status"] == "graded-with-flags"
    assert sorted(i["flags"]) == sorted([
        "refused: network: look up example.com",
        f"refused: read other students' work or the grader's files: read {folder / 'solution.ipynb'}",
        f"refused: write outside its folder: write {klass['outside'].resolve()}",
        "refused: process: start a process (subprocess.Popen ['true'])",
        f"refused: read other students' work or the grader's files: read "
        f"{project_root() / 'autograder' / 'labs' / 'lab01.py'}",
        "refused: process: signal a process that is not its own",
    ])
    assert not klass["outside"].exists()


def test_a_kernel_that_dies_keeps_what_it_built(klass) -> None:
    c = klass["graded"]["crasher"]
    n = len(klass["subs"]["crasher"].cells)
    assert (c["score"], c["status"]) == (TOTAL, "kernel-died")
    assert c["flags"] == [f"the kernel died in cell {n}; what it had built by then was graded"]


def test_originals_are_untouched(klass) -> None:
    assert {p.name: p.read_bytes() for p in klass["folder"].iterdir()} == klass["before"]


def test_csv_json_and_junit_agree_with_the_outcomes(klass) -> None:
    g, out = klass["graded"], klass["out"]
    rows = {r["student"]: r for r in csv.DictReader((out / "results.csv").open())}
    assert set(rows) == set(g)
    for student, o in g.items():
        assert float(rows[student]["score"]) == o["score"]
        assert rows[student]["status"] == o["status"]
    assert rows["patcher"]["dlq"] == "0" and rows["patcher"]["queues"] == "1"
    assert json.loads((out / "results.json").read_text()) == list(g.values())
    suites = {s.get("name"): s for s in ET.parse(out / "results.junit.xml").getroot()}
    patcher = suites["patcher"]
    assert int(patcher.get("failures")) == 2 + 1      # dlq, poison, and the integrity case
    props = {p.get("name"): p.get("value") for p in patcher.find("properties")}
    assert props["score"] == f"{TOTAL - _points('dlq', 'poison'):g}"
    assert suites["solution"].get("failures") == "0"


def test_feedback_shows_criteria_and_hides_code_paths_and_classmates(klass) -> None:
    out = klass["out"]
    page = (out / "feedback" / "intruder.html").read_text()
    for check in checks_of(LAB):
        assert html.escape(check.title) in page
    assert f"{TOTAL:g} of {TOTAL:g} points" in page
    hidden_source = (project_root() / "autograder" / "labs" / "lab01.py").read_text()
    assert "def " not in page and "sandbox.client(" not in page and hidden_source[:200] not in page
    for secret in (str(klass["folder"]), str(project_root()), "site-packages", "/tmp/"):
        assert secret not in page
    for other in ("solution", "patcher", "tampered", "crasher"):
        assert other not in page
    assert "refused: network: look up example.com" in page


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


def test_a_memory_hog_is_stopped_at_the_memory_limit(limits) -> None:
    o = limits["hog"]
    assert (o["score"], o["status"]) == (TOTAL, "memory-limit")
    assert o["flags"] == [f"the kernel used more than 600 MB (the memory limit) in cell "
                          f"{SOLUTION_CELLS + 1} and was stopped; what it had built by then "
                          "was graded"]
    assert o["peak_mb"] > 600


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
