"""``eventlab quiz stats``: progress over time as bars in the terminal (rich), and
optionally a PNG chart through matplotlib when it happens to be installed.

Besides answers per day and exam scores it shows accuracy by decision point, by service
and by exam domain; a readiness estimate (each question's latest answer, weighted by the
SAP-C02 domain weights in :mod:`quizzes.tags`); and pacing, the time per question against
the exam's 2.4 minutes (180 minutes for 75 questions)."""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table

from quizzes.model import Question
from quizzes.session import EXAM_MINUTES, EXAM_QUESTIONS, MAX_SCORE, MIN_SCORE, PASS_SCORE
from quizzes.store import DayStats, ProgressStore
from quizzes.tags import DECISIONS, DOMAIN_WEIGHTS, EXAM_GUIDE_URL, SERVICES

BAR_WIDTH = 40
# The exam's pace: 180 minutes for 75 questions, 2.4 minutes (144 s) a question.
SECONDS_PER_QUESTION = EXAM_MINUTES * 60 / EXAM_QUESTIONS
# Fewer distinct questions than this in a domain make its accuracy too thin to trust.
MIN_PER_DOMAIN_FOR_READINESS = 10


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """A bar of ``fraction`` (0..1) of ``width`` cells, with eighth-cell resolution."""
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + ("" if not part else " ▏▎▍▌▋▊▉"[part])


# -- what the numbers are (pure; no terminal) ---------------------------------------------


@dataclass(frozen=True)
class Tally:
    answers: int = 0
    correct: int = 0

    @property
    def accuracy(self) -> float:
        return self.correct / self.answers if self.answers else 0.0

    def add(self, ok: bool) -> Tally:
        return Tally(self.answers + 1, self.correct + int(ok))


Attempt = tuple[str, str, str, bool]  # (qid, mode, chosen, correct), as ProgressStore.attempts


def breakdown(
    attempts: Iterable[Attempt], questions: Sequence[Question]
) -> dict[str, dict[str, Tally]]:
    """Every answer counted by decision point, by service and by exam domain.

    A question with three services counts once for each of them.  Answers to questions
    that are no longer in the bank are left out.  Keys keep the vocabulary's order.
    """
    by_id = {q.id: q for q in questions}
    out: dict[str, dict[str, Tally]] = {"decision": {}, "service": {}, "domain": {}}
    for qid, _mode, _chosen, ok in attempts:
        q = by_id.get(qid)
        if q is None:
            continue
        keys = {
            "decision": [q.decision] if q.decision else [],
            "service": list(dict.fromkeys(q.services)),
            "domain": [q.domain],
        }
        for kind, names in keys.items():
            for name in names:
                out[kind][name] = out[kind].get(name, Tally()).add(ok)
    order = {"decision": DECISIONS, "service": SERVICES, "domain": tuple(DOMAIN_WEIGHTS)}
    return {
        kind: {k: tallies[k] for k in sorted(tallies, key=lambda k: _rank(order[kind], k))}
        for kind, tallies in out.items()
    }


def _rank(vocabulary: Sequence[str], name: str) -> tuple[int, str]:
    return (vocabulary.index(name) if name in vocabulary else len(vocabulary), name)


@dataclass(frozen=True)
class Readiness:
    """An estimate of the exam score from each question's latest answer.

    ``weighted`` is the sum over the four domains of (exam weight x accuracy on the
    distinct questions of that domain answered so far); a domain with no answers counts
    as 0 %, so the estimate never flatters.  ``score`` maps it like the quiz's exam
    (100 + 900 x weighted).  ``thin`` lists domains with fewer than
    MIN_PER_DOMAIN_FOR_READINESS distinct questions answered.
    """

    by_domain: dict[str, Tally]
    weighted: float
    score: int
    thin: list[str]

    @property
    def on_track(self) -> bool:
        return self.score >= PASS_SCORE and not self.thin


def readiness(attempts: Iterable[Attempt], questions: Sequence[Question]) -> Readiness:
    by_id = {q.id: q for q in questions}
    latest: dict[str, bool] = {}
    for qid, _mode, _chosen, ok in attempts:
        if qid in by_id:
            latest[qid] = ok
    by_domain = {d: Tally() for d in DOMAIN_WEIGHTS}
    for qid, ok in latest.items():
        d = by_id[qid].domain
        if d in by_domain:
            by_domain[d] = by_domain[d].add(ok)
    weighted = sum(DOMAIN_WEIGHTS[d] * t.accuracy for d, t in by_domain.items())
    score = int(MIN_SCORE + (MAX_SCORE - MIN_SCORE) * weighted + 0.5)
    thin = [d for d, t in by_domain.items() if t.answers < MIN_PER_DOMAIN_FOR_READINESS]
    return Readiness(by_domain, weighted, score, thin)


@dataclass(frozen=True)
class Pacing:
    """Time per question against the exam's 144 s (180 minutes / 75 questions)."""

    answers: int  # answers with a recorded time
    median: float | None  # seconds
    over_budget: int  # answers that took longer than the exam's pace
    exams: list[tuple[str, float]]  # (date, seconds per question) of finished exams

    @property
    def budget(self) -> float:
        return SECONDS_PER_QUESTION


def pacing(timed: Iterable[tuple[str, str, float]], exams: Iterable[dict]) -> Pacing:
    seconds = [s for _qid, _mode, s in timed]
    per_exam = [
        (e["started"][:10], e["elapsed"] / e["total"])
        for e in exams
        if e.get("elapsed") is not None and e.get("total")
    ]
    return Pacing(
        answers=len(seconds),
        median=statistics.median(seconds) if seconds else None,
        over_budget=sum(s > SECONDS_PER_QUESTION for s in seconds),
        exams=per_exam,
    )


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


# -- the terminal view -------------------------------------------------------------------


def render(
    store: ProgressStore, console: Console, questions: Sequence[Question] | None = None
) -> None:
    days = store.days()
    if not days:
        console.print("No answers recorded yet. Start with 'eventlab quiz'.")
        return
    total = sum(d.attempts for d in days)
    right = sum(d.correct for d in days)
    console.print(
        f"[bold]{total} answers[/bold], {right / total:.0%} correct, over {len(days)} day(s). Stored in {store.path}."
    )
    most = max(d.attempts for d in days)
    table = Table(title="Answers per day (█ answered; % correct)", title_justify="left", box=None)
    table.add_column("day")
    table.add_column("answers", justify="right")
    table.add_column("correct", justify="right")
    table.add_column("")
    for d in days[-30:]:
        table.add_row(
            d.day, str(d.attempts), f"{d.correct / d.attempts:.0%}", bar(d.attempts / most)
        )
    console.print(table)

    exams = store.exams()
    if exams:
        t = Table(title="Exam scores (100-1000, pass 750)", title_justify="left", box=None)
        t.add_column("date")
        t.add_column("score", justify="right")
        t.add_column("")
        for e in exams[-20:]:
            colour = "green" if e["score"] >= 750 else "red"
            t.add_row(
                e["started"][:10],
                str(e["score"]),
                f"[{colour}]{bar((e['score'] - 100) / 900)}[/{colour}]",
            )
        console.print(t)

    if questions:
        attempts = store.attempts()
        titles = {
            "decision": "Accuracy by decision point",
            "service": "Accuracy by service",
            "domain": "Accuracy by exam domain (every answer)",
        }
        for kind, tallies in breakdown(attempts, questions).items():
            if tallies:
                _tally_table(console, titles[kind], kind, tallies)
        _render_readiness(console, readiness(attempts, questions))
    _render_pacing(console, pacing(store.timed_answers(), exams))

    due = store.due(datetime.now(UTC))
    console.print(
        f"Spaced repetition: {len(store.seen())} questions seen, {len(due)} due now ('eventlab quiz srs')."
    )


def _tally_table(console: Console, title: str, kind: str, tallies: dict[str, Tally]) -> None:
    t = Table(title=title, title_justify="left", box=None)
    t.add_column(kind)
    t.add_column("answers", justify="right")
    t.add_column("correct", justify="right")
    t.add_column("")
    for name, tally in tallies.items():
        t.add_row(name, str(tally.answers), f"{tally.accuracy:.0%}", bar(tally.accuracy))
    console.print(t)


def _render_readiness(console: Console, r: Readiness) -> None:
    t = Table(
        title="Readiness: latest answer per question, weighted by the SAP-C02 domain weights",
        title_justify="left",
        box=None,
    )
    t.add_column("domain")
    t.add_column("weight", justify="right")
    t.add_column("questions", justify="right")
    t.add_column("correct", justify="right")
    t.add_column("adds", justify="right")
    for d, tally in r.by_domain.items():
        w = DOMAIN_WEIGHTS[d]
        t.add_row(
            d, f"{w:.0%}", str(tally.answers), f"{tally.accuracy:.0%}", f"{w * tally.accuracy:.1%}"
        )
    console.print(t)
    verdict = (
        "[green]on track to pass[/green]"
        if r.on_track
        else "[red]below the pass mark[/red]"
        if r.score < PASS_SCORE
        else "[yellow]above the pass mark, but on too few questions[/yellow]"
    )
    console.print(
        f"Estimated score [bold]{r.score}[/bold] / 1000 ({r.weighted:.0%} weighted; pass {PASS_SCORE}): {verdict}."
    )
    if r.thin:
        console.print(
            f"Fewer than {MIN_PER_DOMAIN_FOR_READINESS} questions answered in: {', '.join(r.thin)} "
            "(an unanswered domain counts as 0 %)."
        )
    console.print(f"[dim]Domain weights: {EXAM_GUIDE_URL}[/dim]")


def _render_pacing(console: Console, p: Pacing) -> None:
    budget = _duration(p.budget)
    if p.median is None and not p.exams:
        console.print(f"Pacing: no timed answers yet (the exam allows {budget} a question).")
        return
    if p.median is not None:
        verdict = "within" if p.median <= p.budget else "slower than"
        console.print(
            f"Pacing: median {_duration(p.median)} a question over {p.answers} timed answer(s), "
            f"{verdict} the exam's {budget} (180 minutes / 75 questions); "
            f"{p.over_budget} answer(s) took longer than {budget}."
        )
    for day, per_question in p.exams[-5:]:
        verdict = "within" if per_question <= p.budget else "over"
        console.print(f"  exam {day}: {_duration(per_question)} a question ({verdict} {budget}).")


def save_png(days: list[DayStats], path) -> None:
    import matplotlib  # optional: only when the learner asks for --png

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    xs = [d.day for d in days]
    ax.bar(xs, [d.attempts for d in days], label="answers")
    ax.bar(xs, [d.correct for d in days], label="correct")
    ax.set_title("eventlab quiz: answers per day")
    ax.legend()
    fig.autofmt_xdate()
    fig.savefig(path)
    plt.close(fig)


def run_stats(args: argparse.Namespace) -> int:
    from quizzes.bank import load_bank
    from quizzes.paths import data_dir, default_bank_dir

    console = Console(highlight=False)
    questions: list[Question] = []
    bank_dir = args.bank or default_bank_dir()
    if bank_dir.is_dir():
        questions = list(load_bank(bank_dir, cache_dir=data_dir()).questions)
    with ProgressStore(warn=lambda m: console.print(f"[bold yellow]{m}[/bold yellow]")) as store:
        render(store, console, questions)
        if args.png:
            try:
                save_png(store.days(), args.png)
            except ImportError:
                console.print(
                    "--png needs matplotlib, which is not installed (pip install matplotlib); the terminal chart above has the same data."
                )
                return 2
            console.print(f"Chart saved to {args.png}.")
    return 0
