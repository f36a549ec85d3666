"""``eventlab quiz stats``: progress over time as bars in the terminal (rich), and
optionally a PNG chart through matplotlib when it happens to be installed."""

from __future__ import annotations

import argparse
from collections import Counter
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table

from quizzes.store import DayStats, ProgressStore

BAR_WIDTH = 40


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """A bar of ``fraction`` (0..1) of ``width`` cells, with eighth-cell resolution."""
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + ("" if not part else " ▏▎▍▌▋▊▉"[part])


def render(store: ProgressStore, console: Console, decisions: dict[str, str] | None = None) -> None:
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

    if decisions:
        seen: Counter[str] = Counter()
        ok: Counter[str] = Counter()
        for qid, _mode, _chosen, correct in store.attempts():
            d = decisions.get(qid)
            if d:
                seen[d] += 1
                ok[d] += correct
        if seen:
            t = Table(title="Accuracy by decision point", title_justify="left", box=None)
            t.add_column("decision")
            t.add_column("answers", justify="right")
            t.add_column("correct", justify="right")
            t.add_column("")
            for d in sorted(seen):
                t.add_row(d, str(seen[d]), f"{ok[d] / seen[d]:.0%}", bar(ok[d] / seen[d]))
            console.print(t)

    due = store.due(datetime.now(UTC))
    console.print(
        f"Spaced repetition: {len(store.seen())} questions seen, {len(due)} due now ('eventlab quiz srs')."
    )


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
    decisions: dict[str, str] = {}
    bank_dir = args.bank or default_bank_dir()
    if bank_dir.is_dir():
        bank = load_bank(bank_dir, cache_dir=data_dir())
        decisions = {q.id: q.decision for q in bank.questions if q.decision}
    with ProgressStore(warn=lambda m: console.print(f"[bold yellow]{m}[/bold yellow]")) as store:
        render(store, console, decisions)
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
