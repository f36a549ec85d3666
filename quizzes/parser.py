"""Parse one question file (CONTRACT.md, "Question file format") into a :class:`Question`.

The Markdown is read with markdown-it-py and its front_matter plugin; the front matter
with PyYAML's node API so that every key and list item keeps its line number.  Problems
of form (no front matter, YAML that does not parse, an option without its explanation,
a missing field) are returned beside the question; problems of meaning (an unknown tag,
a key outside the options, a link that resolves nowhere) are the validator's.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from markdown_it import MarkdownIt
from mdit_py_plugins.front_matter import front_matter_plugin

from quizzes.model import Option, Problem, Question

KNOWN_KEYS = (
    "id",
    "services",
    "decision",
    "topics",
    "domain",
    "difficulty",
    "type",
    "answer",
    "links",
    "sources",
    "checked",
    "examples",
    "labs",
)
REQUIRED_KEYS = ("id", "services", "domain", "difficulty", "type", "answer", "links")
LIST_KEYS = ("services", "topics", "answer", "links", "sources", "examples", "labs")
OPTION_HEADING = re.compile(r"^[A-Z]$")
# libyaml's loader when PyYAML was built with it (several times faster), else pure Python;
# both keep line marks on the nodes.  One pass builds the nodes and the data from them.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    # Only the block structure is needed (stem, '## X' headings, blockquotes, with line
    # maps); skipping the inline pass halves the parse time of a 200-question bank.
    return MarkdownIt("commonmark").use(front_matter_plugin).disable(["inline", "text_join"])


def parse_file(path: Path) -> tuple[Question | None, list[Problem]]:
    """Read and parse ``path``; the question is None when the file is beyond use."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(Path(path), 1, f"cannot read the file: {exc}")]
    return parse_text(text, Path(path))


def parse_text(text: str, path: Path) -> tuple[Question | None, list[Problem]]:
    problems: list[Problem] = []

    def problem(line: int, message: str) -> None:
        problems.append(Problem(path, line, message))

    tokens = _markdown().parse(text)
    if not tokens or tokens[0].type != "front_matter":
        problem(
            1, "no front matter: the file must start with a '---' line, the YAML fields, and '---'"
        )
        return None, problems
    fm_token = tokens[0]
    body_start = fm_token.map[1] if fm_token.map else 0
    meta, lines = _read_front_matter(fm_token.content, path, problems)
    if meta is None:
        return None, problems

    for key in meta:
        if key not in KNOWN_KEYS:
            problem(lines.get(key, 2), f"unknown field '{key}' (known: {', '.join(KNOWN_KEYS)})")
    for key in REQUIRED_KEYS:
        if key not in meta or meta[key] in (None, "", []):
            problem(lines.get(key, 1), f"missing field '{key}'")
    for key in LIST_KEYS:
        value = meta.get(key)
        if value is None:
            meta[key] = []
        elif isinstance(value, str | int):
            meta[key] = [value]
        elif not isinstance(value, list):
            problem(lines.get(key, 1), f"'{key}' must be a list like [A, B]")
            meta[key] = []
    meta["answer"] = [str(a).strip().upper() for a in meta["answer"]]
    meta["services"] = [str(s) for s in meta["services"]]
    meta["topics"] = [str(s) for s in meta["topics"]]
    meta["links"] = [str(s) for s in meta["links"]]
    meta["sources"] = [str(s) for s in meta["sources"]]
    meta["examples"] = [str(s) for s in meta["examples"]]
    meta["labs"] = [str(s) for s in meta["labs"]]

    stem, options = _read_body(tokens[1:], text.splitlines(), body_start, path, problems)

    difficulty = meta.get("difficulty")
    if not isinstance(difficulty, int) or isinstance(difficulty, bool):
        if difficulty is not None:
            problem(lines.get("difficulty", 1), f"difficulty must be 1, 2 or 3, not {difficulty!r}")
        difficulty = 0
    decision = meta.get("decision")
    checked = meta.get("checked")
    question = Question(
        id=str(meta.get("id") or ""),
        path=path,
        services=meta["services"],
        domain=str(meta.get("domain") or ""),
        difficulty=difficulty,
        type=str(meta.get("type") or ""),
        answer=meta["answer"],
        links=meta["links"],
        stem=stem,
        options=options,
        decision=str(decision) if decision else None,
        topics=meta["topics"],
        sources=meta["sources"],
        checked=str(checked) if checked not in (None, "") else None,
        examples=meta["examples"],
        labs=meta["labs"],
        lines=lines,
    )
    return question, problems


def _read_front_matter(
    content: str, path: Path, problems: list[Problem]
) -> tuple[dict[str, Any] | None, dict[str, int]]:
    """The YAML mapping and the file line of every key and list item.

    The YAML starts on the file's line 2 (line 1 is the opening '---').
    """
    offset = 2
    loader = _LOADER(content)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + offset if mark else 1
        reason = getattr(exc, "problem", None) or str(exc)
        problems.append(Problem(path, line, f"front matter is not valid YAML: {reason}"))
        return None, {}
    finally:
        loader.dispose()
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        problems.append(
            Problem(path, 1, "front matter must be a YAML mapping of fields (key: value)")
        )
        return None, {}
    lines: dict[str, int] = {}
    for key_node, value_node in node.value:
        key = str(key_node.value)
        lines[key] = key_node.start_mark.line + offset
        if isinstance(value_node, yaml.SequenceNode):
            for i, item in enumerate(value_node.value):
                lines[f"{key}[{i}]"] = item.start_mark.line + offset
    return {str(k): v for k, v in data.items()}, lines


def _read_body(
    tokens: list, source: list[str], body_start: int, path: Path, problems: list[Problem]
) -> tuple[str, list[Option]]:
    """Split the body into the stem and the ``## A`` .. ``## F`` options."""

    def source_of(start: int, end: int) -> str:
        return "\n".join(source[start:end]).strip()

    # top-level blocks: (kind, map, heading text)
    blocks: list[tuple[str, tuple[int, int], str]] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.level == 0 and tok.nesting in (0, 1) and tok.map:
            if tok.type == "heading_open":
                title = tokens[i + 1].content.strip() if i + 1 < len(tokens) else ""
                blocks.append((f"heading:{tok.tag}", tuple(tok.map), title))
            elif tok.type == "blockquote_open":
                blocks.append(("quote", tuple(tok.map), ""))
            else:
                blocks.append(("text", tuple(tok.map), ""))
        i += 1

    stem_parts: list[str] = []
    options: list[Option] = []
    current: dict[str, Any] | None = None

    def close_option() -> None:
        if current is None:
            return
        letter, line = current["letter"], current["line"]
        if not current["text"]:
            problems.append(Problem(path, line, f"option {letter} has no text"))
        if not current["quotes"]:
            problems.append(Problem(path, line, f"option {letter} has no '>' explanation"))
        elif len(current["quotes"]) > 1:
            problems.append(
                Problem(
                    path,
                    line,
                    f"option {letter} has {len(current['quotes'])} '>' explanations; keep one",
                )
            )
        if current["after_quote"]:
            problems.append(
                Problem(
                    path, current["after_quote"], f"text after the explanation of option {letter}"
                )
            )
        options.append(
            Option(letter, "\n\n".join(current["text"]), "\n\n".join(current["quotes"]), line)
        )

    for kind, (start, end), title in blocks:
        line = start + 1
        if kind.startswith("heading:"):
            if kind == "heading:h2" and OPTION_HEADING.match(title):
                close_option()
                current = {
                    "letter": title,
                    "line": line,
                    "text": [],
                    "quotes": [],
                    "after_quote": 0,
                }
            else:
                problems.append(
                    Problem(
                        path,
                        line,
                        f"unexpected heading '{source[start].strip()}': options are '## A' .. '## F'",
                    )
                )
            continue
        if current is None:
            stem_parts.append(source_of(start, end))
        elif kind == "quote":
            quote = "\n".join(re.sub(r"^\s{0,3}> ?", "", s) for s in source[start:end]).strip()
            current["quotes"].append(quote)
        elif current["quotes"]:
            current["after_quote"] = current["after_quote"] or line
        else:
            current["text"].append(source_of(start, end))
    close_option()
    if not stem_parts:
        problems.append(Problem(path, body_start + 1, "no question stem before the options"))
    expected = [chr(ord("A") + i) for i in range(len(options))]
    got = [o.letter for o in options]
    if got != expected:
        first_bad = next(
            (o for o, e in zip(options, expected, strict=False) if o.letter != e), options[-1]
        )
        problems.append(
            Problem(
                path,
                first_bad.line,
                f"options must be lettered {', '.join(expected)} in order; found {', '.join(got)}",
            )
        )
    return "\n\n".join(stem_parts), options
