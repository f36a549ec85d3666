"""Fixtures shared by the sandbox's tests."""

from __future__ import annotations

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


@pytest.fixture
def served(tmp_path):
    """``eventlab serve --port 0`` in its own process: (its URL, the process).  Its log
    (stderr) goes to ``tmp_path / "serve.log"``: a pipe nobody reads would fill and stall it."""
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "eventlab", "serve", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=log, text=True)
    line = proc.stdout.readline()
    assert line.startswith("eventlab sandbox listening on http://127.0.0.1:"), \
        line + (tmp_path / "serve.log").read_text()
    url = line.split()[-1]
    yield url, proc
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    log.close()
