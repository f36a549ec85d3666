"""nbconvert preprocessors that labs/nbgrader_config.py puts into nbgrader's pipeline.

Named there by import string, so nbgrader imports this module only when it autogrades or
generates feedback (``autograder`` must be importable there, as for the kernels).

Autograde, sanitizing step (before the learner's notebook runs):

- ``DropDuplicateIds``: a learner who copies a graded or locked cell (copy and paste
  keeps the cell's nbgrader metadata) makes two cells with one ``grade_id``.  nbgrader's
  DeduplicateIds empties the metadata of all but the last copy, and the emptied metadata
  then reads as an "old metadata format" that aborts the WHOLE autograde run: the
  students after that one are not graded (nbgrader issue 1083).  Here the copies lose
  their nbgrader metadata entirely: the last copy is graded, as nbgrader intends.
- ``DropUnknownGradeIds``: a cell whose ``grade_id`` the source does not have (one the
  learner made up) keeps ``grade: true`` without an id in nbgrader, which then refuses
  the learner's whole notebook.  Here such a cell loses its nbgrader metadata: it runs as
  plain code and earns nothing.

Feedback (``HideHiddenTests``): nbgrader's feedback HTML shows the hidden tests' source
and the server's paths (nbgrader issue 917).  Here each hidden-test region becomes a
one-line placeholder, an error in a cell that had hidden tests shows only its last line,
and absolute paths of the course, the project, Python and the temp and home directories
become short names.  Outputs (the checklists: criterion, points, message) stay.

``python -m autograder.nbgrader_guard`` reports each of these cases to the instructor.
"""

from __future__ import annotations

import html
import os
import re
import site
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from nbgrader.preprocessors import DeduplicateIds, NbGraderPreprocessor, OverwriteCells

BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
PLACEHOLDER = "# (hidden tests: not shown)"


class DropDuplicateIds(DeduplicateIds):
    def preprocess_cell(self, cell: Any, resources: Any, cell_index: int) -> tuple[Any, Any]:
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if cell.metadata.get("nbgrader") == {}:
            del cell.metadata["nbgrader"]
        return cell, resources


class DropUnknownGradeIds(OverwriteCells):
    def preprocess_cell(self, cell: Any, resources: Any, cell_index: int) -> tuple[Any, Any]:
        had_id = "grade_id" in cell.metadata.get("nbgrader", {})
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if had_id and "grade_id" not in cell.metadata.get("nbgrader", {}):
            del cell.metadata["nbgrader"]
        return cell, resources


def hide_hidden_tests(source: str) -> tuple[str, bool]:
    """The source with each hidden-test region replaced by PLACEHOLDER; whether it had one."""
    out: list[str] = []
    inside = found = False
    for line in source.split("\n"):
        if BEGIN_HIDDEN in line:
            inside = found = True
            out.append(line[: len(line) - len(line.lstrip())] + PLACEHOLDER)
        elif END_HIDDEN in line:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out), found


def server_paths(course_root: str | None = None) -> list[tuple[str, str]]:
    """(absolute path, what to show instead), longest first."""
    from eventlab.paths import project_root

    pairs: list[tuple[str, str]] = []
    python_dirs = {*site.getsitepackages(), site.getusersitepackages(),
                   *(sysconfig.get_paths()[k] for k in ("purelib", "platlib", "stdlib")),
                   sys.prefix, sys.base_prefix, sys.exec_prefix}
    pairs += [(p, "<python>") for p in python_dirs if p]
    if course_root:
        pairs.append((course_root, "<course>"))
    pairs.append((str(project_root()), "<eventlab>"))
    pairs.append((tempfile.gettempdir(), "<tmp>"))
    pairs.append((os.path.expanduser("~"), "~"))
    real = [(str(Path(p).resolve()), name) for p, name in pairs]
    unique = {p.rstrip("/"): name for p, name in pairs + real if len(p.rstrip("/")) > 1}
    return sorted(unique.items(), key=lambda pair: -len(pair[0]))


# whatever is left of a Python installation's path: ".../lib/python3.11/site-packages/x"
_SITE = re.compile(r"[^\s'\"()\[\]<>]*(?:site|dist)-packages")


def scrub(text: str, paths: list[tuple[str, str]], markup: bool = False) -> str:
    """``text`` without the server's paths (``markup``: text is HTML, escape the names)."""
    def shown(name: str) -> str:
        return html.escape(name) if markup else name

    for path, name in paths:   # whole path components only: /home/u is not /home/user
        text = re.sub(re.escape(path) + r"(?![\w.-])", shown(name), text)
    return _SITE.sub(shown("<python>"), text)


class HideHiddenTests(NbGraderPreprocessor):
    """Feedback without hidden tests' source or the server's paths (enabled, unlike a
    plain nbconvert Preprocessor, which does nothing unless enabled)."""

    def preprocess(self, nb: Any, resources: Any) -> tuple[Any, Any]:
        # nbgrader converts with the course root as the working directory
        paths = server_paths(os.getcwd())
        for cell in nb.cells:
            cell.source, had_hidden = hide_hidden_tests(cell.source)
            for out in cell.get("outputs", []):
                _scrub_output(out, paths, had_hidden)
        return nb, resources


def _scrub_output(out: Any, paths: list[tuple[str, str]], had_hidden: bool) -> None:
    if out.get("output_type") == "error":
        if had_hidden:  # the traceback would quote the hidden lines around the error
            out["traceback"] = [f"{out.get('ename')}: {out.get('evalue')}"]
        out["evalue"] = scrub(out.get("evalue", ""), paths)
        out["traceback"] = [scrub(line, paths) for line in out.get("traceback", [])]
    if "text" in out:
        out["text"] = scrub(out["text"], paths)
    for mime, value in out.get("data", {}).items():
        if isinstance(value, str) and mime.startswith("text/"):
            out["data"][mime] = scrub(value, paths, markup=mime == "text/html")
