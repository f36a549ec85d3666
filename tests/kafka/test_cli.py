"""``eventlab kafka``: the tools, and KAFKA_BOOTSTRAP_SERVERS as the way out."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from eventlab.cli import main
from eventlab.kafka import EmbeddedBroker, tools


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    assert main(["kafka", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_topics_produce_consume_groups_and_lag(bs: str, topic_name: Any,
                                               capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    topic = topic_name()
    b = ["-b", bs]
    assert run_json(capsys, "topics", "create", topic, "-p", "3", "-c", "retention.ms=3600000",
                    *b)["created"] == topic
    assert run_json(capsys, "topics", "list", *b)[topic] == 3
    described = run_json(capsys, "topics", "describe", topic, *b)
    assert [p["partition"] for p in described["partitions"]] == [0, 1, 2]
    assert described["config"]["retention.ms"] == "3600000"
    assert run_json(capsys, "produce", topic, "AAPL:1", "MSFT:2", *b)["produced"] == 2
    monkeypatch.setattr("sys.stdin", io.StringIO("AAPL:3\nGOOG:4\n\nno key here\n"))
    assert run_json(capsys, "produce", topic, *b)["produced"] == 3
    group = topic_name("g")
    got = run_json(capsys, "consume", topic, "-g", group, "-n", "4", *b)
    assert len(got) == 4 and {r["key"] for r in got} <= {"AAPL", "MSFT", "GOOG", None}
    lag = run_json(capsys, "lag", group, *b)[group]
    # One message unread: on a partition with a commit it shows as lag 1; on a partition
    # the group never committed on, as committed and lag "-" (None), as Kafka's tool does.
    assert sum(p["end"] - (p["committed"] or 0) for p in lag["partitions"]) == 1
    assert all((p["lag"] is None) == (p["committed"] is None) for p in lag["partitions"])
    assert sum(p["end"] for p in lag["partitions"]) == 5
    assert {"group": group, "state": "EMPTY"} in run_json(capsys, "groups", "list", *b)
    assert main(["kafka", "-b", bs, "groups", "describe", group]) == 0  # a table
    assert "committed" in capsys.readouterr().out
    assert main(["kafka", "topics", "create", topic, *b]) == 1
    assert "already exists" in capsys.readouterr().err
    assert run_json(capsys, "topics", "delete", topic, *b) == {"deleted": topic}


def test_kafka_bootstrap_servers_points_the_tools_elsewhere(
        bs: str, topic_name: Any, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    topic = topic_name("ext")
    with EmbeddedBroker() as external:  # stands in for a real cluster
        monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", external.bootstrap_servers)
        assert main(["kafka", "topics", "create", topic]) == 0
        assert main(["kafka", "produce", topic, "k:v"]) == 0
        capsys.readouterr()
        assert topic in tools.list_topics(external.bootstrap_servers)
        assert topic not in tools.list_topics(bs)
        assert "embedded broker" not in capsys.readouterr().err  # none was started
        assert topic not in run_json(capsys, "topics", "list", "-b", bs)  # the option wins


def test_without_a_cluster_the_embedded_broker_starts_and_keeps_data(
        topic_name: Any, capsys: pytest.CaptureFixture[str]) -> None:
    topic = topic_name()
    assert main(["kafka", "topics", "create", topic]) == 0
    assert "started the embedded broker" in capsys.readouterr().err
    assert main(["kafka", "produce", topic, "k:kept"]) == 0
    capsys.readouterr()
    assert [r["value"] for r in run_json(capsys, "consume", topic, "--timeout", "1")] == ["kept"]


def test_broker_errors_are_reported_not_raised(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("EVENTLAB_NOIDA_DB", "/nonexistent/noida-db")
    assert main(["kafka", "topics", "list"]) == 2
    assert "EVENTLAB_NOIDA_DB" in capsys.readouterr().err


def test_the_tools_use_the_broker_that_eventlab_kafka_broker_runs(
        topic_name: Any, capsys: pytest.CaptureFixture[str]) -> None:
    import signal
    import subprocess

    from eventlab.cli.kafka import default_data_dir, running_broker
    from tests.kafka.conftest import PYTHON, child_env, process_gone

    server = subprocess.Popen([PYTHON, "-m", "eventlab", "kafka", "broker", "--port", "0"],
                              stdout=subprocess.PIPE, text=True, env=child_env())
    try:
        assert "embedded Kafka broker on" in server.stdout.readline()  # type: ignore[union-attr]
        address = running_broker()
        assert address is not None
        topic = topic_name()
        assert main(["kafka", "topics", "create", topic]) == 0
        assert "started the embedded broker" not in capsys.readouterr().err
        assert topic in tools.list_topics(address)
        pid = json.loads((default_data_dir() / "eventlab-broker.json").read_text())["pid"]
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=10) == 0
        assert process_gone(pid) and running_broker() is None
    finally:
        server.kill()
