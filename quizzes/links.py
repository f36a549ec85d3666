"""Does a question's link (``content/file.md#anchor``) point at an existing heading?

One resolver serves the notes, the labs and the quizzes: :mod:`eventlab.content`
(GitHub slug rules, repeated headings suffixed ``-1``, ``-2``).  This module only adds
the quiz bank's rule that links stay inside ``content/``.
"""

from __future__ import annotations

from pathlib import Path


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
