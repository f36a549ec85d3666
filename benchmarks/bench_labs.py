"""Each lab's source notebook executed headless from a cold kernel, beside an empty
notebook's kernel start measured in the same run (the baseline).

Target: each lab under 5 s on 2 cores.  Prints medians, the lab's cost above the
baseline, and the cells where its time goes (from nbclient's per-cell timing).

    python benchmarks/bench_labs.py [--runs 3]

Prints numbers only; it asserts nothing (timings are not tests).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
LABS = sorted((ROOT / "labs" / "source").glob("lab*/lab*.ipynb"))


def run(nb: nbformat.NotebookNode, env: dict[str, str]) -> tuple[float, nbformat.NotebookNode]:
    client = NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                            store_widget_state=False)
    started = time.perf_counter()
    client.execute(env=env)
    return time.perf_counter() - started, nb


def cell_seconds(cell: nbformat.NotebookNode) -> float:
    t = cell.metadata.get("execution", {})
    a, b = t.get("iopub.execute_input"), t.get("shell.execute_reply")
    if not (a and b):
        return 0.0
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return (parse(b) - parse(a)).total_seconds()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from autograder.notebook import kernel_env

    env = kernel_env()
    env["EVENTLAB_DATA_DIR"] = tempfile.mkdtemp(prefix="eventlab-bench-")
    empty = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("pass")])
    base = []
    results: dict[str, list[float]] = {p.stem: [] for p in LABS}
    cells: dict[str, list[tuple[float, str]]] = {}
    for _ in range(args.runs):   # interleaved, so that drift hits all alike
        base.append(run(nbformat.from_dict(empty), env)[0])
        for path in LABS:
            seconds, nb = run(nbformat.read(path, as_version=4), env)
            results[path.stem].append(seconds)
            cells[path.stem] = sorted(
                ((cell_seconds(c), c.metadata.get("nbgrader", {}).get("grade_id", "?"))
                 for c in nb.cells if c.cell_type == "code"), reverse=True)
    b = statistics.median(base)
    print(f"runs: {args.runs}; medians in seconds")
    print(f"{'empty notebook (kernel start, baseline)':44} {b:6.2f}")
    for name, times in results.items():
        m = statistics.median(times)
        in_cells = sum(s for s, _ in cells[name])
        print(f"{name:44} {m:6.2f}  = baseline x {m / b:4.1f}, +{m - b:5.2f} s; "
              f"cells {in_cells:5.2f} s; {'under' if m < 5 else 'OVER'} the 5 s target")
        for s, first in cells[name][:3]:
            print(f"    {s:5.2f} s  {first}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
