"""Cell builders with complete nbgrader metadata (schema_version 3)."""

from __future__ import annotations

import textwrap

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell


def _meta(grade_id: str, *, grade: bool, solution: bool, locked: bool,
          points: float | None = None) -> dict:
    meta: dict = {"grade": grade, "grade_id": grade_id, "locked": locked,
                  "schema_version": 3, "solution": solution}
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def _clean(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def md(grade_id: str, text: str) -> nbformat.NotebookNode:
    """A locked explanation cell."""
    return new_markdown_cell(_clean(text), metadata=_meta(grade_id, grade=False, solution=False,
                                                          locked=True))


def given(grade_id: str, code: str) -> nbformat.NotebookNode:
    """Locked code the learner runs as it is (set-up, demos, the quiz)."""
    return new_code_cell(_clean(code), metadata=_meta(grade_id, grade=False, solution=False,
                                                      locked=True))


def solution(grade_id: str, before: str, answer: str, after: str = "") -> nbformat.NotebookNode:
    """A cell the learner writes: ``before`` stays, ``answer`` becomes YOUR CODE HERE."""
    parts = [_clean(before)] if before.strip() else []
    parts += ["### BEGIN SOLUTION", _clean(answer), "### END SOLUTION"]
    if after.strip():
        parts.append(_clean(after))
    return new_code_cell("\n".join(parts), metadata=_meta(grade_id, grade=False, solution=True,
                                                          locked=False))


def check(grade_id: str, step: str, *, hidden: bool = False,
          graded: bool = True) -> nbformat.NotebookNode:
    """A check cell: the checklist and picture; its value is nbgrader's partial credit.

    Its points are the sum of the step's checks (visible and hidden) in ``autograder``.
    """
    from autograder.lab import checks_of

    lab = grade_id.split("-")[0]
    points = float(sum(c.points for c in checks_of(lab) if c.step == step))
    if hidden != any(c.hidden for c in checks_of(lab) if c.step == step):
        raise ValueError(f"{grade_id}: hidden={hidden} does not match the step's checks")
    lines = [f'result = check("{step}")']
    if hidden:
        lines += ["### BEGIN HIDDEN TESTS", f'result.add(hidden("{step}"))', "### END HIDDEN TESTS"]
    lines.append("result.score")
    meta = (_meta(grade_id, grade=True, solution=False, locked=True, points=points) if graded
            else _meta(grade_id, grade=False, solution=False, locked=True))
    return new_code_cell("\n".join(lines), metadata=meta)


def scorecard(lab: str) -> list[nbformat.NotebookNode]:
    """The lab's last cells: the running score step by step, and how to be graded."""
    return [
        md(f"{lab}-score-md", """
        ## Your score

        The cell below adds up what the check cells you ran gave, step by step. Hidden
        checks (marked in the table) only run when the notebook is graded. To be graded
        as your instructor will grade you, save the notebook and run
        `eventlab grade LAB NOTEBOOK` in a terminal: it runs every cell again in a fresh
        sandbox, with the hidden checks, and prints the report (the cell prints the exact
        command).
        """),
        given(f"{lab}-score", """
        from autograder.lab import score

        score();
        """),
    ]


def notebook(cells: list[nbformat.NotebookNode]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                       "name": "python3"},
        "language_info": {"name": "python"},
    }
    for i, cell in enumerate(nb.cells):
        cell["id"] = cell.metadata["nbgrader"]["grade_id"] if "nbgrader" in cell.metadata else f"c{i}"
    return nb
