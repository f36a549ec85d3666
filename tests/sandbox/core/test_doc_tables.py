"""docs/differences.md lists every patch the sandbox makes to moto (lazily applied ones
included) and every quota with AWS's default and its source; ``patches.describe()`` reads
the live set."""

from __future__ import annotations

import pytest

from eventlab.sandbox import Sandbox
from eventlab.sandbox.core import doc_tables
from eventlab.sandbox.core.patches import describe, markdown_table


@pytest.mark.parametrize("name", sorted(doc_tables.TABLES))
def test_the_differences_page_carries_the_table_the_code_makes(name):
    assert doc_tables.page_table(name) == doc_tables.TABLES[name](), (
        f"docs/differences.md and the code disagree on the {name} table: run "
        "`python -m eventlab.sandbox.core.doc_tables --write` and review the diff")


def test_describe_sees_a_patch_applied_after_start():
    with Sandbox(background=False) as sb:
        before = {(p.target, p.attribute) for p in describe()}
        import types

        target = types.SimpleNamespace(x=1)
        sb.patches.replace(target, "x", 2, "a lazily applied patch")
        after = {(p.target, p.attribute) for p in describe()}
        assert after - before == {(repr(target), "x")}
    assert ("a lazily applied patch" in {p.reason for p in describe()})   # the stopped set's list


def test_the_table_has_one_row_per_distinct_patch():
    from eventlab.sandbox.core.patches import Patch

    rows = markdown_table([Patch("m.C", "f", "why"), Patch("m.C", "f", "why"), Patch("a.B", "g", "x|y")])
    assert rows.splitlines()[2:] == ["| `a.B` | `g` | x/y |", "| `m.C` | `f` | why |"]
