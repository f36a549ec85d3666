"""Does a question's link (``content/file.md#anchor``) point at an existing heading?

One resolver serves the notes, the labs and the quizzes: :mod:`eventlab.content`
(GitHub slug rules, repeated headings suffixed ``-1``, ``-2``).  This module only adds
the quiz bank's rule that links stay inside ``content/``.

A question's ``examples`` (``content/file.md#example-id``) name runnable blocks of the
notes instead of headings; :func:`example_index` lists them with :mod:`eventlab.claims`
(which parses the notes only: it never starts the sandbox).
"""

from __future__ import annotations

import re
from pathlib import Path

EXAMPLE_REF = re.compile(r"^content/(?P<file>[^#\s]+\.md)#(?P<id>[^#\s]+)$")


def _default_root() -> Path:
    from eventlab.paths import project_root

    return project_root()


def link_problem(link: str, root: Path | None = None) -> str | None:
    """Why ``link`` does not resolve (a sentence a question author can act on), or None."""
    from eventlab.content import check_link

    base = Path(root) if root is not None else _default_root()
    target, _, _ = link.partition("#")
    if not target.startswith("content/") or not target.endswith(".md") or ".." in target.split("/"):
        return f"link '{link}' must look like content/FILE.md#anchor"
    problem = check_link(link, root=base / "content")
    return None if problem is None else f"link '{link}': {problem}"


def link_resolves(link: str, root: Path | None = None) -> bool:
    """True when ``link`` names an existing content file and, with ``#anchor``, one of its headings."""
    return link_problem(link, root) is None


def example_index(root: Path | None = None) -> dict[str, str]:
    """Example id -> ``content/FILE.md`` for every ``python sandbox id=...`` block in the notes.

    Raises :class:`eventlab.claims.ClaimError` when the notes' own markers are malformed.
    """
    from eventlab.claims import claims

    notes = (Path(root) if root is not None else _default_root()) / "content"
    return {c.id: f"content/{c.path.relative_to(notes).as_posix()}" for c in claims(notes)}


def example_problem(ref: str, index: dict[str, str]) -> str | None:
    """Why ``ref`` does not name a runnable example of the notes (``index``), or None."""
    m = EXAMPLE_REF.match(ref)
    if not m:
        return f"example '{ref}' must look like content/FILE.md#example-id"
    example_id, file = m.group("id"), f"content/{m.group('file')}"
    where = index.get(example_id)
    if where is None:
        return (
            f"example id '{example_id}' does not exist in the notes "
            f"(no 'python sandbox id={example_id}' block under content/)"
        )
    if where != file:
        return f"example id '{example_id}' is in {where}, not {file}"
    return None


LAB_REF = re.compile(r"^(?P<lab>lab\d\d)#(?P<anchor>[^#\s]+)$")


def lab_steps(lab: str, root: Path | None = None) -> dict[str, str] | None:
    """Anchor -> title of each ``## Step ...`` heading of ``lab``'s source notebook
    (``labs/source/labNN_*/labNN_*.ipynb``), or None when the lab has no notebook.  Read
    as JSON: the quiz needs neither nbformat nor the grader."""
    import json

    from eventlab.content import headings

    base = Path(root) if root is not None else _default_root()
    found = sorted((base / "labs" / "source").glob(f"{lab}_*/{lab}_*.ipynb"))
    if not found:
        return None
    cells = json.loads(found[0].read_text(encoding="utf-8")).get("cells", [])
    text = "\n\n".join("".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                        for c in cells if c.get("cell_type") == "markdown")
    return {h.anchor: h.text for h in headings(text) if h.level == 2 and h.text.startswith("Step")}


def lab_step_problem(ref: str, root: Path | None = None) -> str | None:
    """Why ``ref`` (``lab07#step-4-...``) does not name a step of a lab, or None."""
    m = LAB_REF.match(ref)
    if not m:
        return f"lab step '{ref}' must look like labNN#step-anchor"
    steps = lab_steps(m.group("lab"), root)
    if steps is None:
        return f"lab step '{ref}': there is no notebook labs/source/{m.group('lab')}_*/"
    if m.group("anchor") not in steps:
        return (f"lab step '{ref}': {m.group('lab')} has no step '{m.group('anchor')}' "
                f"(its steps: {', '.join(steps)})")
    return None
