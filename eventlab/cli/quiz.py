"""``eventlab quiz``: practice, exam, review, spaced repetition, stats and validate.

Start-up is kept lazy: this module imports only argparse-level things; the bank, rich,
SQLite and FSRS are imported when the chosen mode needs them, so that the first question
appears quickly (see benchmarks/bench_quiz_start.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

MODES = ("practice", "exam", "review", "srs", "stats", "validate")

DESCRIPTION = """\
modes:
  practice   (default) questions matching the filters, with feedback on every option
  exam       75 questions drawn to the SAP-C02 domain weights, 180 minutes, scored 100-1000
  review     the questions you last answered wrong and those you flagged
  srs        spaced repetition (FSRS): due questions first, then new ones
  stats      your progress over time
  validate   check a bank directory (default: the shipped bank); --coverage adds the minimums

At a practice prompt: letters (B or A,C), f to flag, q to quit.
At an exam prompt: letters, n, p, f, g N, l (list), submit.
Progress lives in EVENTLAB_DATA_DIR (default: the platform's user data directory).
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = DESCRIPTION
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "words",
        nargs="*",
        metavar="[MODE] [BANK]",
        help=f"MODE is one of {', '.join(MODES)} (default: practice); BANK a question directory "
        "(default: the shipped bank)",
    )
    parser.add_argument(
        "--bank", dest="bank_option", type=Path, metavar="DIR", help="question bank directory"
    )
    f = parser.add_argument_group("filters (repeat an option to allow several values)")
    f.add_argument(
        "--service",
        action="append",
        default=[],
        metavar="NAME",
        help='e.g. SQS or "Step Functions"',
    )
    f.add_argument("--decision", action="append", default=[], metavar="TAG", help="e.g. sqs-vs-sns")
    f.add_argument(
        "--domain", action="append", default=[], metavar="TAG", help="e.g. new-solutions"
    )
    f.add_argument("--difficulty", action="append", default=[], type=int, choices=(1, 2, 3))
    f.add_argument("--topic", action="append", default=[], metavar="TAG", help="e.g. fan-out")
    parser.add_argument(
        "-n", "--count", type=int, help="how many questions (exam: 75; srs: 20; practice: all)"
    )
    parser.add_argument("--seed", type=int, help="a number for a reproducible question order")
    parser.add_argument(
        "--answers",
        metavar="FILE|-",
        help="read answers (one a line, e.g. B or A,C) from FILE or stdin",
    )
    parser.add_argument(
        "--minutes", type=float, default=180.0, help="exam time limit (default: 180)"
    )
    parser.add_argument(
        "--resume", action="store_true", help="exam: continue the last interrupted exam"
    )
    parser.add_argument(
        "--coverage", action="store_true", help="validate: enforce the coverage minimums"
    )
    parser.add_argument(
        "--root", type=Path, help="validate: project root that links are relative to"
    )
    parser.add_argument(
        "--png", type=Path, metavar="FILE", help="stats: also save a chart (needs matplotlib)"
    )


def _filters(args: argparse.Namespace):
    from quizzes.session import Filters
    from quizzes.tags import DECISIONS, DOMAINS, SERVICES, TOPICS

    for name, values, known in (
        ("--decision", args.decision, DECISIONS),
        ("--domain", args.domain, DOMAINS),
        ("--topic", args.topic, TOPICS),
        ("--service", args.service, SERVICES),
    ):
        lower = {k.lower() for k in known}
        for v in values:
            if v.lower() not in lower:
                raise SystemExit(f"eventlab quiz: unknown {name} '{v}'. Known: {', '.join(known)}")
    return Filters(args.service, args.decision, args.domain, args.difficulty, args.topic)


def _mode_and_bank(args: argparse.Namespace) -> None:
    """Split the positional words into ``args.mode`` and ``args.bank``.

    One ``nargs='*'`` positional rather than two optional ones.  As everywhere in
    argparse, positionals come before the options (``quiz exam DIR --seed 1``); ``--bank``
    names the directory from anywhere.
    """
    words = list(args.words)
    args.mode = words.pop(0) if words and words[0] in MODES else "practice"
    if len(words) > 1:
        raise SystemExit(
            f"eventlab quiz: too many arguments: {' '.join(words)} (MODE is one of {', '.join(MODES)})"
        )
    if words and args.bank_option:
        raise SystemExit("eventlab quiz: give the bank either as BANK or as --bank, not both")
    args.bank = Path(words[0]) if words else args.bank_option


def run(args: argparse.Namespace) -> int:
    _mode_and_bank(args)
    if args.mode == "validate":
        return run_validate(args)
    if args.mode == "stats":
        from quizzes.stats import run_stats

        return run_stats(args)
    return run_quiz(args)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def run_validate(args: argparse.Namespace) -> int:
    from quizzes.model import Problem
    from quizzes.paths import default_bank_dir
    from quizzes.validate import coverage, coverage_shortfalls, format_coverage, validate_bank

    bank = args.bank or default_bank_dir()
    if not bank.is_dir():
        print(f"eventlab quiz validate: {bank} is not a directory", file=sys.stderr)
        return 2
    report = validate_bank(bank, args.root)
    for p in report.problems:
        print(Problem(Path(_display(p.path)), p.line, p.message))
    cov = coverage(report.questions)
    print()
    print(format_coverage(cov))
    print()
    failed = bool(report.problems)
    if args.coverage:
        short = coverage_shortfalls(cov)
        for s in short:
            print(f"coverage: {s}")
        failed = failed or bool(short)
    bad_files = len({p.path for p in report.problems})
    print(
        f"{report.files} files, {len(report.problems)} problem(s) in {bad_files} file(s)"
        + (", coverage minimums checked" if args.coverage else "")
        + (": FAILED" if failed else ": OK")
    )
    return 1 if failed else 0


def run_quiz(args: argparse.Namespace) -> int:
    from rich.console import Console

    from quizzes.bank import load_bank
    from quizzes.paths import data_dir, default_bank_dir

    console = Console(highlight=False)
    filters = _filters(args)
    bank_dir = args.bank or default_bank_dir()
    if not bank_dir.is_dir():
        console.print(f"eventlab quiz: no question bank at {bank_dir}", markup=False)
        return 1
    bank = load_bank(bank_dir, cache_dir=data_dir())
    if bank.skipped:
        console.print(
            f"[yellow]{len(bank.skipped)} question file(s) skipped as unusable[/yellow]; "
            f"'eventlab quiz validate {bank_dir}' says why."
        )
    if not bank.questions:
        console.print(
            f"The question bank at {bank_dir} has no usable questions yet.",
            markup=False,
            highlight=False,
        )
        return 1
    answers = None
    if args.answers == "-":
        answers = sys.stdin
    elif args.answers:
        try:
            answers = open(args.answers, encoding="utf-8")  # noqa: SIM115 - closed below
        except OSError as exc:
            console.print(f"eventlab quiz: cannot read answers file: {exc}", markup=False)
            return 2
    try:
        return _run_mode(args, console, bank, filters, answers)
    finally:
        if answers is not None and answers is not sys.stdin:
            answers.close()


def _run_mode(args, console, bank, filters, answers) -> int:
    from quizzes.runner import Prompter, run_exam, run_questions
    from quizzes.session import Exam, draw_exam, select
    from quizzes.store import ProgressStore

    prompter = Prompter(console, answers)
    with ProgressStore(warn=lambda m: console.print(f"[bold yellow]{m}[/bold yellow]")) as store:
        if args.mode == "exam" and args.resume:
            return _resume_exam(args, console, bank, store, prompter)
        if args.mode == "exam":
            pool = [q for q in bank.questions if filters.match(q)]
            questions = draw_exam(pool, args.count or 75, args.seed)
            if not questions:
                console.print("No questions match; nothing to examine.")
                return 1
            if len(questions) < (args.count or 75):
                console.print(
                    f"[yellow]The bank has only {len(questions)} matching questions; the exam uses them all.[/yellow]"
                )
            return run_exam(Exam(questions, args.minutes), store, prompter)
        if args.mode == "review":
            wanted = store.missed() | store.flagged()
            pool = [q for q in bank.questions if q.id in wanted]
            questions = select(pool, filters, args.seed, args.count)
            if not questions:
                console.print(
                    "Nothing to review: no missed or flagged questions (with these filters)."
                )
                return 0
            console.print(f"Review: {len(questions)} missed or flagged question(s).")
            return run_questions(
                questions,
                store,
                prompter,
                "review",
                on_correct=lambda q: store.set_flag(q.id, False),
            )
        if args.mode == "srs":
            by_id = {q.id: q for q in bank.questions if filters.match(q)}
            due = [by_id[qid] for qid in store.due() if qid in by_id]
            seen = store.seen()
            new = select([q for q in by_id.values() if q.id not in seen], filters, args.seed, None)
            questions = (due + new)[: args.count or 20]
            if not questions:
                console.print(
                    "Nothing due and nothing new: come back later ('eventlab quiz stats' shows when)."
                )
                return 0
            n_due = min(len(due), len(questions))
            console.print(f"Spaced repetition: {n_due} due, {len(questions) - n_due} new.")
            return run_questions(questions, store, prompter, "srs")
        questions = select(bank.questions, filters, args.seed, args.count)
        if not questions:
            console.print(f"No questions match the filters ({filters.describe()}).")
            return 1
        return run_questions(questions, store, prompter, "practice")


def _resume_exam(args, console, bank, store, prompter) -> int:
    from quizzes.runner import run_exam
    from quizzes.session import Exam

    found = store.last_interrupted_exam()
    if found is None:
        console.print("No interrupted exam to resume; 'eventlab quiz exam' starts a new one.")
        return 1
    session, detail = found
    by_id = bank.by_id()
    questions = [by_id[qid] for qid in detail.get("questions", []) if qid in by_id]
    if not questions:
        console.print(f"Exam {session} cannot be resumed: none of its questions are in this bank.")
        return 1
    gone = len(detail.get("questions", [])) - len(questions)
    if gone:
        console.print(
            f"[yellow]{gone} question(s) of that exam are no longer in the bank; they are left out.[/yellow]"
        )
    exam = Exam(questions, detail.get("minutes", args.minutes))
    exam.answers = {qid: list(a) for qid, a in detail.get("answers", {}).items() if qid in by_id}
    exam.flags = {qid for qid in detail.get("flags", []) if qid in by_id}
    exam.started -= float(detail.get("elapsed", 0.0))
    exam.index = min(int(detail.get("index", 0)), len(questions) - 1)
    return run_exam(exam, store, prompter, session=session)
