"""Does a question's link (``content/file.md#anchor``) point at an existing heading?

This is the quiz's own small resolver, kept behind the single function
:func:`link_resolves` so that the integrator may swap its body for a call into
``eventlab.content`` once that module provides the same service; nothing else in
``quizzes`` reads content files.

Anchors follow GitHub's slug rules (CONTRACT.md): lowercase; every character that is
not a letter, digit, space or hyphen is dropped; spaces become hyphens; a repeated
heading gets ``-1``, ``-2`` ... in order of appearance.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_ATX = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")


def slugify(heading: str) -> str:
    """GitHub's anchor for a heading's text."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "", heading)
    text = text.strip().lower()
    text = "".join(ch for ch in text if ch.isalnum() or ch in " -")
    return text.replace(" ", "-")


def anchors_in(text: str) -> set[str]:
    """Every heading anchor of a Markdown document (fenced code skipped)."""
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    fence: str | None = None
    for line in text.splitlines():
        m = _FENCE.match(line)
        if m:
            marker = m.group(1)[0]
            if fence is None:
                fence = marker
            elif fence == marker:
                fence = None
            continue
        if fence is not None:
            continue
        h = _ATX.match(line)
        if not h:
            continue
        slug = slugify(h.group(2))
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


@lru_cache(maxsize=256)
def _anchors_of_file(path: str, mtime_ns: int) -> frozenset[str]:
    return frozenset(anchors_in(Path(path).read_text(encoding="utf-8")))


def _default_root() -> Path:
    from eventlab.paths import project_root

    return project_root()


def link_resolves(link: str, root: Path | None = None) -> bool:
    """True when ``link`` names an existing Markdown file under ``root`` and, if it has
    a ``#anchor``, a heading of that file with that anchor.

    ``root`` is the project root the links are relative to (default: ``EVENTLAB_HOME``
    or the checkout, see :mod:`eventlab.paths`).  Links must stay inside ``content/``.
    The integrator may replace this function's body with ``eventlab.content``'s
    resolver; its callers depend only on this signature.
    """
    base = Path(root) if root is not None else _default_root()
    target, _, anchor = link.partition("#")
    if not target.startswith("content/") or not target.endswith(".md") or ".." in target.split("/"):
        return False
    path = base / target
    try:
        stat = path.stat()
    except OSError:
        return False
    if not anchor:
        return True
    try:
        return anchor in _anchors_of_file(str(path), stat.st_mtime_ns)
    except (OSError, UnicodeDecodeError):
        return False
