"""Shared fixtures.

``sandbox`` comes from eventlab's own pytest plugin (eventlab/pytest_plugin.py; the ini
option ``eventlab_lambda_time_scale = 0.1`` in pyproject.toml makes a 1 s Lambda timeout
fire after 0.1 s).  ``make_function`` deploys handler source text and returns its name.  ``no_network``
fails (and records) any connection that leaves the machine; ``served`` is ``eventlab
serve --port 0`` in its own process (also as the context manager ``serve_process``).
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
from collections.abc import Callable

import pytest

from eventlab.net import is_loopback
from eventlab.sandbox import Sandbox


@pytest.fixture
def make_function(sandbox: Sandbox) -> Callable[..., str]:
    """``make(name, source, env=..., timeout=10, **create_function_args)`` -> the name.

    The default timeout is 10 s (1 s of real time under the 0.1 scale): a cold handler
    that creates a boto3 client and makes HTTP calls needs a few hundred ms on a busy
    2-core machine, so AWS's 3 s default (0.3 s scaled) made such tests flaky.
    """
    from tests.sandbox.helpers import make_function as deploy

    def make(name: str, source: str, *, env: dict[str, str] | None = None, timeout: int = 10,
             **extra: object) -> str:
        deploy(sandbox, name, source, env, timeout=timeout, **extra)
        return name

    return make


def _labs_selected(session: pytest.Session) -> list[str] | None:
    """The labs the selected tests that use ``lab_course`` are about (their ``lab``
    parameter, or their module's ``LAB``); None (every lab) when one of them names none."""
    from tests.labs_support import LABS

    wanted = set()
    for item in session.items:
        if "lab_course" not in getattr(item, "fixturenames", ()):
            continue
        params = getattr(getattr(item, "callspec", None), "params", {})
        lab = params.get("lab") or getattr(getattr(item, "module", None), "LAB", None)
        if lab not in LABS:
            return None
        wanted.add(lab)
    return [lab for lab in LABS if lab in wanted] or None


@pytest.fixture(scope="session")
def lab_course(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The labs through nbgrader (generate, autograde, feedback) and ``eventlab grade``,
    once per session: the source, the learner's copy, the solution and each mistake.  Only
    the labs the selected tests need (``-k lab07`` grades lab 7's set alone)."""
    from tests.labs_support import build_lab_course

    return build_lab_course(tmp_path_factory.mktemp("labs"), _labs_selected(request.session))


@pytest.fixture
def no_network(monkeypatch):
    """Fail any connection that is not to this machine, and record the attempts."""
    attempts: list[object] = []
    original = socket.socket.connect

    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if self.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(host):
            attempts.append(address)
            raise AssertionError(f"a connection left the machine: {address}")
        return original(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return attempts


@contextlib.contextmanager
def serve_process(folder, *options):
    """``eventlab serve --port 0 [options]`` in its own process: (its URL, the process).  Its log
    (stderr) goes to ``folder / "serve.log"``: a pipe nobody reads would fill and stall it."""
    log_path = folder / "serve.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "eventlab", "serve", "--port", "0", *options],
                                stdout=subprocess.PIPE, stderr=log, text=True)
        line = proc.stdout.readline()
        assert line.startswith("eventlab sandbox listening on http://127.0.0.1:"), line + log_path.read_text()
        yield line.split()[-1], proc
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0


@pytest.fixture
def served(tmp_path):
    with serve_process(tmp_path) as server:
        yield server
