"""``eventlab notes``: read the study notes in the terminal, or build them as HTML (the
notes themselves: :mod:`eventlab.notes`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.markdown import Markdown

from eventlab.notes import build_html, close_matches, find_topic, list_topics, run_example
from eventlab.paths import content_dir


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "topic",
        nargs="?",
        help="a file name (e.g. streams), a heading anchor (e.g. sqs-vs-sns) or FILE#ANCHOR",
    )
    parser.add_argument(
        "--html", metavar="DIR", help="build the notes as static HTML pages into DIR"
    )
    parser.add_argument(
        "--content", metavar="DIR", help="read notes from DIR instead of the project's content/"
    )
    parser.add_argument(
        "--run",
        metavar="ID",
        help="print one runnable example of the notes (python sandbox id=ID) and run it",
    )


def run(args: argparse.Namespace) -> int:
    root = Path(args.content) if getattr(args, "content", None) else content_dir()
    console = Console(file=sys.stdout)
    if not root.is_dir():
        print(f"eventlab notes: no content directory at {root}", file=sys.stderr)
        return 2
    if getattr(args, "run", None):
        return run_example(console, args.run, root)
    if args.html:
        pages = build_html(Path(args.html), root=root)
        console.print(f"wrote {len(pages)} pages to {Path(args.html)} (open index.html)")
        return 0
    if not args.topic:
        list_topics(console, root)
        return 0
    found = find_topic(args.topic, root)
    if not found:
        close = close_matches(args.topic, root)
        msg = f"eventlab notes: no topic or heading '{args.topic}'."
        if close:
            msg += " Did you mean: " + ", ".join(close) + "?"
        msg += " Run 'eventlab notes' to list the topics."
        print(msg, file=sys.stderr)
        return 2
    for i, section in enumerate(found):
        if len(found) > 1:
            console.rule(
                f"{section.path.name}#{section.anchor}" if section.anchor else section.path.name
            )
        # In a terminal a link is clickable; piped or saved, it shows its URL in brackets.
        console.print(Markdown(section.text, hyperlinks=console.is_terminal))
        if i < len(found) - 1:
            console.print()
    return 0
