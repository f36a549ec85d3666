"""Where the quiz keeps its files: the bank it ships, and the learner's data directory."""

from __future__ import annotations

from pathlib import Path

from eventlab import config


def default_bank_dir() -> Path:
    """``quizzes/bank`` beside this package (or under ``EVENTLAB_HOME`` when set)."""
    home = config.home()
    if home:
        return home / "quizzes" / "bank"
    return Path(__file__).resolve().parent / "bank"


def data_dir() -> Path:
    """The learner's data directory: ``EVENTLAB_DATA_DIR`` or platformdirs' user data dir."""
    path = config.data_dir()
    if path is None:
        from platformdirs import user_data_dir

        path = Path(user_data_dir("eventlab", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path
