"""Shared by tests/labs and tests/autograder: the golden set of every lab
(autograder/golden.py: the solution, the untouched copy, each typical mistake, tampered,
intruder and not-a-notebook submissions, with expected outcomes) graded once per session
by ``eventlab grade`` and by a real ``nbgrader autograde`` (one course per lab).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder import golden, registry
from autograder.batch import source_notebook  # noqa: F401
from autograder.golden import (  # noqa: F401
    MUTATIONS,
    TOTALS,
    M,
    Mutation,
    filled,
    learner_notebook,
    mutate,
)

ROOT = Path(__file__).resolve().parent.parent
LABS = registry.folders()    # every lab: lab01 -> lab01_fanout, ...


def submissions(lab: str, learner: Path | None = None) -> dict[str, nbformat.NotebookNode]:
    """student name -> notebook: the full solution, the untouched learner copy, each mistake."""
    good = filled(lab, learner)
    out = {"solution": good,
           "untouched": nbformat.read(learner or learner_notebook(lab), as_version=4)}
    for m in MUTATIONS[lab]:
        out[m.name] = mutate(good, m)
    return out


def kernel_env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env["EVENTLAB_DATA_DIR"] = str(data_dir)
    return env


def nbgrader(course: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nbgrader", *args,
                           f"--CourseDirectory.root={course}"],
                          cwd=course, env=env, capture_output=True, text=True, timeout=1800)


def new_course(tmp: Path, labs: list[str] | None = None) -> Path:
    course = tmp / "course"
    course.mkdir()
    shutil.copy(ROOT / "labs" / "nbgrader_config.py", course / "nbgrader_config.py")
    for lab in labs or list(LABS):
        name = LABS[lab]
        shutil.copytree(ROOT / "labs" / "source" / name, course / "source" / name)
    return course


@dataclass
class LabCourse:
    """One nbgrader course per lab (separate gradebooks, so the labs run in parallel), its
    golden set in ``submitted/``, graded by nbgrader and by ``eventlab grade``."""

    root: Path
    data_dir: Path
    courses: dict[str, Path] = field(default_factory=dict)
    logs: dict[str, list[str]] = field(default_factory=dict)
    grade_json: dict[str, list[dict]] = field(default_factory=dict)
    golden: dict[str, list[golden.Case]] = field(default_factory=dict)
    guard: dict[str, list[str]] = field(default_factory=dict)     # the guard's lines per lab
    written: dict[Path, bytes] = field(default_factory=dict)      # each submission as written

    def submission(self, lab: str, student: str) -> Path:
        name = LABS[lab]
        return self.courses[lab] / "submitted" / student / name / f"{name}.ipynb"

    def released(self, lab: str) -> Path:
        name = LABS[lab]
        return self.courses[lab] / "release" / name / f"{name}.ipynb"

    def autograded(self, lab: str, student: str) -> Path:
        name = LABS[lab]
        return self.courses[lab] / "autograded" / student / name / f"{name}.ipynb"

    def nbgrader_score(self, lab: str, student: str) -> float:
        from nbgrader.api import Gradebook

        name = LABS[lab]
        with Gradebook(f"sqlite:///{self.courses[lab] / 'gradebook.db'}") as gb:
            return float(gb.find_submission_notebook(name, name, student).score)

    def grade(self, lab: str, student: str) -> dict:
        return next(g for g in self.grade_json[lab] if g["student"] == student)

    def guard_lines(self, lab: str, student: str) -> list[str]:
        prefix = f"{student}: {LABS[lab]}/{LABS[lab]}.ipynb: "
        return sorted(line.removeprefix(prefix) for line in self.guard[lab]
                      if line.startswith(prefix))


def run_course(lab: str, course: Path, env: dict[str, str], log: list[str],
               generated: threading.Event, ready: threading.Event, guard: list[str]) -> None:
    """generate_assignment; (wait for the submissions); autograde; the guard; feedback."""
    name = LABS[lab]
    try:
        for args, after in ((("generate_assignment", name, "--force"), generated),
                            (("autograde", name, "--force", "--Autograde.create_student=True"), None),
                            (("generate_feedback", name, "--force"), None)):
            if args[0] == "autograde":
                ready.wait(1800)
            proc = nbgrader(course, env, *args)
            log.append(f"$ nbgrader {' '.join(args)} -> {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
            if after is not None:
                after.set()
            if args[0] == "generate_assignment" and proc.returncode != 0:
                break
            if args[0] == "autograde":
                for student in kernels_that_never_started(course):
                    again = nbgrader(course, env, "autograde", name, "--force", f"--student={student}")
                    log.append(f"$ nbgrader autograde {name} --student={student} (its kernel never "
                               f"started: a port race in jupyter_client) -> {again.returncode}")
            if args[0] == "autograde":   # exits 1: the golden set holds files that are no notebooks
                checked = subprocess.run([sys.executable, "-m", "autograder.nbgrader_guard", str(course), name],
                                         cwd=course, env=env, capture_output=True, text=True, timeout=300)
                guard.extend(checked.stdout.splitlines())
    finally:
        generated.set()


def kernels_that_never_started(course: Path) -> list[str]:
    """Students whose last autograde attempt failed before any of their code ran: the kernel
    exited before answering ``kernel_info``.  jupyter_client picks a kernel's TCP ports by
    binding and releasing them, and on a machine starting hundreds of kernels and servers
    another process can take one first; that is the test machine's doing, not the
    submission's, so the harness grades such a submission once more (a kernel that dies
    while running the learner's code is an outcome, and is never retried)."""
    log = course / ".nbgrader.log"
    if not log.exists():
        return []
    current, failed = None, set()
    for line in log.read_text(errors="replace").splitlines():
        m = re.search(r"\| INFO\] Sanitizing .*/submitted/([^/]+)/[^/]+/[^/]+\.ipynb$", line)
        if m:
            current = m.group(1)
            failed.discard(current)
        elif current and "starting new kernel client" in line and "before replying to kernel_info" in line:
            failed.add(current)
    return sorted(failed)


def build_lab_course(tmp: Path, labs: list[str] | None = None) -> LabCourse:
    labs = labs or list(LABS)
    data_dir = tmp / "data"
    data_dir.mkdir()
    env = kernel_env(data_dir)
    lc = LabCourse(tmp, data_dir)
    threads, events = [], {}
    for lab in labs:
        (tmp / lab).mkdir()
        course = new_course(tmp / lab, [lab])
        lc.courses[lab] = course
        lc.logs[lab] = []
        lc.guard[lab] = []
        generated, ready = threading.Event(), threading.Event()
        events[lab] = (generated, ready)
        t = threading.Thread(target=run_course, args=(lab, course, env, lc.logs[lab], generated,
                                                      ready, lc.guard[lab]))
        t.start()
        threads.append(t)
    for lab, (generated, ready) in events.items():
        generated.wait(900)
        lc.golden[lab] = golden.write(lc.courses[lab], lab)
        lc.written.update({p: p.read_bytes() for p in (lc.courses[lab] / "submitted").rglob("*.ipynb")})
        ready.set()
    # eventlab grade on every golden submission (and the source) while nbgrader autogrades
    from eventlab.cli import main

    old = os.environ.get("EVENTLAB_DATA_DIR")
    os.environ["EVENTLAB_DATA_DIR"] = str(data_dir)
    try:
        import contextlib
        import io
        import json

        for lab in labs:
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                code = main(["grade", lab, str(lc.courses[lab] / "submitted"), str(source_notebook(lab)),
                             "--json", "--jobs", "2", "-o", str(tmp / lab / "grades")])
            assert code == 0, out.getvalue()
            lc.grade_json[lab] = json.loads(out.getvalue())
    finally:
        if old is None:
            os.environ.pop("EVENTLAB_DATA_DIR", None)
        else:
            os.environ["EVENTLAB_DATA_DIR"] = old
    for t in threads:
        t.join(1800)
    return lc
