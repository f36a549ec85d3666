"""The embedded broker's life cycle: start, stop, no orphans, data kept, clear errors."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from eventlab.kafka import BrokerNotInstalled, BrokerStartFailed, EmbeddedBroker, PortInUse, tools
from eventlab.kafka import broker as broker_module
from tests.kafka.conftest import PYTHON, child_env, process_gone


def wait_gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process_gone(pid):
            return True
        time.sleep(0.02)
    return False


def test_start_answers_metadata_and_stop_leaves_no_process(tmp_path: Path) -> None:
    b = EmbeddedBroker().start()
    pid, data_dir = b.pid, b.data_dir
    assert pid is not None and b.running and b.host == "127.0.0.1"
    assert os.getpgid(pid) != os.getpgrp()  # a kernel's interrupt to its group misses it
    assert tools.list_topics(b.bootstrap_servers) == {}
    b.stop()
    assert wait_gone(pid)
    assert not b.running
    assert data_dir is not None and not data_dir.exists()  # its own temporary data dir


def test_killed_parent_takes_the_broker_with_it() -> None:
    script = ("from eventlab.kafka import EmbeddedBroker; import time, sys\n"
              "b = EmbeddedBroker().start(); print(b.pid, flush=True); time.sleep(60)\n")
    parent = subprocess.Popen([PYTHON, "-c", script], stdout=subprocess.PIPE, text=True,
                              env=child_env())
    try:
        broker_pid = int(parent.stdout.readline())  # type: ignore[union-attr]
        assert not process_gone(broker_pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=5)
        assert wait_gone(broker_pid), f"broker {broker_pid} outlived its killed parent"
    finally:
        parent.kill()


def test_broker_started_from_a_short_lived_thread_survives_it() -> None:
    import threading

    holder: list[EmbeddedBroker] = []
    t = threading.Thread(target=lambda: holder.append(EmbeddedBroker().start()))
    t.start()
    t.join()
    b = holder[0]
    try:
        time.sleep(0.1)
        assert b.running  # PDEATHSIG follows the launcher thread, not the caller's
        tools.list_topics(b.bootstrap_servers)
    finally:
        b.stop()


def test_restart_keeps_topics_messages_and_offsets(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with EmbeddedBroker(data_dir=data) as b:
        tools.create_topic(b.bootstrap_servers, "kept", 2)
        tools.produce(b.bootstrap_servers, "kept", [("k", "v1"), ("k", "v2"), ("k", "v3")])
        assert len(tools.consume(b.bootstrap_servers, "kept", "g", max_messages=2)) == 2
    assert data.exists()
    with EmbeddedBroker(data_dir=data) as b:
        assert tools.list_topics(b.bootstrap_servers) == {"kept": 2}
        rest = tools.consume(b.bootstrap_servers, "kept", "g", timeout=1.0)
        assert [r.value for r in rest] == ["v3"]  # the group resumes at its committed offset
        b.restart()
        assert tools.list_topics(b.bootstrap_servers) == {"kept": 2}


def test_port_in_use_names_the_port_and_the_fix() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(PortInUse, match=rf"port {port} .*already in use.*leave the port out"):
            EmbeddedBroker(port=port).start()


def test_missing_binary_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "noida_db", None)  # the package is not installed
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv(broker_module.BINARY_ENV, raising=False)
    with pytest.raises(BrokerNotInstalled, match="pip install noida-db"):
        EmbeddedBroker().start()


def test_binary_override_that_does_not_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(broker_module.BINARY_ENV, "/nonexistent/noida-db")
    with pytest.raises(BrokerNotInstalled, match="EVENTLAB_NOIDA_DB"):
        EmbeddedBroker().start()


def test_broker_that_will_not_start_shows_its_stderr(tmp_path: Path) -> None:
    fake = tmp_path / "fake-broker"
    fake.write_text("#!/bin/sh\necho 'fatal: cannot open storage' >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(BrokerStartFailed, match=r"(?s)exit code 3.*fatal: cannot open storage"):
        EmbeddedBroker(binary=str(fake)).start()


def test_second_broker_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    with EmbeddedBroker(data_dir=tmp_path / "d") as first:
        with pytest.raises(BrokerStartFailed, match="already running"):
            EmbeddedBroker(data_dir=tmp_path / "d").start()
        assert first.running


def test_pid_check_helper_sees_a_running_process() -> None:
    assert not process_gone(os.getpid())
