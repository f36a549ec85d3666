"""``eventlab quiz validate``: every rule of the question format, and the bank's coverage.

Each problem names its file and line (``path:line: message``), like a compiler, so an
editor can jump to it.  The coverage report counts questions per decision point, per
service, per domain and the multi-response share; ``--coverage`` turns issue 8's
minimums into errors.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from quizzes.links import example_index, example_problem, lab_step_problem, link_problem
from quizzes.model import Problem, Question
from quizzes.parser import parse_file
from quizzes.tags import (
    DECISIONS,
    DIFFICULTIES,
    DOMAIN_WEIGHTS,
    DOMAINS,
    MIN_MULTI_SHARE,
    MIN_PER_DECISION,
    MIN_PER_SERVICE,
    MIN_QUESTIONS,
    QUESTION_TYPES,
    SERVICES,
    TOPICS,
)

ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
CHOOSE = re.compile(r"\(choose (two|three)\.?\)", re.IGNORECASE)
COUNT_WORDS = {2: "two", 3: "three"}
# The quiz prints "B wrong: <explanation>" itself, so an explanation that opens with its own
# verdict reads "B wrong: Wrong. ..." (issue 22).  The verdict comes from the answer key only.
VERDICT_OPENING = re.compile(
    r"^[\W_]*(?:right|wrong|correct|incorrect|true|false|not quite|yes|no)[*_]*\s*[.,:;!\u2013\u2014-]",
    re.IGNORECASE,
)


# Pages a key or explanation was checked against: AWS documentation, blogs and pricing.
AWS_PAGE = re.compile(
    r"^https://(?:[a-z0-9-]+\.)*(?:aws\.amazon\.com|amazonaws\.cn|aws)(?:/[^\s]*)?$"
)


@dataclass
class Report:
    questions: list[Question] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def check_question(
    q: Question, root: Path | None = None, examples: dict[str, str] | None = None
) -> list[Problem]:
    """The rules that need the parsed question (tags, keys, counts, links, examples).

    ``examples`` is the notes' example index (:func:`quizzes.links.example_index`); when
    None it is read from ``root`` if the question names any examples.
    """
    out: list[Problem] = []

    def bad(key: str, message: str) -> None:
        out.append(Problem(q.path, q.line_of(key), message))

    stem_name = q.path.name.removesuffix(".md")
    if q.id:
        if not ID_PATTERN.match(q.id):
            bad("id", f"id '{q.id}' must be lowercase letters, digits and single hyphens")
        if q.id != stem_name:
            bad("id", f"id '{q.id}' must equal the file name without .md ('{stem_name}')")
    for i, s in enumerate(q.services):
        if s not in SERVICES:
            bad(f"services[{i}]", f"unknown service '{s}' (known: {', '.join(SERVICES)})")
    if q.decision is not None and q.decision not in DECISIONS:
        bad("decision", f"unknown decision '{q.decision}' (known: {', '.join(DECISIONS)})")
    for i, t in enumerate(q.topics):
        if t not in TOPICS:
            bad(f"topics[{i}]", f"unknown topic '{t}' (known: {', '.join(TOPICS)})")
    if q.domain and q.domain not in DOMAINS:
        bad("domain", f"unknown domain '{q.domain}' (known: {', '.join(DOMAINS)})")
    if q.difficulty and q.difficulty not in DIFFICULTIES:
        bad("difficulty", f"difficulty must be 1, 2 or 3, not {q.difficulty}")
    if q.type and q.type not in QUESTION_TYPES:
        bad("type", f"type must be 'single' or 'multi', not '{q.type}'")

    n = len(q.options)
    if not 4 <= n <= 6:
        line = q.options[0].line if q.options else q.line_of("answer")
        out.append(Problem(q.path, line, f"{n} options; a question has 4 to 6 (A to F)"))
    letters = set(q.letters)
    for i, a in enumerate(q.answer):
        if a not in letters:
            bad(
                f"answer[{i}]",
                f"answer '{a}' is not one of the options ({', '.join(q.letters) or 'none'})",
            )
    if len(set(q.answer)) != len(q.answer):
        bad("answer", "answer lists a letter twice")
    if q.type == "single" and len(q.answer) != 1:
        bad("answer", f"a single-answer question has exactly one key; found {len(q.answer)}")
    if q.type == "multi":
        if not 2 <= len(q.answer) <= 3:
            bad("answer", f"a multi-answer question has 2 or 3 keys; found {len(q.answer)}")
        else:
            m = CHOOSE.search(q.stem)
            want = COUNT_WORDS[len(q.answer)]
            if not m:
                bad("type", f"a multi-answer stem must say '(Choose {want}.)'")
            elif m.group(1).lower() != want:
                bad(
                    "answer",
                    f"the stem says '(Choose {m.group(1)}.)' but the answer has {len(q.answer)} keys",
                )
    for o in q.options:
        opening = VERDICT_OPENING.match(o.explanation)
        if opening:
            out.append(
                Problem(
                    q.path,
                    o.line,
                    f"the explanation of option {o.letter} opens with '{opening.group(0).strip()}'; "
                    "the quiz prints the verdict from the answer key, so start with the reason",
                )
            )
    for i, source in enumerate(q.sources):
        if not AWS_PAGE.match(source):
            bad(f"sources[{i}]", f"source '{source}' must be an https:// page on an AWS site")
    if q.sources and not q.checked:
        bad(
            "sources",
            "a question with sources needs 'checked: YYYY-MM-DD', the date they were read",
        )
    if q.checked:
        try:
            day = date.fromisoformat(q.checked)
        except ValueError:
            bad("checked", f"checked must be a date like 2026-12-06, not '{q.checked}'")
        else:
            if day > date.today():
                bad("checked", f"checked date {q.checked} is in the future")
        if not q.sources:
            bad("checked", "'checked' dates the sources; list them under 'sources'")
    for i, link in enumerate(q.links):
        problem = link_problem(link, root)
        if problem:
            bad(f"links[{i}]", problem)
    if q.examples and examples is None:
        examples = example_index(root)
    for i, ref in enumerate(q.examples):
        problem = example_problem(ref, examples or {})
        if problem:
            bad(f"examples[{i}]", problem)
    for i, ref in enumerate(q.labs):
        problem = lab_step_problem(ref, root)
        if problem:
            bad(f"labs[{i}]", problem)
    if len(set(q.examples)) != len(q.examples):
        bad("examples", "examples lists an example twice")
    return out


def validate_bank(directory: Path, root: Path | None = None) -> Report:
    """Parse and check every ``*.md`` in ``directory``; ids must be unique across it."""
    report = Report()
    first_seen: dict[str, Question] = {}
    index: dict[str, str] | None = None  # the notes' runnable examples, read once
    notes_broken = False
    for path in sorted(Path(directory).glob("*.md")):
        report.files += 1
        q, problems = parse_file(path)
        report.problems.extend(problems)
        if q is None:
            continue
        report.questions.append(q)
        if q.examples and index is None and not notes_broken:
            try:
                index = example_index(root)
            except ValueError as exc:  # ClaimError: the notes' own markers are broken
                notes_broken = True
                report.problems.append(
                    Problem(q.path, q.line_of("examples"), f"cannot list the notes' examples: {exc}")
                )
        # with the notes' markers broken, the examples cannot be checked: said once, above
        checked_q = replace(q, examples=[]) if notes_broken else q
        report.problems.extend(check_question(checked_q, root, index))
        if q.id:
            other = first_seen.get(q.id)
            if other is not None:
                report.problems.append(
                    Problem(
                        q.path,
                        q.line_of("id"),
                        f"duplicate id '{q.id}' (also {other.path}:{other.line_of('id')})",
                    )
                )
            else:
                first_seen[q.id] = q
    report.problems.sort(key=lambda p: (str(p.path), p.line))
    return report


@dataclass
class Coverage:
    total: int
    per_decision: dict[str, int]
    per_service: dict[str, int]
    per_domain: dict[str, int]
    multi: int
    sourced: int = 0  # questions that cite the AWS pages their facts were checked against
    demonstrated: int = 0  # questions linked to a runnable example that shows their key

    @property
    def multi_share(self) -> float:
        return self.multi / self.total if self.total else 0.0


def coverage(questions: list[Question]) -> Coverage:
    dec = Counter(q.decision for q in questions if q.decision)
    svc = Counter(s for q in questions for s in set(q.services))
    dom = Counter(q.domain for q in questions)
    return Coverage(
        total=len(questions),
        per_decision={d: dec.get(d, 0) for d in DECISIONS},
        per_service={s: svc.get(s, 0) for s in SERVICES},
        per_domain={d: dom.get(d, 0) for d in DOMAINS},
        multi=sum(1 for q in questions if q.type == "multi"),
        sourced=sum(1 for q in questions if q.sources),
        demonstrated=sum(1 for q in questions if q.examples),
    )


def coverage_shortfalls(cov: Coverage) -> list[str]:
    """Issue 8's minimums that the bank does not meet yet."""
    out: list[str] = []
    if cov.total < MIN_QUESTIONS:
        out.append(f"{cov.total} questions; the bank needs at least {MIN_QUESTIONS}")
    for d, n in cov.per_decision.items():
        if n < MIN_PER_DECISION:
            out.append(f"decision '{d}' has {n} questions; needs at least {MIN_PER_DECISION}")
    for s, n in cov.per_service.items():
        if n < MIN_PER_SERVICE:
            out.append(f"service '{s}' has {n} questions; needs at least {MIN_PER_SERVICE}")
    if cov.multi_share < MIN_MULTI_SHARE:
        out.append(
            f"multi-response share is {cov.multi_share:.0%} ({cov.multi}/{cov.total}); needs at least {MIN_MULTI_SHARE:.0%}"
        )
    return out


def format_coverage(cov: Coverage) -> str:
    """Plain text, aligned, one count a line."""
    lines = [f"questions: {cov.total}"]
    lines.append(
        f"multi-response: {cov.multi} ({cov.multi_share:.0%}; minimum {MIN_MULTI_SHARE:.0%})"
    )
    lines.append(f"citing the AWS pages they were checked against: {cov.sourced}")
    lines.append(f"linked to a runnable example of their key: {cov.demonstrated}")
    lines.append("per domain (exam weight):")
    for d, n in cov.per_domain.items():
        share = n / cov.total if cov.total else 0
        lines.append(f"  {d:<28} {n:>4}  {share:>4.0%} (exam {DOMAIN_WEIGHTS[d]:.0%})")
    lines.append(f"per decision point (minimum {MIN_PER_DECISION}):")
    for d, n in cov.per_decision.items():
        mark = "" if n >= MIN_PER_DECISION else "  < minimum"
        lines.append(f"  {d:<28} {n:>4}{mark}")
    lines.append(f"per service (minimum {MIN_PER_SERVICE}):")
    for s, n in cov.per_service.items():
        mark = "" if n >= MIN_PER_SERVICE else "  < minimum"
        lines.append(f"  {s:<28} {n:>4}{mark}")
    return "\n".join(lines)
