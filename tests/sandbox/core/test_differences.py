"""docs/differences.md is checked against the sandbox: each service's section shows its
behaviour with executable blocks (``python sandbox id=diff-...``) that run here, so the
page and the sandbox cannot disagree in silence (the page once said that scheduled rules
never fire and that the sandbox never throttles, long after both had changed)."""

from __future__ import annotations

import re

import pytest

from eventlab import claims
from eventlab.paths import project_root
from eventlab.sandbox import Sandbox

DIFFS = claims.differences_claims()
PAGE = project_root() / "docs" / "differences.md"
# sections shown elsewhere: the tables are generated and compared
# (tests/sandbox/core/test_doc_tables.py); Kafka, serve and DataSync have their own suites
NOT_SHOWN_HERE = {"Everywhere", "MSK (Kafka)", "DataSync", "`eventlab serve` and `eventlab aws`",
                  "Capacity and quotas", "Claims the sandbox cannot show", "Every patch to moto"}


@pytest.mark.parametrize("claim", DIFFS, ids=[c.id for c in DIFFS])
def test_the_differences_page_holds_in_the_sandbox(claim: claims.Claim, sandbox: Sandbox) -> None:
    claims.run_claim(claim, sandbox)


def test_every_service_section_shows_its_behaviour() -> None:
    text = PAGE.read_text(encoding="utf-8")
    sections: dict[str, int] = {}
    current = None
    for line in text.splitlines():
        heading = re.match(r"^## (.+)$", line)
        if heading:
            current = heading.group(1).strip()
            sections[current] = 0
        elif current and line.startswith("```python sandbox id="):
            sections[current] += 1
    bare = [name for name, count in sections.items() if count == 0 and name not in NOT_SHOWN_HERE]
    assert not bare, f"sections of {PAGE.name} with no executable block: {bare}"


def test_block_ids_differ_from_the_notes() -> None:
    notes = {c.id for c in claims.claims()}
    assert not notes & {c.id for c in DIFFS}
    assert len({c.id for c in DIFFS}) == len(DIFFS)
