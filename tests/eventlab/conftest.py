"""Fixtures shared by the sandbox's tests."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys

import pytest


@pytest.fixture
def no_network(monkeypatch):
    """Fail any connection that is not to this machine, and record the attempts."""
    attempts: list[object] = []
    original = socket.socket.connect

    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if self.family in (socket.AF_INET, socket.AF_INET6) and not str(host).startswith(("127.", "::1")):
            attempts.append(address)
            raise AssertionError(f"a connection left the machine: {address}")
        return original(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return attempts


@contextlib.contextmanager
def serve_process(folder):
    """``eventlab serve --port 0`` in its own process: (its URL, the process).  Its log
    (stderr) goes to ``folder / "serve.log"``: a pipe nobody reads would fill and stall it."""
    log_path = folder / "serve.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "eventlab", "serve", "--port", "0"],
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
