"""A class of lab 1 submissions graded by ``eventlab grade -j 2`` and by
``nbgrader autograde`` (the baseline), in one run, on the same files.

The class: N submissions cycling through the full solution, the untouched learner copy
and each golden mistake, in nbgrader's ``submitted/<student>/lab01_fanout/`` layout.
Both graders must give every student the same score (the script says which differ).
Prints submissions per minute and the peak memory of each grader's process tree
(sampled every 0.1 s).  Target: eventlab at least 2x nbgrader's throughput on 2 cores.

    python benchmarks/bench_grade_class.py [--students 60] [--jobs 2]

Prints numbers only; it asserts nothing (timings are not tests).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
NAME = "lab01_fanout"


def measure(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak MB of the whole process tree, and stdout."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        root = psutil.Process(proc.pid)
        while not done.wait(0.1):
            try:
                procs = [root, *root.children(recursive=True)]
                total = 0
                for p in procs:
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
                peak[0] = max(peak[0], total / 2**20)
            except psutil.Error:
                return

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    out, err = proc.communicate()
    done.set()
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        print(err[-3000:], file=sys.stderr)
        raise SystemExit(f"{cmd[:4]} exited {proc.returncode}")
    return seconds, peak[0], out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=60)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    from tests.labs_support import kernel_env, new_course, submissions

    tmp = Path(tempfile.mkdtemp(prefix="eventlab-bench-class-"))
    data = tmp / "data"
    data.mkdir()
    env = kernel_env(data)
    course = new_course(tmp)
    gen = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", NAME, "--force",
                          f"--CourseDirectory.root={course}"], cwd=course, env=env,
                         capture_output=True, text=True)
    if gen.returncode != 0:
        print(gen.stderr[-3000:])
        return 1
    kinds = submissions("lab01", course / "release" / NAME / f"{NAME}.ipynb")
    names = list(kinds)
    for i in range(args.students):
        kind = names[i % len(names)]
        path = course / "submitted" / f"s{i:03d}-{kind}" / NAME / f"{NAME}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(kinds[kind], path)
    print(f"{args.students} submissions of lab 1 ({len(names)} kinds), {os.cpu_count()} cores")

    out_dir = tmp / "grades"
    ev_s, ev_mb, out = measure([sys.executable, "-m", "eventlab", "grade", "lab01",
                                str(course / "submitted"), "-j", str(args.jobs), "--json",
                                "-o", str(out_dir)], tmp, env)
    ours = {o["student"]: o["score"] for o in json.loads(out)}
    from nbgrader.api import Gradebook

    n = args.students
    print(f"{'grader':46} {'wall s':>8} {'subs/min':>9} {'peak MB':>8}")
    print(f"{f'eventlab grade -j {args.jobs}':46} {ev_s:8.1f} {n / ev_s * 60:9.1f} {ev_mb:8.0f}")
    # nbgrader as the course ships it (checks out of the kernel), and as plain nbgrader
    # runs a notebook (sandbox and checks in the kernel): the fairer baseline
    for label, host in (("nbgrader autograde, checks in the kernel", "0"),
                        ("nbgrader autograde, as configured", "1")):
        shutil.rmtree(course / "autograded", ignore_errors=True)
        (course / "gradebook.db").unlink(missing_ok=True)
        subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", NAME, "--force",
                        f"--CourseDirectory.root={course}"], cwd=course, env=env,
                       capture_output=True, check=True)
        nb_s, nb_mb, _ = measure([sys.executable, "-m", "nbgrader", "autograde", NAME, "--force",
                                  "--Autograde.create_student=True",
                                  f"--CourseDirectory.root={course}"], course,
                                 {**env, "EVENTLAB_NBGRADER_HOST": host})
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            theirs = {s: float(gb.find_submission_notebook(NAME, NAME, s).score) for s in ours}
        differ = {s: (ours[s], theirs[s]) for s in ours if ours[s] != theirs[s]}
        print(f"{label:46} {nb_s:8.1f} {n / nb_s * 60:9.1f} {nb_mb:8.0f}"
              f"   eventlab = {nb_s / ev_s:.2f}x its throughput; scores "
              + ("identical" if not differ else f"DIFFER: {differ}"))
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
