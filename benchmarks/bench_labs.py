"""Each lab's source notebook executed headless from a cold kernel, beside an empty
notebook's kernel start measured in the same run (the baseline).

Target: each lab under 5 s on 2 cores.  Prints medians, the lab's cost above the
baseline, the cells where its time goes (from nbclient's per-cell timing) and the kernel's
shutdown (from the last cell's reply to the end of the run).

    python benchmarks/bench_labs.py [--runs 3] [--lab lab06 ...] [--cells 3]

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


def run(nb: nbformat.NotebookNode, env: dict[str, str]) -> tuple[float, float, nbformat.NotebookNode]:
    """(seconds in all, seconds of the kernel's shutdown, the executed notebook)."""
    client = NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                            store_widget_state=False)
    started = time.perf_counter()
    client.execute(env=env)
    seconds = time.perf_counter() - started
    return seconds, shutdown_seconds(nb, time.time()), nb


def _stamp(cell: nbformat.NotebookNode, key: str) -> float | None:
    value = cell.metadata.get("execution", {}).get(key)
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() if value else None


def cell_seconds(cell: nbformat.NotebookNode) -> float:
    a, b = _stamp(cell, "iopub.execute_input"), _stamp(cell, "shell.execute_reply")
    return b - a if a is not None and b is not None else 0.0


def shutdown_seconds(nb: nbformat.NotebookNode, ended: float) -> float:
    """From the last cell's reply to the end of execute(): the kernel's shutdown."""
    last = _stamp([c for c in nb.cells if c.cell_type == "code"][-1], "shell.execute_reply")
    return ended - last if last is not None else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--lab", action="append", default=[],
                        help="only the labs whose name contains this (repeatable)")
    parser.add_argument("--cells", type=int, default=3, help="slowest cells to list per lab")
    parser.add_argument("--from-source", action="store_true",
                        help="compile eventlab, autograder and quizzes in every kernel (as under "
                             "PYTHONDONTWRITEBYTECODE=1) instead of loading their cached bytecode")
    args = parser.parse_args()
    labs = [p for p in LABS if not args.lab or any(k in p.stem for k in args.lab)]
    from autograder.notebook import kernel_env

    env = kernel_env()
    env["EVENTLAB_DATA_DIR"] = tempfile.mkdtemp(prefix="eventlab-bench-")
    if not args.from_source:   # the project's modules load from bytecode, as a student's do
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="eventlab-bench-pyc-")
    empty = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("pass")])
    base, base_end = [], []
    results: dict[str, list[float]] = {p.stem: [] for p in labs}
    in_cells: dict[str, list[float]] = {p.stem: [] for p in labs}
    ends: dict[str, list[float]] = {p.stem: [] for p in labs}
    cells: dict[str, list[tuple[float, str]]] = {}
    for _ in range(args.runs):   # interleaved, so that drift hits all alike
        seconds, end, _nb = run(nbformat.from_dict(empty), env)
        base.append(seconds)
        base_end.append(end)
        for path in labs:
            seconds, end, nb = run(nbformat.read(path, as_version=4), env)
            results[path.stem].append(seconds)
            ends[path.stem].append(end)
            cells[path.stem] = sorted(
                ((cell_seconds(c), c.metadata.get("nbgrader", {}).get("grade_id", "?"))
                 for c in nb.cells if c.cell_type == "code"), reverse=True)
            in_cells[path.stem].append(sum(s for s, _ in cells[path.stem]))
    b = statistics.median(base)
    print(f"runs: {args.runs} ({'compiled from source' if args.from_source else 'bytecode cached'}); medians in seconds (fastest run in brackets: ipykernel now and "
          f"then adds ~3 s to a shutdown)")
    print(f"{'empty notebook (kernel start, baseline)':44} {b:6.2f} [{min(base):5.2f}]  "
          f"(shutdown {statistics.median(base_end):4.2f} s)")
    for name, times in results.items():
        m = statistics.median(times)
        print(f"{name:44} {m:6.2f} [{min(times):5.2f}]  = baseline x {m / b:4.1f}, "
              f"+{m - b:5.2f} s; cells {statistics.median(in_cells[name]):5.2f} s, shutdown "
              f"{statistics.median(ends[name]):4.2f} s (max {max(ends[name]):4.2f}); "
              f"{'under' if m < 5 else 'OVER'} the 5 s target")
        for s, first in cells[name][:args.cells]:
            print(f"    {s:5.2f} s  {first}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
