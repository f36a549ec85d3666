"""A pipe's Kafka source: an Amazon MSK cluster or a self-managed Apache Kafka cluster, read
from a real Kafka-protocol broker on the virtual clock.

Following https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-msk.html and
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-kafka.html:

* the source is an MSK cluster ARN (``ManagedStreamingKafkaParameters``; read once the
  cluster is ``ACTIVE``, at the address ``GetBootstrapBrokers`` gives: the sandbox's
  embedded broker) or ``smk://HOST:PORT[,HOST:PORT]`` (``SelfManagedKafkaParameters``, with
  ``AdditionalBootstrapServers``; brokers on this machine, or those ``KAFKA_BOOTSTRAP_SERVERS``
  names, only);
* each partition of ``TopicName`` is read in order, one batch at a time (the next waits
  until the target's run ends), in batches of ``BatchSize`` (default 100) with
  ``MaximumBatchingWindowInSeconds``; a batch holds records of one partition;
* ``StartingPosition`` ``TRIM_HORIZON`` (the earliest offset) or ``LATEST`` (the default:
  the end of each partition when the pipe starts reading); the pipe reads as the consumer
  group ``ConsumerGroupID`` (default: a UUID the sandbox gives the pipe) and, when that
  group has committed an offset for a partition, starts there instead, as AWS does;
* after each batch (delivered, or all filtered out) the pipe commits its offsets in that
  group, synchronously, so the group's lag is what ``eventlab kafka`` and any Kafka tool
  show;
* a record is ``eventSource`` (``aws:kafka`` with ``eventSourceArn``, or
  ``SelfManagedKafka`` with ``bootstrapServers``), ``eventSourceKey`` (``topic-partition``),
  ``topic``, ``partition`` (a string, as in AWS's sample), ``offset``, ``timestamp`` (ms),
  ``timestampType``, ``key`` (base64, when the record has one), ``value`` (base64) and
  ``headers`` (``[{name: [byte, ...]}]``); filters read ``key`` and ``value`` decoded
  (:mod:`eventlab.sandbox.pipes.transform`);
* a failed batch blocks its partition and the whole batch is retried (1, 2, 4... s apart,
  at most 60 s: AWS publishes no back-off) until it succeeds or its records expire (the
  broker deleted them: they fell below the partition's low watermark).  The Kafka sources
  have no dead-letter queue, retry limit or record age on AWS, and none here;
* determinism: at each pump round every partition's high watermark is read and the
  consumer fetches until its position reaches it, so ``producer.flush()`` then
  ``clock.advance(seconds=1)`` delivers all that was produced.  A broker that does not
  answer within :data:`SAFETY_SECONDS` (real time) is an error naming the pipe and topic
  (in the pipe's ``StateReason``), tried again :data:`BROKER_RETRY_SECONDS` later;
* only a ``RUNNING`` pipe has a consumer: ``StopPipe`` (and ``UpdatePipe``) close it,
  ``StartPipe`` opens a new one that resumes from the group's committed offsets, and
  ``DeletePipe`` closes it for good.
"""

from __future__ import annotations

import base64
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eventlab.kafka.broker import BrokerError
from eventlab.net import is_loopback
from eventlab.sandbox.pipes.sources import Cursor, Entry, Shard, StreamSource

if TYPE_CHECKING:
    from eventlab.sandbox.pipes.service import PipesService

SAFETY_SECONDS = 30.0     # real seconds a broker has to answer (never a timing assumption)
FETCH_MAX = 10_000        # records taken from the consumer at a time
BROKER_RETRY_SECONDS = 60.0   # virtual seconds before a pipe whose broker failed tries again
TIMESTAMP_TYPES = {0: "NO_TIMESTAMP_TYPE", 1: "CREATE_TIME", 2: "LOG_APPEND_TIME"}


@dataclass
class Partition:
    start: int                 # where the pipe began: the group's committed offset or StartingPosition
    fetched: int               # the consumer's position: the records before it are in ``records``
    records: dict[int, Entry] = field(default_factory=dict)   # offset -> record, not yet delivered


class Reader:
    """One pipe's consumer: every partition of its topic, assigned (no group rebalance), in
    the pipe's consumer group, fetched up to the high watermark on demand."""

    def __init__(self, pipe_name: str, bootstrap: str, topic: str, group: str, position: str) -> None:
        from confluent_kafka import Consumer

        self.pipe_name, self.bootstrap, self.topic, self.group = pipe_name, bootstrap, topic, group
        self.position = position
        self.consumer = Consumer({
            "bootstrap.servers": bootstrap, "group.id": group, "client.id": f"eventlab-pipe-{pipe_name}",
            "enable.auto.commit": False, "enable.auto.offset.store": False,
            "allow.auto.create.topics": False, "log_level": 0})
        self.partitions: dict[int, Partition] = {}

    def _failed(self, doing: str, exc: BaseException | None = None) -> BrokerError:
        return BrokerError(f"pipe {self.pipe_name}: the sandbox could not {doing} topic {self.topic!r} on "
                           f"{self.bootstrap} within {SAFETY_SECONDS:.0f} s" + (f": {exc}" if exc else "")
                           + ". Check that the broker runs (`eventlab kafka topics`), or stop the pipe.")

    def _tp(self, partition: int, offset: int | None = None) -> Any:
        from confluent_kafka import TopicPartition

        return TopicPartition(self.topic, partition) if offset is None else TopicPartition(self.topic, partition, offset)

    def refresh(self) -> None:
        """Find new partitions and fetch each one up to its high watermark (read now)."""
        from confluent_kafka import KafkaException

        try:
            topic = self.consumer.list_topics(self.topic, timeout=SAFETY_SECONDS).topics.get(self.topic)
            if topic is None or topic.error is not None:
                return                           # no such topic (yet): nothing to read
            reassign = self._discover(sorted(topic.partitions))
            behind: dict[int, int] = {}
            for number, part in self.partitions.items():
                low, high = self.consumer.get_watermark_offsets(self._tp(number), timeout=SAFETY_SECONDS,
                                                                cached=False)
                if part.fetched < low:           # the broker deleted records: they expired
                    part.fetched, reassign = low, True
                _drop_before(part.records, low)
                if part.fetched < high:
                    behind[number] = high
            if reassign:
                self.consumer.assign([self._tp(n, p.fetched) for n, p in self.partitions.items()])
            self._fetch(behind)
        except KafkaException as exc:
            raise self._failed("read", exc) from exc

    def _discover(self, numbers: list[int]) -> bool:
        new = [n for n in numbers if n not in self.partitions]
        if not new:
            return False
        committed = {tp.partition: tp.offset
                     for tp in self.consumer.committed([self._tp(n) for n in new], timeout=SAFETY_SECONDS)}
        for number in new:
            start = committed.get(number, -1)
            if start < 0:                        # the group has no offset here: StartingPosition
                low, high = self.consumer.get_watermark_offsets(self._tp(number), timeout=SAFETY_SECONDS,
                                                                cached=False)
                start = low if self.position == "TRIM_HORIZON" else high
            self.partitions[number] = Partition(start, start)
        return True

    def _fetch(self, behind: dict[int, int]) -> None:
        deadline = time.monotonic() + SAFETY_SECONDS
        while behind:
            if time.monotonic() > deadline:
                raise self._failed(f"fetch partitions {sorted(behind)} of")
            wanted = sum(high - self.partitions[n].fetched for n, high in behind.items())
            for message in self.consumer.consume(num_messages=max(1, min(wanted, FETCH_MAX)), timeout=0.1):
                number, offset = message.partition(), message.offset()
                if message.error() is not None or number is None or offset is None:
                    continue                     # partition EOF and other notices
                part = self.partitions.get(number)
                if part is None or offset < part.fetched:
                    continue
                part.records[offset] = Entry(offset, message.timestamp()[1] / 1000, message)
                part.fetched = offset + 1
            for tp in self.consumer.position([self._tp(n) for n in behind]):
                if tp.offset >= 0:               # past control records (transactions), if any
                    part = self.partitions[tp.partition]
                    part.fetched = max(part.fetched, tp.offset)
            behind = {n: high for n, high in behind.items() if self.partitions[n].fetched < high}

    def commit(self, number: int, offset: int) -> None:
        """The group's committed offset of a partition is ``offset`` (the next to read)."""
        from confluent_kafka import KafkaException

        _drop_before(self.partitions[number].records, offset)
        try:
            self.consumer.commit(offsets=[self._tp(number, offset)], asynchronous=False)
        except KafkaException as exc:
            raise self._failed(f"commit offset {offset} of partition {number} of", exc) from exc

    def close(self) -> None:
        self.consumer.close()


class KafkaSource(StreamSource):
    """An Amazon MSK cluster's topic (``ManagedStreamingKafkaParameters``)."""

    parameters = "ManagedStreamingKafkaParameters"
    retries_whole_batch = True
    gives_up = False

    def __init__(self, service: PipesService) -> None:
        super().__init__(service)
        self._readers: dict[str, Reader] = {}
        self._broken: dict[str, float] = {}     # pipe ARN -> when to try its broker again (virtual)

    @property
    def reading(self) -> set[str]:
        """The ARNs of the pipes that have a consumer open now."""
        return set(self._readers)

    def bootstrap(self, pipe: Any) -> str | None:
        """The brokers to read (None: not readable now, with the pipe's ``StateReason`` saying why)."""
        sb = self.service.sandbox
        cluster = sb.backend_for("kafka", pipe.source).clusters.get(pipe.source)
        if cluster is None:
            pipe.state_reason = f"The MSK cluster {pipe.source} does not exist."
            return None
        if cluster.state != "ACTIVE":
            return None                          # CREATING, UPDATING...: read once it is ACTIVE
        return str(sb.service("msk").bootstrap_servers())

    def identity(self, pipe: Any, reader: Reader) -> dict[str, str]:
        return {"eventSource": "aws:kafka", "eventSourceArn": pipe.source}

    def _reader(self, pipe: Any) -> Reader | None:
        bootstrap = self.bootstrap(pipe)
        if bootstrap is None or self.service.sandbox.clock.time() < self._broken.get(pipe.arn, 0.0):
            self._close(pipe.arn)                # the cluster went away, or the broker failed lately
            return None
        reader = self._readers.get(pipe.arn)
        if reader is None:
            params = (pipe.source_parameters or {}).get(self.parameters) or {}
            group = params.get("ConsumerGroupID") or pipe.__dict__.setdefault("_eventlab_group", str(uuid.uuid4()))
            reader = self._readers[pipe.arn] = Reader(pipe.name, bootstrap, params["TopicName"], group,
                                                      params.get("StartingPosition") or "LATEST")
        return reader

    def shards(self, pipe: Any) -> list[Shard]:
        reader = self._reader(pipe)
        if reader is None:
            return []
        try:
            reader.refresh()
        except BrokerError:                      # try again a minute later (virtual), not at every round
            self._close(pipe.arn)
            self._broken[pipe.arn] = self.service.sandbox.clock.time() + BROKER_RETRY_SECONDS
            self.service.sandbox.clock.call_at(self._broken[pipe.arn], lambda: None)
            raise
        self._broken.pop(pipe.arn, None)
        return [Shard(f"{reader.topic}-{n}", part.records) for n, part in reader.partitions.items()]

    def start(self, pipe: Any, params: dict[str, Any], shard: Shard) -> int:
        return self._readers[pipe.arn].partitions[_partition(shard)].start

    def record(self, pipe: Any, shard: Shard, entry: Any) -> dict[str, Any]:
        message = entry.item
        kind, stamp = message.timestamp()
        record: dict[str, Any] = {
            **self.identity(pipe, self._readers[pipe.arn]),
            "eventSourceKey": shard.shard_id, "topic": message.topic(), "partition": str(message.partition()),
            "offset": message.offset(), "timestamp": stamp, "timestampType": TIMESTAMP_TYPES.get(kind, str(kind))}
        if message.key() is not None:
            record["key"] = base64.b64encode(message.key()).decode()
        value = message.value()
        record["value"] = None if value is None else base64.b64encode(value).decode()
        record["headers"] = [{name: list(data or b"")} for name, data in message.headers() or []]
        return record

    def _past(self, pipe: Any, shard: Shard, cursor: Cursor, batch: list[Any]) -> None:
        super()._past(pipe, shard, cursor, batch)
        self._readers[pipe.arn].commit(_partition(shard), cursor.next_sequence)

    def release(self, running: set[str]) -> None:
        """Close the consumers of pipes that are no longer ``RUNNING`` (stopped, updating or
        deleted): a pipe that starts again resumes from its group's committed offsets."""
        for arn in [a for a in self._readers if a not in running]:
            self._close(arn)

    def _close(self, arn: str) -> None:
        reader = self._readers.pop(arn, None)
        if reader is not None:
            reader.close()
        for key in [k for k in self._cursors if k[0] == arn]:
            del self._cursors[key]

    def close(self) -> None:
        self.release(set())


class SelfManagedKafkaSource(KafkaSource):
    """A self-managed Kafka cluster's topic: ``smk://`` bootstrap servers
    (``SelfManagedKafkaParameters``)."""

    parameters = "SelfManagedKafkaParameters"

    def bootstrap(self, pipe: Any) -> str | None:
        params = (pipe.source_parameters or {}).get(self.parameters) or {}
        servers = [pipe.source.removeprefix("smk://"), *(params.get("AdditionalBootstrapServers") or [])]
        servers = [s.strip() for item in servers for s in item.split(",") if s.strip()]
        external = set((self.service.sandbox.service("msk").external or "").split(","))
        remote = [s for s in servers if not is_loopback(s.rsplit(":", 1)[0]) and s not in external]
        if remote:
            pipe.state_reason = (f"The eventlab sandbox reads Kafka brokers on this machine only, not "
                                 f"{', '.join(remote)}: use the address GetBootstrapBrokers gives.")
            return None
        return ",".join(servers)

    def identity(self, pipe: Any, reader: Reader) -> dict[str, str]:
        return {"eventSource": "SelfManagedKafka", "bootstrapServers": reader.bootstrap}


def _drop_before(records: dict[int, Entry], offset: int) -> None:
    """Forget the records before ``offset`` (delivered, or expired); they are kept in order."""
    while records and next(iter(records)) < offset:
        del records[next(iter(records))]


def _partition(shard: Shard) -> int:
    return int(shard.shard_id.rsplit("-", 1)[1])
