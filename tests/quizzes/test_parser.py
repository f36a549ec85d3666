from quizzes.parser import parse_file, parse_text
from tests.quizzes.conftest import BANK


def test_parses_front_matter_stem_and_options():
    q, problems = parse_file(BANK / "sqs-vs-sns-002.md")
    assert problems == []
    assert q is not None
    assert q.id == "sqs-vs-sns-002"
    assert q.services == ["SNS", "SQS", "Lambda"]
    assert q.decision == "sqs-vs-sns"
    assert q.topics == ["filtering", "fan-out"]
    assert q.domain == "new-solutions"
    assert q.difficulty == 2
    assert q.type == "multi" and q.is_multi
    assert q.answer == ["A", "C"]
    assert q.links == [
        "content/decision-points.md#sqs-vs-sns",
        "content/queues-and-notifications.md#amazon-sns",
    ]
    assert q.stem.startswith("A payments team publishes events")
    assert q.stem.endswith("(Choose two.)")
    assert q.letters == ["A", "B", "C", "D"]
    c = q.option("C")
    assert c.text == "Set a subscription filter policy with a numeric condition on `amount`."
    assert c.explanation.startswith("SNS filter policies")
    assert c.line == 29
    assert q.lines["id"] == 2 and q.lines["links[1]"] == 12


def test_multi_is_all_or_nothing(questions):
    q = next(q for q in questions if q.id == "kinesis-vs-msk-001")
    assert q.is_correct(["E", "D", "B"])
    assert not q.is_correct(["B", "D"])
    assert not q.is_correct(["B", "D", "E", "A"])


def test_examples_are_parsed_with_their_lines_and_run_commands():
    q, problems = parse_file(BANK / "sqs-vs-sns-001.md")
    assert problems == [] and q is not None
    assert q.examples == ["content/queues-and-notifications.md#sns-fanout-fixture"]
    assert q.lines["examples[0]"] == 16
    assert q.example_runs == [
        (
            "content/queues-and-notifications.md#sns-fanout-fixture",
            "eventlab notes --run sns-fanout-fixture",
        )
    ]
    other, _ = parse_file(BANK / "sqs-vs-sns-002.md")
    assert other is not None and other.examples == [] and other.example_runs == []


def test_a_single_example_may_be_written_without_a_list(tmp_path):
    text = (BANK / "sqs-vs-sns-002.md").read_text(encoding="utf-8").replace(
        "---\n\n", "examples: content/queues-and-notifications.md#sns-fanout-fixture\n---\n\n", 1
    )
    q, problems = parse_text(text, tmp_path / "sqs-vs-sns-002.md")
    assert problems == [] and q is not None
    assert q.examples == ["content/queues-and-notifications.md#sns-fanout-fixture"]
