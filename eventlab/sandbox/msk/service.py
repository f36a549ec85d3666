"""MSK in the sandbox: moto's control plane, wired to a real Kafka-protocol broker.

moto keeps MSK clusters ``CREATING`` forever and has no ``GetBootstrapBrokers``.  Here:

* ``CreateCluster`` / ``CreateClusterV2`` (provisioned and serverless) start the
  sandbox's embedded broker (:class:`eventlab.kafka.EmbeddedBroker`, one per sandbox,
  started with the first cluster) and the cluster goes ``ACTIVE`` after
  :data:`CREATE_SECONDS` of virtual time (``clock.advance(minutes=5)`` passes it).
  ``KAFKA_BOOTSTRAP_SERVERS``, when set, is used instead of starting a broker.
* ``GetBootstrapBrokers`` answers, once the cluster is ACTIVE, with the broker address in
  the fields AWS fills for the cluster's settings: ``BootstrapBrokerString`` when
  ``EncryptionInTransit.ClientBroker`` allows plaintext, ``BootstrapBrokerStringTls``
  when it allows TLS (the default), ``...SaslScram`` / ``...SaslIam`` when those are
  enabled; a serverless cluster has only ``BootstrapBrokerStringSaslIam``.  Every one of
  them is the same plaintext, unauthenticated listener (docs/differences.md).
* ``ListNodes`` lists the configured brokers, ``UpdateBrokerCount`` checks the version and
  the subnet multiple, goes ``UPDATING`` and back to ``ACTIVE`` with a new version.
* ``DeleteCluster`` answers ``DELETING``; when the last cluster goes, its topics and
  consumer groups are deleted from the embedded broker.  Unknown ARNs give
  ``NotFoundException`` instead of a server error.
"""

from __future__ import annotations

import json
import os
import random
import string
import threading
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from moto.core.exceptions import JsonRESTError

if TYPE_CHECKING:
    from eventlab.sandbox.core.patches import PatchSet
    from eventlab.sandbox.core.sandbox import Sandbox

CREATE_SECONDS = {"PROVISIONED": 300.0, "SERVERLESS": 120.0}  # virtual time to ACTIVE
UPDATE_SECONDS = 300.0  # UpdateBrokerCount: UPDATING -> ACTIVE
BOOTSTRAP_ENV = "KAFKA_BOOTSTRAP_SERVERS"


class KafkaApiError(JsonRESTError):
    def __init__(self, error_type: str, message: str, status: int = 400) -> None:
        super().__init__(error_type, message)
        self.code = status


def _not_found(arn: str) -> KafkaApiError:
    return KafkaApiError("NotFoundException", f"The requested resource doesn't exist: {arn}", 404)


def _bad_request(message: str) -> KafkaApiError:
    return KafkaApiError("BadRequestException", message)


def _cluster_arn(cluster: Any) -> str:
    """AWS's form, for provisioned and serverless clusters alike:
    ``arn:aws:kafka:REGION:ACCOUNT:cluster/NAME/UUID-N``."""
    return (f"arn:aws:kafka:{cluster.region_name}:{cluster.account_id}:cluster/"
            f"{cluster.cluster_name}/{uuid.uuid4()}-{random.randint(1, 25)}")


def _new_version() -> str:
    return "K" + "".join(random.choices(string.ascii_uppercase + string.digits, k=13))


def bootstrap_fields(cluster: Any, address: str) -> dict[str, str]:
    """The GetBootstrapBrokers fields AWS returns for this cluster's settings."""
    if cluster.cluster_type == "SERVERLESS":
        return {"bootstrapBrokerStringSaslIam": address}
    encryption = ((cluster.encryption_info or {}).get("encryptionInTransit") or {})
    client_broker = encryption.get("clientBroker") or "TLS"
    auth = cluster.client_authentication or {}
    sasl = auth.get("sasl") or {}
    iam = bool((sasl.get("iam") or {}).get("enabled"))
    scram = bool((sasl.get("scram") or {}).get("enabled"))
    mtls = bool((auth.get("tls") or {}).get("certificateAuthorityArnList")) or bool(
        (auth.get("tls") or {}).get("enabled"))
    unauthenticated = bool((auth.get("unauthenticated") or {}).get("enabled"))
    open_access = unauthenticated or not (iam or scram or mtls)
    fields = {}
    if client_broker in ("PLAINTEXT", "TLS_PLAINTEXT") and open_access:
        fields["bootstrapBrokerString"] = address
    if client_broker in ("TLS", "TLS_PLAINTEXT") and (open_access or mtls):
        fields["bootstrapBrokerStringTls"] = address
    if scram:
        fields["bootstrapBrokerStringSaslScram"] = address
    if iam:
        fields["bootstrapBrokerStringSaslIam"] = address
    return fields


class MSKService:
    name = "msk"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.broker: Any = None
        self._lock = threading.Lock()

    # -- the broker ------------------------------------------------------------------------
    @property
    def external(self) -> str | None:
        return os.environ.get(BOOTSTRAP_ENV) or None

    def bootstrap_servers(self) -> str:
        """The broker the sandbox's clusters use (the embedded one starts on first use)."""
        if self.external:
            return self.external
        from eventlab.kafka.broker import BrokerError, EmbeddedBroker

        with self._lock:
            if self.broker is None or not self.broker.running:
                workdir = self.sandbox.workdir
                broker = EmbeddedBroker(data_dir=workdir / "kafka" if workdir else None)
                try:
                    broker.start()
                except BrokerError as exc:
                    raise KafkaApiError("InternalServerErrorException",
                                        f"eventlab: the sandbox's Kafka broker did not start: {exc}",
                                        500) from exc
                self.broker = broker
            return str(self.broker.bootstrap_servers)

    def close(self) -> None:
        with self._lock:
            if self.broker is not None:
                self.broker.stop()
                self.broker = None

    # -- moto changes ----------------------------------------------------------------------
    def install(self, patches: PatchSet) -> None:
        from moto.kafka.models import FakeKafkaCluster, KafkaBackend
        from moto.kafka.responses import KafkaResponse

        service = self

        def after_create(original: Any) -> Any:
            def create(backend: Any, *args: Any, **kwargs: Any) -> Any:
                name = kwargs.get("cluster_name")
                if any(c.cluster_name == name for c in backend.clusters.values()):
                    raise KafkaApiError("ConflictException", f"A cluster with the name {name} already "
                                        "exists in this account and Region.", 409)
                service.bootstrap_servers()  # start the broker first: fail before creating
                result = original(backend, *args, **kwargs)
                cluster = backend.clusters[result[0]]
                provisioned = kwargs.get("provisioned") or {}
                for attr, key in (("client_authentication", "clientAuthentication"),
                                  ("encryption_info", "encryptionInfo"),
                                  ("configuration_info", "configurationInfo")):
                    if provisioned.get(key) and not getattr(cluster, attr, None):
                        setattr(cluster, attr, provisioned[key])
                cluster.current_version = _new_version()
                service._later(CREATE_SECONDS[cluster.cluster_type], cluster, "CREATING")
                return result
            return create

        def checked(original: Any) -> Any:
            def method(backend: Any, cluster_arn: str, *args: Any, **kwargs: Any) -> Any:
                if cluster_arn not in backend.clusters:
                    raise _not_found(cluster_arn)
                return original(backend, cluster_arn, *args, **kwargs)
            return method

        def deleting(original: Any) -> Any:
            def delete(backend: Any, cluster_arn: str, current_version: str | None = None) -> Any:
                cluster = backend.clusters.get(cluster_arn)
                if cluster is None:
                    raise _not_found(cluster_arn)
                if current_version and current_version != cluster.current_version:
                    raise _bad_request("The provided version doesn't match the current version "
                                       "of the cluster.")
                original(backend, cluster_arn, current_version)
                service._cluster_deleted()
                return cluster_arn, "DELETING"
            return delete

        for name in ("create_cluster", "create_cluster_v2"):
            patches.wrap(KafkaBackend, name, after_create,
                         "MSK clusters start the embedded broker and go ACTIVE on the clock")
        for name in ("describe_cluster", "describe_cluster_v2"):
            patches.wrap(KafkaBackend, name, checked, "unknown cluster ARN: NotFoundException")
        patches.replace(FakeKafkaCluster, "_generate_arn", _cluster_arn,
                        "cluster ARNs name the cluster: cluster/NAME/UUID-N, as on AWS")
        patches.wrap(KafkaBackend, "delete_cluster", deleting,
                     "DeleteCluster answers DELETING and deletes the cluster's topics")
        responses = {
            "get_bootstrap_brokers": lambda resp: service._respond(resp, service.get_bootstrap_brokers),
            "list_nodes": lambda resp: service._respond(resp, service.list_nodes),
            "update_broker_count": lambda resp: service._respond(resp, service.update_broker_count),
        }
        for name, fn in responses.items():
            patches.replace(KafkaResponse, name, fn,
                            f"moto has no {name}: answered from the sandbox's broker")

    def _later(self, delay: float, cluster: Any, expected: str, **changes: Any) -> None:
        def finish() -> None:
            if cluster.state == expected:
                for attr, value in changes.items():
                    setattr(cluster, attr, value)
                cluster.state = "ACTIVE"

        self.sandbox.clock.call_later(delay, finish)

    def _cluster_deleted(self) -> None:
        if self.external or self.broker is None or not self.broker.running:
            return  # never delete topics on a cluster that is not ours
        if any(backend.clusters for backend in self._backends()):
            return  # the broker is shared by the sandbox's clusters: keep it for the others
        from eventlab.kafka.tools import delete_all_topics

        delete_all_topics(self.broker.bootstrap_servers)

    def _backends(self) -> list[Any]:
        from moto.kafka.models import kafka_backends

        return [backend for regions in kafka_backends.values() for backend in regions.values()]

    # -- the missing operations -------------------------------------------------------------
    def _respond(self, response: Any, handler: Any) -> str:
        path = unquote(response.parsed_url.path)
        arn = path.split("/clusters/", 1)[1]
        for suffix in ("/bootstrap-brokers", "/nodes/count", "/nodes"):
            arn = arn.removesuffix(suffix)
        cluster = response.kafka_backend.clusters.get(arn)
        if cluster is None:
            raise _not_found(arn)
        body = json.loads(response.body) if response.body else {}
        return json.dumps(handler(cluster, body))

    def get_bootstrap_brokers(self, cluster: Any, _body: dict[str, Any]) -> dict[str, Any]:
        if cluster.state != "ACTIVE":
            raise _bad_request(f"You can't get bootstrap broker nodes for a cluster in "
                               f"{cluster.state} state.")
        return bootstrap_fields(cluster, self.bootstrap_servers())

    def list_nodes(self, cluster: Any, _body: dict[str, Any]) -> dict[str, Any]:
        if cluster.cluster_type == "SERVERLESS":
            raise _bad_request("This operation cannot be performed on serverless clusters.")
        group = cluster.broker_node_group_info or {}
        subnets = group.get("clientSubnets") or ["subnet-sandbox"]
        host = self.bootstrap_servers().split(",")[0].rsplit(":", 1)[0]
        nodes = []
        for broker_id in range(1, (cluster.number_of_broker_nodes or 1) + 1):
            nodes.append({
                "addedToClusterTime": cluster.creation_time,
                "instanceType": group.get("instanceType", "kafka.m5.large"),
                "nodeARN": f"{cluster.arn.replace(':cluster/', ':broker/')}/{broker_id}",
                "nodeType": "BROKER",
                "brokerNodeInfo": {
                    "attachedENIId": f"eni-{uuid.uuid5(uuid.NAMESPACE_URL, cluster.arn).hex[:17]}",
                    "brokerId": float(broker_id),
                    "clientSubnet": subnets[(broker_id - 1) % len(subnets)],
                    "clientVpcIpAddress": host,
                    "currentBrokerSoftwareInfo": {"kafkaVersion": cluster.kafka_version},
                    "endpoints": [host],
                },
            })
        return {"nodeInfoList": nodes}

    def update_broker_count(self, cluster: Any, body: dict[str, Any]) -> dict[str, Any]:
        if cluster.cluster_type == "SERVERLESS":
            raise _bad_request("This operation cannot be performed on serverless clusters.")
        if body.get("currentVersion") != cluster.current_version:
            raise _bad_request("The provided version doesn't match the current version of "
                               "the cluster.")
        if cluster.state != "ACTIVE":
            raise _bad_request(f"The cluster is in {cluster.state} state; UpdateBrokerCount "
                               "needs an ACTIVE cluster.")
        target = int(body.get("targetNumberOfBrokerNodes") or 0)
        subnets = len((cluster.broker_node_group_info or {}).get("clientSubnets") or [1])
        if target < 1 or target % subnets:
            raise _bad_request(f"The number of broker nodes must be a multiple of the number of "
                               f"Availability Zones ({subnets}).")
        if target == cluster.number_of_broker_nodes:
            raise _bad_request("The cluster already has that number of broker nodes.")
        cluster.state = "UPDATING"
        cluster.current_version = _new_version()
        operation = (f"arn:aws:kafka:{cluster.region_name}:{cluster.account_id}:cluster-operation/"
                     f"{cluster.cluster_name}/{cluster.cluster_id}/{uuid.uuid4()}")
        self._later(UPDATE_SECONDS, cluster, "UPDATING", number_of_broker_nodes=target)
        return {"clusterArn": cluster.arn, "clusterOperationArn": operation}
