"""MSK in the sandbox: clusters go ACTIVE on the clock and point at a real broker."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from eventlab.kafka import EmbeddedBroker, tools
from eventlab.sandbox import Sandbox
from tests.kafka.conftest import process_gone

BROKERS = {"InstanceType": "kafka.m5.large", "ClientSubnets": ["subnet-a", "subnet-b", "subnet-c"]}


def provisioned(kafka: Any, name: str = "lab", **extra: Any) -> str:
    return kafka.create_cluster(ClusterName=name, KafkaVersion="3.6.0", NumberOfBrokerNodes=3,
                                BrokerNodeGroupInfo=BROKERS, **extra)["ClusterArn"]


def fields(response: dict[str, Any]) -> dict[str, str]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    return exc.value.response["Error"]["Code"], exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_cluster_goes_active_on_the_clock_and_serves_kafka(sandbox: Sandbox) -> None:
    kafka = sandbox.client("kafka")
    msk = sandbox.service("msk")
    assert msk.broker is None  # started lazily, with the first cluster
    arn = provisioned(kafka)
    assert kafka.describe_cluster(ClusterArn=arn)["ClusterInfo"]["State"] == "CREATING"
    with pytest.raises(ClientError) as exc:
        kafka.get_bootstrap_brokers(ClusterArn=arn)
    assert error(exc) == ("BadRequestException", 400)
    assert "CREATING" in exc.value.response["Error"]["Message"]
    sandbox.clock.advance(minutes=4)
    assert kafka.describe_cluster(ClusterArn=arn)["ClusterInfo"]["State"] == "CREATING"
    sandbox.clock.advance(minutes=1)
    assert kafka.describe_cluster(ClusterArn=arn)["ClusterInfo"]["State"] == "ACTIVE"
    brokers = fields(kafka.get_bootstrap_brokers(ClusterArn=arn))
    assert brokers == {"BootstrapBrokerStringTls": msk.broker.bootstrap_servers}  # TLS: the default
    bs = brokers["BootstrapBrokerStringTls"]
    tools.create_topic(bs, "orders", 3)
    tools.produce(bs, "orders", [("o-1", "created")])
    assert [r.value for r in tools.consume(bs, "orders", "g", max_messages=1)] == ["created"]


@pytest.mark.parametrize("client_broker, auth, expected", [
    ("PLAINTEXT", None, {"BootstrapBrokerString"}),
    ("TLS_PLAINTEXT", None, {"BootstrapBrokerString", "BootstrapBrokerStringTls"}),
    ("TLS", {"Sasl": {"Iam": {"Enabled": True}, "Scram": {"Enabled": True}}},
     {"BootstrapBrokerStringSaslIam", "BootstrapBrokerStringSaslScram"}),
    ("TLS", {"Sasl": {"Iam": {"Enabled": True}}, "Unauthenticated": {"Enabled": True}},
     {"BootstrapBrokerStringSaslIam", "BootstrapBrokerStringTls"}),
])
def test_bootstrap_fields_follow_encryption_and_authentication(
        sandbox: Sandbox, client_broker: str, auth: Any, expected: set[str]) -> None:
    kafka = sandbox.client("kafka")
    extra: dict[str, Any] = {"EncryptionInfo": {"EncryptionInTransit": {"ClientBroker": client_broker}}}
    if auth:
        extra["ClientAuthentication"] = auth
    arn = provisioned(kafka, **extra)
    sandbox.clock.advance(minutes=5)
    brokers = fields(kafka.get_bootstrap_brokers(ClusterArn=arn))
    assert set(brokers) == expected
    assert set(brokers.values()) == {sandbox.service("msk").broker.bootstrap_servers}


def test_create_cluster_v2_provisioned_and_serverless(sandbox: Sandbox) -> None:
    kafka = sandbox.client("kafka")
    serverless = kafka.create_cluster_v2(ClusterName="sls", Serverless={
        "VpcConfigs": [{"SubnetIds": ["subnet-a"]}],
        "ClientAuthentication": {"Sasl": {"Iam": {"Enabled": True}}}})
    prov = kafka.create_cluster_v2(ClusterName="prov", Provisioned={
        "BrokerNodeGroupInfo": BROKERS, "KafkaVersion": "3.6.0", "NumberOfBrokerNodes": 3,
        "EncryptionInfo": {"EncryptionInTransit": {"ClientBroker": "PLAINTEXT"}}})
    assert serverless["State"] == prov["State"] == "CREATING"
    assert serverless["ClusterType"] == "SERVERLESS"
    sandbox.clock.advance(minutes=2)  # serverless is quicker
    assert kafka.describe_cluster_v2(ClusterArn=serverless["ClusterArn"])["ClusterInfo"]["State"] == "ACTIVE"
    assert kafka.describe_cluster_v2(ClusterArn=prov["ClusterArn"])["ClusterInfo"]["State"] == "CREATING"
    assert set(fields(kafka.get_bootstrap_brokers(ClusterArn=serverless["ClusterArn"]))) == {
        "BootstrapBrokerStringSaslIam"}
    sandbox.clock.advance(minutes=3)
    assert set(fields(kafka.get_bootstrap_brokers(ClusterArn=prov["ClusterArn"]))) == {
        "BootstrapBrokerString"}
    with pytest.raises(ClientError) as exc:
        kafka.list_nodes(ClusterArn=serverless["ClusterArn"])
    assert error(exc) == ("BadRequestException", 400)


def test_list_nodes_and_update_broker_count(sandbox: Sandbox) -> None:
    kafka = sandbox.client("kafka")
    arn = provisioned(kafka)
    sandbox.clock.advance(minutes=5)
    nodes = kafka.list_nodes(ClusterArn=arn)["NodeInfoList"]
    assert [n["BrokerNodeInfo"]["BrokerId"] for n in nodes] == [1.0, 2.0, 3.0]
    assert [n["BrokerNodeInfo"]["ClientSubnet"] for n in nodes] == BROKERS["ClientSubnets"]
    assert {n["NodeType"] for n in nodes} == {"BROKER"}
    assert nodes[0]["InstanceType"] == "kafka.m5.large"
    assert nodes[0]["BrokerNodeInfo"]["CurrentBrokerSoftwareInfo"]["KafkaVersion"] == "3.6.0"
    version = kafka.describe_cluster(ClusterArn=arn)["ClusterInfo"]["CurrentVersion"]
    with pytest.raises(ClientError) as exc:
        kafka.update_broker_count(ClusterArn=arn, CurrentVersion="stale", TargetNumberOfBrokerNodes=6)
    assert error(exc) == ("BadRequestException", 400)
    with pytest.raises(ClientError) as exc:
        kafka.update_broker_count(ClusterArn=arn, CurrentVersion=version, TargetNumberOfBrokerNodes=4)
    assert "multiple" in exc.value.response["Error"]["Message"]
    op = kafka.update_broker_count(ClusterArn=arn, CurrentVersion=version, TargetNumberOfBrokerNodes=6)
    assert op["ClusterArn"] == arn and ":cluster-operation/" in op["ClusterOperationArn"]
    info = kafka.describe_cluster(ClusterArn=arn)["ClusterInfo"]
    assert info["State"] == "UPDATING" and info["CurrentVersion"] != version
    sandbox.clock.advance(minutes=5)
    info = kafka.describe_cluster(ClusterArn=arn)["ClusterInfo"]
    assert (info["State"], info["NumberOfBrokerNodes"]) == ("ACTIVE", 6)
    assert len(kafka.list_nodes(ClusterArn=arn)["NodeInfoList"]) == 6


def test_delete_cluster_deletes_its_topics_and_unknown_arns_are_not_found(sandbox: Sandbox) -> None:
    kafka = sandbox.client("kafka")
    first, second = provisioned(kafka, "one"), provisioned(kafka, "two")
    sandbox.clock.advance(minutes=5)
    bs = sandbox.service("msk").broker.bootstrap_servers
    tools.create_topic(bs, "events", 2)
    assert kafka.delete_cluster(ClusterArn=first)["State"] == "DELETING"
    assert "events" in tools.list_topics(bs)  # the broker is shared with "two"
    kafka.delete_cluster(ClusterArn=second)
    assert tools.list_topics(bs) == {}
    for call in (kafka.describe_cluster, kafka.describe_cluster_v2, kafka.get_bootstrap_brokers,
                 kafka.delete_cluster):
        with pytest.raises(ClientError) as exc:
            call(ClusterArn=first)
        assert error(exc) == ("NotFoundException", 404)


def test_the_broker_stops_with_the_sandbox() -> None:
    with Sandbox() as sb:
        provisioned(sb.client("kafka"))
        pid = sb.service("msk").broker.pid
        assert not process_gone(pid)
    assert process_gone(pid)


def test_kafka_bootstrap_servers_replaces_the_embedded_broker(
        sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    with EmbeddedBroker() as external:
        monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", external.bootstrap_servers)
        kafka = sandbox.client("kafka")
        arn = provisioned(kafka, EncryptionInfo={"EncryptionInTransit": {"ClientBroker": "PLAINTEXT"}})
        sandbox.clock.advance(minutes=5)
        assert fields(kafka.get_bootstrap_brokers(ClusterArn=arn)) == {
            "BootstrapBrokerString": external.bootstrap_servers}
        assert sandbox.service("msk").broker is None
        tools.create_topic(external.bootstrap_servers, "theirs")
        kafka.delete_cluster(ClusterArn=arn)
        assert "theirs" in tools.list_topics(external.bootstrap_servers)  # never deleted there


def test_cluster_names_are_unique_and_in_the_arn(sandbox: Sandbox) -> None:
    import re

    import boto3

    kafka = sandbox.client("kafka")
    arn = provisioned(kafka, name="orders")
    assert re.fullmatch(r"arn:aws:kafka:us-east-1:123456789012:cluster/orders/[0-9a-f-]{36}-\d+", arn)
    serverless = kafka.create_cluster_v2(ClusterName="events", Serverless={
        "VpcConfigs": [{"SubnetIds": ["subnet-a"]}]})["ClusterArn"]
    assert serverless.startswith("arn:aws:kafka:us-east-1:123456789012:cluster/events/")
    with pytest.raises(ClientError) as exc:
        provisioned(kafka, name="orders")
    assert error(exc) == ("ConflictException", 409)
    with pytest.raises(ClientError) as exc:
        kafka.create_cluster_v2(ClusterName="events", Serverless={"VpcConfigs": [{"SubnetIds": ["subnet-a"]}]})
    assert error(exc) == ("ConflictException", 409)
    # an ARN with slashes goes through HTTP paths too
    over_http = boto3.client("kafka", endpoint_url=sandbox.endpoint_url, region_name="us-east-1")
    assert over_http.describe_cluster(ClusterArn=arn)["ClusterInfo"]["ClusterName"] == "orders"
    assert len(kafka.list_clusters()["ClusterInfoList"]) == 2
