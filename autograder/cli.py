"""``eventlab grade LAB NOTEBOOK... [--json]``: run each notebook in a fresh kernel with a
fresh sandbox and print a per-criterion report with the total."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = "grade lab notebooks and print a per-criterion report"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("lab", help="the lab: lab01, lab03 (or its folder name, lab01_fanout)")
    parser.add_argument("notebooks", nargs="+", type=Path, metavar="NOTEBOOK",
                        help="notebook(s) to grade")
    parser.add_argument("--json", action="store_true", help="print the reports as JSON")
    parser.add_argument("--jobs", "-j", type=int, default=1,
                        help="notebooks graded at once (each in its own kernel; default 1)")
    parser.add_argument("--timeout", type=int, default=300,
                        help="seconds one cell may run (default 300)")


def run(args: argparse.Namespace) -> int:
    from autograder.display import text_table
    from autograder.notebook import execute, lab_id

    try:
        lab = lab_id(args.lab)
    except KeyError as exc:
        print(f"eventlab grade: {exc.args[0]}", file=sys.stderr)
        return 2
    missing = [str(p) for p in args.notebooks if not p.is_file()]
    if missing:
        print("eventlab grade: no such notebook: " + ", ".join(missing), file=sys.stderr)
        return 2
    if args.jobs > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            graded = list(pool.map(lambda p: execute(p, lab, timeout=args.timeout),
                                   args.notebooks))
    else:
        graded = [execute(path, lab, timeout=args.timeout) for path in args.notebooks]
    if args.json:
        print(json.dumps([g.as_dict() for g in graded], indent=2))
        return 0
    for g in graded:
        print(f"== {g.path}")
        print(text_table(g.report))
        if g.errors:
            print("\ncells that raised an error (their steps may have lost points):")
            for line in g.errors:
                print("  " + line)
        print()
    return 0
