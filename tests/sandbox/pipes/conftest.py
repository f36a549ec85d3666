"""Fixtures of the Kafka-source tests: the session's Kafka broker (tests/kafka/conftest.py)
behind an MSK cluster of the sandbox."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from eventlab.sandbox import Sandbox
from tests.kafka.conftest import broker  # noqa: F401  (the session's broker, as a fixture here)


@dataclass
class Cluster:
    arn: str
    bootstrap: str
    topic: str          # a topic of its own for each test (the broker is shared)


@pytest.fixture
def msk(sandbox: Sandbox, broker, monkeypatch: pytest.MonkeyPatch) -> Cluster:  # noqa: F811
    """An ACTIVE MSK cluster whose broker is the session's (KAFKA_BOOTSTRAP_SERVERS), and a
    new topic name."""
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", broker.bootstrap_servers)
    kafka = sandbox.client("kafka")
    arn = kafka.create_cluster(ClusterName="lab", KafkaVersion="3.6.0", NumberOfBrokerNodes=1, BrokerNodeGroupInfo={
        "InstanceType": "kafka.m5.large", "ClientSubnets": ["subnet-a"]})["ClusterArn"]
    sandbox.clock.advance(minutes=5)
    bootstrap = kafka.get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerStringTls"]
    return Cluster(arn, bootstrap, f"orders-{uuid.uuid4().hex[:8]}")
