"""``eventlab grade LAB PATH...``: grade notebooks, or whole folders of them.

PATH is a notebook, a flat folder of ``<student>.ipynb``, nbgrader's
``submitted/<student>/<lab>/`` folder or a course folder holding ``submitted/``.  Each
submission is graded in its own process with a fresh sandbox (see
:mod:`autograder.batch`); ``-j`` of them at once.

Notebooks named one by one get their per-criterion report printed.  A folder (or
``--out``) also writes ``results.csv``, ``results.json``, ``results.junit.xml`` and
``feedback/<student>.html`` into the output folder.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("lab", help="the lab: lab01 ... lab08 (or its folder name, lab01_fanout)")
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                        help="notebook(s) or folder(s) of submissions")
    parser.add_argument("--jobs", "-j", type=int, default=0,
                        help="submissions graded at once (default: the number of cores)")
    parser.add_argument("--out", "-o", type=Path, default=None,
                        help="where to write results and feedback (default for folders: "
                             "./eventlab-grades/LAB)")
    parser.add_argument("--json", action="store_true", help="print the outcomes as JSON")
    parser.add_argument("--cell-timeout", "--timeout", dest="cell_timeout", type=float,
                        default=120, help="seconds one cell may run (default 120)")
    parser.add_argument("--submission-timeout", type=float, default=600,
                        help="seconds one whole notebook may run (default 600)")
    parser.add_argument("--memory", type=int, default=2048, metavar="MB",
                        help="memory one notebook's kernel may use (default 2048 MB)")
    parser.add_argument("--keep-notebooks", action="store_true",
                        help="also save each executed notebook under OUT/executed/ "
                             "(for the instructor: it holds the hidden tests)")


def run(args: argparse.Namespace) -> int:
    from autograder.batch import GRADER_ERROR, Limits, find_submissions, grade_many
    from autograder.notebook import lab_id

    try:
        lab = lab_id(args.lab)
    except KeyError as exc:
        print(f"eventlab grade: {exc.args[0]}", file=sys.stderr)
        return 2
    try:
        submissions = find_submissions(lab, args.paths)
    except FileNotFoundError as exc:
        print(f"eventlab grade: {exc}", file=sys.stderr)
        return 2
    if not submissions:
        print(f"eventlab grade: no notebooks for {lab} in " + ", ".join(map(str, args.paths)),
              file=sys.stderr)
        return 2
    folders = any(p.is_dir() for p in args.paths)
    out = args.out or (Path("eventlab-grades") / lab if folders else None)
    limits = Limits(args.cell_timeout, args.submission_timeout, args.memory)
    with _Progress(len(submissions), quiet=args.json and not sys.stderr.isatty()) as progress:
        outcomes = grade_many(lab, submissions, jobs=args.jobs, limits=limits,
                              keep=(out / "executed") if (out and args.keep_notebooks) else None,
                              on_done=progress.done)
    written = {}
    if out is not None:
        from autograder.reports import write_all

        written = write_all(outcomes, out, lab)
    if args.json:
        print(json.dumps([o.as_dict() for o in outcomes], indent=2))
    elif folders:
        _summary(outcomes)
    else:
        _reports(outcomes)
    if written:
        print("\nwrote " + ", ".join(str(p) for p in written.values()),
              file=sys.stderr if args.json else sys.stdout)
    return 1 if any(o.status == GRADER_ERROR for o in outcomes) else 0


def _reports(outcomes: list) -> None:
    from autograder.checks import Report, Result
    from autograder.display import text_table

    for o in outcomes:
        print(f"== {o.notebook}  ({o.status})")
        print(text_table(Report(o.lab, [Result(**r) for r in o.results], title="grade")))
        for title, lines in (("about this submission", o.flags),
                             ("cells that raised an error (their steps may have lost points)",
                              o.cell_errors)):
            if lines:
                print(f"\n{title}:")
                for line in lines:
                    print("  " + line)
        print()


def _summary(outcomes: list) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{outcomes[0].lab}: {len(outcomes)} submissions")
    for col in ("student", "score", "status", "notes"):
        table.add_column(col, justify="right" if col == "score" else "left")
    for o in outcomes:
        table.add_row(o.student, f"{o.score:g}/{o.points:g}", o.status,
                      "; ".join(o.flags)[:120])
    Console(width=140).print(table)


class _Progress:
    """A progress bar on a terminal; one line per submission otherwise (logs, CI)."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.total, self.count, self.quiet = total, 0, quiet
        self._bar: Progress | None = None

    def __enter__(self) -> _Progress:
        if not self.quiet and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._bar = Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("{task.description}"),
                                 console=Console(stderr=True))
            self._bar.__enter__()
            self._task = self._bar.add_task("", total=self.total)
        return self

    def done(self, outcome) -> None:
        self.count += 1
        line = f"{outcome.student}: {outcome.score:g}/{outcome.points:g} {outcome.status}"
        if self._bar is not None:
            self._bar.update(self._task, advance=1, description=line)
        elif not self.quiet:
            print(f"[{self.count}/{self.total}] {line} ({outcome.seconds:.1f} s)", file=sys.stderr)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
