"""The quiz inside JupyterLab: :class:`QuizWidget` (filters, one question at a time,
submit, feedback on every option, next) and :func:`quiz_for`, which a lab embeds for its
decision point.  Answers go into the same progress store as ``eventlab quiz``.

Everything a click does is also a method (``choose``, ``submit``, ``next``), so notebooks
and tests can drive the widget without a browser.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import ipywidgets as w

from quizzes.bank import load_bank
from quizzes.model import Question
from quizzes.paths import data_dir, default_bank_dir
from quizzes.session import Filters, select
from quizzes.store import ProgressStore
from quizzes.tags import DECISIONS, DOMAINS, SERVICES, TOPICS

ANY = "(any)"


def _md(text: str) -> str:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).render(text)


class QuizWidget(w.VBox):
    """A self-contained quiz: ``QuizWidget()`` in a cell shows the whole bank with filters."""

    def __init__(
        self,
        questions: Sequence[Question] | None = None,
        *,
        bank_dir: Path | None = None,
        store: ProgressStore | None = None,
        seed: int | None = None,
        n: int | None = None,
        filters: Filters | None = None,
        show_filters: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.clock = clock  # seconds per answer, for pacing in 'eventlab quiz stats'
        self.shown_at = clock()
        if questions is None:
            questions = load_bank(bank_dir or default_bank_dir(), cache_dir=data_dir()).questions
        self.all_questions = list(questions)
        self.store = store if store is not None else ProgressStore()
        self.seed = seed
        self.n = n
        self.filters = filters or Filters()
        self.questions: list[Question] = []
        self.index = 0
        self.answered = 0
        self.correct = 0
        self.submitted = False

        def dropdown(label: str, options: Sequence[object], value: object) -> w.Dropdown:
            return w.Dropdown(
                options=[ANY, *options], value=value if value in options else ANY, description=label
            )

        f = self.filters
        self.service_dd = dropdown("service", SERVICES, f.services[0] if f.services else ANY)
        self.decision_dd = dropdown("decision", DECISIONS, f.decisions[0] if f.decisions else ANY)
        self.domain_dd = dropdown("domain", DOMAINS, f.domains[0] if f.domains else ANY)
        self.difficulty_dd = dropdown(
            "difficulty", (1, 2, 3), f.difficulties[0] if f.difficulties else ANY
        )
        self.topic_dd = dropdown("topic", TOPICS, f.topics[0] if f.topics else ANY)
        self.apply_button = w.Button(description="Apply filters")
        self.apply_button.on_click(lambda _b: self.apply_filters())
        self.filter_box = w.VBox(
            [
                w.HBox([self.service_dd, self.decision_dd, self.domain_dd]),
                w.HBox([self.difficulty_dd, self.topic_dd, self.apply_button]),
            ]
        )
        self.header = w.HTML()
        self.stem = w.HTML()
        self.choices_box = w.VBox()
        self.radio: w.RadioButtons | None = None
        self.checks: list[w.Checkbox] = []
        self.submit_button = w.Button(description="Submit", button_style="primary")
        self.submit_button.on_click(lambda _b: self.submit())
        self.next_button = w.Button(description="Next")
        self.next_button.on_click(lambda _b: self.next())
        self.feedback = w.HTML()
        parts = [self.filter_box] if show_filters else []
        self.children = [
            *parts,
            self.header,
            self.stem,
            self.choices_box,
            w.HBox([self.submit_button, self.next_button]),
            self.feedback,
        ]
        self._load(self.all_questions)

    # -- choosing questions ------------------------------------------------------------

    def _filters_from_ui(self) -> Filters:
        def one(dd: w.Dropdown) -> list:
            return [] if dd.value == ANY else [dd.value]

        return Filters(
            one(self.service_dd),
            one(self.decision_dd),
            one(self.domain_dd),
            one(self.difficulty_dd),
            one(self.topic_dd),
        )

    def apply_filters(self) -> None:
        self.filters = self._filters_from_ui()
        self._load(self.all_questions)

    def _load(self, pool: Sequence[Question]) -> None:
        self.questions = select(pool, self.filters, self.seed, self.n)
        self.index = 0
        self._show()

    @property
    def current(self) -> Question | None:
        return self.questions[self.index] if self.index < len(self.questions) else None

    # -- showing ---------------------------------------------------------------------------

    def _show(self) -> None:
        q = self.current
        self.shown_at = self.clock()
        self.submitted = False
        self.feedback.value = ""
        self.next_button.disabled = True
        if q is None:
            done = f"{self.correct}/{self.answered} correct." if self.answered else ""
            self.header.value = (
                f"<b>No more questions.</b> {done}"
                if self.questions
                else "<b>No questions match these filters.</b>"
            )
            self.stem.value = ""
            self.choices_box.children = []
            self.submit_button.disabled = True
            return
        kind = "choose one" if not q.is_multi else f"choose {len(q.answer)}"
        self.header.value = (
            f"<b>Question {self.index + 1}/{len(self.questions)}</b> "
            f"<span style='color:gray'>({html.escape(q.id)}, {kind})</span>"
        )
        self.stem.value = _md(q.stem)
        labels = [f"{o.letter}. {o.text}" for o in q.options]
        if q.is_multi:
            self.radio = None
            self.checks = [
                w.Checkbox(
                    value=False, description=label, indent=False, layout=w.Layout(width="auto")
                )
                for label in labels
            ]
            self.choices_box.children = self.checks
        else:
            self.checks = []
            self.radio = w.RadioButtons(options=labels, value=None, layout=w.Layout(width="auto"))
            self.choices_box.children = [self.radio]
        self.submit_button.disabled = False

    def chosen(self) -> list[str]:
        q = self.current
        if q is None:
            return []
        if self.radio is not None:
            return [self.radio.value.split(".", 1)[0]] if self.radio.value else []
        return [o.letter for o, box in zip(q.options, self.checks, strict=True) if box.value]

    # -- actions (also the buttons) ------------------------------------------------------

    def choose(self, letters: Sequence[str] | str) -> None:
        """Tick the options ``letters`` (e.g. "B" or ["A", "C"]) as a learner would."""
        q = self.current
        if q is None:
            raise ValueError("no current question")
        wanted = {
            x.strip().upper() for x in (letters.split(",") if isinstance(letters, str) else letters)
        }
        if self.radio is not None:
            label = next(
                (lab for lab in self.radio.options if lab.split(".", 1)[0] in wanted), None
            )
            self.radio.value = label
        else:
            for o, box in zip(q.options, self.checks, strict=True):
                box.value = o.letter in wanted

    def submit(self) -> bool | None:
        """Mark the current choice, record it, and show the explanation of every option.

        Returns whether it was right, or None when the choice cannot be marked yet
        (nothing chosen, or the wrong number of options for a multi question).
        """
        q = self.current
        if q is None or self.submitted:
            return None
        chosen = self.chosen()
        if len(chosen) != len(q.answer):
            self.feedback.value = f"<span style='color:#b45309'>Choose {len(q.answer)} option(s) before submitting.</span>"
            return None
        ok = q.is_correct(chosen)
        self.store.record_answer(q.id, chosen, ok, "widget", seconds=self.clock() - self.shown_at)
        self.submitted = True
        self.answered += 1
        self.correct += ok
        verdict = (
            "<b style='color:green'>Correct.</b>"
            if ok
            else "<b style='color:#b91c1c'>Not quite.</b>"
        )
        rows = []
        for o in q.options:
            mark = "right" if o.letter in q.answer else "wrong"
            mine = " (your choice)" if o.letter in chosen else ""
            rows.append(f"<li><b>{o.letter}</b> {mark}{mine}: {_md(o.explanation)}</li>")
        links = "".join(f"<li><code>{html.escape(link)}</code></li>" for link in q.links)
        self.feedback.value = (
            f"{verdict} Answer: <b>{', '.join(q.answer)}</b>.<ul>{''.join(rows)}</ul>"
            + (
                f"Read more (in a terminal: <code>eventlab notes LINK</code>):<ul>{links}</ul>"
                if links
                else ""
            )
            + _sources_html(q)
            + _examples_html(q)
        )
        self.submit_button.disabled = True
        self.next_button.disabled = False
        return ok

    def next(self) -> None:
        if self.index < len(self.questions):
            self.index += 1
        self._show()


def quiz_for(
    decision: str,
    n: int = 3,
    *,
    seed: int | None = None,
    bank_dir: Path | None = None,
    store: ProgressStore | None = None,
    questions: Sequence[Question] | None = None,
) -> QuizWidget:
    """``n`` questions on one decision point (e.g. ``"sqs-vs-sns"``), for a lab to embed."""
    if decision not in DECISIONS:
        raise ValueError(f"unknown decision '{decision}'; known: {', '.join(DECISIONS)}")
    if questions is None:
        questions = load_bank(bank_dir or default_bank_dir(), cache_dir=data_dir()).questions
    return QuizWidget(
        questions,
        store=store,
        seed=seed,
        n=n,
        filters=Filters(decisions=[decision]),
        show_filters=False,
    )


def _sources_html(q: Question) -> str:
    """The AWS pages the question was checked against, as links, with the date checked."""
    if not q.sources:
        return ""
    items = "".join(
        f'<li><a href="{html.escape(u)}" target="_blank">{html.escape(u)}</a></li>'
        for u in q.sources
    )
    return f"Checked {html.escape(q.checked or '')} against:<ul>{items}</ul>"


def _examples_html(q: Question) -> str:
    """The notes' runnable examples that show the key, with the command that runs each."""
    if not q.examples:
        return ""
    items = "".join(
        f"<li><code>{html.escape(ref)}</code>: <code>{html.escape(command)}</code></li>"
        for ref, command in q.example_runs
    )
    return f"See it run (in a terminal, the command prints the example and runs it):<ul>{items}</ul>"
