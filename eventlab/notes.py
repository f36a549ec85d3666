"""The study notes in the terminal, or built as HTML (``eventlab notes``, whose command
line is :mod:`eventlab.cli.notes`).

    eventlab notes                  list the topics (one per file in content/)
    eventlab notes streams          show content/streams.md
    eventlab notes sqs-vs-sns       show the section whose heading anchor is #sqs-vs-sns
    eventlab notes cost#streams     show one section of one file
    eventlab notes content/cost.md#streams
                                    the same, written as the quiz and the labs print links
                                    (``../../../content/cost.md#streams`` works too)
    eventlab notes --html DIR       write a static HTML page set into DIR
    eventlab notes --run ID         print the runnable example ``python sandbox id=ID`` and
                                    run it on a fresh sandbox (what a quiz's "See it run" names)

The HTML is built with markdown-it-py.  Headings carry the same anchors as on GitHub
(see :mod:`eventlab.content`), links between notes point at the ``.html`` pages, and
Mermaid diagrams become ``<pre class="mermaid">`` blocks: with network access the page
loads Mermaid and draws them; offline the diagram source stays readable as text.
"""

from __future__ import annotations

import difflib
import html
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from rich.console import Console
from rich.markdown import Markdown
from rich.table import Table
from rich.text import Text

from eventlab import content
from eventlab.paths import content_dir

MERMAID_SCRIPT = (
    '<script type="module">\n'
    'import mermaid from "https://cdn.jsdelivr.net/npm/mermaid@11/dist/mermaid.esm.min.mjs";\n'
    "mermaid.initialize({ startOnLoad: true });\n"
    "</script>"
)

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; display: flex; line-height: 1.5; }
nav { width: 16rem; padding: 1rem; background: #f4f4f6; min-height: 100vh; flex-shrink: 0; }
nav a { display: block; padding: .15rem 0; color: #224; text-decoration: none; }
nav a.current { font-weight: bold; }
main { padding: 1rem 2rem; max-width: 60rem; }
pre { background: #f6f8fa; padding: .75rem; overflow-x: auto; }
pre.mermaid { background: #fffdf0; }
table { border-collapse: collapse; } th, td { border: 1px solid #ccc; padding: .25rem .5rem; }
a.anchor { margin-left: .4rem; color: #bbb; text-decoration: none; font-size: .8em; }
"""


def run_example(console: Console, example_id: str, root: Path) -> int:
    """Print the example with its place in the notes, run it; 0 when its asserts hold."""
    from eventlab import claims

    found = {c.id: c for c in claims.claims(root)}
    claim = found.get(example_id.partition("#")[2] or example_id)  # content/f.md#id works too
    if claim is None:
        close = difflib.get_close_matches(example_id, list(found), n=3)
        msg = f"eventlab notes: no runnable example '{example_id}'."
        if close:
            msg += " Did you mean: " + ", ".join(close) + "?"
        print(msg, file=sys.stderr)
        return 2
    console.rule(Text(f"{claim.where} [{claim.id}]"), align="left")
    console.print(Markdown(f"```python\n{claim.code}```"))
    try:
        claims.run_claim(claim)
    except claims.ClaimFailed as failed:
        print(f"eventlab notes: {failed}", file=sys.stderr)
        return 1
    console.print(f"ran on a fresh sandbox: every assert of {claim.id} holds")
    return 0


# --- topics -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """A whole file (``anchor`` empty) or one heading's section of it."""

    path: Path
    anchor: str
    text: str


def topics(root: Path | None = None) -> dict[str, Path]:
    """Topic name (file stem) -> file, for every note."""
    return {p.stem: p for p in content.content_files(root)}


def list_topics(console: Console, root: Path | None = None) -> None:
    table = Table(title="Study notes (eventlab notes TOPIC)", show_lines=False)
    table.add_column("topic", style="bold")
    table.add_column("title")
    table.add_column("sections", justify="right")
    for stem, path in topics(root).items():
        parsed = content.load(path)
        table.add_row(stem, parsed.title, str(sum(1 for h in parsed.headings if h.level == 2)))
    console.print(table)
    console.print("A heading works too: eventlab notes sqs-vs-sns, or cost#streams.")


def section_text(path: Path, anchor: str) -> str:
    """The Markdown of one heading's section: the heading down to the next of its level."""
    parsed = content.load(path)
    heading = parsed.heading(anchor)
    if heading is None:
        raise KeyError(anchor)
    lines = parsed.text.splitlines()
    end = len(lines)
    for h in parsed.headings:
        if h.line > heading.line and h.level <= heading.level:
            end = h.line - 1
            break
    body = "\n".join(lines[heading.line - 1 : end]).rstrip() + "\n"
    return body + reference_definitions(parsed.text, body)


def reference_definitions(full_text: str, section: str) -> str:
    """The file's ``[label]: url`` lines that ``section`` uses but does not contain.

    Reference definitions usually sit at the end of a note, outside the section being
    shown; without them ``[AWS docs][eb-quota]`` would print as raw brackets.
    """
    env: dict = {}
    content.markdown_parser().parse(full_text, env)
    refs: dict[str, dict] = env.get("references", {})
    if not refs:
        return ""
    own: dict = {}
    content.markdown_parser().parse(section, own)
    have = set(own.get("references", {}))
    used = {label for label in refs if label not in have and _uses_reference(section, label)}
    if not used:
        return ""
    lines = []
    for label in sorted(used):
        ref = refs[label]
        title = f' "{ref["title"]}"' if ref.get("title") else ""
        lines.append(f"[{label}]: <{ref['href']}>{title}")
    return "\n" + "\n".join(lines) + "\n"


def _uses_reference(text: str, label: str) -> bool:
    """True when ``text`` has ``[x][label]``, ``[label][]`` or a bare ``[label]`` (any case)."""
    pattern = r"\[\s*" + r"\s+".join(re.escape(w) for w in label.split()) + r"\s*\]"
    return re.search(pattern, text, re.IGNORECASE) is not None


def normalise_topic(topic: str) -> str:
    """A link as the quiz or a lab prints it, reduced to ``stem`` or ``stem#anchor``.

    ``content/events.md#aws-appsync``, ``../../../content/events.md#aws-appsync``,
    ``events.md#aws-appsync``, ``events.html#aws-appsync`` and ``events#aws-appsync`` all
    become ``events#aws-appsync``; ``#aws-appsync`` becomes ``aws-appsync``.
    """
    text = unquote(topic.strip().strip("<>`'\""))
    name, sep, anchor = text.partition("#")
    name = name.replace("\\", "/")
    if "content/" in f"/{name}":
        name = f"/{name}".rsplit("/content/", 1)[1]
    else:
        while name.startswith(("./", "../")):
            name = name.split("/", 1)[1]
    for suffix in (".md", ".html"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    if not name:
        return anchor
    return f"{name}#{anchor}" if sep and anchor else name


def find_topic(topic: str, root: Path | None = None) -> list[Section]:
    """Sections matching a topic: a file stem, FILE#ANCHOR, or a heading anchor in any file.

    Links in the forms the quiz and the labs print (see :func:`normalise_topic`) work too.
    """
    files = topics(root)
    name, _, anchor = normalise_topic(topic).partition("#")
    if "/" in name:  # a note in a subfolder of content/: its path names it, its stem keys it
        name = name.rsplit("/", 1)[1]
    if anchor:
        path = files.get(name)
        if path is None or content.load(path).heading(anchor) is None:
            return []
        return [Section(path, anchor, section_text(path, anchor))]
    if name in files:
        return [Section(files[name], "", content.load(files[name]).text)]
    wanted = content.slugify(name.replace("_", " "))
    found = [
        Section(path, h.anchor, section_text(path, h.anchor))
        for path in files.values()
        for h in content.load(path).headings
        if h.anchor == wanted
    ]
    return found


def close_matches(topic: str, root: Path | None = None, n: int = 5) -> list[str]:
    """Topics and heading anchors that look like ``topic`` (for error messages)."""
    files = topics(root)
    candidates = set(files)
    for path in files.values():
        candidates.update(h.anchor for h in content.load(path).headings if h.level >= 2)
    word = content.slugify(topic.replace("_", " ").replace("#", " "))
    close = difflib.get_close_matches(word, sorted(candidates), n=n, cutoff=0.6)
    contains = sorted(c for c in candidates if word and word in c and c not in close)
    return (close + contains)[:n]


# --- HTML -------------------------------------------------------------------------------

_MD_LINK = re.compile(r"^(?P<path>[^#?]*?)\.md(?P<rest>[#?].*)?$", re.IGNORECASE)


def rewrite_href(href: str) -> str:
    """``x.md#a`` -> ``x.html#a`` for links between notes; other links are kept."""
    if not content.is_internal(href):
        return href
    m = _MD_LINK.match(href)
    if not m:
        return href
    path = m.group("path")
    if path.startswith("content/"):
        path = path.removeprefix("content/")
    return f"{path}.html{m.group('rest') or ''}"


def _prepare(tokens: list[Token]) -> None:
    """Give headings their GitHub anchors and point links at the HTML pages."""
    opens = [t for t in tokens if t.type == "heading_open"]
    inlines = [tokens[i + 1] for i, t in enumerate(tokens) if t.type == "heading_open"]
    texts = [content.inline_text(tok) for tok in inlines]
    for tok, anchor in zip(opens, content.unique_anchors(texts), strict=True):
        tok.attrSet("id", anchor)
    for tok in tokens:
        for child in tok.children or []:
            if child.type == "link_open":
                child.attrSet("href", rewrite_href(str(child.attrGet("href") or "")))


def render_html(text: str) -> str:
    """The HTML body for one note."""
    md = content.markdown_parser()
    renderer = md.renderer
    assert isinstance(renderer, RendererHTML)   # markdown-it's default, the one with rules
    default_fence = renderer.rules["fence"]

    def fence(self, tokens, idx, options, env):
        tok = tokens[idx]
        if tok.info.strip().split(" ")[0].lower() == "mermaid":
            return f'<pre class="mermaid">{html.escape(tok.content)}</pre>\n'
        return default_fence(tokens, idx, options, env)

    def heading_close(self, tokens, idx, options, env):
        anchor = tokens[idx - 2].attrGet("id") if idx >= 2 else None
        link = (
            f'<a class="anchor" href="#{anchor}" aria-label="link to this section">¶</a>'
            if anchor
            else ""
        )
        return f"{link}</{tokens[idx].tag}>\n"

    md.add_render_rule("fence", fence)
    md.add_render_rule("heading_close", heading_close)
    env: dict = {}
    tokens = md.parse(text, env)
    _prepare(tokens)
    return md.renderer.render(tokens, md.options, env)


def _page(title: str, body: str, nav: str, has_mermaid: bool) -> str:
    script = MERMAID_SCRIPT if has_mermaid else ""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)} - eventlab notes</title>\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<style>{_STYLE}</style>\n</head>\n<body>\n<nav>{nav}</nav>\n"
        f"<main>\n{body}</main>\n{script}\n</body>\n</html>\n"
    )


def _nav_link(up: str, rel: Path, title: str, current: bool) -> str:
    href = html.escape(up + rel.with_suffix(".html").as_posix())
    cls = ' class="current"' if current else ""
    return f'<a href="{href}"{cls}>{html.escape(title)}</a>'


def build_html(out_dir: Path, root: Path | None = None) -> list[Path]:
    """Write one HTML page per note into ``out_dir`` (index.md becomes index.html)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    base = Path(root) if root is not None else content_dir()
    files = content.content_files(base)
    parsed = {p: content.load(p) for p in files}
    ordered = sorted(files, key=lambda p: (p.stem != "index", str(p.relative_to(base))))
    written: list[Path] = []
    for path in files:
        rel = path.relative_to(base).with_suffix(".html")
        depth = len(rel.parts) - 1
        up = "../" * depth
        nav = "".join(
            _nav_link(up, o.relative_to(base), parsed[o].title, o == path) for o in ordered
        )
        text = parsed[path].text
        body = render_html(text)
        target = out_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(
            _page(parsed[path].title, body, nav, 'class="mermaid"' in body), encoding="utf-8"
        )
        written.append(target)
    return written
