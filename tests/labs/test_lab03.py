"""Lab 3's pipe step (step 7) beyond the shared tests of test_grading.py and
test_notebooks.py: the step's cells run in this process (the bus, the rules and the pipe, as
the source answers them or with one golden mistake), and the step's checks must fail
exactly the checks the mistake names, with the points they carry; a correct alternative
keeps all six points.  The checks' probes must leave nothing behind in the storefront's queue."""

from __future__ import annotations

import json

import pytest

from autograder import golden
from autograder import lab as lab_api
from autograder.checks import run_check
from autograder.labs import lab03
from autograder.labs import lab03_pipe as P
from eventlab.sandbox import inspect

LAB = "lab03"
CELLS = ("lab03-setup", "lab03-bus", "lab03-rules", "lab03-try", "lab03-pipe", "lab03-pipe-try")
STEP = [c for c in lab03.CHECKS if c.step == "pipe"]
STEP_IDS = {c.id for c in STEP}
PIPE_CASES = [m for m in golden.MUTATIONS[LAB] if m.cell == "lab03-pipe"]


def _run_step(mutation: golden.Mutation | None = None):
    """Run the cells the pipe step needs (one mistake in them, or none) and then the step's
    checks; return the sandbox and the checks' results by id."""
    nb = golden.filled(LAB)
    if mutation is not None:
        nb = golden.mutate(nb, mutation)
    sources = {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
               if c.metadata.get("nbgrader", {}).get("grade_id") in CELLS}
    namespace: dict = {}
    for cell in CELLS:
        exec(compile(sources[cell], cell, "exec"), namespace)   # noqa: S102 - the lab's own cells
    sb = namespace["sb"]
    return sb, {c.id: run_check(c, sb) for c in STEP}


@pytest.fixture
def stop_lab():
    yield
    lab_api.stop()


def test_the_step_is_worth_six_points_and_the_lab_twenty_two() -> None:
    assert sum(c.points for c in STEP) == 6
    assert golden.TOTALS[LAB] == 22


def test_the_source_answer_gets_every_point_and_leaves_the_queue_empty(stop_lab) -> None:
    sb, results = _run_step()
    assert {i: r.earned for i, r in results.items()} == {c.id: c.points for c in STEP}, \
        [r.message for r in results.values() if not r.ok]
    assert inspect.messages(sb, P.QUEUE) == []
    # the try cell's draft and cancellation, and the checks' own, never reached the enrichment
    seen = json.dumps([e["event"] for e in inspect.invocations(sb, "customer-lookup")])
    assert "ord-3001" in seen and "DRAFT" not in seen and "CANCELLED" not in seen
    assert sum(b["filtered_out"] for b in inspect.pipe_batches(sb, P.PIPE)) == 4


@pytest.mark.parametrize("mutation", PIPE_CASES, ids=[m.name for m in PIPE_CASES])
def test_each_mistake_loses_exactly_its_checks_and_an_alternative_none(mutation, stop_lab) -> None:
    sb, results = _run_step(mutation)
    failed = {i for i, r in results.items() if not r.ok}
    assert failed == mutation.fails & STEP_IDS, {i: r.message for i, r in results.items()}
    lost = sum(r.points - r.earned for r in results.values())
    assert lost == sum(c.points for c in STEP if c.id in mutation.fails)
    if mutation.fails:
        assert mutation.says in " ".join(results[i].message for i in failed)
        assert all(results[i].hint for i in failed)
    # whatever the pipe did with them, the checks took their probes back out of the queue
    assert [m.body for m in inspect.messages(sb, P.QUEUE) if "ord-probe-" in m.body] == []


def test_a_pipe_targeting_the_bus_by_name_is_told_to_use_the_arn(stop_lab) -> None:
    no_enrichment = next(m for m in PIPE_CASES if m.name == "pipe-without-enrichment")
    sb, _ = _run_step(no_enrichment)
    pipes = sb.client("pipes")
    pipes.update_pipe(Name=P.PIPE, RoleArn=inspect.pipes(sb)[0].role_arn, Target="orders")
    result = run_check(next(c for c in STEP if c.id == "pipe"), sb)
    assert not result.ok
    assert "not the bus's ARN" in result.message and "a pipe's Target is an ARN" in result.message
