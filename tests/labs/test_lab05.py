"""Lab 5 (API Gateway -> SQS -> Lambda) beyond the shared tests of test_grading.py and
test_notebooks.py (which cover every lab): a correct variant of the integration (the
``action/SendMessage`` URI with QueueUrl as a parameter) keeps full marks."""

from __future__ import annotations

from autograder.golden import MUTATIONS, TOTALS

LAB = "lab05"


def test_the_action_uri_variant_is_a_correct_answer(lab_course) -> None:
    variant = next(m for m in MUTATIONS[LAB] if m.name == "action-uri-variant")
    assert not variant.fails
    assert lab_course.grade(LAB, variant.name)["score"] == TOTALS[LAB]
    assert lab_course.nbgrader_score(LAB, variant.name) == TOTALS[LAB]
