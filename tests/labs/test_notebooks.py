"""The lab notebooks themselves: nbgrader metadata, links, structure, and a learner's
copy that nbgrader generated from the current source (never hand-edited)."""

from __future__ import annotations

import importlib
import re

import nbformat
import pytest

from autograder import registry
from autograder.lab import checks_of
from eventlab.content import check_link, is_internal
from tests.labs_support import LABS, learner_notebook, source_notebook

REQUIRED = {"grade", "grade_id", "locked", "schema_version", "solution"}
LINK = re.compile(r"\]\(([^)\s]+)\)")


def cells(path):
    return nbformat.read(path, as_version=4).cells


def nbg(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


@pytest.mark.parametrize("lab", LABS)
def test_source_metadata_is_complete_and_valid(lab: str) -> None:
    nb = nbformat.read(source_notebook(lab), as_version=4)
    nbformat.validate(nb)
    ids = [nbg(c).get("grade_id") for c in nb.cells]
    assert len(ids) == len(set(ids)), "grade_ids must be unique"
    for cell in nb.cells:
        meta = nbg(cell)
        assert REQUIRED <= set(meta), f"{meta.get('grade_id')}: missing {REQUIRED - set(meta)}"
        assert meta["schema_version"] == 3
        if meta["grade"]:
            assert meta["points"] > 0 and meta["locked"] and cell.cell_type == "code"
        if meta["solution"]:
            assert not meta["locked"] and not meta["grade"]
            assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
        else:
            assert "BEGIN SOLUTION" not in cell.source, meta["grade_id"]
        if "BEGIN HIDDEN TESTS" in cell.source:
            assert meta["grade"], meta["grade_id"]
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, "outputs stripped in source/"


@pytest.mark.parametrize("lab", LABS)
def test_check_cells_are_worth_their_checks(lab: str) -> None:
    checks = checks_of(lab)
    graded = {c.step for c in checks if c.points > 0}
    seen = set()
    for cell in cells(source_notebook(lab)):
        step = re.search(r'check\("([a-z-]+)"\)', cell.source)
        if cell.cell_type != "code" or not step:
            continue
        step = step.group(1)
        seen.add(step)
        expected = sum(c.points for c in checks if c.step == step)
        assert nbg(cell).get("points", 0) == expected, step
        has_hidden = any(c.hidden for c in checks if c.step == step)
        assert (f'hidden("{step}")' in cell.source) == has_hidden
        assert cell.source.rstrip().endswith("result.score"), "the score is the cell's value"
    assert graded <= seen, f"steps without a check cell: {graded - seen}"


@pytest.mark.parametrize("lab", LABS)
def test_source_is_what_the_generator_writes(lab: str) -> None:
    """Stale if labs/make/labNN.py changed without `python -m labs.make`."""
    built = registry.lab(lab).build()
    source = nbformat.read(source_notebook(lab), as_version=4)
    assert [(c.cell_type, c.source, c.metadata) for c in built.cells] == \
        [(c.cell_type, c.source, c.metadata) for c in source.cells]


@pytest.mark.parametrize("lab", LABS)
def test_the_lab_total_is_the_notebooks_points(lab: str) -> None:
    """The registry's total (its checks' points) is what nbgrader gives a full solution."""
    notebook = sum(float(nbg(c).get("points", 0)) for c in cells(source_notebook(lab)))
    assert registry.lab(lab).total == notebook > 0


@pytest.mark.parametrize("lab", LABS)
def test_the_registry_names_the_generators_folder(lab: str) -> None:
    entry = registry.lab(lab)
    assert importlib.import_module(entry.generator).NAME == entry.folder
    assert source_notebook(lab).parent.name == entry.folder


@pytest.mark.parametrize("lab", LABS)
def test_every_step_explains_links_the_notes_and_has_code_and_a_check(lab: str) -> None:
    nb = cells(source_notebook(lab))
    steps = [i for i, c in enumerate(nb) if c.cell_type == "markdown" and c.source.startswith("## Step")]
    assert len(steps) >= 5
    for n, start in enumerate(steps):
        end = steps[n + 1] if n + 1 < len(steps) else len(nb)
        block = nb[start:end]
        title = block[0].source.splitlines()[0]
        assert any("content/" in c.source for c in block if c.cell_type == "markdown"), title
        assert any(nbg(c).get("solution") for c in block), f"{title}: no cell for the learner"
        assert any("check(" in c.source for c in block if c.cell_type == "code"), f"{title}: no check"


@pytest.mark.parametrize("path", [source_notebook(lab) for lab in LABS]
                         + [learner_notebook(lab) for lab in LABS], ids=lambda p: p.parent.parent.name + "/" + p.name)
def test_links_to_the_notes_resolve(path) -> None:
    links = [t for c in cells(path) if c.cell_type == "markdown" for t in LINK.findall(c.source)]
    assert links
    broken = {t: check_link(t, relative_to=path) for t in links if is_internal(t)}
    assert not {t: why for t, why in broken.items() if why}


@pytest.mark.parametrize("lab", LABS)
def test_learner_copy_holds_no_solutions_or_hidden_tests(lab: str) -> None:
    text = learner_notebook(lab).read_text()
    src = nbformat.read(source_notebook(lab), as_version=4)
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    assert "YOUR CODE HERE" in text
    for cell in src.cells:
        if nbg(cell).get("solution"):
            answer = cell.source.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
            first = next(line for line in answer.splitlines() if line.strip())
            assert first.strip() not in text, f"solution line leaked: {first}"


@pytest.mark.parametrize("lab", LABS)
def test_learner_copy_is_what_nbgrader_generates_now(lab: str, lab_course) -> None:
    """Stale if the source changed without `python -m labs.make`."""
    fresh = cells(lab_course.released(lab))
    committed = cells(learner_notebook(lab))
    assert [c.cell_type for c in fresh] == [c.cell_type for c in committed]
    for new, old in zip(fresh, committed, strict=True):
        assert new.source == old.source, f"stale learner copy: run `python -m labs.make` ({nbg(old).get('grade_id')})"
        assert new.metadata == old.metadata, nbg(old).get("grade_id")


@pytest.mark.parametrize("lab,decision", [
    ("lab01", "sqs-vs-sns"), ("lab02", "kinesis-vs-sqs"), ("lab03", "eventbridge-vs-sns"),
    ("lab04", "sfn-standard-vs-express"), ("lab05", "sync-vs-async"), ("lab06", "kinesis-vs-msk"),
    ("lab07", "buffer-vs-throttle"), ("lab08", "resource-policy-vs-role")])
def test_lab_ends_with_the_decision_quiz(lab: str, decision: str) -> None:
    code = [c for c in cells(learner_notebook(lab)) if c.cell_type == "code"]
    assert f'quiz_for(decision="{decision}", n=3)' in code[-1].source


@pytest.mark.parametrize("lab", LABS)
def test_first_code_cell_starts_the_sandbox_with_one_call(lab: str) -> None:
    code = [c for c in cells(learner_notebook(lab)) if c.cell_type == "code"]
    assert f'sb = start("{lab}")' in code[0].source
