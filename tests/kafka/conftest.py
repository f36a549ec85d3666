"""Kafka fixtures: one embedded broker for the session, unique topic names per test.

Nothing here reaches a cluster named by ``KAFKA_BOOTSTRAP_SERVERS`` unless a test sets
it: the variable is removed for every test.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from eventlab.kafka import EmbeddedBroker

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _no_external_kafka(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setenv("EVENTLAB_KAFKA_DIR", str(tmp_path / "kafka-home"))


@pytest.fixture(scope="session")
def broker() -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker() as b:
        yield b


@pytest.fixture
def bs(broker: EmbeddedBroker) -> str:
    return broker.bootstrap_servers


@pytest.fixture
def topic_name() -> Callable[[str], str]:
    return lambda prefix="t": f"{prefix}-{uuid.uuid4().hex[:8]}"


def child_env() -> dict[str, str]:
    """Environment for a Python subprocess that imports eventlab from this checkout."""
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def process_gone(pid: int) -> bool:
    """True if ``pid`` no longer runs (a zombie waiting for its reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            state = next((ln for ln in f if ln.startswith("State:")), "")
        return "Z" in state.split(":", 1)[1][:3]
    except FileNotFoundError:
        return True
    except OSError:  # pragma: no cover - non-Linux
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False


PYTHON = sys.executable
