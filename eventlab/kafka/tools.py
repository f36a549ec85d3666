"""Kafka topic, group, lag, produce and consume functions (what ``eventlab kafka`` runs).

Each takes ``bootstrap`` (a ``host:port[,host:port]`` string) and uses confluent-kafka's
AdminClient, Producer and Consumer, so it works against the embedded broker and against
any real Kafka cluster alike.  Keyed messages use the ``murmur2_random`` partitioner:
the same key lands on the same partition as with the Java client (and so as on MSK).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from confluent_kafka import (
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    Producer,
)
from confluent_kafka import TopicPartition as _TP
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, OffsetSpec

PRODUCER_DEFAULTS: dict[str, Any] = {"partitioner": "murmur2_random", "linger.ms": 5}
_QUIET = {"log_level": 0}


class Record(NamedTuple):
    topic: str
    partition: int
    offset: int
    key: str | bytes | None
    value: str | bytes | None
    timestamp: int  # milliseconds since the epoch


@dataclass
class PartitionLag:
    topic: str
    partition: int
    committed: int | None  # None: the group has not committed on this partition
    end: int
    lag: int | None


@dataclass
class GroupMember:
    member_id: str
    client_id: str
    host: str
    assignments: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class GroupDescription:
    group_id: str
    state: str
    members: list[GroupMember]
    partitions: list[PartitionLag]

    @property
    def total_lag(self) -> int:
        return sum(p.lag or 0 for p in self.partitions)


_ADMINS: dict[str, AdminClient] = {}
_ADMINS_LOCK = threading.Lock()
_ADMINS_KEPT = 4


def admin(bootstrap: str) -> AdminClient:
    """The admin client for ``bootstrap``, shared by every call: a new client first connects
    and fetches metadata (5 to 50 ms, and a lab's check asks a dozen questions), while
    librdkafka's handles are thread-safe and reconnect after a broker restart.  The few
    most recently used clusters keep theirs."""
    with _ADMINS_LOCK:
        client = _ADMINS.pop(bootstrap, None)
        if client is None:
            client = AdminClient({"bootstrap.servers": bootstrap, **_QUIET})
        _ADMINS[bootstrap] = client   # the most recently used last
        while len(_ADMINS) > _ADMINS_KEPT:
            del _ADMINS[next(iter(_ADMINS))]
        return client


def _wait(futures: dict[Any, Any], timeout: float = 15.0) -> None:
    for future in futures.values():
        future.result(timeout=timeout)


# -- topics ------------------------------------------------------------------------------
def create_topic(bootstrap: str, name: str, partitions: int = 1, replication: int = 1,
                 config: dict[str, str] | None = None) -> None:
    """Create a topic; raises KafkaException (TOPIC_ALREADY_EXISTS...) on failure."""
    topic = NewTopic(name, num_partitions=partitions, replication_factor=replication,
                     config=dict(config or {}))
    client = admin(bootstrap)
    _wait(client.create_topics([topic], operation_timeout=15))


def delete_topic(bootstrap: str, name: str) -> None:
    client = admin(bootstrap)
    _wait(client.delete_topics([name], operation_timeout=15))


def list_topics(bootstrap: str, *, internal: bool = False) -> dict[str, int]:
    """Topic name -> number of partitions (internal ``__*`` topics only if asked)."""
    meta = admin(bootstrap).list_topics(timeout=10)
    return {name: len(t.partitions) for name, t in sorted(meta.topics.items())
            if internal or not name.startswith("__")}


def end_offsets(bootstrap: str, partitions: Iterable[tuple[str, int]],
                which: str = "latest") -> dict[tuple[str, int], int]:
    """(topic, partition) -> the end (``latest``) or start (``earliest``) offset."""
    spec = OffsetSpec.latest() if which == "latest" else OffsetSpec.earliest()
    wanted = {_TP(t, p): spec for t, p in partitions}
    if not wanted:
        return {}
    client = admin(bootstrap)
    futures = client.list_offsets(wanted, request_timeout=10)
    return {(tp.topic, tp.partition): f.result(timeout=10).offset for tp, f in futures.items()}


def describe_topic(bootstrap: str, name: str) -> dict[str, Any]:
    """Partitions (leader, replicas, isr, start and end offsets) and configs of a topic."""
    client = admin(bootstrap)
    meta = client.list_topics(topic=name, timeout=10).topics.get(name)
    if meta is None or meta.error is not None:
        raise KafkaException(meta.error if meta is not None else f"unknown topic {name}")
    ids = sorted(meta.partitions)
    starts = end_offsets(bootstrap, [(name, p) for p in ids], "earliest")
    ends = end_offsets(bootstrap, [(name, p) for p in ids], "latest")
    configs: dict[str, str] = {}
    for future in client.describe_configs([ConfigResource("topic", name)]).values():
        configs = {k: v.value for k, v in sorted(future.result(timeout=10).items())}
    partitions = [{"partition": p, "leader": meta.partitions[p].leader,
                   "replicas": list(meta.partitions[p].replicas),
                   "isr": list(meta.partitions[p].isrs),
                   "start": starts[(name, p)], "end": ends[(name, p)]} for p in ids]
    return {"topic": name, "partitions": partitions, "config": configs}


def delete_all_topics(bootstrap: str) -> list[str]:
    """Delete every non-internal topic and consumer group (what deleting a cluster does)."""
    client = admin(bootstrap)
    names = list(list_topics(bootstrap))
    if names:
        _wait(client.delete_topics(names, operation_timeout=15))
    groups = [g for g, _ in list_groups(bootstrap)]
    if groups:
        _wait(client.delete_consumer_groups(groups, request_timeout=15))
    return names


# -- consumer groups and lag -------------------------------------------------------------
def list_groups(bootstrap: str) -> list[tuple[str, str]]:
    """(group id, state) of every consumer group."""
    client = admin(bootstrap)
    result = client.list_consumer_groups(request_timeout=10).result(timeout=10)
    return sorted((g.group_id, g.state.name if g.state is not None else "UNKNOWN")
                  for g in result.valid)


def committed_offsets(bootstrap: str, group: str,
                      partitions: Iterable[tuple[str, int]] | None = None, *,
                      timeout: float = 10.0) -> dict[tuple[str, int], int | None]:
    """(topic, partition) -> the group's committed offset, ``None`` where the broker
    answers that it has none; of every partition the group committed on, or of
    ``partitions`` when given."""
    wanted = None if partitions is None else [_TP(t, p) for t, p in partitions]
    request = [ConsumerGroupTopicPartitions(group, wanted)]
    listed = admin(bootstrap).list_consumer_group_offsets(
        request, request_timeout=timeout)[group].result(timeout=timeout)
    return {(tp.topic, tp.partition): tp.offset if tp.offset >= 0 else None
            for tp in listed.topic_partitions if tp.error is None}


def describe_group(bootstrap: str, group: str) -> GroupDescription:
    """State, members with their partitions, and per partition: committed, end, lag."""
    client = admin(bootstrap)
    desc = client.describe_consumer_groups([group], request_timeout=10)[group].result(timeout=10)
    members = [GroupMember(m.member_id, m.client_id, m.host,
                           sorted((tp.topic, tp.partition)
                                  for tp in (m.assignment.topic_partitions if m.assignment else [])))
               for m in desc.members]
    committed = committed_offsets(bootstrap, group)
    for member in members:
        for tp in member.assignments:
            committed.setdefault(tp, None)
    existing = list_topics(bootstrap, internal=True)
    for topic in {t for t, _ in committed}:  # every partition of a topic the group reads
        for part in range(existing.get(topic, 0)):
            committed.setdefault((topic, part), None)
    committed = {tp: o for tp, o in committed.items() if tp[0] in existing}
    ends = end_offsets(bootstrap, committed)
    partitions = []
    for (topic, part), offset in sorted(committed.items()):
        end = ends[(topic, part)]
        partitions.append(PartitionLag(topic, part, offset, end,
                                       max(end - offset, 0) if offset is not None else None))
    return GroupDescription(group, desc.state.name if desc.state is not None else "UNKNOWN",
                            members, partitions)


def lag(bootstrap: str, group: str | None = None) -> dict[str, GroupDescription]:
    """Lag of one group, or of every group."""
    groups = [group] if group else [g for g, _ in list_groups(bootstrap)]
    return {g: describe_group(bootstrap, g) for g in groups}


# -- produce and consume -----------------------------------------------------------------
def parse_lines(lines: Iterable[str], separator: str = ":") -> Iterator[tuple[str | None, str]]:
    """``key:value`` lines -> (key, value); a line without the separator has no key."""
    for line in lines:
        line = line.rstrip("\r\n")
        if not line:
            continue
        key, sep, value = line.partition(separator)
        yield (key, value) if sep else (None, line)


def produce(bootstrap: str, topic: str, messages: Iterable[tuple[Any, Any]], *,
            config: dict[str, Any] | None = None, timeout: float = 30.0) -> int:
    """Send (key, value) pairs (str or bytes; key may be None); returns how many the broker
    acknowledged.  Raises KafkaException if any delivery failed.  An ``on_delivery`` in
    ``config`` is called for every message, as well."""
    errors: list[Any] = []
    settings = {"bootstrap.servers": bootstrap, **PRODUCER_DEFAULTS, **_QUIET,
                **(config or {})}
    theirs = settings.pop("on_delivery", None)

    def report(err: Any, msg: Any) -> None:
        if err is not None:
            errors.append(err)
        if theirs is not None:
            theirs(err, msg)

    # One callback for the producer, called for failed deliveries only (unless the caller
    # wants every report): a callback handed to every produce() call cost a third of the
    # throughput, called or not.
    settings.setdefault("delivery.report.only.error", theirs is None)
    producer = Producer({**settings, "on_delivery": report})
    sent = 0
    send = producer.produce
    for key, value in messages:
        while True:
            try:
                send(topic, value, key)
                break
            except BufferError:  # the local queue is full: let deliveries drain it
                producer.poll(0.05)
        sent += 1
    remaining = producer.flush(timeout)
    if errors or remaining:
        raise KafkaException(errors[0] if errors else f"{remaining} messages not delivered "
                             f"within {timeout:.0f} s")
    return sent


_RESET_TO = {"earliest": "earliest", "smallest": "earliest", "beginning": "earliest",
             "latest": "latest", "largest": "latest", "end": "latest"}  # not "error"


def _lone_assignment(bootstrap: str, topics: list[str], group: str,
                     config: dict[str, Any]) -> list[_TP] | None:
    """Every partition of ``topics`` with the offset to start from (the group's committed
    one, else the start or end of the partition as ``auto.offset.reset`` says), to be taken
    directly, when ``group`` has no active member; ``None`` when the reader must join the
    group instead (it has members, a topic is a pattern or does not exist yet, or
    ``config`` asks for membership or for ``auto.offset.reset=error``).  Giving the offsets
    spares librdkafka its own lookup, which waits 100 ms before it asks for the start of a
    partition the group never committed on."""
    reset = _RESET_TO.get(str(config.get("auto.offset.reset", "latest")))
    if reset is None or "group.instance.id" in config or any(t.startswith("^") for t in topics):
        return None
    client = admin(bootstrap)
    desc = client.describe_consumer_groups([group], request_timeout=10)[group].result(timeout=10)
    if desc.members:
        return None
    parts: list[tuple[str, int]] = []
    for topic in topics:
        meta = client.list_topics(topic=topic, timeout=10).topics.get(topic)
        if meta is None or meta.error is not None or not meta.partitions:
            return None
        parts += [(topic, p) for p in sorted(meta.partitions)]
    starts = {tp: offset for tp, offset in committed_offsets(bootstrap, group, parts).items()
              if offset is not None}
    missing = [tp for tp in parts if tp not in starts]
    starts.update(end_offsets(bootstrap, missing, reset))
    # an offset retention removed is still reset by the consumer, as auto.offset.reset says
    return [_TP(t, p, starts[(t, p)]) for t, p in parts]


def consume(bootstrap: str, topics: str | list[str], group: str, *,
            max_messages: int | None = None, timeout: float = 5.0, from_beginning: bool = True,
            commit: bool = True, decode: bool = True,
            config: dict[str, Any] | None = None) -> list[Record]:
    """Read with consumer group ``group`` until ``max_messages`` or ``timeout`` seconds pass
    without a message; commit what was read (``commit=False`` leaves offsets alone).
    ``from_beginning`` applies only where the group has no committed offset.

    Reading starts from the group's committed offsets either way.  When the group has no
    active member, the reader takes every partition itself (Kafka's manual assignment)
    instead of joining: a lone member would be given all of them anyway, and a join costs
    the coordinator's initial rebalance delay (about 0.3 s on the embedded broker, 3 s by
    default on Apache Kafka).  When the group has members, it joins and shares the
    partitions with them.  If a member arrives while a lone read is under way, the broker
    refuses its commit (``UNKNOWN_MEMBER_ID``), as Kafka does, and this raises
    :class:`KafkaException` saying so; nothing is committed.
    """
    names = [topics] if isinstance(topics, str) else list(topics)
    settings = {"bootstrap.servers": bootstrap, "group.id": group,
                "auto.offset.reset": "earliest" if from_beginning else "latest",
                "enable.auto.commit": False, **_QUIET, **(config or {})}
    lone = _lone_assignment(bootstrap, names, group, settings)
    consumer = Consumer(settings)
    if lone is None:
        consumer.subscribe(names)
    else:
        consumer.assign(lone)
    out: list[Record] = []
    append = out.append
    limit = max_messages if max_messages is not None else float("inf")
    deadline = time.monotonic() + timeout
    try:
        while len(out) < limit:
            batch = consumer.consume(int(min(limit - len(out), 10_000)), 0.1)
            if not batch:
                if time.monotonic() > deadline:
                    break
                continue
            deadline = time.monotonic() + timeout
            for m in batch:
                error = m.error()
                if error is not None:
                    if error.fatal():
                        raise KafkaException(error)
                    continue
                key: str | bytes | None = m.key()
                value: str | bytes | None = m.value()
                if decode:
                    key = key.decode("utf-8", "replace") if isinstance(key, bytes) else key
                    value = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
                topic, partition, offset = m.topic(), m.partition(), m.offset()
                # a message without an error always has its topic, partition and offset
                assert topic is not None and partition is not None and offset is not None
                append(Record(topic, partition, offset, key, value, m.timestamp()[1]))
        if commit and out:
            try:
                consumer.commit(asynchronous=False)
            except KafkaException as exc:
                if lone is None:
                    raise
                raise KafkaException(KafkaError(
                    exc.args[0].code(),
                    f"group {group!r} gained a member while {len(out)} messages were read "
                    f"without joining it, so the broker refused the commit "
                    f"({exc.args[0].str()}); nothing was committed: read again")) from exc
    finally:
        consumer.close()
    return out
