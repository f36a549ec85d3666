"""Lab 4 (Step Functions saga) through the shared lab tests: the notebooks' structure, full
marks for the source, 0 for the untouched learner copy, and each wrong submission losing
exactly its points, by ``eventlab grade`` and by a real ``nbgrader autograde``.

The shared support (tests/labs_support.py) lists labs 1 and 3; this module registers lab 4
in its tables for its own duration and runs the shared test bodies on it.
"""

from __future__ import annotations

import copy
from unittest import mock

import pytest

from tests import labs_support as support
from tests.labs import test_grading as grading
from tests.labs import test_notebooks as notebooks
from tests.labs_support import M

LAB, NAME, TOTAL = "lab04", "lab04_stepfunctions", 17.0

WRONG_ORDER = '''\
for name in ["ReserveFlight", "ReserveHotel", "ReserveCar"]:
    states[name]["Catch"] = [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "CancelFlight"}]
states["CancelFlight"] = {"Type": "Task", "Resource": fn["cancel-flight"], "Retry": RETRY,
                          "ResultPath": None, "Next": "CancelHotel"}
states["CancelHotel"] = {"Type": "Task", "Resource": fn["cancel-hotel"], "Retry": RETRY,
                         "ResultPath": None, "Next": "CancelCar"}
states["CancelCar"] = {"Type": "Task", "Resource": fn["cancel-car"], "Retry": RETRY,
                       "ResultPath": None, "Next": "BookingFailed"}
states["BookingFailed"] = {"Type": "Fail", "Error": "BookingFailed"}
deploy("travel-booking", states)'''

PARALLEL = '''states["Notify"] = {
    "Type": "Parallel", "ResultPath": "$.notified", "Next": "Booked",
    "Branches": [
        {"StartAt": "Email", "States": {
            "Email": {"Type": "Task", "Resource": fn["notify-email"], "End": True}}},
        {"StartAt": "Sms", "States": {
            "Sms": {"Type": "Task", "Resource": fn["notify-sms"], "End": True}}},
    ]}'''
SEQUENTIAL = '''states["Notify"] = {"Type": "Task", "Resource": fn["notify-email"],
                    "ResultPath": "$.notified", "Next": "Sms"}
states["Sms"] = {"Type": "Task", "Resource": fn["notify-sms"], "ResultPath": "$.sms",
                 "Next": "Booked"}'''

MAP_START = 'states["IssueTickets"] = {\n    "Type": "Map"'
MAP_END = '''                                   "End": True}}},
    "Next": "Notify"}'''

MUTATIONS = [
    M("retry-without-backoff", "lab04-retry", [('"BackoffRate": 2', '"BackoffRate": 1')],
      {"retry"}, "not doubling"),
    M("retry-every-error", "lab04-retry",
      [('"ErrorEquals": ["ServiceUnavailable"]', '"ErrorEquals": ["States.ALL"]')],
      {"retry-transient-only"}, "when it failed with BookingFailed"),
    M("catch-skips-a-compensation", "lab04-saga",
      [('"ResultPath": None, "Next": "CancelHotel"}', '"ResultPath": None, "Next": "CancelFlight"}')],
      {"compensate", "approval-reject"}, "cancel-hotel never ran"),
    M("compensations-in-booking-order", "lab04-saga", [], {"compensate-order", "approval-reject"},
      "cancellations ran as cancel-flight, cancel-hotel, cancel-car", whole_cell=WRONG_ORDER),
    M("only-car-failure-injected", "lab04-inject",
      [('for item in ["flight", "hotel", "car"]:', 'for item in ["car"]:')],
      {"inject"}, "made flight, hotel fail"),
    M("no-parallel", "lab04-fanout", [(PARALLEL, SEQUENTIAL)], {"parallel"},
      "has no Parallel state"),
    M("no-map", "lab04-fanout", [("__MAP__", "")], {"map"}, "has no Map state"),
    M("callback-without-wait-for-task-token", "lab04-approval",
      [("sqs:sendMessage.waitForTaskToken", "sqs:sendMessage")],
      {"approval", "approval-reject"}, "did not wait for approval"),
    M("express-keeps-the-callback", "lab04-express",
      [('express_states["WaitForApproval"] = {', "unused = {")],
      {"express"}, "still has a .waitForTaskToken task"),
]


def _no_map(source: str) -> str:
    start = source.index(MAP_START)
    end = source.index(MAP_END) + len(MAP_END)
    task = ('states["IssueTickets"] = {"Type": "Task", "Resource": fn["issue-ticket"],\n'
            '                          "ResultPath": "$.tickets", "Next": "Notify"}')
    return source[:start] + task + source[end:]


def _mutate(nb, m):
    if m.name == "no-map":
        nb = copy.deepcopy(nb)
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == m.cell:
                cell.source = _no_map(cell.source)
        return nb
    return original_mutate(nb, m)


original_mutate = support.mutate


@pytest.fixture(scope="module")
def registered():
    """Lab 4 alone in the shared tables (and the no-map edit, a block swap), for this module."""
    with mock.patch.dict(support.LABS, {LAB: NAME}, clear=True), \
            mock.patch.dict(support.MUTATIONS, {LAB: MUTATIONS}), \
            mock.patch.dict(support.TOTALS, {LAB: TOTAL}), \
            mock.patch.object(support, "mutate", _mutate):
        yield


@pytest.fixture(scope="module")
def course(registered, tmp_path_factory):
    return support.build_lab_course(tmp_path_factory.mktemp("lab04"))


# -- the notebooks -------------------------------------------------------------------------
def test_source_metadata_is_complete_and_valid(registered) -> None:
    notebooks.test_source_metadata_is_complete_and_valid(LAB)


def test_check_cells_are_worth_their_checks(registered) -> None:
    notebooks.test_check_cells_are_worth_their_checks(LAB)


def test_every_step_explains_links_the_notes_and_has_code_and_a_check(registered) -> None:
    notebooks.test_every_step_explains_links_the_notes_and_has_code_and_a_check(LAB)


@pytest.mark.parametrize("which", ["source", "learner"])
def test_links_to_the_notes_resolve(registered, which) -> None:
    path = support.source_notebook(LAB) if which == "source" else support.learner_notebook(LAB)
    notebooks.test_links_to_the_notes_resolve(path)


def test_learner_copy_holds_no_solutions_or_hidden_tests(registered) -> None:
    notebooks.test_learner_copy_holds_no_solutions_or_hidden_tests(LAB)


def test_learner_copy_is_what_nbgrader_generates_now(course) -> None:
    notebooks.test_learner_copy_is_what_nbgrader_generates_now(LAB, course)


def test_lab_ends_with_the_decision_quiz(registered) -> None:
    notebooks.test_lab_ends_with_the_decision_quiz(LAB, "sfn-standard-vs-express")


def test_first_code_cell_starts_the_sandbox_with_one_call(registered) -> None:
    notebooks.test_first_code_cell_starts_the_sandbox_with_one_call(LAB)


def test_every_mutation_applies_to_the_solution(registered) -> None:
    good = support.filled(LAB)
    for m in MUTATIONS:
        changed = support.mutate(good, m)
        cell = [c for c in changed.cells if c.metadata["nbgrader"]["grade_id"] == m.cell][0]
        before = [c for c in good.cells if c.metadata["nbgrader"]["grade_id"] == m.cell][0]
        assert cell.source != before.source, m.name


# -- grading -------------------------------------------------------------------------------
def test_totals(registered) -> None:
    grading.test_totals(LAB)


def test_source_notebook_gets_full_marks(course) -> None:
    grading.test_source_notebook_gets_full_marks(LAB, course)


def test_filled_in_learner_copy_gets_full_marks_both_ways(course) -> None:
    grading.test_filled_in_learner_copy_gets_full_marks_both_ways(LAB, course)


def test_untouched_learner_copy_runs_and_scores_zero(course) -> None:
    grading.test_untouched_learner_copy_runs_and_scores_zero(LAB, course)


@pytest.mark.parametrize("mistake", MUTATIONS, ids=[m.name for m in MUTATIONS])
def test_wrong_submission_loses_exactly_its_points(mistake, course) -> None:
    grading.test_wrong_submission_loses_exactly_its_points(LAB, mistake, course)


def test_nbgrader_ran_cleanly_and_every_test_cell_scored(course) -> None:
    grading.test_nbgrader_ran_cleanly_and_every_test_cell_scored(LAB, course)


def test_nbgrader_feedback_is_generated(course) -> None:
    grading.test_nbgrader_feedback_is_generated(LAB, course)
