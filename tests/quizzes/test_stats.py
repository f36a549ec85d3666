"""``eventlab quiz stats``: accuracy by decision, service and domain; readiness; pacing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from rich.console import Console

from eventlab.cli import main
from quizzes.model import Question
from quizzes.runner import Prompter, run_questions
from quizzes.stats import (
    SECONDS_PER_QUESTION,
    Tally,
    breakdown,
    pacing,
    readiness,
)
from quizzes.store import ProgressStore
from quizzes.tags import DOMAIN_WEIGHTS
from tests.quizzes.conftest import BANK, KEYS


def make(qid: str, domain: str, services: list[str], decision: str | None = None) -> Question:
    return Question(
        id=qid,
        path=Path(f"{qid}.md"),
        services=services,
        domain=domain,
        difficulty=2,
        type="single",
        answer=["A"],
        links=[],
        stem="",
        options=[],
        decision=decision,
    )


QUESTIONS = [
    make("q1", "new-solutions", ["SQS", "SNS"], "sqs-vs-sns"),
    make("q2", "new-solutions", ["SQS"], "standard-vs-fifo"),
    make("q3", "organizational-complexity", ["EventBridge", "IAM"]),
    make("q4", "continuous-improvement", ["Kinesis Data Streams"], "kinesis-vs-sqs"),
]


def test_breakdown_counts_every_answer_by_decision_service_and_domain():
    attempts = [
        ("q1", "practice", "A", True),
        ("q1", "practice", "B", False),
        ("q2", "practice", "A", True),
        ("q3", "exam", "C", False),
        ("gone", "practice", "A", True),  # no longer in the bank: left out
    ]
    b = breakdown(attempts, QUESTIONS)
    assert b["decision"] == {"sqs-vs-sns": Tally(2, 1), "standard-vs-fifo": Tally(1, 1)}
    assert b["service"] == {
        "SQS": Tally(3, 2),
        "SNS": Tally(2, 1),
        "EventBridge": Tally(1, 0),
        "IAM": Tally(1, 0),
    }
    assert b["domain"] == {
        "organizational-complexity": Tally(1, 0),
        "new-solutions": Tally(3, 2),
    }


def test_readiness_weights_each_domain_by_the_exam_guide_and_uses_the_latest_answer():
    qs = [make(f"n{i}", "new-solutions", ["SQS"]) for i in range(10)]
    qs += [make(f"o{i}", "organizational-complexity", ["IAM"]) for i in range(10)]
    attempts = [(q.id, "practice", "A", True) for q in qs[:10]]  # new-solutions: 10/10
    attempts += [(q.id, "practice", "A", False) for q in qs[10:]]  # wrong first ...
    attempts += [(q.id, "review", "A", True) for q in qs[10:15]]  # ... then 5 of 10 right
    r = readiness(attempts, qs)
    assert r.by_domain["new-solutions"] == Tally(10, 10)
    assert r.by_domain["organizational-complexity"] == Tally(10, 5)
    # 29 % x 1.0 + 26 % x 0.5; the two unanswered domains count as 0 %
    assert r.weighted == pytest.approx(0.29 + 0.13)
    assert r.score == 100 + round(900 * 0.42)  # 478
    assert r.thin == ["continuous-improvement", "migration-modernization"]
    assert not r.on_track


def test_readiness_is_on_track_only_with_enough_questions_in_every_domain():
    qs = [make(f"{d}-{i}", d, ["SQS"]) for d in DOMAIN_WEIGHTS for i in range(10)]
    right = [(q.id, "practice", "A", True) for q in qs]
    full = readiness(right, qs)
    assert full.score == 1000 and full.thin == [] and full.on_track
    few = readiness(right[:-1], qs)  # one domain with 9 questions only
    assert few.score >= 750 and few.thin == ["migration-modernization"] and not few.on_track


def test_the_exam_pace_is_180_minutes_over_75_questions():
    assert SECONDS_PER_QUESTION == 144.0


def test_pacing_compares_time_per_question_with_the_exam(tmp_path):
    now = [0.0]

    def clock() -> float:
        return now[0]

    def lines():
        for qid, seconds in zip(ids, (60, 200, 100), strict=True):
            now[0] += seconds
            yield KEYS[qid][0]

    from quizzes.bank import parse_bank

    questions = parse_bank(BANK).questions[:3]
    ids = [q.id for q in questions]
    console = Console(file=__import__("io").StringIO(), width=160)
    with ProgressStore(tmp_path / "p.sqlite") as s:
        assert run_questions(questions, s, Prompter(console, lines()), "practice", clock=clock) == 0
        timed = s.timed_answers()
        assert [(q, round(sec)) for q, _m, sec in timed] == list(
            zip(ids, (60, 200, 100), strict=True)
        )
        p = pacing(timed, [{"started": "2026-12-06T08:00:00", "elapsed": 9000.0, "total": 75}])
    assert p.median == 100 and p.over_budget == 1 and p.answers == 3
    assert p.exams == [("2026-12-06", 120.0)]


def test_a_version_1_store_keeps_its_answers_and_gains_timing(tmp_path):
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE attempts (id INTEGER PRIMARY KEY, qid TEXT NOT NULL, at TEXT NOT NULL,"
        " mode TEXT NOT NULL, chosen TEXT NOT NULL, correct INTEGER NOT NULL, session INTEGER);"
        "INSERT INTO attempts(qid, at, mode, chosen, correct) VALUES"
        " ('q1', '2026-12-01T10:00:00+00:00', 'practice', 'A', 1);"
        "PRAGMA user_version=1;"
    )
    conn.close()
    with ProgressStore(path) as s:
        assert s.attempts() == [("q1", "practice", "A", True)]
        s.record_answer("q2", ["B"], False, "practice", seconds=42.0)
        assert s.timed_answers() == [("q2", "practice", 42.0)]


def test_stats_command_shows_every_breakdown_readiness_and_pacing(capsys, monkeypatch, data_dir):
    import io

    from tests.quizzes.test_runner import answers_for, practice_order

    ids = practice_order(3)
    monkeypatch.setattr("sys.stdin", io.StringIO(answers_for(ids, {ids[0]})))
    assert main(["quiz", "practice", str(BANK), "--seed", "3", "--answers", "-"]) == 0
    capsys.readouterr()
    assert main(["quiz", "stats", str(BANK)]) == 0
    # scripted answers take no time, so they are not counted as fast answers
    assert "Pacing: no timed answers yet" in capsys.readouterr().out
    with ProgressStore(data_dir / "progress.sqlite") as s:
        for qid, seconds in zip(ids[:3], (100.0, 150.0, 200.0), strict=True):
            s.record_answer(qid, ["A"], False, "widget", seconds=seconds)
    assert main(["quiz", "stats", str(BANK)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    for title in (
        "Accuracy by decision point",
        "Accuracy by service",
        "Accuracy by exam domain",
        "Readiness",
        "Estimated score",
        "Pacing: median",
    ):
        assert title in out, title
    assert "solutions-architect-professional-02.html" in out
    assert (
        "median 2 min 30 s a question over 3 timed answer(s), slower than the exam's 2 min 24 s"
        in out
    )
    assert "2 answer(s) took longer than 2 min 24 s" in out
