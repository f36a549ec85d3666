"""Tables of docs/differences.md that the code generates, so that the page and the code
cannot disagree in silence: every patch to moto, and every quota with its default.

    python -m eventlab.sandbox.core.doc_tables          # print the tables
    python -m eventlab.sandbox.core.doc_tables --write  # put them into docs/differences.md

For the patch table a sandbox is started and every module whose patches wait for its
first import is imported, so that lazily applied patches are listed too.
``tests/sandbox/core/test_doc_tables.py`` fails when the page and the code disagree.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from eventlab.sandbox.core.capacity import QUOTAS, Quota
from eventlab.sandbox.core.patches import describe, markdown_table

PAGE = Path(__file__).resolve().parents[3] / "docs" / "differences.md"


def patch_table() -> str:
    """In a fresh interpreter: which patches apply depends on what the process has
    imported before (a deferred import of a module already loaded is no patch)."""
    result = subprocess.run([sys.executable, "-m", "eventlab.sandbox.core.doc_tables", "--patches"],
                            capture_output=True, text=True, timeout=120, check=True)
    return result.stdout.rstrip("\n")


def _patch_table_here() -> str:
    from eventlab.sandbox.core.sandbox import Sandbox

    with Sandbox(background=False) as sb:
        for name in sb.patches.pending_imports():
            importlib.import_module(name)
        return markdown_table(describe())


def _figure(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"


def aws_defaults(quota: Quota) -> str:
    """AWS's default, with its figures per region where AWS gives them."""
    if not quota.regional:
        return _figure(quota.default)
    groups = [f"{_figure(value)} in {', '.join(regions)}" for regions, value in quota.regional]
    return "; ".join([*groups, f"{_figure(quota.default)} in other regions"])


def quota_table() -> str:
    lines = ["| quota | AWS default (by region) | unit | what | source |", "|---|---|---|---|---|"]
    for name, q in sorted(QUOTAS.items()):
        lines.append(f"| `{name}` | {aws_defaults(q)} | {q.unit} | {q.what} | <{q.source}> |")
    return "\n".join(lines)


TABLES: dict[str, Callable[[], str]] = {"patches": patch_table, "quotas": quota_table}


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def page_table(name: str, page: Path = PAGE) -> str | None:
    start, end = _markers(name)
    match = re.search(re.escape(start) + r"\n(.*?)\n?" + re.escape(end), page.read_text(), re.S)
    return match.group(1) if match else None


def _literal(text: str) -> Callable[[re.Match[str]], str]:
    """A re.sub replacement that puts ``text`` in as it is (no backslash escapes)."""
    return lambda _match: text


def write(page: Path = PAGE) -> None:
    text = page.read_text()
    for name, make in TABLES.items():
        start, end = _markers(name)
        block = f"{start}\n{make()}\n{end}"
        if start not in text:
            raise SystemExit(f"{page}: no '{start}' marker for the {name} table")
        text = re.sub(re.escape(start) + r".*?" + re.escape(end), _literal(block), text, flags=re.S)
    page.write_text(text)


if __name__ == "__main__":
    if "--patches" in sys.argv[1:]:
        print(_patch_table_here())
    elif "--write" in sys.argv[1:]:
        write()
    else:
        for table in TABLES.values():
            print(table(), end="\n\n")
