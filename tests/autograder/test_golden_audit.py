"""The mutation audit of every lab (autograder.golden.audit): every graded check has a
broken variant that must lose it, except those no mistake can fail alone, and each lab has
correct alternatives. tests/labs/test_grading.py grades all of them with both graders."""

from __future__ import annotations

import pytest

from autograder.golden import MUTATIONS, audit
from autograder.lab import checks_of
from autograder.registry import LABS

# checks whose failure takes others with it (nothing exists to probe): caught by 'untouched'.
# lab07's rehearsal drains the learner's burst through the same consumer the outcome checks
# grade, and its burst cell is read-only: no mistake fails it without them.
CASCADE_ONLY = {"lab01": {"topic", "queues"}, "lab03": {"bus", "rules"}, "lab07": {"rehearsal"}}
# correct alternatives each lab's golden set holds at least (lab 7's consumer has few forms)
ALTERNATIVES = {"lab07": 2}


@pytest.mark.parametrize("lab", sorted(LABS))
def test_every_check_has_a_broken_variant_and_the_lab_has_alternatives(lab: str) -> None:
    failing = set().union(*(m.fails for m in MUTATIONS[lab]))
    graded = {c.id for c in checks_of(lab) if c.points}
    assert graded - failing == CASCADE_ONLY.get(lab, set())
    assert len([m for m in MUTATIONS[lab] if not m.fails]) >= ALTERNATIVES.get(lab, 5)
    table = audit(lab)
    assert table.count("NONE YET") == len(CASCADE_ONLY.get(lab, set()))
    assert all(f"\n{check:<22}" in table for check in graded)


@pytest.mark.parametrize("lab,check", [("lab06", "settled"), ("lab06", "redelivered"),
                                       ("lab05", "api"), ("lab05", "api-errors"),
                                       ("lab05", "handler"), ("lab05", "queues")])
def test_the_failure_classes_of_the_issue_have_a_variant_failing_only_that_check(
        lab: str, check: str) -> None:
    """Crash consistency (commit before flush), an integration role without
    sqs:SendMessage, no error mapping, a handler probed with one kind of bad record only."""
    assert [m.name for m in MUTATIONS[lab] if m.fails == {check}]


def test_a_consumer_committing_per_message_after_its_flush_is_a_correct_alternative() -> None:
    names = {m.name for m in MUTATIONS["lab06"] if not m.fails}
    assert {"commit-per-message-after-flush", "commit-explicit-offsets-after-flush"} <= names
