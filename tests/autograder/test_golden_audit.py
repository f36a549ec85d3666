"""The mutation audit of labs 1 and 3 (autograder.golden.audit): every graded check has a
broken variant that must lose it, except those no mistake can fail alone, and each lab has
correct alternatives. tests/labs/test_grading.py grades all of them with both graders."""

from __future__ import annotations

import pytest

from autograder.golden import MUTATIONS, audit
from autograder.lab import checks_of

# checks whose failure takes others with it (nothing exists to probe): caught by 'untouched'
CASCADE_ONLY = {"lab01": {"topic", "queues"}, "lab03": {"bus", "rules"}}


@pytest.mark.parametrize("lab", ["lab01", "lab03"])
def test_every_check_has_a_broken_variant_and_the_lab_has_alternatives(lab: str) -> None:
    failing = set().union(*(m.fails for m in MUTATIONS[lab]))
    graded = {c.id for c in checks_of(lab) if c.points}
    assert graded - failing == CASCADE_ONLY[lab]
    assert len([m for m in MUTATIONS[lab] if not m.fails]) >= 5
    table = audit(lab)
    assert table.count("NONE YET") == len(CASCADE_ONLY[lab])
    assert all(f"\n{check:<22}" in table for check in graded)
