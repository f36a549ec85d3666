"""Kafka benchmarks: the embedded broker, and our produce/consume beside raw confluent-kafka.

    python benchmarks/bench_kafka.py [--messages 100000] [--quick]

Prints broker start time, then msg/s for 100-byte keyed messages produced and consumed
with raw confluent-kafka and with eventlab.kafka.tools.produce/consume in the same run,
on the same broker, and the ratio raw/ours (target, issue 4: ours within 2x of raw).
Then the time to the first 100 messages for a new group: raw confluent-kafka subscribes
and joins the group; ``tools.consume`` reads a group with no member without joining it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from confluent_kafka import Consumer, Producer  # noqa: E402

from eventlab.kafka import EmbeddedBroker, tools  # noqa: E402

VALUE = b"x" * 100


def messages(n: int) -> list[tuple[bytes, bytes]]:
    return [(f"key-{i % 1000}".encode(), VALUE) for i in range(n)]


def raw_produce(bs: str, topic: str, batch: list[tuple[bytes, bytes]]) -> float:
    t = time.perf_counter()
    p = Producer({"bootstrap.servers": bs, "linger.ms": 5})
    for key, value in batch:
        while True:
            try:
                p.produce(topic, value, key)
                break
            except BufferError:
                p.poll(0.05)
    p.flush(60)
    return time.perf_counter() - t


def raw_consume(bs: str, topic: str, n: int) -> float:
    t = time.perf_counter()
    c = Consumer({"bootstrap.servers": bs, "group.id": f"raw-{uuid.uuid4().hex}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([topic])
    got = 0
    while got < n:
        got += sum(1 for m in c.consume(min(10_000, n - got), 1.0) if m.error() is None)
    c.commit(asynchronous=False)
    c.close()
    return time.perf_counter() - t


def ours_produce(bs: str, topic: str, batch: list[tuple[bytes, bytes]]) -> float:
    t = time.perf_counter()
    tools.produce(bs, topic, batch)
    return time.perf_counter() - t


def ours_consume(bs: str, topic: str, n: int) -> float:
    t = time.perf_counter()
    got = tools.consume(bs, topic, f"ours-{uuid.uuid4().hex}", max_messages=n, timeout=10)
    assert len(got) == n, len(got)
    return time.perf_counter() - t


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="10,000 messages, 1 round")
    args = parser.parse_args()
    n, rounds = (10_000, 1) if args.quick else (args.messages, 3)

    starts = []
    for _ in range(3):
        t = time.perf_counter()
        b = EmbeddedBroker().start()
        starts.append(time.perf_counter() - t)
        b.stop()
    print(f"broker start (to a metadata answer): median {statistics.median(starts) * 1000:.0f} ms")

    batch = messages(n)
    with EmbeddedBroker() as broker:
        bs = broker.bootstrap_servers
        figures: dict[str, list[float]] = {k: [] for k in
                                           ("raw produce", "ours produce", "raw consume", "ours consume")}
        for _ in range(rounds):
            for who, prod, cons in (("raw", raw_produce, raw_consume),
                                    ("ours", ours_produce, ours_consume)):
                topic = f"bench-{who}-{uuid.uuid4().hex[:6]}"
                tools.create_topic(bs, topic, 4)
                figures[f"{who} produce"].append(n / prod(bs, topic, batch))
                figures[f"{who} consume"].append(n / cons(bs, topic, n))
        small: dict[str, list[float]] = {"raw": [], "ours": []}
        topic = f"bench-small-{uuid.uuid4().hex[:6]}"
        tools.create_topic(bs, topic, 6)
        tools.produce(bs, topic, messages(100))
        for _ in range(5):
            small["raw"].append(raw_consume(bs, topic, 100))
            small["ours"].append(ours_consume(bs, topic, 100))
    rate = {k: statistics.median(v) for k, v in figures.items()}
    print(f"{n:,} keyed 100-byte messages, 4 partitions, median of {rounds}:")
    for op in ("produce", "consume"):
        raw, ours = rate[f"raw {op}"], rate[f"ours {op}"]
        print(f"  {op:8} raw {raw:>10,.0f} msg/s   ours {ours:>10,.0f} msg/s   "
              f"raw/ours {raw / ours:.2f}x (target <= 2x)")
    raw, ours = statistics.median(small["raw"]), statistics.median(small["ours"])
    print(f"first 100 messages for a new group, 6 partitions, median of 5: raw (joins) "
          f"{raw * 1000:.0f} ms, ours (no member: no join) {ours * 1000:.0f} ms, "
          f"raw/ours {raw / ours:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
