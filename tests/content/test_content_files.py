"""The real notes: every contract heading exists and no internal link is broken.

The contract (CONTRACT.md) splits content/ between two helpers working in separate
worktrees.  Until both halves are merged, a file of the *other* half may be absent here:
its checks are skipped (never passed silently) and run for real once the file exists.
"""

from __future__ import annotations

import pytest

from eventlab import content
from eventlab.paths import content_dir

OUR_HALF = {
    "index.md",
    "queues-and-notifications.md",
    "events.md",
    "streams.md",
    "workflows.md",
    "apis.md",
    "data-transfer.md",
}


@pytest.mark.parametrize("name", sorted(content.REQUIRED_HEADINGS))
def test_contract_file_has_its_mandatory_headings(name: str) -> None:
    path = content_dir() / name
    if not path.is_file() and name not in OUR_HALF:
        pytest.skip(f"content/{name} is written in the other content worktree")
    problems = [p for p in content.missing_required_headings() if f"content/{name}:" in p]
    assert not problems, "\n".join(problems)


def test_no_broken_internal_links() -> None:
    broken = content.broken_links()
    pending = [
        b
        for b in broken
        if b.kind == "missing-file"
        and b.target_file.parent == content_dir().resolve()
        and b.target_file.name in content.REQUIRED_HEADINGS
        and b.target_file.name not in OUR_HALF
    ]
    real = [b for b in broken if b not in pending]
    assert not real, "\n".join(str(b) for b in real)
    # Until the other half exists, a link into it may only use an anchor the contract
    # guarantees (its mandatory H2 headings), so it will resolve after the merge.
    off_contract = [
        b
        for b in pending
        if (anchor := b.target.partition("#")[2])
        and anchor
        not in {content.slugify(h) for h in content.REQUIRED_HEADINGS[b.target_file.name]}
    ]
    assert not off_contract, "\n".join(str(b) for b in off_contract)
    if pending:
        pytest.skip(f"{len(pending)} links point into files of the other content worktree")


def test_every_content_file_is_in_the_index() -> None:
    index = content.load(content_dir() / "index.md")
    linked = {link.target.partition("#")[0] for link in index.links}
    missing = sorted(set(content.REQUIRED_HEADINGS) - linked - {"index.md"})
    assert not missing, f"index.md does not link to: {missing}"
