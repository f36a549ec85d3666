"""The shipped question bank: valid, and every coverage minimum of issue 8 met.

(Outside tests/quizzes/, whose fixtures point EVENTLAB_HOME at a fixture tree.)"""

from __future__ import annotations

from pathlib import Path

from eventlab import claims
from eventlab.cli import main
from eventlab.paths import project_root
from quizzes.bank import parse_bank
from quizzes.paths import default_bank_dir
from quizzes.validate import validate_bank


def test_the_real_bank_is_valid_and_meets_the_coverage_minimums(capsys):
    assert main(["quiz", "validate", "--coverage"]) == 0
    out = capsys.readouterr().out
    assert "232 files, 0 problem(s)" in out and "coverage minimums checked: OK" in out


def test_every_linked_example_is_a_block_of_the_note_it_names():
    """Checked against eventlab.claims directly, not through the validator's own lookup."""
    root = project_root()
    blocks = {(c.path.resolve().relative_to(root).as_posix(), c.id) for c in claims.claims()}
    questions = parse_bank(default_bank_dir()).questions
    refs = [(q.id, ref) for q in questions for ref in q.examples]
    assert refs, "no question links a runnable example"
    missing = [(qid, ref) for qid, ref in refs if tuple(ref.split("#", 1)) not in blocks]
    assert missing == []


def test_a_mistyped_example_id_in_the_real_bank_is_an_error_naming_file_and_id(tmp_path: Path):
    source = default_bank_dir() / "qc-025.md"
    text = source.read_text(encoding="utf-8")
    assert "content/events.md#eb-archive-replay" in text
    (tmp_path / "qc-025.md").write_text(
        text.replace("#eb-archive-replay", "#eb-archive-replays"), encoding="utf-8"
    )
    [problem] = validate_bank(tmp_path).problems
    assert problem.path.name == "qc-025.md"
    assert "example id 'eb-archive-replays' does not exist in the notes" in problem.message


def test_validating_the_examples_does_not_start_or_import_the_sandbox():
    """The quiz lists example ids through eventlab.claims, which only parses the notes."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from quizzes.paths import default_bank_dir\n"
        "from quizzes.validate import validate_bank\n"
        "report = validate_bank(default_bank_dir())\n"
        "assert report.ok and any(q.examples for q in report.questions)\n"
        "print(sorted(m for m in sys.modules if m.startswith('eventlab.sandbox')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_backpressure_question_names_the_lab_7_step_that_demonstrates_it():
    from quizzes.links import lab_steps

    steps = lab_steps("lab07")
    questions = [q for q in parse_bank(default_bank_dir()).questions if q.decision == "buffer-vs-throttle"]
    assert len(questions) >= 12
    for q in questions:
        assert q.labs, q.id
        assert all(ref.startswith("lab07#") and ref.split("#", 1)[1] in steps for ref in q.labs), q.id


def test_a_mistyped_lab_step_is_an_error_naming_the_lab_s_steps(tmp_path: Path):
    source = default_bank_dir() / "qd-001.md"
    text = source.read_text(encoding="utf-8")
    assert "lab07#step-4-predict-the-drain-before-you-run-it" in text
    (tmp_path / "qd-001.md").write_text(text.replace("#step-4-predict", "#step-4-guess"), encoding="utf-8")
    [problem] = validate_bank(tmp_path).problems
    assert "lab07 has no step 'step-4-guess-the-drain-before-you-run-it'" in problem.message
    assert "step-4-predict-the-drain-before-you-run-it" in problem.message
