from collections import Counter
from dataclasses import replace

import pytest

from quizzes.session import (
    AnswerError,
    Exam,
    domain_quota,
    draw_exam,
    parse_answer,
    passed,
    scaled_score,
)


@pytest.mark.parametrize(
    ("correct", "total", "score"),
    [
        (0, 75, 100),
        (75, 75, 1000),
        (55, 75, 760),  # the fewest correct answers that pass
        (54, 75, 748),
        (1, 8, 213),  # 212.5 rounds half up
        (6, 8, 775),
        (0, 0, 100),
    ],
)
def test_scaled_score_is_linear_on_100_to_1000(correct, total, score):
    assert scaled_score(correct, total) == score


def test_pass_mark():
    assert passed(750) and not passed(749)
    assert passed(scaled_score(55, 75)) and not passed(scaled_score(54, 75))


def test_domain_quota_for_75():
    assert domain_quota(75) == {
        "organizational-complexity": 19,
        "new-solutions": 22,
        "continuous-improvement": 19,
        "migration-modernization": 15,
    }
    assert sum(domain_quota(10).values()) == 10


def _synthetic(questions, per_domain=30):
    out = []
    for q in questions:
        for i in range(per_domain // 2):
            out.append(replace(q, id=f"{q.id}-{i}"))
    return out


def test_exam_draw_follows_domain_weights_and_seed(questions):
    pool = _synthetic(questions)  # 8 x 15 = 120, 30 per domain
    exam = draw_exam(pool, 75, seed=7)
    assert len(exam) == 75 and len({q.id for q in exam}) == 75
    assert Counter(q.domain for q in exam) == domain_quota(75)
    assert [q.id for q in draw_exam(pool, 75, seed=7)] == [q.id for q in exam]
    assert [q.id for q in draw_exam(pool, 75, seed=8)] != [q.id for q in exam]


def test_exam_draw_tops_up_a_short_domain(questions):
    pool = [q for q in _synthetic(questions) if q.domain != "migration-modernization"][:70]
    pool += [q for q in _synthetic(questions) if q.domain == "migration-modernization"][:5]
    exam = draw_exam(pool, 75, seed=1)
    assert len(exam) == 75
    assert Counter(q.domain for q in exam)["migration-modernization"] == 5


@pytest.mark.parametrize(("text", "letters"), [("B", ["B"]), (" b ", ["B"])])
def test_parse_single(questions, text, letters):
    q = next(q for q in questions if q.id == "sqs-vs-sns-001")
    assert parse_answer(text, q) == letters


@pytest.mark.parametrize("text", ["A,C", "c, a", "A C", "ac", "A;C"])
def test_parse_multi(questions, text):
    q = next(q for q in questions if q.id == "sqs-vs-sns-002")
    assert parse_answer(text, q) == ["A", "C"]


@pytest.mark.parametrize(
    ("qid", "text", "message"),
    [
        ("sqs-vs-sns-001", "", "type the letter"),
        ("sqs-vs-sns-001", "E", "'E' is not an option here; choose from A, B, C, D"),
        ("sqs-vs-sns-001", "A,B", "choose one option"),
        ("sqs-vs-sns-001", "1", "is not an answer"),
        ("sqs-vs-sns-002", "A", "choose two; you gave 1"),
        ("sqs-vs-sns-002", "A,A", "repeated"),
        ("kinesis-vs-msk-001", "B,D", "choose three; you gave 2"),
    ],
)
def test_parse_rejects_with_a_helpful_message(questions, qid, text, message):
    q = next(q for q in questions if q.id == qid)
    with pytest.raises(AnswerError, match=None) as err:
        parse_answer(text, q)
    assert message in str(err.value)


def test_exam_timer_uses_the_injected_clock(questions):
    now = [1000.0]
    exam = Exam(questions, minutes=180, clock=lambda: now[0])
    assert exam.remaining() == 180 * 60
    now[0] += 179 * 60
    assert not exam.timed_out() and exam.remaining() == 60
    now[0] += 60
    assert exam.timed_out()


def test_exam_answers_change_and_flags_toggle(questions):
    exam = Exam(questions)
    exam.answer(["A"])
    exam.answer(["B"])
    assert exam.answers[exam.current.id] == ["B"]
    assert exam.toggle_flag() and exam.current.id in exam.flags
    assert not exam.toggle_flag() and not exam.flags
    exam.go(8)
    assert exam.index == 7
    with pytest.raises(AnswerError):
        exam.go(9)
