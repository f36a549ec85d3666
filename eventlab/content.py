"""The study notes in ``content/``: headings, GitHub-style anchors and internal links.

Quiz questions, labs and the notes themselves link to headings such as
``content/decision-points.md#sqs-vs-sns``.  This module is the one place that knows how
such a link is resolved, so every checker agrees with what GitHub and JupyterLab show.

Public API::

    slugify("SQS Standard vs FIFO")                   -> "sqs-standard-vs-fifo"
    headings(markdown_text)                           -> [Heading(level, text, anchor, line)]
    load(path)                                        -> ContentFile (headings, anchors, links)
    content_files()                                   -> [Path, ...] every *.md under content/
    resolve_link("content/streams.md#amazon-msk")     -> True / False
    check_link(target, relative_to=...)               -> None, or why the link is broken
    broken_links()                                    -> [BrokenLink] for every content file
    missing_required_headings()                       -> ["content/x.md: missing '## ...'"]

Anchors follow the rule in the shared contract (GitHub's): lowercase; drop every character
that is not a letter, digit, space or hyphen; spaces become hyphens.  A repeated heading
gets ``-1``, ``-2`` ... appended, in document order, exactly as GitHub does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote

from markdown_it import MarkdownIt
from markdown_it.token import Token

from eventlab.paths import content_dir

__all__ = [
    "REQUIRED_HEADINGS",
    "BrokenLink",
    "ContentFile",
    "Heading",
    "Link",
    "broken_links",
    "check_link",
    "content_files",
    "headings",
    "is_internal",
    "links",
    "load",
    "markdown_parser",
    "missing_required_headings",
    "resolve_link",
    "slugify",
    "unique_anchors",
]

# The mandatory H2 headings of every family of notes (tests/content checks them).  Other headings
# are welcome; these are the ones that links from quizzes and labs may rely on.
_FAMILIES = ("Queues and notifications", "Events", "Streams", "Workflows", "APIs")
REQUIRED_HEADINGS: dict[str, tuple[str, ...]] = {
    "index.md": (),
    "queues-and-notifications.md": ("Amazon SQS", "Amazon SNS", "Amazon MQ"),
    "events.md": (
        "Amazon EventBridge",
        "EventBridge Scheduler",
        "EventBridge Pipes",
        "AWS AppSync",
    ),
    "streams.md": (
        "Kinesis Data Streams",
        "Amazon Data Firehose",
        "Managed Service for Apache Flink",
        "Amazon MSK",
    ),
    "workflows.md": ("AWS Step Functions",),
    "apis.md": ("Amazon API Gateway", "AWS App Mesh"),
    "data-transfer.md": ("AWS DataSync", "AWS Transfer Family", "Amazon AppFlow"),
    "decision-points.md": (
        "SQS vs SNS",
        "SQS Standard vs FIFO",
        "Kinesis Data Streams vs SQS",
        "Kinesis Data Streams vs MSK",
        "Step Functions Standard vs Express",
        "EventBridge vs SNS",
        "Synchronous vs asynchronous",
    ),
    "patterns.md": (
        "Event-driven microservices",
        "Real-time analytics pipeline",
        "Fan-out",
        "Saga",
        "Message buffering",
        "Stream processing with Kafka",
    ),
    "scenarios.md": (
        "E-commerce order processing",
        "Real-time IoT data processing",
        "Microservices saga",
        "Video processing pipeline",
        "Financial trading platform",
        "Multi-account event-driven architecture",
    ),
    "security.md": _FAMILIES,
    "cost.md": _FAMILIES,
    "performance.md": _FAMILIES,
    "exam-focus.md": ("High-priority topics", "Complex scenarios"),
}

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


@dataclass(frozen=True)
class Heading:
    """One heading: its level (1-6), plain text, anchor and 1-based line number."""

    level: int
    text: str
    anchor: str
    line: int


@dataclass(frozen=True)
class Link:
    """One link found in a Markdown file: its target exactly as written and its line."""

    target: str
    line: int


@dataclass(frozen=True)
class BrokenLink:
    """An internal link that does not resolve.

    ``kind`` is ``"missing-file"`` or ``"missing-anchor"``; ``target_file`` is the file the
    link points to (whether or not it exists).
    """

    source: Path
    line: int
    target: str
    kind: str
    reason: str
    target_file: Path

    def __str__(self) -> str:
        return f"{display_path(self.source)}:{self.line}: broken link '{self.target}': {self.reason}"


@dataclass(frozen=True)
class ContentFile:
    """A parsed Markdown file: its text, headings (with anchors) and links."""

    path: Path
    text: str
    headings: tuple[Heading, ...] = field(default=())
    links: tuple[Link, ...] = field(default=())

    @property
    def anchors(self) -> frozenset[str]:
        return frozenset(h.anchor for h in self.headings)

    @property
    def title(self) -> str:
        """The first level-1 heading, or the file stem when there is none."""
        return next((h.text for h in self.headings if h.level == 1), self.path.stem)

    def heading(self, anchor: str) -> Heading | None:
        return next((h for h in self.headings if h.anchor == anchor), None)


def markdown_parser() -> MarkdownIt:
    """The parser every part of eventlab uses for content: CommonMark plus tables."""
    return MarkdownIt("commonmark").enable("table")


def slugify(text: str) -> str:
    """GitHub-style anchor for a heading text (before duplicate suffixes)."""
    kept = "".join(ch for ch in text.strip().lower() if ch.isalnum() or ch in " -")
    return kept.replace(" ", "-")


def unique_anchors(texts: Iterable[str]) -> list[str]:
    """Anchors for headings in document order; repeats get ``-1``, ``-2`` ... like GitHub."""
    seen: dict[str, int] = {}
    used: set[str] = set()
    out: list[str] = []
    for text in texts:
        base = slugify(text)
        anchor = base
        count = seen.get(base, 0)
        while anchor in used:
            count += 1
            anchor = f"{base}-{count}"
        seen[base] = count
        used.add(anchor)
        out.append(anchor)
    return out


def inline_text(token: Token) -> str:
    parts: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline", "html_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
    return "".join(parts)


def _heading_tokens(tokens: list[Token]) -> Iterator[tuple[int, Token, Token]]:
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open":
            yield i, tok, tokens[i + 1]


def headings(text: str) -> list[Heading]:
    """Every heading of a Markdown text, with anchors and 1-based line numbers."""
    tokens = markdown_parser().parse(text)
    found = [
        (int(tok.tag[1]), inline_text(inline), (tok.map or [0])[0] + 1)
        for _, tok, inline in _heading_tokens(tokens)
    ]
    anchors = unique_anchors(t for _, t, _ in found)
    return [Heading(level, t, a, line) for (level, t, line), a in zip(found, anchors, strict=True)]


def links(text: str) -> list[Link]:
    """Every link target in a Markdown text with the line it is written on."""
    lines = text.splitlines()
    out: list[Link] = []
    for tok in markdown_parser().parse(text):
        if tok.type != "inline" or not tok.children:
            continue
        start, end = tok.map or (0, len(lines))
        cursor = start
        for child in tok.children:
            if child.type != "link_open":
                continue
            href = str(child.attrGet("href") or "")
            line = _find_line(lines, href, cursor, end)
            cursor = line - 1
            out.append(Link(href, line))
    return out


def _find_line(lines: list[str], href: str, start: int, end: int) -> int:
    """The 1-based line of ``href`` within lines[start:end] (the block's first line if unseen)."""
    needles = {href, unquote(href)}
    for i in range(start, min(end, len(lines))):
        if any(n and n in lines[i] for n in needles):
            return i + 1
    return start + 1


def is_internal(target: str) -> bool:
    """True for links within the notes: relative paths and ``#anchor``; False for URLs."""
    return bool(target) and not _SCHEME.match(target) and not target.startswith("//")


@lru_cache(maxsize=256)
def _load_cached(path: Path, mtime_ns: int) -> ContentFile:
    text = path.read_text(encoding="utf-8")
    return ContentFile(path, text, tuple(headings(text)), tuple(links(text)))


def load(path: Path | str) -> ContentFile:
    """Parse one Markdown file (cached until the file changes)."""
    p = Path(path).resolve()
    return _load_cached(p, p.stat().st_mtime_ns)


def content_files(root: Path | None = None) -> list[Path]:
    """Every ``*.md`` file under the content directory, sorted."""
    base = Path(root) if root is not None else content_dir()
    return sorted(p for p in base.rglob("*.md") if p.is_file())


def _split(target: str) -> tuple[str, str]:
    path, _, anchor = target.partition("#")
    return unquote(path), unquote(anchor)


def _target_file(target: str, relative_to: Path | None, root: Path) -> Path:
    path, _ = _split(target)
    if not path:
        if relative_to is None:
            raise ValueError(f"'{target}' is an anchor-only link: pass relative_to=")
        return Path(relative_to)
    if relative_to is not None:
        return (Path(relative_to).parent / path).resolve()
    # "content/x.md" (as quizzes and labs write it) names a file in the content root.
    return (root / path.removeprefix("content/")).resolve()


def check_link(
    target: str, *, relative_to: Path | str | None = None, root: Path | None = None
) -> str | None:
    """Why ``target`` does not resolve, or None when it does.

    ``target`` is either project-relative (``content/streams.md#amazon-msk``, as quiz files
    and labs write it), content-relative (``streams.md#amazon-msk``), or, with
    ``relative_to`` set to the file that contains the link, relative to that file.
    External URLs are not checked and always resolve.
    """
    if not is_internal(target):
        return None
    base = Path(root) if root is not None else content_dir()
    rel = Path(relative_to) if relative_to is not None else None
    file = _target_file(target, rel, base)
    if not file.is_file():
        return f"no such file {display_path(file)}"
    _, anchor = _split(target)
    if not anchor or file.suffix.lower() != ".md":
        return None
    parsed = load(file)
    if anchor in parsed.anchors:
        return None
    close = _close(anchor, parsed.anchors)
    hint = f" (did you mean {', '.join('#' + c for c in close)}?)" if close else ""
    return f"no heading with anchor #{anchor} in {display_path(file)}{hint}"


def resolve_link(
    target: str, *, relative_to: Path | str | None = None, root: Path | None = None
) -> bool:
    """True when ``target`` (e.g. ``content/decision-points.md#sqs-vs-sns``) resolves."""
    return check_link(target, relative_to=relative_to, root=root) is None


def broken_links(root: Path | None = None) -> list[BrokenLink]:
    """Every internal link in every content file that does not resolve, with file and line."""
    base = Path(root) if root is not None else content_dir()
    out: list[BrokenLink] = []
    for path in content_files(base):
        for link in load(path).links:
            if not is_internal(link.target):
                continue
            reason = check_link(link.target, relative_to=path.resolve(), root=base)
            if reason is None:
                continue
            target_file = _target_file(link.target, path.resolve(), base)
            kind = "missing-file" if not target_file.is_file() else "missing-anchor"
            out.append(BrokenLink(path, link.line, link.target, kind, reason, target_file))
    return out


def missing_required_headings(root: Path | None = None) -> list[str]:
    """Contract files that are missing, or that lack one of their mandatory H2 headings."""
    base = Path(root) if root is not None else content_dir()
    problems: list[str] = []
    for name, required in REQUIRED_HEADINGS.items():
        path = base / name
        if not path.is_file():
            problems.append(f"{display_path(path)}: file is missing")
            continue
        h2 = {h.text for h in load(path).headings if h.level == 2}
        problems.extend(f"{display_path(path)}: missing '## {t}'" for t in required if t not in h2)
    return problems


def _close(word: str, candidates: Iterable[str]) -> list[str]:
    import difflib

    return difflib.get_close_matches(word, sorted(candidates), n=3, cutoff=0.5)


def display_path(path: Path) -> str:
    """A path relative to the project (or the working directory) when possible."""
    p = Path(path)
    for base in (content_dir().parent, Path.cwd()):
        try:
            return str(p.resolve().relative_to(base.resolve()))
        except ValueError:
            continue
    return str(p)
