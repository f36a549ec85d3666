import subprocess
import sys
from pathlib import Path

from eventlab.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_help_lists_the_modes(capsys):
    try:
        main(["quiz", "--help"])
    except SystemExit as exc:
        assert exc.code == 0
    out = capsys.readouterr().out
    for mode in ("practice", "exam", "review", "srs", "stats", "validate"):
        assert mode in out


def test_an_empty_bank_says_so(tmp_path, capsys):
    assert main(["quiz", str(tmp_path)]) == 1
    assert "has no usable questions yet" in capsys.readouterr().out


def test_start_up_imports_stay_light():
    """What runs before the first question imports no AWS, no widgets, no parser, no FSRS."""
    code = (
        "import sys, eventlab.cli.quiz, quizzes.runner, quizzes.bank, quizzes.store, quizzes.session;"
        "heavy = [m for m in ('moto', 'boto3', 'eventlab.sandbox', 'ipywidgets', 'markdown_it', 'yaml',"
        " 'fsrs', 'rich.markdown') if m in sys.modules];"
        "print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
