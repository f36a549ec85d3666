"""``eventlab notes``: listing topics, showing a file or a section, and unknown topics."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventlab.cli import main

FIXTURE = str(Path(__file__).parent / "fixtures" / "notes")
REFS_FIXTURE = str(Path(__file__).parent / "fixtures" / "notes_refs")


def test_lists_topics(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["notes", "--content", FIXTURE]) == 0
    out = capsys.readouterr().out
    assert "index" in out and "queues" in out and "Fixture notes" in out


def test_shows_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["notes", "--content", FIXTURE, "queues"]) == 0
    out = capsys.readouterr().out
    assert "Amazon SQS" in out and "flowchart LR" in out


def test_shows_a_section_by_heading_anchor(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["notes", "--content", FIXTURE, "overview"]) == 0
    out = capsys.readouterr().out
    assert "Overview" in out and "Fixture notes" not in out


def test_file_and_anchor(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["notes", "--content", FIXTURE, "queues#limits-1"]) == 0
    out = capsys.readouterr().out
    assert "flowchart LR" in out and "same heading again" not in out


def test_unknown_topic_exits_2_with_close_matches(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["notes", "--content", FIXTURE, "amazon-sq"]) == 2
    err = capsys.readouterr().err
    assert "no topic or heading 'amazon-sq'" in err and "amazon-sqs" in err


def test_real_notes_topic_and_section(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["notes", "streams"]) == 0
    assert "Kinesis Data Streams" in capsys.readouterr().out
    assert main(["notes", "amazon-sqs"]) == 0
    out = capsys.readouterr().out
    assert "Amazon SQS" in out and "Amazon SNS" not in out.split("Amazon SQS", 1)[0]


def test_html_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["notes", "--content", FIXTURE, "--html", str(tmp_path)]) == 0
    assert (tmp_path / "index.html").is_file() and "wrote 2 pages" in capsys.readouterr().out


# --- links as the quiz and the labs print them (issue 22) --------------------------------


@pytest.mark.parametrize(
    "link",
    [
        "content/queues.md#limits-1",
        "../../../content/queues.md#limits-1",
        "queues.md#limits-1",
        "queues.html#limits-1",
        "`content/queues.md#limits-1`",
    ],
)
def test_a_printed_link_shows_its_section(capsys: pytest.CaptureFixture[str], link: str) -> None:
    assert main(["notes", "--content", FIXTURE, link]) == 0
    out = capsys.readouterr().out
    assert "flowchart LR" in out and "same heading again" not in out


def test_a_link_to_a_missing_heading_still_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["notes", "--content", FIXTURE, "content/queues.md#no-such-heading"]) == 2
    assert "no topic or heading 'content/queues.md#no-such-heading'" in capsys.readouterr().err


def test_a_section_renders_reference_links_with_their_urls(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Definitions sit at the end of the file, outside the section, yet the links resolve."""
    assert main(["notes", "--content", REFS_FIXTURE, "refs#quotas"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "[AWS docs][sqs-quotas]" not in out and "[the FAQ]" not in out
    assert "AWS docs (https://docs.aws.amazon.com/AWSSimpleQueueService/" in out
    assert "the FAQ (https://aws.amazon.com/sqs/faqs/)" in out
    assert "not-in-the-section" not in out


def _printed_links() -> set[str]:
    """Every notes link the quiz bank and the source notebooks print."""
    import json

    from eventlab import content
    from eventlab.paths import project_root
    from quizzes.bank import parse_bank

    root = project_root()
    found = {link for q in parse_bank(root / "quizzes" / "bank").questions for link in q.links}
    for nb in sorted((root / "labs" / "source").rglob("*.ipynb")):
        for cell in json.loads(nb.read_text(encoding="utf-8"))["cells"]:
            source = "".join(cell["source"])
            found.update(
                link.target
                for link in content.links(source)
                if content.is_internal(link.target) and "content/" in link.target
            )
    return found


def test_every_link_the_quiz_and_the_labs_print_opens_in_eventlab_notes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    links = _printed_links()
    # both forms are walked: the bank's content/FILE.md#anchor and the notebooks' ../../../
    assert sum(link.startswith("content/") for link in links) > 40
    assert sum(link.startswith("../../../content/") for link in links) > 20
    refused = []
    for link in sorted(links):
        if main(["notes", link]) != 0:
            refused.append(link)
        capsys.readouterr()
    assert refused == []


CLAIMS_FIXTURE = str(Path(__file__).parent / "fixtures" / "claims")


def test_run_prints_an_example_and_runs_it_on_a_fresh_sandbox(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["notes", "--content", CLAIMS_FIXTURE, "--run", "right-retention"]) == 0
    out = capsys.readouterr().out
    assert "notes.md:6 [right-retention]" in out
    assert "MessageRetentionPeriod" in out  # the code itself, as the reader sees it
    assert "every assert of right-retention holds" in out


def test_run_a_wrong_example_exits_1_naming_file_line_and_assert(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["notes", "--content", CLAIMS_FIXTURE, "--run", "wrong-retention"]) == 1
    captured = capsys.readouterr()
    assert "notes.md:15 [wrong-retention] does not hold in the sandbox" in captured.err
    assert "line 18: assert retention == '7'" in captured.err
    assert "holds" not in captured.out


def test_run_an_unknown_example_exits_2_with_close_ids(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["notes", "--content", CLAIMS_FIXTURE, "--run", "right-retentoin"]) == 2
    err = capsys.readouterr().err
    assert "no runnable example 'right-retentoin'" in err and "right-retention" in err


def test_run_accepts_the_link_a_quiz_prints(capsys: pytest.CaptureFixture[str]) -> None:
    """The 'See it run' line names content/FILE.md#id; the command takes that form too."""
    assert main(["notes", "--run", "content/queues-and-notifications.md#sqs-fifo-dedup"]) == 0
    assert "every assert of sqs-fifo-dedup holds" in capsys.readouterr().out
