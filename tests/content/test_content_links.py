"""eventlab.content: GitHub-style anchors and the internal link checker, on a fixture."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventlab import content

FIXTURE = Path(__file__).parent / "fixtures" / "notes"


@pytest.mark.parametrize(
    ("text", "anchor"),
    [
        ("SQS Standard vs FIFO", "sqs-standard-vs-fifo"),
        ("SQS vs SNS", "sqs-vs-sns"),
        ("Kinesis Data Streams vs SQS", "kinesis-data-streams-vs-sqs"),
        ("E-commerce order processing", "e-commerce-order-processing"),
        ("Synchronous vs. asynchronous", "synchronous-vs-asynchronous"),
        ("Limits (2026 figures)", "limits-2026-figures"),
        ("A & B", "a--b"),
        ("`SendMessage` API", "sendmessage-api"),
    ],
)
def test_slugify_follows_the_contract(text: str, anchor: str) -> None:
    assert content.slugify(text) == anchor


def test_headings_use_inline_text_and_line_numbers() -> None:
    hs = content.headings("# Title\n\ntext\n\n## The `SendMessage` *call*\n")
    assert [(h.level, h.text, h.anchor, h.line) for h in hs] == [
        (1, "Title", "title", 1),
        (2, "The SendMessage call", "the-sendmessage-call", 5),
    ]


def test_duplicate_headings_get_numbered_suffixes_like_github() -> None:
    anchors = [h.anchor for h in content.load(FIXTURE / "queues.md").headings]
    assert anchors == ["queues", "amazon-sqs", "limits", "amazon-sqs-1", "limits-1"]
    assert content.unique_anchors(["A", "A", "A-1", "A"]) == ["a", "a-1", "a-1-1", "a-2"]


def test_resolve_link_project_relative_content_relative_and_file_relative() -> None:
    assert content.resolve_link("content/queues.md#amazon-sqs-1", root=FIXTURE)
    assert content.resolve_link("queues.md#limits", root=FIXTURE)
    assert content.resolve_link("queues.md", root=FIXTURE)
    assert content.resolve_link("#overview", relative_to=FIXTURE / "index.md", root=FIXTURE)
    assert content.resolve_link("https://example.com/anything", root=FIXTURE)
    assert not content.resolve_link("queues.md#amazon-sns", root=FIXTURE)
    assert not content.resolve_link("content/nowhere.md", root=FIXTURE)


def test_check_link_explains_and_suggests() -> None:
    reason = content.check_link("queues.md#amazon-sq", root=FIXTURE)
    assert reason is not None
    assert "#amazon-sq" in reason and "did you mean #amazon-sqs" in reason


def test_broken_links_reports_file_line_and_reason() -> None:
    broken = content.broken_links(FIXTURE)
    messages = [str(b) for b in broken]
    assert len(broken) == 2, messages
    anchor, missing = sorted(broken, key=lambda b: b.line)
    assert anchor.source.name == "index.md" and anchor.line == 4
    assert anchor.kind == "missing-anchor"
    assert "index.md:4:" in str(anchor) and "queues.md#no-such-heading" in str(anchor)
    assert missing.line == 5 and missing.kind == "missing-file"
    assert missing.target_file.name == "nowhere.md"


def test_links_in_a_multiline_paragraph_get_their_own_line(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(
        "# A\n\nFirst line [ok](#a)\nsecond line\nthird [bad](#nope) here\n", encoding="utf-8"
    )
    (broken,) = content.broken_links(tmp_path)
    assert broken.line == 5 and str(broken).endswith(
        "no heading with anchor #nope in " + str(content.display_path(tmp_path / "a.md"))
    )


def test_missing_required_headings_names_file_and_heading(tmp_path: Path) -> None:
    (tmp_path / "apis.md").write_text("# APIs\n\n## Amazon API Gateway\n", encoding="utf-8")
    problems = content.missing_required_headings(tmp_path)
    assert any(p.endswith("apis.md: missing '## AWS App Mesh'") for p in problems)
    assert any(p.endswith("streams.md: file is missing") for p in problems)
