"""Shared by tests/labs and tests/autograder: submissions made from the lab notebooks, the
wrong submissions (mutations of solution cells) and one nbgrader course per session.

A submission is what a learner hands in: the learner's copy (from nbgrader's
``generate_assignment``) with its solution cells filled in, then perhaps one mistake.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
LABS = {"lab01": "lab01_fanout", "lab03": "lab03_eventbridge"}
TOTALS = {"lab01": 24.0, "lab03": 16.0}


@dataclass(frozen=True)
class Mutation:
    """A mistake: in cell ``cell``, replace each ``old`` with its ``new`` (or the whole cell)."""

    name: str
    cell: str
    edits: tuple[tuple[str, str], ...]
    fails: frozenset[str]          # ids of the checks that must fail, no more, no less
    says: str                      # a phrase the learner must see in a failure message
    whole_cell: str | None = None
    extra: dict = field(default_factory=dict)


def M(name: str, cell: str, edits: list[tuple[str, str]], fails: set[str], says: str,
      whole_cell: str | None = None) -> Mutation:
    return Mutation(name, cell, tuple(edits), frozenset(fails), says, whole_cell)


MUTATIONS: dict[str, list[Mutation]] = {
    "lab01": [
        M("open-queue-policy", "lab01-policies",
          [('"Principal": {"Service": "sns.amazonaws.com"}', '"Principal": "*"'),
           (',\n        "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}}]}', "}]}")],
          {"queue-policy"}, "Principal is everyone"),
        M("no-dlq", "lab01-dlq",
          [('sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": json.dumps(redrive)})',
            "pass")],
          {"dlq", "poison"}, "has no RedrivePolicy to video-dlq"),
        M("wrong-thumbnail-filter", "lab01-filters",
          [('{"event_type": ["VideoUploaded"]}', '{"event_type": ["VideoDeleted"]}')],
          {"thumbnail-filter"}, "VideoUploaded message was not delivered to thumbnails"),
        M("body-filter-on-attributes", "lab01-filters",
          [('AttributeValue="MessageBody"', 'AttributeValue="MessageAttributes"')],
          {"transcoding-filter"}, "FilterPolicyScope is not MessageBody"),
        M("handler-drops-messages", "lab01-handler",
          [('for record in event["Records"]:', 'for record in event["Records"][:1]:')],
          {"batch"}, "were never processed"),
        M("missing-subscription", "lab01-subscriptions",
          [("for name, arn in queue_arns.items():", "for name, arn in list(queue_arns.items())[:2]:")],
          {"subscriptions", "raw-delivery"}, "no subscription for: analytics"),
        M("short-visibility", "lab01-queues",
          [('"transcoding": 3600', '"transcoding": 30')],
          {"visibility", "timeouts"}, "transcoding has 30 s"),
    ],
    "lab03": [
        M("inventory-matches-too-much", "lab03-rules",
          [('{"orderId": [{"prefix": "ord-"}]}', '{"orderId": [{"exists": True}]}')],
          {"inventory-pattern"}, "test-... reached inventory"),
        M("payment-includes-free-orders", "lab03-rules",
          [('[{"numeric": [">", 0]}]', '[{"numeric": [">=", 0]}]')],
          {"payment-pattern"}, "of 0 (free) reached payment"),
        M("shipping-lists-values", "lab03-rules",
          [('{"fulfillment": [{"anything-but": ["digital"]}]}', '{"fulfillment": ["physical"]}')],
          {"shipping-pattern"}, "marked 'pickup' did not reach shipping"),
        M("notify-without-exists", "lab03-rules",
          [('{"customer": {"email": [{"exists": True}]}}', '{"customer": {"id": [{"exists": True}]}}')],
          {"notify-pattern"}, "without customer.email reached notification"),
        M("any-source", "lab03-rules",
          [('pattern = {"source": ["com.shop.orders"], "detail-type"', 'pattern = {"detail-type"')],
          {"source-only"}, "com.shop.test-harness"),
        M("no-transformer", "lab03-transform", [], {"transformer"}, "has no InputTransformer",
          whole_cell='events.put_targets(Rule="notify-customer", EventBusName="orders", Targets=[\n'
                     '    {"Id": "notification", "Arn": function_arns["notification"]}])'),
        M("no-target-dlq", "lab03-dlq",
          [(',\n    "DeadLetterConfig": {"Arn": dlq_arn}}])', "}])")],
          {"dlq-config", "dlq-probe"}, "no DeadLetterConfig pointing to payment-dlq"),
    ],
}


def source_notebook(lab: str) -> Path:
    name = LABS[lab]
    return ROOT / "labs" / "source" / name / f"{name}.ipynb"


def learner_notebook(lab: str) -> Path:
    name = LABS[lab]
    return ROOT / "labs" / "learner" / name / f"{name}.ipynb"


def _strip_markers(text: str) -> str:
    return "\n".join(line for line in text.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def filled(lab: str, learner: Path | None = None) -> nbformat.NotebookNode:
    """The learner's copy with every solution cell answered as the source answers it."""
    nb = nbformat.read(learner or learner_notebook(lab), as_version=4)
    src = nbformat.read(source_notebook(lab), as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in src.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = _strip_markers(answers[meta["grade_id"]])
    return nb


def mutate(nb: nbformat.NotebookNode, m: Mutation) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == m.cell]
    assert cells, f"{m.name}: no cell {m.cell}"
    cell = cells[0]
    if m.whole_cell is not None:
        cell.source = m.whole_cell
    for old, new in m.edits:
        assert old in cell.source, f"{m.name}: {old!r} not in cell {m.cell}:\n{cell.source}"
        cell.source = cell.source.replace(old, new)
    return nb


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
                          cwd=course, env=env, capture_output=True, text=True, timeout=600)


def new_course(tmp: Path) -> Path:
    course = tmp / "course"
    course.mkdir()
    shutil.copy(ROOT / "labs" / "nbgrader_config.py", course / "nbgrader_config.py")
    for name in LABS.values():
        shutil.copytree(ROOT / "labs" / "source" / name, course / "source" / name)
    return course


@dataclass
class LabCourse:
    """One nbgrader course per lab (separate gradebooks, so the labs run in parallel)."""

    root: Path
    data_dir: Path
    courses: dict[str, Path] = field(default_factory=dict)
    logs: dict[str, list[str]] = field(default_factory=dict)
    grade_json: dict[str, list[dict]] = field(default_factory=dict)
    grade_text: dict[str, str] = field(default_factory=dict)

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
        path = str(self.submission(lab, student))
        return next(g for g in self.grade_json[lab] if g["notebook"] == path)


def run_course(lab: str, course: Path, env: dict[str, str], log: list[str],
               generated: threading.Event, ready: threading.Event) -> None:
    """generate_assignment; (wait for the submissions); autograde; generate_feedback."""
    name = LABS[lab]
    try:
        for args, after in ((("generate_assignment", name, "--force"), generated),
                            (("autograde", name, "--force", "--Autograde.create_student=True"), None),
                            (("generate_feedback", name, "--force"), None)):
            if args[0] == "autograde":
                ready.wait(600)
            proc = nbgrader(course, env, *args)
            log.append(f"$ nbgrader {' '.join(args)} -> {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
            if after is not None:
                after.set()
            if proc.returncode != 0:
                break
    finally:
        generated.set()


def build_lab_course(tmp: Path) -> LabCourse:
    import threading

    data_dir = tmp / "data"
    data_dir.mkdir()
    env = kernel_env(data_dir)
    lc = LabCourse(tmp, data_dir)
    threads, events = [], {}
    for lab in LABS:
        (tmp / lab).mkdir()
        course = new_course(tmp / lab)
        lc.courses[lab] = course
        lc.logs[lab] = []
        generated, ready = threading.Event(), threading.Event()
        events[lab] = (generated, ready)
        t = threading.Thread(target=run_course, args=(lab, course, env, lc.logs[lab], generated, ready))
        t.start()
        threads.append(t)
    for lab, (generated, ready) in events.items():
        generated.wait(600)
        released = lc.released(lab)
        if released.exists():
            for student, nb in submissions(lab, released).items():
                path = lc.submission(lab, student)
                path.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, path)
        ready.set()
    # eventlab grade on every submission (and the source notebook) while nbgrader autogrades
    from eventlab.cli import main

    old = os.environ.get("EVENTLAB_DATA_DIR")
    os.environ["EVENTLAB_DATA_DIR"] = str(data_dir)
    try:
        import contextlib
        import io
        import json

        for lab in LABS:
            paths = [str(lc.submission(lab, s)) for s in ["solution", "untouched",
                                                          *(m.name for m in MUTATIONS[lab])]]
            paths.append(str(source_notebook(lab)))
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                code = main(["grade", lab, *paths, "--json", "--jobs", "2"])
            assert code == 0, out.getvalue()
            lc.grade_json[lab] = json.loads(out.getvalue())
    finally:
        if old is None:
            os.environ.pop("EVENTLAB_DATA_DIR", None)
        else:
            os.environ["EVENTLAB_DATA_DIR"] = old
    for t in threads:
        t.join(900)
    return lc
