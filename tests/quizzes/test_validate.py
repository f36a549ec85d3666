import shutil
from pathlib import Path

import pytest

from eventlab.cli import main
from eventlab.content import headings, slugify
from quizzes.links import link_resolves
from quizzes.validate import coverage, coverage_shortfalls, validate_bank
from tests.quizzes.conftest import BANK, BROKEN, FIXTURES

# file -> (line, words of the message): one file for each class of bad question.
EXPECTED = {
    "no-front-matter.md": (1, "no front matter"),
    "bad-yaml.md": (4, "not valid YAML"),
    "id-mismatch.md": (2, "must equal the file name"),
    "unknown-service.md": (5, "unknown service 'Kinesis'"),
    "unknown-decision.md": (4, "unknown decision 'sqs-vs-kafka'"),
    "unknown-topic.md": (5, "unknown topic 'fan-in'"),
    "unknown-domain.md": (6, "unknown domain 'cost-optimization'"),
    "answer-not-option.md": (9, "answer 'E' is not one of the options"),
    "single-two-keys.md": (9, "exactly one key; found 2"),
    "multi-one-key.md": (9, "2 or 3 keys; found 1"),
    "multi-four-keys.md": (9, "2 or 3 keys; found 4"),
    "multi-no-choose.md": (8, "(Choose two.)"),
    "three-options.md": (17, "3 options; a question has 4 to 6"),
    "seven-options.md": (17, "7 options; a question has 4 to 6"),
    "missing-explanation.md": (27, "option C has no '>' explanation"),
    "bad-link.md": (12, "no heading with anchor #sqs-versus-sns"),
    "missing-file-link.md": (10, "no such file tests/quizzes/fixtures/content/nowhere.md"),
    "missing-domain.md": (1, "missing field 'domain'"),
    "bad-difficulty.md": (7, "difficulty must be 1, 2 or 3"),
    "unknown-field.md": (10, "unknown field 'topic'"),
    "options-out-of-order.md": (22, "lettered A, B, C, D in order"),
    "bad-type.md": (8, "type must be 'single' or 'multi'"),
    "verdict-opening.md": (17, "option A opens with 'Wrong.'"),
    "bad-source.md": (13, "must be an https:// page on an AWS site"),
    "source-undated.md": (12, "needs 'checked: YYYY-MM-DD'"),
    "unknown-example.md": (
        13,
        "example id 'sns-fanout-fixtur' does not exist in the notes "
        "(no 'python sandbox id=sns-fanout-fixtur' block under content/)",
    ),
    "example-wrong-file.md": (
        13,
        "example id 'queue-or-topic-fixture' is in content/decision-points.md, "
        "not content/queues-and-notifications.md",
    ),
    "example-not-a-ref.md": (
        13,
        "example 'sns-fanout-fixture' must look like content/FILE.md#example-id",
    ),
    "examples-not-a-list.md": (12, "'examples' must be a list like [A, B]"),
}


@pytest.fixture(scope="module")
def broken_report():
    return validate_bank(BROKEN, FIXTURES)


def test_the_sample_bank_is_valid():
    report = validate_bank(BANK, FIXTURES)
    assert [str(p) for p in report.problems] == []
    assert len(report.questions) == 8


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_class_of_bad_question_is_caught_with_file_and_line(broken_report, name):
    line, words = EXPECTED[name]
    found = [p for p in broken_report.problems if p.path.name == name]
    assert [(p.line, words in p.message) for p in found] == [(line, True)], [str(p) for p in found]


def test_duplicate_ids_name_both_files(broken_report):
    dup = [p for p in broken_report.problems if "duplicate id" in p.message]
    assert len(dup) == 1
    assert dup[0].path.name == "dup-b.md" and dup[0].line == 2
    assert "dup-a.md:2" in dup[0].message


def test_every_broken_file_is_accounted_for(broken_report):
    files = {p.name for p in BROKEN.glob("*.md")} - {"dup-a.md", "dup-b.md"}
    assert files == set(EXPECTED)
    assert not [p for p in broken_report.problems if p.path.name == "dup-a.md"]


def test_cli_prints_file_and_line_and_exits_1(capsys):
    assert main(["quiz", "validate", str(BROKEN), "--root", str(FIXTURES)]) == 1
    out = capsys.readouterr().out
    assert "broken/unknown-topic.md:5: unknown topic 'fan-in'" in out
    assert "FAILED" in out


def test_cli_ok_bank_exits_0_and_prints_coverage(capsys):
    assert main(["quiz", "validate", str(BANK), "--root", str(FIXTURES)]) == 0
    out = capsys.readouterr().out
    assert "questions: 8" in out
    assert "multi-response: 2 (25%" in out
    assert "sqs-vs-sns                      2" in out
    assert out.rstrip().endswith(": OK")


def test_coverage_minimums_enforced(capsys):
    assert main(["quiz", "validate", str(BANK), "--root", str(FIXTURES), "--coverage"]) == 1
    out = capsys.readouterr().out
    assert "coverage: 8 questions; the bank needs at least 200" in out
    assert "coverage: decision 'standard-vs-fifo' has 1 questions; needs at least 12" in out
    assert "coverage: service 'Amazon MQ' has 0 questions; needs at least 4" in out


def test_coverage_counts(questions):
    cov = coverage(questions)
    assert cov.total == 8 and cov.multi == 2 and cov.multi_share == 0.25
    assert cov.per_decision["sqs-vs-sns"] == 2
    assert cov.per_service["SQS"] == 5 and cov.per_service["Lambda"] == 2
    assert cov.per_domain == {
        "organizational-complexity": 2,
        "new-solutions": 2,
        "continuous-improvement": 2,
        "migration-modernization": 2,
    }
    short = coverage_shortfalls(cov)
    assert not any("multi-response" in s for s in short)  # 25% meets the minimum


@pytest.mark.parametrize(
    ("heading", "slug"),
    [
        ("SQS Standard vs FIFO", "sqs-standard-vs-fifo"),
        ("Step Functions: Standard vs. Express", "step-functions-standard-vs-express"),
        ("Kinesis Data Streams vs SQS", "kinesis-data-streams-vs-sqs"),
        ("What's `DLQ`?", "whats-dlq"),
        ("Fan-out (SNS + SQS)", "fan-out-sns--sqs"),
    ],
)
def test_github_slugs(heading, slug):
    assert slugify(heading) == slug


def test_repeated_headings_and_fences():
    text = "## Limits\n\n## Limits\n\n```\n## Hidden\n```\n"
    assert {h.anchor for h in headings(text)} == {"limits", "limits-1"}


def test_link_resolves(tmp_path: Path):
    assert link_resolves("content/decision-points.md#sqs-vs-sns", FIXTURES)
    assert link_resolves("content/queues-and-notifications.md#limits-1", FIXTURES)
    assert link_resolves("content/decision-points.md", FIXTURES)
    assert not link_resolves("content/decision-points.md#not-a-heading-inside-a-fence", FIXTURES)
    assert not link_resolves("content/missing.md#x", FIXTURES)
    assert not link_resolves("../content/decision-points.md#sqs-vs-sns", FIXTURES)
    assert link_resolves("content/decision-points.md#sqs-vs-sns")  # EVENTLAB_HOME (conftest)


@pytest.mark.parametrize(
    "explanation, flagged",
    [
        ("Wrong. Consumers compete.", True),
        ("**Right.** Fan-out.", True),
        ("Correct: the queue buffers.", True),
        ("Incorrect \u2014 shards partition data.", True),
        ("No. SNS keeps no copy.", True),
        ("No consumer sees the message twice.", False),
        ("Correct ordering needs a FIFO queue.", False),
        ("Rightsizing the shards does not help.", False),
    ],
)
def test_an_explanation_may_not_open_with_its_own_verdict(explanation, flagged):
    """The quiz prints 'B wrong: ...' from the key, so 'Wrong.' in the text would stutter."""
    from quizzes.validate import VERDICT_OPENING

    assert bool(VERDICT_OPENING.match(explanation)) is flagged


def test_broken_markers_in_the_notes_are_reported_once_not_per_example(tmp_path: Path):
    shutil.copytree(FIXTURES / "content", tmp_path / "content")
    (tmp_path / "content" / "bad.md").write_text(
        "# Bad\n\n```python sandbox\nassert True\n```\n", encoding="utf-8"
    )
    bank = tmp_path / "bank"
    bank.mkdir()
    for name in ("sqs-vs-sns-001.md", "sqs-vs-sns-002.md"):
        text = (BANK / "sqs-vs-sns-001.md").read_text(encoding="utf-8")
        (bank / name).write_text(text.replace("sqs-vs-sns-001", name[:-3]), encoding="utf-8")
    report = validate_bank(bank, tmp_path)
    assert [(p.path.name, p.line) for p in report.problems] == [("sqs-vs-sns-001.md", 15)]
    assert report.problems[0].message.startswith("cannot list the notes' examples: ")
    assert "content/bad.md:3: a 'python sandbox' block needs one id=" in (
        report.problems[0].message
    )


def test_coverage_counts_the_questions_linked_to_an_example(capsys):
    assert coverage(validate_bank(BANK, FIXTURES).questions).demonstrated == 1
    assert main(["quiz", "validate", str(BANK), "--root", str(FIXTURES)]) == 0
    assert "linked to a runnable example of their key: 1" in capsys.readouterr().out
