"""What a quiz session does, apart from how it is shown: choosing questions, reading an
answer, the exam's draw, timer and state, and its scaled score.

Scaled score: AWS reports SAP-C02 results on 100-1000 with 750 to pass, through a
mapping it does not publish.  Ours is stated and linear: ``100 + 900 * correct / total``,
rounded half up, so 0 % -> 100, 100 % -> 1000, and 750 needs 650/900 = 72.2 % correct
(55 of 75).  Multi-response questions score all-or-nothing, as on the exam; an
unanswered question is wrong.
"""

from __future__ import annotations

import math
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from eventlab.errors import InputError
from quizzes.model import Question
from quizzes.tags import DECISIONS, DOMAIN_WEIGHTS

EXAM_QUESTIONS = 75
EXAM_MINUTES = 180
PASS_SCORE = 750
MIN_SCORE = 100
MAX_SCORE = 1000


def scaled_score(correct: int, total: int) -> int:
    """The 100-1000 score of ``correct`` out of ``total`` (linear; see the module doc)."""
    if total <= 0:
        return MIN_SCORE
    return int(math.floor(MIN_SCORE + (MAX_SCORE - MIN_SCORE) * correct / total + 0.5))


def passed(score: int) -> bool:
    return score >= PASS_SCORE


# -- answers ---------------------------------------------------------------------------

WORDS = {1: "one", 2: "two", 3: "three"}


class AnswerError(InputError, ValueError):
    """An answer that cannot be marked; the message says what to type instead."""


def parse_answer(text: str, question: Question) -> list[str]:
    """``"B"``, ``"a, c"``, ``"A C"`` or ``"AC"`` -> sorted letters, checked against the question."""
    raw = text.strip().upper()
    if not raw:
        raise AnswerError("type the letter of your answer")
    if re.fullmatch(r"[A-Z]+", raw):
        letters = list(raw)
    else:
        letters = [p for p in re.split(r"[\s,;]+", raw) if p]
        if not all(re.fullmatch(r"[A-Z]", p) for p in letters):
            raise AnswerError(f"'{text.strip()}' is not an answer: type letters like B or A,C")
    valid = question.letters
    unknown = [x for x in letters if x not in valid]
    if unknown:
        raise AnswerError(
            f"'{', '.join(unknown)}' is not an option here; choose from {', '.join(valid)}"
        )
    if len(set(letters)) != len(letters):
        raise AnswerError("a letter is repeated; give each choice once")
    want = len(question.answer)
    if len(letters) != want:
        if want == 1:
            raise AnswerError(f"choose one option (e.g. {valid[0]}), not {len(letters)}")
        example = ",".join(valid[:want])
        raise AnswerError(
            f"this question asks you to choose {WORDS.get(want, want)}; you gave {len(letters)} (e.g. {example})"
        )
    return sorted(letters)


# -- choosing questions -------------------------------------------------------------------


@dataclass
class Filters:
    services: list[str] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    difficulties: list[int] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)

    def match(self, q: Question) -> bool:
        """Within one filter any value matches; across filters all must."""
        lower = {s.lower() for s in self.services}
        return (
            (not lower or any(s.lower() in lower for s in q.services))
            and (not self.decisions or q.decision in self.decisions)
            and (not self.domains or q.domain in self.domains)
            and (not self.difficulties or q.difficulty in self.difficulties)
            and (not self.topics or any(t in self.topics for t in q.topics))
        )

    def describe(self) -> str:
        parts = [
            f"{name}={','.join(map(str, values))}"
            for name, values in (
                ("service", self.services),
                ("decision", self.decisions),
                ("domain", self.domains),
                ("difficulty", self.difficulties),
                ("topic", self.topics),
            )
            if values
        ]
        return " ".join(parts) or "none"


def select(
    questions: Iterable[Question], filters: Filters, seed: int | None, limit: int | None
) -> list[Question]:
    """The matching questions in a shuffled order (reproducible with ``seed``)."""
    chosen = sorted((q for q in questions if filters.match(q)), key=lambda q: q.id)
    random.Random(seed).shuffle(chosen)
    return chosen[:limit] if limit else chosen


def domain_quota(n: int, weights: dict[str, float] = DOMAIN_WEIGHTS) -> dict[str, int]:
    """Split ``n`` questions by the domain weights, largest remainder first (75 -> 19/22/19/15)."""
    exact = {d: n * w for d, w in weights.items()}
    quota = {d: int(math.floor(x)) for d, x in exact.items()}
    order = sorted(weights, key=lambda d: (-(exact[d] - quota[d]), list(weights).index(d)))
    for d in order[: n - sum(quota.values())]:
        quota[d] += 1
    return quota


def draw_exam(
    questions: Sequence[Question], n: int = EXAM_QUESTIONS, seed: int | None = None
) -> list[Question]:
    """``n`` questions drawn to the domain weights; a domain short of questions is topped
    up from the others so the exam keeps its length while the bank allows."""
    rng = random.Random(seed)
    pools: dict[str, list[Question]] = {d: [] for d in DOMAIN_WEIGHTS}
    rest: list[Question] = []
    for q in sorted(questions, key=lambda q: q.id):
        pools.get(q.domain, rest).append(q)
    for pool in (*pools.values(), rest):
        rng.shuffle(pool)
    n = min(n, len(questions))
    drawn: list[Question] = []
    for d, k in domain_quota(n).items():
        drawn.extend(pools[d][:k])
        del pools[d][:k]
    leftovers = [q for pool in pools.values() for q in pool] + rest
    rng.shuffle(leftovers)
    drawn.extend(leftovers[: n - len(drawn)])
    rng.shuffle(drawn)
    return drawn


# -- the exam -----------------------------------------------------------------------------


@dataclass
class Breakdown:
    correct: int
    total: int
    score: int
    by_domain: dict[str, tuple[int, int]]
    by_decision: dict[str, tuple[int, int]]

    @property
    def passed(self) -> bool:
        return passed(self.score)


def breakdown(questions: Sequence[Question], answers: dict[str, list[str]]) -> Breakdown:
    right: Counter[str] = Counter()
    dom_total: Counter[str] = Counter()
    dom_right: Counter[str] = Counter()
    dec_total: Counter[str] = Counter()
    dec_right: Counter[str] = Counter()
    for q in questions:
        ok = q.is_correct(answers.get(q.id, []))
        right["all"] += ok
        dom_total[q.domain] += 1
        dom_right[q.domain] += ok
        if q.decision:
            dec_total[q.decision] += 1
            dec_right[q.decision] += ok
    domains = [d for d in DOMAIN_WEIGHTS if dom_total[d]] + sorted(
        set(dom_total) - set(DOMAIN_WEIGHTS)
    )
    decisions = [d for d in DECISIONS if dec_total[d]] + sorted(set(dec_total) - set(DECISIONS))
    return Breakdown(
        correct=right["all"],
        total=len(questions),
        score=scaled_score(right["all"], len(questions)),
        by_domain={d: (dom_right[d], dom_total[d]) for d in domains},
        by_decision={d: (dec_right[d], dec_total[d]) for d in decisions},
    )


class Exam:
    """The state of one exam: answers and flags that can change until it is submitted,
    a position, and a countdown against ``clock`` (monotonic seconds; injectable)."""

    def __init__(
        self,
        questions: Sequence[Question],
        minutes: float = EXAM_MINUTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.questions = list(questions)
        self.answers: dict[str, list[str]] = {}
        self.flags: set[str] = set()
        self.index = 0
        self.limit = minutes * 60
        self.clock = clock
        self.started = clock()

    @property
    def current(self) -> Question:
        return self.questions[self.index]

    def remaining(self) -> float:
        return max(0.0, self.limit - (self.clock() - self.started))

    def timed_out(self) -> bool:
        return self.remaining() <= 0

    def go(self, number: int) -> None:
        """Go to question ``number`` (1-based)."""
        if not 1 <= number <= len(self.questions):
            raise AnswerError(f"there is no question {number}; choose 1 to {len(self.questions)}")
        self.index = number - 1

    def answer(self, letters: list[str]) -> None:
        self.answers[self.current.id] = letters

    def toggle_flag(self) -> bool:
        qid = self.current.id
        if qid in self.flags:
            self.flags.discard(qid)
            return False
        self.flags.add(qid)
        return True

    def unanswered(self) -> list[int]:
        return [i + 1 for i, q in enumerate(self.questions) if q.id not in self.answers]

    def result(self) -> Breakdown:
        return breakdown(self.questions, self.answers)


def format_clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}"
