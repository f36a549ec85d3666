"""``eventlab notes --html``: pages, rewritten links, heading anchors, Mermaid blocks."""

from __future__ import annotations

import re
from pathlib import Path

from eventlab import content, notes
from eventlab.paths import content_dir

FIXTURE = Path(__file__).parent / "fixtures" / "notes"


def test_fixture_pages_links_anchors_and_mermaid(tmp_path: Path) -> None:
    pages = notes.build_html(tmp_path, root=FIXTURE)
    assert sorted(p.name for p in pages) == ["index.html", "queues.html"]
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    queues = (tmp_path / "queues.html").read_text(encoding="utf-8")
    assert 'href="queues.html#amazon-sqs"' in index
    assert 'href="queues.html"' in index
    assert ".md" not in "".join(re.findall(r'href="([^"]*)"', index))
    assert 'href="https://docs.aws.amazon.com/' in index
    for anchor in ("amazon-sqs", "amazon-sqs-1", "limits", "limits-1"):
        assert f'id="{anchor}"' in queues
    assert '<pre class="mermaid">flowchart LR\n  A --&gt; B\n</pre>' in queues
    assert 'class="language-python"' in queues
    assert "mermaid.esm.min.mjs" in queues and "mermaid.esm.min.mjs" not in index


def test_rewrite_href() -> None:
    assert notes.rewrite_href("streams.md#amazon-msk") == "streams.html#amazon-msk"
    assert notes.rewrite_href("content/cost.md") == "cost.html"
    assert notes.rewrite_href("#local") == "#local"
    assert notes.rewrite_href("https://x.example/a.md") == "https://x.example/a.md"


def test_real_notes_build_and_every_heading_anchor_is_in_the_html(tmp_path: Path) -> None:
    pages = notes.build_html(tmp_path)
    assert (tmp_path / "index.html").is_file()
    assert len(pages) == len(content.content_files())
    for page in pages:
        source = content_dir() / page.relative_to(tmp_path).with_suffix(".md")
        body = page.read_text(encoding="utf-8")
        ids = set(re.findall(r'<h[1-6] id="([^"]+)"', body))
        assert ids == set(content.load(source).anchors), page.name
        for href in re.findall(r'href="([^"#:]+\.(?:md|html))', body):
            assert href.endswith(".html"), (page.name, href)
