"""Guards against nbgrader's silent failures (platform-findings.md, nbgrader section).

After ``nbgrader autograde``, for every submitted notebook (``submitted/<student>/<lab>/``)
and every autograded one, compared with the source notebook:

- the submission must be a notebook (nbgrader skips a file that is not JSON or not a
  notebook, logs an error and records 0), and must have been graded (a kernel that died
  leaves no autograded notebook: the cause is read from nbgrader's log, .nbgrader.log);
- its graded cells must be the source's: a cell with a made-up ``grade_id``, two cells
  with one ``grade_id`` (a copied cell), and an edited locked cell (nbgrader silently
  restores it) are each reported;
- every test cell of the source must be in the autograded notebook (a deleted test cell
  scores 0 without a warning), must have run (a kernel that died stops the rest), must
  not have raised, must show its score as a number (a cell that prints nothing gets FULL
  credit; a cell whose helper import failed scores 0 with exit code 0);
- no cell may have timed out (nbgrader interrupts it and carries on);
- the lab's set-up cell must have run without an error.

``python -m autograder.nbgrader_guard COURSE_DIR [ASSIGNMENT]`` prints one line per
problem, ``STUDENT: ASSIGNMENT/NOTEBOOK.ipynb: what happened``, and exits 1 when there
are any.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import nbformat

LOG = ".nbgrader.log"   # labs/nbgrader_config.py: c.NbGrader.logfile


def _meta(cell: Any) -> dict:
    return cell.metadata.get("nbgrader", {})


def _is_test(cell: Any) -> bool:
    meta = _meta(cell)
    return bool(meta.get("grade") and not meta.get("solution") and cell.cell_type == "code")


def test_cells(nb: Any) -> dict[str, Any]:
    """grade_id -> test cell (graded, not a solution), in notebook order."""
    return {_meta(c)["grade_id"]: c for c in nb.cells if _is_test(c) and "grade_id" in _meta(c)}


def _name(cell: Any, index: int) -> str:
    return _meta(cell).get("grade_id") or str(index)


def graded_problems(nb: Any, src: Any, where: str) -> list[str]:
    """What is wrong with one autograded notebook, compared with its source."""
    found: list[str] = []
    cells = test_cells(nb)
    for grade_id in test_cells(src):
        cell = cells.get(grade_id)
        if cell is None:
            found.append(f"{where}: test cell {grade_id} was deleted (it scored 0)")
            continue
        if cell.get("execution_count") is None:
            found.append(f"{where}: test cell {grade_id} never ran (did the kernel die?)")
            continue
        outputs = cell.get("outputs", [])
        errors = [o for o in outputs if o.get("output_type") == "error"]
        if errors:
            e = errors[0]
            found.append(f"{where}: test cell {grade_id} raised {e.get('ename')}: {e.get('evalue')}")
            continue
        results = [o for o in outputs if o.get("output_type") == "execute_result"]
        value = "".join(results[0].get("data", {}).get("text/plain", "")) if results else ""
        try:
            float(value)
        except ValueError:
            found.append(f"{where}: test cell {grade_id} produced no score "
                         "(nbgrader would give it full credit)")
    for i, cell in enumerate(nb.cells):
        outputs = cell.get("outputs", [])
        if any(o.get("ename") == "CellTimeoutError" for o in outputs):
            found.append(f"{where}: cell {_name(cell, i)} timed out (nbgrader interrupted it "
                         "and went on)")
        if _meta(cell).get("grade_id", "").endswith("-setup"):
            if any(o.get("output_type") == "error" for o in outputs):
                found.append(f"{where}: the set-up cell failed (is the autograder "
                             "package installed where the kernels run?)")
            if cell.get("execution_count") is None:
                found.append(f"{where}: the set-up cell never ran")
    return found


def _as_released(cell: Any) -> Any:
    """A source cell as the learner received it (hidden tests removed)."""
    from nbgrader.preprocessors import ClearHiddenTests

    cell = nbformat.from_dict(json.loads(json.dumps(cell)))
    ClearHiddenTests()._remove_hidden_test_region(cell)
    return cell


def _checksum(cell: Any) -> str | None:
    from nbgrader.utils import compute_checksum

    try:
        return compute_checksum(cell)
    except (KeyError, TypeError, ValueError):   # metadata the learner broke
        return None


def submission_problems(nb: Any, src: Any, where: str) -> list[str]:
    """Graded cells in a submitted notebook that are not the source's, as nbgrader saw them."""
    found: list[str] = []
    source_cells = {_meta(c)["grade_id"]: c for c in src.cells if "grade_id" in _meta(c)}
    seen: dict[str, list[int]] = {}
    for i, cell in enumerate(nb.cells):
        grade_id = _meta(cell).get("grade_id")
        if grade_id is None:
            continue
        if grade_id not in source_cells:
            found.append(f"{where}: cell {i + 1} carries grade_id {grade_id}, which the source "
                         "does not have (added by the learner; not graded)")
            continue
        meta = _meta(cell)
        if meta.get("grade") or meta.get("solution") or meta.get("locked"):
            seen.setdefault(grade_id, []).append(i)
    for grade_id, places in seen.items():
        if len(places) > 1:
            listed = ", ".join(str(i + 1) for i in places[:-1]) + f" and {places[-1] + 1}"
            found.append(f"{where}: cells {listed} carry the same grade_id {grade_id} "
                         "(a copied cell; only the last was graded)")
        original = source_cells[grade_id]
        if not _meta(original).get("locked"):
            continue
        submitted = nb.cells[places[-1]]
        if submitted.cell_type != original.cell_type or \
                _checksum(submitted) != _checksum(_as_released(original)):
            kind = "test cell" if _is_test(original) else "locked cell"
            found.append(f"{where}: {kind} {grade_id} was edited (nbgrader restored the "
                         "original before grading)")
    return found


def _read_submission(path: Path) -> tuple[Any, str | None]:
    """(the notebook, None) or (None, why it is not one)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None, "the submitted file is not valid JSON"
    try:
        nb = nbformat.reads(json.dumps(data), as_version=4)
        nbformat.validate(nb)
    except Exception:  # nbformat raises several kinds on a JSON that is no notebook
        return None, "the submitted file is JSON but not a notebook"
    return nb, None


def _log_causes(course: Path) -> dict[str, str]:
    """"<student>/<assignment>" -> why nbgrader's last attempt at it failed."""
    log = course / LOG
    if not log.exists():
        return {}
    causes: dict[str, str] = {}
    current = None
    for line in log.read_text(errors="replace").splitlines():
        m = re.search(r"\| INFO\] Sanitizing (.*)/[^/]+\.ipynb$", line)
        if m:
            current = "/".join(Path(m.group(1)).parts[-2:])
            causes.pop(current, None)
        elif current and ("DeadKernelError" in line or "Kernel died" in line):
            causes[current] = "the kernel died"
        elif current and "UnresponsiveKernelError" in line:
            causes[current] = "the kernel stopped responding"
    return causes


def check_course(course: Path, assignment: str | None = None) -> list[str]:
    course = Path(course).resolve()
    pattern = f"*/{assignment}/*.ipynb" if assignment else "*/*/*.ipynb"
    submitted = {p.relative_to(course / "submitted") for p in (course / "submitted").glob(pattern)}
    graded = {p.relative_to(course / "autograded") for p in (course / "autograded").glob(pattern)}
    if not graded:
        return [f"{course / 'autograded'}: no autograded notebooks (did autograde run?)"]
    causes = _log_causes(course)
    found: list[str] = []
    for rel in sorted(submitted | graded):
        student, lab, name = rel.parts
        where = f"{student}: {lab}/{name}"
        source_path = course / "source" / lab / name
        if not source_path.exists():
            found.append(f"{where}: no source notebook {source_path}")
            continue
        src = nbformat.read(source_path, as_version=4)
        if rel in submitted:
            nb, why = _read_submission(course / "submitted" / rel)
            if why:
                found.append(f"{where}: not graded: {why}")
                continue
            found += submission_problems(nb, src, where)
        if rel not in graded:
            cause = causes.get(f"{student}/{lab}")
            found.append(f"{where}: not graded: {cause} ({LOG})" if cause else
                         f"{where}: not graded (nbgrader failed on it: see its log)")
            continue
        autograded = nbformat.read(course / "autograded" / rel, as_version=4)
        found += graded_problems(autograded, src, where)
        found += verdict_problems(autograded, course / "autograded" / student / lab, where)
    return found


# the step a test cell checks: result = check("queues")
CHECK_STEP = re.compile(r"""\bcheck\(\s*["']([\w-]+)["']\s*\)""")


def verdict_problems(nb: Any, folder: Path, where: str) -> list[str]:
    """Each test cell's score against the verdicts recorded outside the kernel (see
    autograder/nbgrader_host.py), and what the fence refused."""
    from autograder.nbgrader_host import record_paths
    from eventlab import config

    if not config.nbgrader_host():
        return []
    paths = record_paths(folder)
    found: list[str] = []
    for line in _jsonl(paths["refused"]):
        found.append(f"{where}: refused: {line.get('kind')}: {line.get('what')}")
    records = _jsonl(paths["verdicts"])
    found += [f"{where}: refused: tampering: {r['value']}" for r in records if r.get("kind") == "refused"]
    if not paths["verdicts"].exists():
        return found + [f"{where}: no verdict was recorded outside the kernel (start(...) never "
                        "reached the grading sandbox): its scores are the kernel's own"]
    checks = [r["value"] for r in records if r.get("kind") == "check"]
    real: dict[str, set[float]] = {}
    for i, c in enumerate(checks):
        if c["hidden"]:
            continue
        total = c["earned"]
        if i + 1 < len(checks) and checks[i + 1]["hidden"] and checks[i + 1]["step"] == c["step"]:
            total += checks[i + 1]["earned"]
        real.setdefault(c["step"], set()).add(round(total, 6))
    for grade_id, cell in test_cells(nb).items():
        m = CHECK_STEP.search(cell.get("source", ""))
        results = [o for o in cell.get("outputs", []) if o.get("output_type") == "execute_result"]
        if not m or not results:
            continue
        try:
            shown = float("".join(results[0].get("data", {}).get("text/plain", "")))
        except ValueError:
            continue
        step = m.group(1)
        if round(shown, 6) not in real.get(step, set()):
            gave = ", ".join(f"{v:g}" for v in sorted(real.get(step, set()))) or "nothing"
            found.append(f"{where}: test cell {grade_id} shows {shown:g} points, but its checks, "
                         f"run outside the kernel, gave {gave}: the notebook changed its own verdict")
    return found


def _jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print(__doc__)
        return 2
    found = check_course(Path(argv[0]), argv[1] if len(argv) > 1 else None)
    for line in found:
        print(line)
    if not found:
        print("every submitted notebook was graded and every test cell produced a score")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
