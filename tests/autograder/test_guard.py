"""The guard for nbgrader's silent failures, on doctored autograded notebooks."""

from __future__ import annotations

import nbformat

from autograder.nbgrader_guard import check_course, problems
from tests.labs_support import LABS, source_notebook


def _autograded(tmp_path, lab: str, edit) -> tuple:
    name = LABS[lab]
    nb = nbformat.read(source_notebook(lab), as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.execution_count = i
            meta = cell.metadata["nbgrader"]
            if meta["grade"]:
                cell.outputs = [nbformat.v4.new_output(
                    "execute_result", data={"text/plain": f"{meta['points']}"}, execution_count=i)]
    edit(nb)
    path = tmp_path / "autograded" / "ana" / name / f"{name}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)
    return path, source_notebook(lab)


def test_a_clean_notebook_passes(tmp_path) -> None:
    assert problems(*_autograded(tmp_path, "lab01", lambda nb: None)) == []


def test_deleted_test_cell_is_reported(tmp_path) -> None:
    def delete(nb):
        nb.cells = [c for c in nb.cells if c.metadata["nbgrader"]["grade_id"] != "lab01-check-dlq"]

    assert any("lab01-check-dlq was deleted" in p for p in problems(*_autograded(tmp_path, "lab01", delete)))


def test_test_cell_without_a_score_is_reported(tmp_path) -> None:
    def silence(nb):
        for c in nb.cells:
            if c.metadata["nbgrader"]["grade_id"] == "lab01-check-queues":
                c.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hi")]

    found = problems(*_autograded(tmp_path, "lab01", silence))
    assert any("lab01-check-queues produced no score" in p for p in found)


def test_failed_helper_import_is_reported(tmp_path) -> None:
    def broken(nb):
        setup = nb.cells[1]
        setup.outputs = [nbformat.v4.new_output("error", ename="ModuleNotFoundError",
                                                evalue="No module named 'autograder'", traceback=[])]
        for c in nb.cells:
            if c.metadata["nbgrader"]["grade"]:
                c.outputs = [nbformat.v4.new_output("error", ename="NameError",
                                                    evalue="name 'check' is not defined", traceback=[])]

    found = problems(*_autograded(tmp_path, "lab01", broken))
    assert any("set-up cell failed" in p for p in found)
    assert any("raised NameError" in p for p in found)


def test_a_course_without_autograded_notebooks_is_reported(tmp_path) -> None:
    assert "no autograded notebooks" in check_course(tmp_path)[0]
