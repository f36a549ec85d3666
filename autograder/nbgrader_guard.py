"""Guards against nbgrader's silent failures (platform-findings.md, nbgrader section).

After ``nbgrader autograde``, every test cell of the source must be in each autograded
notebook (a deleted test cell scores 0 without a warning), must have run, and must show
its score as a number (a cell that prints nothing gets FULL credit; a cell whose helper
import failed scores 0 with exit code 0).  The lab's set-up cell must have run without
an error.  ``python -m autograder.nbgrader_guard COURSE_DIR [ASSIGNMENT]`` prints the
problems and exits 1 when there are any.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import nbformat


def _test_cells(nb: Any) -> dict[str, Any]:
    out = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution") and cell.cell_type == "code":
            out[meta["grade_id"]] = cell
    return out


def problems(autograded: Path, source: Path) -> list[str]:
    """What is wrong with one autograded notebook, compared with its source."""
    nb = nbformat.read(autograded, as_version=4)
    src = nbformat.read(source, as_version=4)
    found: list[str] = []
    cells = _test_cells(nb)
    for grade_id in _test_cells(src):
        cell = cells.get(grade_id)
        if cell is None:
            found.append(f"{autograded}: test cell {grade_id} was deleted (it scored 0)")
            continue
        outputs = cell.get("outputs", [])
        errors = [o for o in outputs if o.get("output_type") == "error"]
        if errors:
            e = errors[0]
            found.append(f"{autograded}: test cell {grade_id} raised {e.get('ename')}: {e.get('evalue')}")
            continue
        results = [o for o in outputs if o.get("output_type") == "execute_result"]
        value = "".join(results[0].get("data", {}).get("text/plain", "")) if results else ""
        try:
            float(value)
        except ValueError:
            found.append(f"{autograded}: test cell {grade_id} produced no score "
                         "(nbgrader would give it full credit)")
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id", "").endswith("-setup"):
            if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
                found.append(f"{autograded}: the set-up cell failed (is the autograder "
                             "package installed where the kernels run?)")
            if cell.get("execution_count") is None:
                found.append(f"{autograded}: the set-up cell never ran")
    return found


def check_course(course: Path, assignment: str | None = None) -> list[str]:
    found: list[str] = []
    pattern = f"*/{assignment}/*.ipynb" if assignment else "*/*/*.ipynb"
    notebooks = sorted((course / "autograded").glob(pattern))
    if not notebooks:
        return [f"{course / 'autograded'}: no autograded notebooks (did autograde run?)"]
    for path in notebooks:
        source = course / "source" / path.parent.name / path.name
        if not source.exists():
            found.append(f"{path}: no source notebook {source}")
            continue
        found += problems(path, source)
    return found


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print(__doc__)
        return 2
    found = check_course(Path(argv[0]), argv[1] if len(argv) > 1 else None)
    for line in found:
        print(line)
    if not found:
        print("every test cell of every autograded notebook produced a score")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
