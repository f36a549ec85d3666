"""Lab 4 (Step Functions saga) beyond the shared tests of test_grading.py and
test_notebooks.py (which cover every lab): every golden mistake changes the cell it
names (the no-map mistake swaps a whole block, through ``Mutation.transform``)."""

from __future__ import annotations

from autograder.golden import MUTATIONS, filled, mutate

LAB = "lab04"


def test_every_mutation_applies_to_the_solution() -> None:
    good = filled(LAB)
    for m in MUTATIONS[LAB]:
        changed = mutate(good, m)
        cell = [c for c in changed.cells if c.metadata["nbgrader"]["grade_id"] == m.cell][0]
        before = [c for c in good.cells if c.metadata["nbgrader"]["grade_id"] == m.cell][0]
        assert cell.source != before.source, m.name
