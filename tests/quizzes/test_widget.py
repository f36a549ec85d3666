from __future__ import annotations

import pytest

from quizzes.store import ProgressStore
from quizzes.widget import QuizWidget, quiz_for
from tests.quizzes.conftest import BANK, KEYS


@pytest.fixture
def store(data_dir):
    with ProgressStore(data_dir / "progress.sqlite") as s:
        yield s


def test_widget_answers_and_records(questions, store):
    quiz = QuizWidget(questions, store=store, seed=1)
    assert len(quiz.questions) == 8
    assert "Question 1/8" in quiz.header.value
    first = quiz.current
    right = KEYS[first.id][0].split(",")
    quiz.choose(right)
    assert quiz.chosen() == right
    assert quiz.submit() is True
    assert "Correct." in quiz.feedback.value
    for o in first.options:  # every option explained
        assert o.explanation.split(":")[0] in quiz.feedback.value
    assert quiz.submit() is None  # once per question
    assert quiz.next_button.disabled is False
    quiz.next()
    second = quiz.current
    quiz.choose(KEYS[second.id][1])
    assert quiz.submit() is False
    assert "Not quite." in quiz.feedback.value
    assert store.attempts() == [
        (first.id, "widget", ",".join(right), True),
        (second.id, "widget", KEYS[second.id][1], False),
    ]


def test_multi_needs_the_right_number_of_choices(questions, store):
    quiz = QuizWidget([q for q in questions if q.id == "kinesis-vs-msk-001"], store=store)
    assert len(quiz.checks) == 5 and quiz.radio is None
    quiz.choose("B,D")
    assert quiz.submit() is None
    assert "Choose 3 option(s)" in quiz.feedback.value
    assert store.attempt_count() == 0
    quiz.choose("B,D,E")
    assert quiz.submit() is True
    quiz.next()
    assert "No more questions." in quiz.header.value and "1/1 correct" in quiz.header.value


def test_filters_from_the_dropdowns(questions, store):
    quiz = QuizWidget(questions, store=store, seed=2)
    quiz.domain_dd.value = "migration-modernization"
    quiz.difficulty_dd.value = 1
    quiz.apply_filters()
    assert [q.id for q in quiz.questions] == ["sync-vs-async-001"]
    quiz.topic_dd.value = "saga"
    quiz.apply_filters()
    assert quiz.questions == [] and "No questions match" in quiz.header.value


def test_quiz_for_a_decision_point_uses_the_shared_store(data_dir):
    quiz = quiz_for(decision="sqs-vs-sns", n=3, seed=0, bank_dir=BANK)
    assert sorted(q.id for q in quiz.questions) == ["sqs-vs-sns-001", "sqs-vs-sns-002"]
    assert quiz.filter_box not in quiz.children
    quiz.choose(KEYS[quiz.current.id][0])
    quiz.submit()
    quiz.store.close()
    with ProgressStore() as s:  # the same file the CLI uses (EVENTLAB_DATA_DIR)
        assert s.attempts()[0][1:] == ("widget", KEYS[quiz.current.id][0], True)
    with pytest.raises(ValueError, match="unknown decision"):
        quiz_for(decision="sqs-vs-kafka", bank_dir=BANK)


def test_widget_records_the_time_spent_on_each_question(questions, store):
    now = [1000.0]
    quiz = QuizWidget(questions, store=store, seed=1, clock=lambda: now[0])
    now[0] += 95  # reading and answering the first question
    quiz.choose(KEYS[quiz.current.id][0].split(","))
    quiz.submit()
    quiz.next()
    now[0] += 200
    quiz.choose(KEYS[quiz.current.id][1].split(","))
    quiz.submit()
    assert [round(s) for _qid, _mode, s in store.timed_answers()] == [95, 200]


def test_widget_feedback_links_the_aws_pages_a_question_was_checked_against(questions, store):
    sourced = [q for q in questions if q.sources]
    quiz = QuizWidget(sourced, store=store, seed=1)
    quiz.choose(KEYS[quiz.current.id][0].split(","))
    quiz.submit()
    assert "Checked 2026-12-06 against:" in quiz.feedback.value
    assert 'href="https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html"' in (
        quiz.feedback.value
    )


def test_widget_feedback_names_the_runnable_example_and_how_to_run_it(questions, store):
    linked = [q for q in questions if q.examples]
    quiz = QuizWidget(linked + [q for q in questions if not q.examples][:1], store=store)
    assert [q.id for q in linked] == ["sqs-vs-sns-001"]
    while quiz.current is not None:
        before = quiz.current
        quiz.choose(KEYS[before.id][1].split(","))  # a wrong answer shows the example too
        quiz.submit()
        shown = "See it run" in quiz.feedback.value
        assert shown == bool(before.examples), before.id
        if shown:
            assert (
                "<code>content/queues-and-notifications.md#sns-fanout-fixture</code>: "
                "<code>eventlab notes --run sns-fanout-fixture</code>" in quiz.feedback.value
            )
        quiz.next()
