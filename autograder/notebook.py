"""Run a lab notebook headless in a fresh kernel and grade it.

The notebook runs top to bottom (errors do not stop it: a learner's broken cell costs
that step's points, not the whole lab), then one cell is appended that runs every check
of the lab, visible and hidden, on the sandbox the notebook built.  The learner's own
check cells are not trusted: deleting or editing them changes nothing.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.checks import Report, Result
from autograder.lab import GRADE_MARKER, LABS, checks_of

LAB_PATTERN = re.compile(r"lab\d\d")


def lab_id(name: str) -> str:
    """``lab01``, ``lab01_fanout`` or a path to it -> ``lab01``."""
    match = LAB_PATTERN.search(Path(name).name) or LAB_PATTERN.search(str(name))
    if not match or match.group(0) not in LABS:
        raise KeyError(f"unknown lab '{name}'; known: {', '.join(LABS)}")
    return match.group(0)


@dataclass
class Graded:
    path: Path
    report: Report
    errors: list[str] = field(default_factory=list)   # cells that raised: "cell 5: NameError: ..."
    seconds: float = 0.0
    notebook: Any = None                               # the executed notebook (grade cell last)

    def as_dict(self) -> dict[str, Any]:
        return {"notebook": str(self.path), **self.report.as_dict(), "cell_errors": self.errors,
                "seconds": round(self.seconds, 2)}


def kernel_env() -> dict[str, str]:
    """The grading kernel's environment: this checkout's packages first on the path."""
    from eventlab.paths import project_root

    env = dict(os.environ)
    root = str(project_root())
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env


def execute(path: Path | str, lab: str | None = None, *, timeout: int = 300) -> Graded:
    import time

    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    lab = lab_id(lab or path.name)
    nb = nbformat.read(path, as_version=4)
    grade_cell = nbformat.v4.new_code_cell(
        f"from autograder.lab import grade_all as _eventlab_grade_all\n"
        f"_eventlab_grade_all({lab!r});")
    nb.cells.append(grade_cell)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            store_widget_state=False, resources={"metadata": {"path": str(path.parent.resolve())}})
    started = time.perf_counter()
    client.execute(env=kernel_env())
    seconds = time.perf_counter() - started
    errors = []
    for i, cell in enumerate(nb.cells[:-1]):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                errors.append(f"cell {i}: {out.get('ename')}: {out.get('evalue')}"[:200])
    report = _parse(nb.cells[-1], lab)
    return Graded(path, report, errors, seconds, nb)


def _parse(cell: Any, lab: str) -> Report:
    text = "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream")
    for line in text.splitlines():
        if line.startswith(GRADE_MARKER):
            data = json.loads(line[len(GRADE_MARKER):])
            return Report(lab, [Result(**r) for r in data["results"]], title="grade")
    why = "; ".join(f"{o.get('ename')}: {o.get('evalue')}" for o in cell.get("outputs", [])
                    if o.get("output_type") == "error") or "no report was printed"
    return Report(lab, [Result(c.id, c.step, c.title, c.points, 0.0, False,
                               f"The grader could not run the checks ({why}).", c.hint, c.hidden)
                        for c in checks_of(lab)], title="grade")
