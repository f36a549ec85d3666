from __future__ import annotations

from pathlib import Path

import pytest

from quizzes.bank import parse_bank
from quizzes.model import Question

FIXTURES = Path(__file__).parent / "fixtures"
BANK = FIXTURES / "bank"
BROKEN = FIXTURES / "broken"

# The key of every sample question, and a wrong answer with the right number of letters.
KEYS = {
    "sqs-vs-sns-001": ("B", "A"),
    "sqs-vs-sns-002": ("A,C", "A,B"),
    "standard-vs-fifo-001": ("C", "D"),
    "kinesis-vs-sqs-001": ("A", "B"),
    "kinesis-vs-msk-001": ("B,D,E", "A,B,C"),
    "sfn-standard-vs-express-001": ("D", "B"),
    "eventbridge-vs-sns-001": ("B", "A"),
    "sync-vs-async-001": ("A", "C"),
}


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own progress directory; links resolve against the fixtures."""
    d = tmp_path / "data"
    monkeypatch.setenv("EVENTLAB_DATA_DIR", str(d))
    monkeypatch.setenv("EVENTLAB_HOME", str(FIXTURES))
    monkeypatch.setenv(
        "COLUMNS", "160"
    )  # rich wraps at the terminal width; keep messages on one line
    return d


@pytest.fixture
def questions() -> list[Question]:
    return parse_bank(BANK).questions
