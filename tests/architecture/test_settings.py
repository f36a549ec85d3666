"""Every EVENTLAB_* environment variable is named in one module, eventlab/config.py, and
that module documents each one."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from eventlab import config

ROOT = Path(__file__).resolve().parents[2]
NAME = re.compile(r"EVENTLAB_[A-Z_]+")


def test_only_the_config_module_spells_an_eventlab_variable() -> None:
    spelled = []
    for package in ("eventlab", "autograder", "quizzes"):
        for path in (ROOT / package).rglob("*.py"):
            if path == ROOT / "eventlab" / "config.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                        and NAME.fullmatch(node.value):
                    spelled.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value}")
    assert spelled == []


def test_every_variable_is_documented_in_the_config_module() -> None:
    assert len(set(config.VARIABLES)) == len(config.VARIABLES) >= 9
    for name in config.VARIABLES:
        assert f"\n{name} " in config.__doc__, name


def test_typed_readers(monkeypatch) -> None:
    monkeypatch.setenv(config.CLOCK_OFFSET, "12.5")
    monkeypatch.setenv(config.NBGRADER_HOST, "0")
    monkeypatch.setenv(config.DATA_DIR, "~/somewhere")
    monkeypatch.setenv(config.ENDPOINT, "")
    assert config.clock_offset() == 12.5
    assert config.nbgrader_host() is False
    assert config.data_dir() == Path("~/somewhere").expanduser()
    assert config.endpoint() is None
    monkeypatch.setenv(config.CLOCK_OFFSET, "soon")
    with pytest.raises(ValueError, match="EVENTLAB_CLOCK_OFFSET must be a number of seconds, not 'soon'"):
        config.clock_offset()
