"""``eventlab notes``: listing topics, showing a file or a section, and unknown topics."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventlab.cli import main

FIXTURE = str(Path(__file__).parent / "fixtures" / "notes")


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
