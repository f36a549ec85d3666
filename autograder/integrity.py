"""Reading a submission and putting back what a learner may not change.

:func:`read_submission` turns the file into a notebook or says exactly why it is not
one.  :func:`restore` compares it with the lab's source notebook, cell by cell on
nbgrader's ``grade_id``, as ``nbgrader autograde`` does for locked cells, and goes one
step further: a locked cell the learner edited is put back (with its hidden tests); one
they deleted is put back too (nbgrader leaves it out, which silently scores 0); one
whose metadata they stripped is recognised by its text; and a cell they added with
grade metadata loses that metadata.  Each of these is reported as a flag.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import nbformat

from eventlab.errors import InputError

HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[ \t]*\n?",
                    re.MULTILINE | re.DOTALL)


class NotANotebook(InputError, ValueError):
    """The submission could not be read as a notebook; the message says why."""


def read_submission(path: Path) -> nbformat.NotebookNode:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise NotANotebook(f"could not be read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotANotebook(f"is not UTF-8 text (byte {exc.start})") from None
    if not text.strip():
        raise NotANotebook("is empty")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotANotebook(f"is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                           f"{exc.msg})") from None
    if not isinstance(data, dict) or "cells" not in data or "nbformat" not in data:
        raise NotANotebook("is JSON but not a notebook (no 'cells' and 'nbformat')")
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # nbformat raises several kinds
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NotANotebook(f"is not a valid notebook ({first[:160]})") from None
    return nb


def _meta(cell: Any) -> dict[str, Any]:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _locked(cell: Any) -> bool:
    m = _meta(cell)
    return bool(m.get("locked")) and not m.get("solution") and bool(m.get("grade_id"))


def _released(source: str) -> str:
    """A cell's text as the learner received it (hidden tests removed)."""
    return HIDDEN.sub("", source).strip()


def _kind(cell: Any) -> str:
    return "test cell" if _meta(cell).get("grade") else "read-only cell"


def restore(nb: nbformat.NotebookNode, source: nbformat.NotebookNode
            ) -> tuple[nbformat.NotebookNode, list[str]]:
    """``nb`` with the source's locked cells put back; and what was wrong, one line each."""
    flags: list[str] = []
    source_ids = [_meta(c)["grade_id"] for c in source.cells if _meta(c).get("grade_id")]
    locked = {_meta(c)["grade_id"]: c for c in source.cells if _locked(c)}
    out = copy.deepcopy(nb)
    seen: set[str] = set()
    cells: list[Any] = []
    for number, cell in enumerate(out.cells, start=1):
        m = _meta(cell)
        gid = m.get("grade_id")
        if gid and (gid not in source_ids or gid in seen):
            why = "is not in the lab" if gid not in source_ids else "repeats another cell's"
            if m.get("grade") or m.get("points"):
                flags.append(f"cell {number} carries grade metadata (grade_id '{gid}') that {why}: "
                             "its metadata was removed and it earns nothing")
            cell.metadata.pop("nbgrader", None)
            gid = None
        elif gid:
            seen.add(gid)
        if gid is None and cell.get("cell_type") == "code":
            text = cell.get("source", "").strip()
            match = next((g for g, c in locked.items() if g not in seen and text
                          and _released(c.source) == text), None)
            if match is not None:
                flags.append(f"{_kind(locked[match])} {match} had its nbgrader metadata removed: "
                             "restored")
                gid = match
                seen.add(gid)
        if gid in locked:
            original = locked[gid]
            if _released(cell.get("source", "")) != _released(original.source):
                flags.append(f"{_kind(original)} {gid} was edited: restored from the lab's source")
            cell = copy.deepcopy(original)
        cells.append(cell)
    # deleted locked cells go back after the nearest earlier source cell still present
    for gid, original in locked.items():
        if gid in seen:
            continue
        flags.append(f"{_kind(original)} {gid} was deleted: put back from the lab's source")
        earlier = source_ids[:source_ids.index(gid)]
        at = 0
        for i, cell in enumerate(cells):
            if _meta(cell).get("grade_id") in earlier:
                at = i + 1
        cells.insert(at, copy.deepcopy(original))
    out.cells = cells
    return out, flags
