"""The terminal quiz: practice, spaced repetition, review and the timed exam, shown with
rich.  Answers come from the keyboard or, for scripts and tests, from a file or stdin
(one line per prompt).  Every answer is recorded in the progress store as it is given,
so an interrupted session loses nothing that was answered.

Question text is printed as its Markdown source (readable as it is): rendering it with
rich.markdown would cost a tenth of a second of imports before the first question.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from quizzes.model import Question
from quizzes.session import (
    PASS_SCORE,
    AnswerError,
    Breakdown,
    Exam,
    format_clock,
    parse_answer,
)
from quizzes.store import ProgressStore

INTERRUPTED = 130


class Prompter:
    """Asks for a line: at the keyboard, or the next line of an answers file.

    In file mode the prompt and the answer read are echoed, so a transcript reads like a
    session; the end of the file raises EOFError as the keyboard's Ctrl-D does.
    """

    def __init__(self, console: Console, answers: TextIO | Iterator[str] | None = None) -> None:
        self.console = console
        self._lines = iter(answers) if answers is not None else None

    @property
    def interactive(self) -> bool:
        return self._lines is None

    def ask(self, prompt: str) -> str:
        if self._lines is None:
            return self.console.input(prompt)
        try:
            line = next(self._lines)
        except StopIteration:
            raise EOFError from None
        line = line.rstrip("\r\n")
        self.console.print(f"{prompt}{line}", markup=False, highlight=False)
        return line


_BLOCK_START = re.compile(r"^\s*([-*+>|#]|\d+[.)]|```|~~~|    )")


def reflow(markdown: str) -> str:
    """Join the hard-wrapped lines of plain paragraphs so the terminal can wrap them;
    lists, tables, quotes, headings and code keep their lines."""
    out = []
    for para in re.split(r"\n\s*\n", markdown.strip()):
        lines = para.splitlines()
        if any(_BLOCK_START.match(line) for line in lines):
            out.append(para)
        else:
            out.append(" ".join(line.strip() for line in lines))
    return "\n\n".join(out)


def show_question(console: Console, q: Question, number: int, total: int, status: str = "") -> None:
    kind = "choose one" if not q.is_multi else f"choose {len(q.answer)}"
    console.print()
    console.rule(f"Question {number}/{total} [dim]({q.id}, {kind})[/dim]{status}", align="left")
    console.print(reflow(q.stem), markup=False, highlight=False)
    console.print()
    for o in q.options:
        console.print(Text.assemble((f"{o.letter}. ", "bold"), reflow(o.text)))


def show_feedback(console: Console, q: Question, chosen: Sequence[str]) -> None:
    ok = q.is_correct(chosen)
    verdict = "[bold green]Correct.[/bold green]" if ok else "[bold red]Not quite.[/bold red]"
    console.print(
        f"{verdict} Answer: [bold]{', '.join(q.answer)}[/bold]; you chose {', '.join(chosen) or 'nothing'}."
    )
    for o in q.options:
        mark = ("right", "green") if o.letter in q.answer else ("wrong", "red")
        pick = " (your choice)" if o.letter in chosen else ""
        console.print(
            Text.assemble("  ", (o.letter, "bold"), " ", mark, f"{pick}: ", reflow(o.explanation))
        )
    if q.links:
        console.print(
            f"  [dim]Read: {'; '.join(q.links)} (in the terminal: eventlab notes LINK)[/dim]"
        )
    if q.sources:
        console.print(Text(f"  Checked {q.checked} against: {'; '.join(q.sources)}", style="dim"))
    for ref, command in q.example_runs:
        console.print(Text(f"  See it run: {ref} (prints and runs it: {command})", style="dim"))


def ask_answer(
    prompter: Prompter, q: Question, prompt: str, commands: dict[str, str]
) -> str | list[str]:
    """An answer (letters) or one of ``commands`` (returned as its name); invalid input is re-asked."""
    while True:
        text = prompter.ask(prompt)
        cmd = text.strip().lower()
        if cmd in commands:
            return commands[cmd]
        try:
            return parse_answer(text, q)
        except AnswerError as exc:
            prompter.console.print(f"[yellow]{exc}.[/yellow] Please answer again.")


def run_questions(
    questions: Sequence[Question],
    store: ProgressStore,
    prompter: Prompter,
    mode: str,
    *,
    on_correct: Callable[[Question], None] | None = None,
    clock: Callable[[], float] | None = None,
) -> int:
    """Practice-style loop: ask, mark, explain every option, record.  Returns the exit code.

    At the keyboard each answer is stored with the seconds from showing the question to
    the answer, which ``eventlab quiz stats`` turns into pacing; answers read from a file
    take no time and are stored without one.  ``clock`` (monotonic seconds) is injectable.
    """
    if clock is None and prompter.interactive:
        clock = time.monotonic
    console = prompter.console
    answered = right = 0
    commands = {"q": "quit", "quit": "quit", "f": "flag", "flag": "flag"}
    prompt = "Your answer (e.g. B or A,C; f flag, q quit): "
    try:
        for i, q in enumerate(questions, 1):
            show_question(console, q, i, len(questions))
            shown = clock() if clock else None
            while True:
                try:
                    got = ask_answer(prompter, q, prompt, commands)
                except EOFError:
                    got = "quit"
                if got == "flag":
                    now = q.id not in store.flagged()
                    store.set_flag(q.id, now)
                    console.print("Flagged for review." if now else "Flag removed.")
                    continue
                break
            if got == "quit":
                break
            assert isinstance(got, list)
            ok = q.is_correct(got)
            seconds = clock() - shown if clock and shown is not None else None
            store.record_answer(q.id, got, ok, mode, seconds=seconds)
            answered += 1
            right += ok
            if ok and on_correct:
                on_correct(q)
            show_feedback(console, q, got)
    except KeyboardInterrupt:
        console.print(
            f"\n[bold]Interrupted.[/bold] Progress saved: {answered} answer(s) from this session "
            f"are recorded in {store.path}."
        )
        return INTERRUPTED
    console.print()
    if answered:
        console.print(
            f"[bold]{right}/{answered} correct[/bold] ({right / answered:.0%}). Progress saved in {store.path}."
        )
    else:
        console.print("No questions answered.")
    return 0


# -- exam ---------------------------------------------------------------------------------

EXAM_HELP = (
    "letters answer (e.g. B or A,C) and move on; n next; p previous; f flag/unflag; "
    "g N go to question N; l list; submit to finish"
)


def _exam_status(exam: Exam) -> str:
    q = exam.current
    bits = []
    if q.id in exam.answers:
        bits.append(f"answered {','.join(exam.answers[q.id])}")
    if q.id in exam.flags:
        bits.append("flagged")
    return f" [cyan]{' · '.join(bits)}[/cyan]" if bits else ""


def _exam_list(console: Console, exam: Exam) -> None:
    cells = []
    for i, q in enumerate(exam.questions, 1):
        a = ",".join(exam.answers.get(q.id, [])) or "-"
        f = "F" if q.id in exam.flags else " "
        cells.append(f"{i:>2}:{a:<5}{f}")
    for start in range(0, len(cells), 6):
        console.print("  ".join(cells[start : start + 6]), markup=False, highlight=False)
    console.print(
        f"{len(exam.answers)} answered, {len(exam.flags)} flagged, {len(exam.unanswered())} unanswered."
    )


def run_exam(
    exam: Exam, store: ProgressStore, prompter: Prompter, session: int | None = None
) -> int:
    """Run ``exam`` to its submission; ``session`` continues an interrupted exam."""
    console = prompter.console
    n = len(exam.questions)
    if session is None:
        session = store.start_session("exam", {"questions": [q.id for q in exam.questions]})
        console.print(
            f"[bold]Exam:[/bold] {n} questions, {format_clock(exam.limit)} to answer. No feedback until you submit.\n"
            f"Commands: {EXAM_HELP}."
        )
    else:
        store.reopen_session(session)
        console.print(
            f"[bold]Resuming exam {session}:[/bold] {len(exam.answers)} of {n} answered, "
            f"{format_clock(exam.remaining())} left.\nCommands: {EXAM_HELP}."
        )
    show_question(console, exam.current, exam.index + 1, n, _exam_status(exam))
    try:
        while True:
            if exam.timed_out():
                console.print("[bold red]Time is up.[/bold red] Submitting your answers.")
                break
            prompt = f"[{exam.index + 1}/{n} · {format_clock(exam.remaining())} left · {len(exam.answers)} answered] > "
            try:
                text = prompter.ask(prompt)
            except EOFError:
                console.print("End of input: submitting.")
                break
            if exam.timed_out():
                console.print(
                    "[bold red]Time ran out before that answer.[/bold red] Submitting your answers."
                )
                break
            cmd = text.strip().lower()
            moved = True
            try:
                if cmd == "submit":
                    break
                elif cmd in ("n", "next"):
                    if exam.index == n - 1:
                        raise AnswerError(
                            "this is the last question; 'submit' to finish or 'g N' to go back"
                        )
                    exam.index += 1
                elif cmd in ("p", "prev"):
                    if exam.index == 0:
                        raise AnswerError("this is the first question")
                    exam.index -= 1
                elif cmd in ("f", "flag"):
                    on = exam.toggle_flag()
                    console.print(f"Question {exam.index + 1} {'flagged' if on else 'unflagged'}.")
                    moved = False
                elif cmd in ("l", "list"):
                    _exam_list(console, exam)
                    moved = False
                elif cmd in ("h", "help", "?"):
                    console.print(EXAM_HELP)
                    moved = False
                elif cmd.startswith("g"):
                    try:
                        number = int(cmd[1:].strip())
                    except ValueError:
                        raise AnswerError(
                            "go to a question with 'g' and its number, e.g. g 12"
                        ) from None
                    exam.go(number)
                else:
                    exam.answer(parse_answer(text, exam.current))
                    if exam.index < n - 1:
                        exam.index += 1
                    else:
                        console.print(
                            f"That was the last question. {len(exam.unanswered())} unanswered, "
                            f"{len(exam.flags)} flagged: 'l' to list, 'g N' to revisit, 'submit' to finish."
                        )
                        moved = False
            except AnswerError as exc:
                console.print(f"[yellow]{exc}.[/yellow] Please try again ('h' lists the commands).")
                continue
            if moved:
                show_question(console, exam.current, exam.index + 1, n, _exam_status(exam))
    except KeyboardInterrupt:
        for qid in exam.flags:
            store.set_flag(qid, True)
        store.finish_session(
            session,
            "interrupted",
            detail={
                "questions": [q.id for q in exam.questions],
                "answers": exam.answers,
                "flags": sorted(exam.flags),
                "elapsed": exam.limit - exam.remaining(),
                "minutes": exam.limit / 60,
                "index": exam.index,
            },
        )
        console.print(
            f"\n[bold]Interrupted.[/bold] Progress saved: your {len(exam.answers)} answer(s) and "
            f"{len(exam.flags)} flag(s) are stored as unscored exam session {session} in {store.path}; "
            "flagged questions are in 'eventlab quiz review'."
        )
        return INTERRUPTED
    result = exam.result()
    for q in exam.questions:
        if q.id in exam.answers:
            store.record_answer(
                q.id, exam.answers[q.id], q.is_correct(exam.answers[q.id]), "exam", session
            )
    for qid in exam.flags:
        store.set_flag(qid, True)
    store.finish_session(
        session,
        "finished",
        score=result.score,
        correct=result.correct,
        total=result.total,
        detail={
            "questions": [q.id for q in exam.questions],
            "answers": exam.answers,
            "flags": sorted(exam.flags),
            "by_domain": result.by_domain,
            "by_decision": result.by_decision,
            "elapsed": exam.limit - exam.remaining(),
        },
    )
    show_exam_result(console, exam, result)
    console.print(
        f"Results saved in {store.path}. Missed and flagged questions: 'eventlab quiz review'."
    )
    return 0


def _table(title: str, rows: dict[str, tuple[int, int]]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(title.split()[-1].capitalize())
    table.add_column("correct", justify="right")
    table.add_column("%", justify="right")
    for name, (ok, total) in rows.items():
        table.add_row(name, f"{ok}/{total}", f"{ok / total:.0%}" if total else "-")
    return table


def show_exam_result(console: Console, exam: Exam, result: Breakdown) -> None:
    console.print()
    verdict = "[bold green]PASS[/bold green]" if result.passed else "[bold red]FAIL[/bold red]"
    console.print(
        f"[bold]Score: {result.score}[/bold] / 1000 ({verdict}; pass is {PASS_SCORE}). "
        f"{result.correct} of {result.total} correct."
    )
    console.print(
        "[dim]Scaled linearly: 100 + 900 x correct / total (AWS's own scaling is not public).[/dim]"
    )
    console.print(_table("By domain", result.by_domain))
    if result.by_decision:
        console.print(_table("By decision", result.by_decision))
    missed = [
        (i, q)
        for i, q in enumerate(exam.questions, 1)
        if not q.is_correct(exam.answers.get(q.id, []))
    ]
    if missed:
        console.print("[bold]Missed:[/bold]")
        for i, q in missed:
            yours = ",".join(exam.answers.get(q.id, [])) or "unanswered"
            console.print(
                f"  {i:>2}. {q.id}: yours {yours}, key {','.join(q.answer)}",
                markup=False,
                highlight=False,
            )
