"""The shipped question bank: valid, and every coverage minimum of issue 8 met.

(Outside tests/quizzes/, whose fixtures point EVENTLAB_HOME at a fixture tree.)"""

from __future__ import annotations

from eventlab.cli import main


def test_the_real_bank_is_valid_and_meets_the_coverage_minimums(capsys):
    assert main(["quiz", "validate", "--coverage"]) == 0
    out = capsys.readouterr().out
    assert "210 files, 0 problem(s)" in out and "coverage minimums checked: OK" in out
