"""The instructor's nbgrader workflow on lab01, end to end, as docs/labs.md gives it.

generate_assignment, release_assignment to an exchange (a temp dir), three learners
fetch_assignment and submit (the solution, the untouched copy, a wrong one), collect;
then hostile submissions are dropped into submitted/ beside them (as an instructor who
collects from an LMS would), one autograde grades everyone, the guard names each
problem, generate_feedback and export.  What nbgrader does with each hostile case was
measured on nbgrader 0.9.6 and is asserted here (scores in the gradebook and the CSV).
"""

from __future__ import annotations

import contextlib
import copy
import csv
import html
import io
import re
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import nbformat
import pytest

from autograder.lab import checks_of
from autograder.nbgrader_guard import main as guard_main
from tests.labs_support import (
    LABS,
    MUTATIONS,
    TOTALS,
    kernel_env,
    nbgrader,
    new_course,
    source_notebook,
    submissions,
)

NAME = LABS["lab01"]
# the learner's graded cell of their own is appended: its 1-based number in the notebook
APPENDED = len(nbformat.read(source_notebook("lab01"), as_version=4).cells) + 1
NO_DLQ = next(m for m in MUTATIONS["lab01"] if m.name == "no-dlq")
LOST = float(sum(c.points for c in checks_of("lab01") if c.id in NO_DLQ.fails))
# the one learner cell that loops gets 2 s; every other cell the course's 120 s
SHORT_TIMEOUT = 'c.Execute.timeout_func = lambda cell: 2 if "sleep(600)" in cell.source else 120\n'


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _graded_cell(grade_id: str, source: str):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": grade_id, "points": 10.0,
                                 "solution": False, "locked": True, "schema_version": 3}
    return cell


def hostile(released: Path) -> dict[str, nbformat.NotebookNode | str]:
    """student -> what they hand in (a notebook, or text that is not one)."""
    subs = submissions("lab01", released)
    out: dict[str, nbformat.NotebookNode | str] = {}
    nb = copy.deepcopy(subs["solution"])   # copy and paste of a test cell: same grade_id
    i = nb.cells.index(_cell(nb, "lab01-check-queues"))
    pasted = copy.deepcopy(nb.cells[i])
    pasted.id = "pasted"                   # JupyterLab gives the copy a new cell id
    nb.cells.insert(i + 1, pasted)
    out["copied-cell"] = nb
    nb = copy.deepcopy(subs["solution"])   # a graded cell of their own, printing server paths
    nb.cells.append(_graded_cell("lab01-check-bonus", 'import os\nprint("graded in", os.getcwd())\n'
                                 'sqs.get_queue_url(QueueName="bonus")\n10'))
    out["made-up-cell"] = nb
    nb = copy.deepcopy(subs["no-dlq"])     # claims the dlq points without a DLQ
    _cell(nb, "lab01-check-dlq").source = "2.0"
    out["edited-test"] = nb
    out["not-json"] = "my notebook, as text\n"
    out["not-a-notebook"] = '{"cells": 3}\n'
    nb = copy.deepcopy(subs["solution"])
    _cell(nb, "lab01-queues").source = "import os\nos._exit(1)\n"
    out["kernel-death"] = nb
    nb = copy.deepcopy(subs["solution"])
    c = _cell(nb, "lab01-dlq")
    c.source = "import time\ntime.sleep(600)\n" + c.source
    out["timeout"] = nb
    return out


# measured: what nbgrader 0.9.6 (with labs/nbgrader_config.py) records for each learner
SCORES = {"solution": TOTALS["lab01"], "untouched": 0.0, "no-dlq": TOTALS["lab01"] - LOST,
          "copied-cell": TOTALS["lab01"], "made-up-cell": TOTALS["lab01"],
          "edited-test": TOTALS["lab01"] - LOST, "not-json": 0.0, "not-a-notebook": 0.0,
          "kernel-death": 0.0, "timeout": TOTALS["lab01"] - LOST}
WHERE = f"{NAME}/{NAME}.ipynb"
GUARD = [
    f"copied-cell: {WHERE}: cells 5 and 6 carry the same grade_id lab01-check-queues "
    "(a copied cell; only the last was graded)",
    f"edited-test: {WHERE}: test cell lab01-check-dlq was edited (nbgrader restored the "
    "original before grading)",
    f"kernel-death: {WHERE}: not graded: the kernel died (.nbgrader.log)",
    f"made-up-cell: {WHERE}: cell {APPENDED} carries grade_id lab01-check-bonus, which the source "
    "does not have (added by the learner; not graded)",
    f"not-a-notebook: {WHERE}: not graded: the submitted file is JSON but not a notebook",
    f"not-json: {WHERE}: not graded: the submitted file is not valid JSON",
    f"timeout: {WHERE}: cell lab01-dlq timed out (nbgrader interrupted it and went on)",
]


class Workflow:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        data = tmp / "data"
        data.mkdir()
        self.env = kernel_env(data)
        self.course = new_course(tmp)
        with open(self.course / "nbgrader_config.py", "a") as f:
            f.write(SHORT_TIMEOUT)
        self.exchange = tmp / "exchange"
        self.exchange.mkdir()
        self.log: list[str] = []

    def instructor(self, *args: str) -> subprocess.CompletedProcess:
        started = time.perf_counter()
        proc = nbgrader(self.course, self.env, *args)
        self.log.append(f"$ nbgrader {' '.join(args)} -> {proc.returncode} "
                        f"({time.perf_counter() - started:.1f} s)\n{proc.stderr[-3000:]}")
        return proc

    def learner(self, student: str, nb: nbformat.NotebookNode) -> None:
        """A learner in their own home: fetch, answer, submit (nbgrader 0.9's options)."""
        home = self.tmp / "home" / student
        home.mkdir(parents=True)
        env = {**self.env, "HOME": str(home)}
        common = ["--course=eventlab", f"--Exchange.root={self.exchange}",
                  f"--Exchange.cache={home / 'cache'}"]
        for args in (["fetch_assignment", NAME, *common],
                     ["submit", NAME, *common, f"--student={student}"]):
            proc = nbgrader(home, env, *args)
            self.log.append(f"$ [{student}] nbgrader {' '.join(args)} -> {proc.returncode}\n"
                            f"{proc.stderr[-3000:]}")
            if args[0] == "fetch_assignment" and proc.returncode == 0:
                nbformat.write(nb, home / NAME / f"{NAME}.ipynb")

    def run(self) -> None:
        self.instructor("generate_assignment", NAME)
        self.instructor("release_assignment", NAME, f"--Exchange.root={self.exchange}")
        learners = submissions("lab01", self.course / "release" / NAME / f"{NAME}.ipynb")
        threads = [threading.Thread(target=self.learner, args=(s, learners[s]))
                   for s in ("solution", "untouched", "no-dlq")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        self.collected = self.instructor("collect", NAME, f"--Exchange.root={self.exchange}")
        for student, nb in hostile(self.course / "release" / NAME / f"{NAME}.ipynb").items():
            path = self.course / "submitted" / student / NAME / f"{NAME}.ipynb"
            path.parent.mkdir(parents=True)
            path.write_text(nb) if isinstance(nb, str) else nbformat.write(nb, path)
        self.autograded = self.instructor("autograde", NAME)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.guard_exit = guard_main([str(self.course), NAME])
        self.guard = out.getvalue().splitlines()
        self.feedback = self.instructor("generate_feedback", NAME)
        self.exported = self.instructor("export", f"--to={self.tmp / 'grades.csv'}")

    def feedback_html(self, student: str) -> str:
        return (self.course / "feedback" / student / NAME / f"{NAME}.html").read_text()

    def gradebook_score(self, student: str) -> float:
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{self.course / 'gradebook.db'}") as gb:
            return float(gb.find_submission_notebook(NAME, NAME, student).score)


@pytest.fixture(scope="module")
def workflow(tmp_path_factory) -> Workflow:
    wf = Workflow(tmp_path_factory.mktemp("nbgrader-workflow"))
    wf.run()
    return wf


def test_every_step_ran_and_learners_submissions_arrive_through_the_exchange(workflow) -> None:
    codes = Counter(re.match(r"\$ (?:\[\S+\] )?nbgrader (\S+).*? -> (\d+)", entry).groups()
                    for entry in workflow.log)
    assert codes == Counter({("generate_assignment", "0"): 1, ("release_assignment", "0"): 1,
                             ("fetch_assignment", "0"): 3, ("submit", "0"): 3, ("collect", "0"): 1,
                             ("autograde", "1"): 1, ("generate_feedback", "0"): 1,
                             ("export", "0"): 1}), "\n".join(workflow.log)[-6000:]
    for student in ("solution", "untouched", "no-dlq"):
        assert f"Collecting submission: {student} {NAME}" in workflow.collected.stderr
        assert (workflow.course / "submitted" / student / NAME / "timestamp.txt").exists()


def test_autograde_grades_the_class_and_exits_1_for_the_notebooks_it_could_not_grade(workflow) -> None:
    assert workflow.autograded.returncode == 1
    failed = set(re.findall(rf"error processing assignment '{NAME}' for student '([^']+)'",
                            workflow.autograded.stderr))
    assert failed == {"not-json", "not-a-notebook", "kernel-death"}
    assert {s: workflow.gradebook_score(s) for s in SCORES} == SCORES


def test_exported_csv_has_each_learners_score(workflow) -> None:
    assert workflow.exported.returncode == 0, workflow.log[-1]
    with open(workflow.tmp / "grades.csv") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f) if r["assignment"] == NAME}
    assert {s: float(r["score"]) for s, r in rows.items()} == SCORES
    assert {float(r["max_score"]) for r in rows.values()} == {TOTALS["lab01"]}


def test_guard_names_each_problem_and_only_those(workflow) -> None:
    assert workflow.guard_exit == 1
    assert workflow.guard == GUARD


def _criteria(page: str) -> dict[str, tuple[str, float, float]]:
    """title -> (PASS/FAIL, earned, points) from the checklist tables in a feedback page."""
    rows = re.findall(r"<tr><td>(PASS|FAIL)</td><td><b>(.*?)</b>.*?<td>([\d.]+)/([\d.]+)</td></tr>",
                      page, re.S)
    return {html.unescape(t): (mark, float(e), float(p)) for mark, t, e, p in rows}


@pytest.mark.parametrize("student", ["solution", "no-dlq", "untouched"])
def test_feedback_shows_each_criterion_with_its_points(workflow, student) -> None:
    assert workflow.feedback.returncode == 0, workflow.log[-2]
    failing = {"solution": set(), "no-dlq": set(NO_DLQ.fails),
               "untouched": {c.id for c in checks_of("lab01")}}[student]
    expected = {c.title: ("FAIL" if c.id in failing else "PASS",
                          0.0 if c.id in failing else float(c.points), float(c.points))
                for c in checks_of("lab01") if not c.hidden}
    assert _criteria(workflow.feedback_html(student)) == expected


def _text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def test_feedback_hides_hidden_tests_and_server_paths(workflow) -> None:
    source = "\n".join(c.source for c in nbformat.read(source_notebook("lab01"), as_version=4).cells)
    regions = re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", source, re.S)
    hidden = [line.strip() for region in regions for line in region.splitlines() if line.strip()]
    assert len(hidden) == 2, hidden
    graded = nbformat.read(workflow.course / "autograded" / "made-up-cell" / NAME / f"{NAME}.ipynb",
                           as_version=4)
    # what nbgrader would have shown: hidden tests restored, the course path, site-packages
    assert all(line in "\n".join(c.source for c in graded.cells) for line in hidden)
    outputs = nbformat.writes(graded)
    assert str(workflow.course) in outputs and "site-packages" in outputs
    pages = sorted((workflow.course / "feedback").glob(f"*/{NAME}/{NAME}.html"))
    assert [p.parts[-3] for p in pages] == sorted(set(SCORES) - {"not-json", "not-a-notebook",
                                                                  "kernel-death"})
    for page in pages:
        text = _text(page.read_text())
        assert "# (hidden tests: not shown)" in text
        for line in hidden + ["HIDDEN TESTS", str(workflow.course), str(workflow.tmp), "site-packages"]:
            assert line not in text, (page, line)
    assert "graded in <course>/autograded/made-up-cell/lab01_fanout" in \
        _text(workflow.feedback_html("made-up-cell"))


def test_a_pristine_course_passes_the_guard(workflow, tmp_path) -> None:
    """The same course without the hostile learners: no problem reported, exit 0."""
    import shutil

    course = tmp_path / "course"
    shutil.copytree(workflow.course, course, ignore=shutil.ignore_patterns("feedback"))
    for student in hostile(workflow.course / "release" / NAME / f"{NAME}.ipynb"):
        for part in ("submitted", "autograded"):
            shutil.rmtree(course / part / student, ignore_errors=True)
    assert guard_main([str(course), NAME]) == 0

