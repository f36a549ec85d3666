"""How long ``eventlab quiz`` takes to show its first question, beside ``python -c pass``.

Runs both as subprocesses in the same run and prints medians, the ratio and the
difference (target: the first question within 0.3 s of the bare interpreter, with a
200-question bank).  The bank is the real one when it has 200 questions or more,
otherwise a synthetic 200-question bank written to a temporary directory.  Two cases:
cold (no parsed-bank cache: every file is parsed) and warm (the cache written by an
earlier run is reused, the usual case for a learner).

    python benchmarks/bench_quiz_start.py [--runs 7] [--bank DIR]

Prints numbers only; it asserts nothing (timings are not tests).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from quizzes.tags import DECISIONS, DOMAINS
from quizzes.tags import SERVICES as TAG_SERVICES

ROOT = Path(__file__).resolve().parent.parent
MARKER = "Question 1/"
# A few services from the real tag list, so every synthetic question validates.
SERVICES = [s for s in TAG_SERVICES if s in {"SQS", "SNS", "EventBridge", "Kinesis Data Streams", "MSK",
                                              "Step Functions", "Lambda"}]


def synthetic_bank(directory: Path, n: int = 200) -> Path:
    """``n`` valid question files, a third of them multi-response, 4 to 6 options each."""
    directory.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        multi = i % 3 == 0
        k = 4 + i % 3
        letters = "ABCDEF"[:k]
        answer = ["A", "C"] if multi else [letters[i % k]]
        qid = f"synthetic-{i:03d}"
        opts = "".join(
            f"## {L}\nOption {L} of question {i}: a plausible design with a queue, a topic or a stream,\n"
            f"described over two lines as real options are.\n\n"
            f"> {'Right' if L in answer else 'Wrong'}: the reason, in one or two sentences of explanation\n"
            f"> that cite a limit or a behaviour.\n\n"
            for L in letters
        )
        choose = " (Choose two.)" if multi else ""
        (directory / f"{qid}.md").write_text(
            f"---\nid: {qid}\nservices: [{SERVICES[i % 7]}, {SERVICES[(i + 3) % 7]}]\n"
            f"decision: {DECISIONS[i % 7]}\ntopics: [fan-out, ordering]\ndomain: {DOMAINS[i % 4]}\n"
            f"difficulty: {1 + i % 3}\ntype: {'multi' if multi else 'single'}\n"
            f"answer: [{', '.join(answer)}]\nlinks:\n  - content/decision-points.md#sqs-vs-sns\n---\n\n"
            f"A company runs scenario number {i} with producers and consumers in several accounts.\n"
            f"It needs durability, ordering where it matters, and the least operational effort.\n"
            f"Which design meets the requirements?{choose}\n\n{opts}",
            encoding="utf-8",
        )
    return directory


def time_to_marker(cmd: list[str], env: dict[str, str], marker: str | None) -> float:
    """Seconds from spawning ``cmd`` to ``marker`` on its stdout (or to its exit)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=ROOT,
        text=True,
    )
    assert proc.stdout is not None
    elapsed = None
    if marker:
        for line in proc.stdout:
            if marker in line:
                elapsed = time.perf_counter() - start
                break
    proc.stdout.read()
    proc.wait()
    if elapsed is None:
        if marker:
            raise SystemExit(f"'{marker}' never appeared in the output of {' '.join(cmd)}")
        elapsed = time.perf_counter() - start
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--bank", type=Path, help="time this bank directory instead")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        real = args.bank or ROOT / "quizzes" / "bank"
        if args.bank or len(list(real.glob("*.md"))) >= 200:
            bank, label = real, f"{real} ({len(list(real.glob('*.md')))} questions)"
        else:
            bank, label = synthetic_bank(tmp_path / "bank"), "a synthetic 200-question bank"
        env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="100")
        quiz = [
            sys.executable,
            "-m",
            "eventlab",
            "quiz",
            "practice",
            str(bank),
            "--seed",
            "1",
            "--answers",
            "-",
        ]
        baseline, cold, warm = [], [], []
        warm_env = dict(env, EVENTLAB_DATA_DIR=str(tmp_path / "warm"))
        time_to_marker(quiz, warm_env, MARKER)  # writes the cache used by the warm runs
        for i in range(args.runs):
            baseline.append(time_to_marker([sys.executable, "-c", "pass"], env, None))
            cold_env = dict(env, EVENTLAB_DATA_DIR=str(tmp_path / f"cold-{i}"))
            cold.append(time_to_marker(quiz, cold_env, MARKER))
            warm.append(time_to_marker(quiz, warm_env, MARKER))
    base = statistics.median(baseline)
    print(
        f"eventlab quiz start-up: time to the first question, {label}, median of {args.runs} runs"
    )
    print(f"  python -c pass            {base * 1000:7.1f} ms")
    for name, runs in (("quiz, warm bank cache", warm), ("quiz, cold (parse all)", cold)):
        m = statistics.median(runs)
        verdict = "within" if m - base < 0.3 else "OVER"
        print(
            f"  {name:<25} {m * 1000:7.1f} ms   ratio {m / base:4.1f}x   +{(m - base) * 1000:6.1f} ms "
            f"({verdict} the 300 ms target)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
