"""Practice, exam, review and spaced repetition driven non-interactively, as a script would."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from eventlab.cli import main
from eventlab.cli.quiz import MODES
from quizzes.bank import parse_bank
from quizzes.runner import Prompter, run_exam, run_questions
from quizzes.session import Exam, Filters, draw_exam, select
from quizzes.store import ProgressStore
from tests.quizzes.conftest import BANK, KEYS


def practice_order(seed: int, **filters) -> list[str]:
    return [q.id for q in select(parse_bank(BANK).questions, Filters(**filters), seed, None)]


def exam_order(seed: int) -> list[str]:
    return [q.id for q in draw_exam(parse_bank(BANK).questions, 75, seed)]


def answers_for(ids: list[str], wrong: set[str] = frozenset()) -> str:
    return "".join(KEYS[i][1 if i in wrong else 0] + "\n" for i in ids)


def quiz(capsys, monkeypatch, args: list[str], stdin: str) -> tuple[int, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    mode = [args.pop(0)] if args and args[0] in MODES else []
    code = main(["quiz", *mode, str(BANK), *args, "--answers", "-"])
    return code, capsys.readouterr().out


def store(data_dir: Path) -> ProgressStore:
    return ProgressStore(data_dir / "progress.sqlite")


def test_practice_exact_score_and_every_option_explained(capsys, monkeypatch, data_dir):
    ids = practice_order(3)
    wrong = {ids[1], ids[4]}
    code, out = quiz(capsys, monkeypatch, ["practice", "--seed", "3"], answers_for(ids, wrong))
    assert code == 0
    assert "6/8 correct (75%)" in out
    # feedback names every option of every question, and the key
    assert out.count("Not quite.") == 2 and out.count("Correct.") == 6
    assert re.search(
        r"B right( \(your choice\))?: SNS fans the order out to every subscription", out
    )
    assert re.search(
        r"A wrong( \(your choice\))?: Consumers of one queue compete for messages", out
    )
    # a question that cites the AWS pages it was checked against shows them with the date
    assert (
        "Checked 2026-12-06 against: "
        "https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html" in out
    )
    # a question linked to a runnable example of the notes says where it is and how to run it
    assert (
        "See it run: content/queues-and-notifications.md#sns-fanout-fixture "
        "(prints and runs it: eventlab notes --run sns-fanout-fixture)" in out
    )
    assert out.count("See it run:") == 1  # only the one question that names an example
    # the verdict is printed once, from the key, never echoed by the explanation (issue 22)
    assert not re.search(
        r"(right|wrong)( \(your choice\))?: \W*(right|wrong|correct|incorrect)\b", out, re.I
    )
    with store(data_dir) as s:
        rows = s.attempts()
    assert [r[0] for r in rows] == ids
    assert [r[3] for r in rows] == [i not in wrong for i in ids]
    assert {r[1] for r in rows} == {"practice"}


def test_seed_gives_a_reproducible_order(capsys, monkeypatch):
    _, first = quiz(capsys, monkeypatch, ["--seed", "5", "-n", "3"], "")
    _, again = quiz(capsys, monkeypatch, ["--seed", "5", "-n", "3"], "")
    assert first == again
    assert f"Question 1/3 ({practice_order(5)[0]}" in first


def test_practice_filters(capsys, monkeypatch):
    ids = practice_order(1, decisions=["sqs-vs-sns"])
    assert sorted(ids) == ["sqs-vs-sns-001", "sqs-vs-sns-002"]
    code, out = quiz(
        capsys, monkeypatch, ["--decision", "sqs-vs-sns", "--seed", "1"], answers_for(ids)
    )
    assert code == 0 and "2/2 correct (100%)" in out
    _, out = quiz(capsys, monkeypatch, ["--service", "step functions", "--difficulty", "2"], "D\n")
    assert "1/1 correct" in out
    _, out = quiz(capsys, monkeypatch, ["--topic", "saga"], "")
    assert "No questions match the filters (topic=saga)" in out
    with pytest.raises(SystemExit, match="unknown --domain 'costs'"):
        quiz(capsys, monkeypatch, ["--domain", "costs"], "")


def test_invalid_answers_are_reasked(capsys, monkeypatch, data_dir):
    only = ["--decision", "sqs-vs-sns", "--difficulty", "1"]  # sqs-vs-sns-001, single, key B
    code, out = quiz(capsys, monkeypatch, only, "Z\nA,B\nhello\n\nB\n")
    assert code == 0
    assert out.count("Please answer again.") == 4
    assert "is not an option here" in out
    assert "1/1 correct" in out
    with store(data_dir) as s:
        assert s.attempt_count() == 1


def test_answers_from_a_file(tmp_path, capsys, data_dir):
    ids = practice_order(2)
    path = tmp_path / "answers.txt"
    path.write_text(answers_for(ids[:3]))
    assert main(["quiz", "--seed", "2", "--bank", str(BANK), "--answers", str(path)]) == 0
    out = capsys.readouterr().out
    assert "3/3 correct (100%)" in out  # the file ran out after three: the session ends, saved


def test_exam_exact_score_with_breakdown(capsys, monkeypatch, data_dir):
    ids = exam_order(4)
    wrong = {"sqs-vs-sns-002", "standard-vs-fifo-001"}
    # answer q1 wrong first, flag it, then come back and change it: answers are changeable
    script = KEYS[ids[0]][1] + "\np\nf\n" + answers_for(ids, wrong) + "submit\n"
    code, out = quiz(capsys, monkeypatch, ["exam", "--seed", "4"], script)
    assert code == 0
    assert "Score: 775 / 1000 (PASS; pass is 750). 6 of 8 correct." in out
    assert "Correct." not in out and "Not quite." not in out  # no feedback before the end
    assert "│ new-solutions             │     1/2 │  50% │" in out
    assert "│ continuous-improvement    │     1/2 │  50% │" in out
    assert "│ sqs-vs-sns              │     1/2 │  50% │" in out
    assert "│ standard-vs-fifo        │     0/1 │   0% │" in out
    with store(data_dir) as s:
        assert s.exams()[0]["score"] == 775
        assert s.flagged() == {ids[0]}
        assert s.missed() == wrong
        assert len(s.attempts()) == 8


def test_exam_commands_and_bad_input(capsys, monkeypatch):
    ids = exam_order(4)
    script = "g 99\ng x\np\nn\nn\nl\nsubmit\n"
    code, out = quiz(capsys, monkeypatch, ["exam", "--seed", "4"], script)
    assert code == 0
    assert "there is no question 99; choose 1 to 8" in out
    assert "e.g. g 12" in out and "this is the first question" in out
    assert "0 answered, 0 flagged, 8 unanswered." in out
    assert "Score: 100 / 1000 (FAIL" in out
    assert f"Question 3/8 ({ids[2]}" in out


def test_exam_times_out_with_a_fake_clock(questions, data_dir):
    now = [0.0]
    exam = Exam(questions, minutes=1, clock=lambda: now[0])
    console = Console(file=io.StringIO(), width=100)

    def lines():
        yield KEYS[exam.questions[0].id][0]
        now[0] += 61  # a minute passes before the next answer
        yield KEYS[exam.questions[1].id][0]

    with store(data_dir) as s:
        assert run_exam(exam, s, Prompter(console, lines())) == 0
        assert s.exams()[0]["correct"] == 1
    out = console.file.getvalue()
    assert "Time ran out before that answer" in out and "1 of 8 correct" in out


def test_review_shows_missed_and_flagged_until_answered_right(capsys, monkeypatch, data_dir):
    ids = practice_order(3)
    with store(data_dir) as s:
        s.set_flag(ids[0])
    quiz(capsys, monkeypatch, ["--seed", "3"], answers_for(ids, {ids[1], ids[2]}))
    code, out = quiz(
        capsys, monkeypatch, ["review", "--seed", "1"], answers_for(_review_order(ids[:3]))
    )
    assert code == 0
    assert "Review: 3 missed or flagged question(s)." in out
    assert "3/3 correct" in out
    _, out = quiz(capsys, monkeypatch, ["review"], "")
    assert "Nothing to review" in out


def _review_order(ids: list[str]) -> list[str]:
    pool = [q for q in parse_bank(BANK).questions if q.id in ids]
    return [q.id for q in select(pool, Filters(), 1, None)]


def test_srs_puts_due_questions_first(capsys, monkeypatch, data_dir):
    past = datetime.now(UTC) - timedelta(days=3)
    with store(data_dir) as s:
        s.record_answer("kinesis-vs-sqs-001", ["B"], False, "practice", when=past)
        s.record_answer(
            "sync-vs-async-001", ["C"], False, "practice", when=past - timedelta(days=1)
        )
        assert s.due() == ["sync-vs-async-001", "kinesis-vs-sqs-001"]
    code, out = quiz(capsys, monkeypatch, ["srs", "-n", "3", "--seed", "1"], "")
    assert code == 0
    assert "Spaced repetition: 2 due, 1 new." in out
    assert "Question 1/3 (sync-vs-async-001" in out


def test_keyboard_interrupt_in_practice_saves_progress(questions, data_dir):
    console = Console(file=io.StringIO(), width=100)
    qs = questions[:4]

    def lines():
        yield KEYS[qs[0].id][0]
        yield KEYS[qs[1].id][1]
        raise KeyboardInterrupt

    with store(data_dir) as s:
        assert run_questions(qs, s, Prompter(console, lines()), "practice") == 130
    out = console.file.getvalue()
    assert "Interrupted." in out and "Progress saved: 2 answer(s)" in out
    with store(data_dir) as s:  # a new connection sees both answers
        assert [(a[0], a[3]) for a in s.attempts()] == [(qs[0].id, True), (qs[1].id, False)]


def test_keyboard_interrupt_in_exam_saves_answers_and_flags(questions, data_dir):
    console = Console(file=io.StringIO(), width=100)
    exam = Exam(questions)

    def lines():
        yield "f"
        yield KEYS[exam.questions[0].id][0]
        raise KeyboardInterrupt

    with store(data_dir) as s:
        assert run_exam(exam, s, Prompter(console, lines())) == 130
    out = console.file.getvalue()
    assert "Progress saved: your 1 answer(s) and 1 flag(s)" in out
    with store(data_dir) as s:
        assert s.flagged() == {exam.questions[0].id}
        status, detail = s.conn.execute("SELECT status, detail FROM sessions").fetchone()
    assert status == "interrupted" and exam.questions[0].id in detail


def test_stats_draws_bars(capsys, monkeypatch, data_dir):
    ids = practice_order(3)
    quiz(capsys, monkeypatch, ["--seed", "3"], answers_for(ids, {ids[0]}))
    assert main(["quiz", "stats", str(BANK)]) == 0
    out = capsys.readouterr().out
    assert "8 answers, 88% correct, over 1 day(s)" in out
    assert "█" * 40 in out
    assert "Accuracy by decision point" in out


def test_an_interrupted_exam_resumes_with_its_answers_flags_and_time(
    questions, capsys, monkeypatch, data_dir
):
    now = [0.0]
    exam = Exam(draw_exam(questions, 75, seed=4), clock=lambda: now[0])
    ids = [q.id for q in exam.questions]

    def lines():
        yield KEYS[ids[0]][0]
        yield "f"
        now[0] += 600  # ten minutes in
        raise KeyboardInterrupt

    with store(data_dir) as s:
        assert run_exam(exam, s, Prompter(Console(file=io.StringIO()), lines())) == 130
    # continue at question 2 (where it stopped) with the remaining answers
    wrong = {"sqs-vs-sns-002", "standard-vs-fifo-001"}
    code, out = quiz(
        capsys, monkeypatch, ["exam", "--resume"], answers_for(ids[1:], wrong) + "submit\n"
    )
    assert code == 0
    assert re.search(r"Resuming exam 1: 1 of 8 answered, 2:(50:00|49:5\d) left", out)
    # ids[0] is sqs-vs-sns-002, answered right before the interruption: 7 of 8
    assert ids[0] == "sqs-vs-sns-002"
    assert "Score: 888 / 1000 (PASS; pass is 750). 7 of 8 correct." in out
    with store(data_dir) as s:
        assert [e["id"] for e in s.exams()] == [1]
        assert s.flagged() == {ids[1]}
        assert s.last_interrupted_exam() is None
    _, out = quiz(capsys, monkeypatch, ["exam", "--resume"], "")
    assert "No interrupted exam to resume" in out


def test_stats_without_answers_and_png_without_matplotlib(capsys, monkeypatch, tmp_path):
    assert main(["quiz", "stats", str(BANK)]) == 0
    assert "No answers recorded yet" in capsys.readouterr().out
    quiz(capsys, monkeypatch, [], "B\n")
    monkeypatch.setitem(__import__("sys").modules, "matplotlib", None)  # as if not installed
    assert main(["quiz", "stats", str(BANK), "--png", str(tmp_path / "p.png")]) == 2
    assert "--png needs matplotlib" in capsys.readouterr().out
