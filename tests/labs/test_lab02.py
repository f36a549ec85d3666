"""Lab 2 (Kinesis pipeline) beyond the shared tests of test_grading.py and
test_notebooks.py (which cover every lab, its generator included): its hot-shard message
and its six steps."""

from __future__ import annotations

import nbformat

from tests.labs_support import source_notebook

LAB = "lab02"


def test_hot_shard_failure_shows_the_per_shard_counts(lab_course) -> None:
    graded = lab_course.grade(LAB, "constant-partition-key")
    message = next(r["message"] for r in graded["results"] if r["id"] == "partition-key")
    assert "readings per shard: shardId-000000000000:" in message
    assert message.count("shardId-") == 4


def test_lab_has_six_steps() -> None:
    nb = nbformat.read(source_notebook(LAB), as_version=4)
    assert sum(1 for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("## Step")) == 6

