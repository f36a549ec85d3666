"""``eventlab kafka``: topics, consumer groups, lag, produce and consume.

Stands in for ``kafka-topics.sh``, ``kafka-consumer-groups.sh`` and the console producer
and consumer.  The cluster is ``--bootstrap-server``, else ``KAFKA_BOOTSTRAP_SERVERS``,
else the embedded broker: the one ``eventlab kafka broker`` keeps running, or one started
for the command (its topics and messages are kept in the same data directory).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from eventlab import config

ENV = "KAFKA_BOOTSTRAP_SERVERS"
DIR_ENV = config.KAFKA_DIR
STATE_FILE = "eventlab-broker.json"


def default_data_dir() -> Path:
    override = config.kafka_dir()
    if override:
        return override
    from platformdirs import user_data_path

    return user_data_path("eventlab") / "kafka"


def running_broker(data_dir: Path | None = None) -> str | None:
    """The address of the broker ``eventlab kafka broker`` runs, if it is up."""
    state = (data_dir or default_data_dir()) / STATE_FILE
    try:
        info = json.loads(state.read_text())
        os.kill(int(info["pid"]), 0)
        with socket.create_connection((info["host"], int(info["port"])), timeout=0.5):
            return f"{info['host']}:{info['port']}"
    except (OSError, ValueError, KeyError):
        return None


@contextmanager
def bootstrap(explicit: str | None, quiet: bool = False) -> Iterator[str]:
    """Yield the cluster to use; start (and then stop) an embedded broker if there is none."""
    chosen = explicit or os.environ.get(ENV) or running_broker()
    if chosen:
        yield chosen
        return
    from eventlab.kafka.broker import EmbeddedBroker

    with EmbeddedBroker(data_dir=default_data_dir()) as broker:
        if not quiet:
            print(f"eventlab kafka: no --bootstrap-server and no {ENV}: started the embedded "
                  f"broker at {broker.bootstrap_servers} for this command (data kept in "
                  f"{broker.data_dir}). `eventlab kafka broker` keeps one running.",
                  file=sys.stderr)
        yield broker.bootstrap_servers


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--bootstrap-server", "-b", default=argparse.SUPPRESS, metavar="HOST:PORT",
                        help=f"Kafka cluster (default: ${ENV}, else the embedded broker)")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print JSON instead of tables")
    parser.add_argument("--bootstrap-server", "-b", default=None, metavar="HOST:PORT",
                        help=f"Kafka cluster (default: ${ENV}, else the embedded broker)")
    parser.add_argument("--json", action="store_true", default=False, help="print JSON")
    sub = parser.add_subparsers(dest="kafka_command", metavar="COMMAND", required=True)

    topics = sub.add_parser("topics", help="list, create, describe, delete topics")
    tsub = topics.add_subparsers(dest="action", metavar="ACTION", required=True)
    tsub.add_parser("list", parents=[common], help="list topics").add_argument(
        "--internal", action="store_true", help="include __consumer_offsets and the like")
    create = tsub.add_parser("create", parents=[common], help="create a topic")
    create.add_argument("topic")
    create.add_argument("--partitions", "-p", type=int, default=1)
    create.add_argument("--replication-factor", "-r", type=int, default=1)
    create.add_argument("--config", "-c", action="append", default=[], metavar="KEY=VALUE",
                        help="topic config, e.g. retention.ms=86400000 (repeatable)")
    tsub.add_parser("describe", parents=[common], help="partitions, offsets, configs").add_argument(
        "topic")
    tsub.add_parser("delete", parents=[common], help="delete a topic").add_argument("topic")

    groups = sub.add_parser("groups", help="list and describe consumer groups")
    gsub = groups.add_subparsers(dest="action", metavar="ACTION", required=True)
    gsub.add_parser("list", parents=[common], help="list consumer groups")
    gsub.add_parser("describe", parents=[common],
                    help="members and per-partition committed offset, end offset, lag").add_argument(
        "group")

    lag = sub.add_parser("lag", parents=[common], help="lag per partition of one or every group")
    lag.add_argument("group", nargs="?")

    produce = sub.add_parser("produce", parents=[common],
                             help="send KEY:VALUE messages (arguments, or lines on stdin)")
    produce.add_argument("topic")
    produce.add_argument("messages", nargs="*", metavar="KEY:VALUE",
                         help="messages; without any, read lines from stdin")
    produce.add_argument("--separator", default=":", help="between key and value (default ':')")

    consume = sub.add_parser("consume", parents=[common], help="read messages with a consumer group")
    consume.add_argument("topic", nargs="+")
    consume.add_argument("--group", "-g", default="eventlab-cli")
    consume.add_argument("--max-messages", "-n", type=int, default=None)
    consume.add_argument("--timeout", type=float, default=3.0,
                         help="stop after this many seconds without a message (default 3)")
    consume.add_argument("--latest", action="store_true",
                         help="a group with no committed offset starts at the end, not the beginning")
    consume.add_argument("--no-commit", action="store_true", help="do not commit what was read")

    broker = sub.add_parser("broker", help="run the embedded broker in the foreground (Ctrl-C stops)")
    broker.add_argument("--port", type=int, default=9092, help="port (default 9092; 0: a free one)")
    broker.add_argument("--data-dir", type=Path, default=None,
                        help=f"where topics are kept (default: ${DIR_ENV} or the user data dir)")


def run(args: argparse.Namespace) -> int:
    from confluent_kafka import KafkaException

    from eventlab.kafka.broker import BrokerError

    try:
        if args.kafka_command == "broker":
            return _run_broker(args)
        with bootstrap(args.bootstrap_server, quiet=args.json) as bs:
            return _dispatch(args, bs)
    except BrokerError as exc:
        print(f"eventlab kafka: {exc}", file=sys.stderr)
        return 2
    except KafkaException as exc:
        err = exc.args[0] if exc.args else exc
        text = err.str() if hasattr(err, "str") else str(err)
        print(f"eventlab kafka: {text}", file=sys.stderr)
        return 1


def _dispatch(args: argparse.Namespace, bs: str) -> int:
    from eventlab.kafka import tools

    cmd, action = args.kafka_command, getattr(args, "action", None)
    if cmd == "topics" and action == "list":
        topics = tools.list_topics(bs, internal=args.internal)
        return _show(args, topics, ["topic", "partitions"], list(topics.items()))
    if cmd == "topics" and action == "create":
        config = dict(item.split("=", 1) for item in args.config)
        tools.create_topic(bs, args.topic, args.partitions, args.replication_factor, config)
        return _say(args, {"created": args.topic, "partitions": args.partitions, "config": config},
                    f"created topic {args.topic} ({args.partitions} partitions)")
    if cmd == "topics" and action == "describe":
        info = tools.describe_topic(bs, args.topic)
        rows = [(p["partition"], p["leader"], p["replicas"], p["isr"], p["start"], p["end"])
                for p in info["partitions"]]
        _show(args, info, ["partition", "leader", "replicas", "isr", "start", "end"], rows,
              title=f"topic {args.topic}")
        if not args.json and info["config"]:
            _table(["config", "value"], list(info["config"].items()))
        return 0
    if cmd == "topics" and action == "delete":
        tools.delete_topic(bs, args.topic)
        return _say(args, {"deleted": args.topic}, f"deleted topic {args.topic}")
    if cmd == "groups" and action == "list":
        groups = tools.list_groups(bs)
        return _show(args, [{"group": g, "state": s} for g, s in groups], ["group", "state"], groups)
    if cmd == "groups" and action == "describe" or cmd == "lag":
        group = args.group
        found = ({group: tools.describe_group(bs, group)} if cmd == "groups"
                 else tools.lag(bs, group))
        if args.json:
            print(json.dumps({g: dataclasses.asdict(d) for g, d in found.items()}, indent=2))
            return 0
        for g, d in found.items():
            _table(["topic", "partition", "committed", "end", "lag"],
                   [(p.topic, p.partition, _dash(p.committed), p.end, _dash(p.lag))
                    for p in d.partitions],
                   title=f"group {g} ({d.state}, {len(d.members)} members, lag {d.total_lag})")
            if cmd == "groups" and d.members:
                _table(["member", "client", "host", "partitions"],
                       [(m.member_id, m.client_id, m.host,
                         ", ".join(f"{t}[{p}]" for t, p in m.assignments)) for m in d.members])
        return 0
    if cmd == "produce":
        lines = args.messages or sys.stdin
        sent = tools.produce(bs, args.topic, tools.parse_lines(lines, args.separator))
        return _say(args, {"topic": args.topic, "produced": sent},
                    f"produced {sent} messages to {args.topic}")
    if cmd == "consume":
        records = tools.consume(bs, args.topic, args.group, max_messages=args.max_messages,
                                timeout=args.timeout, from_beginning=not args.latest,
                                commit=not args.no_commit)
        return _show(args, [r._asdict() for r in records],
                     ["topic", "partition", "offset", "key", "value"],
                     [(r.topic, r.partition, r.offset, r.key, r.value) for r in records],
                     title=f"{len(records)} messages (group {args.group})")
    raise AssertionError(f"unhandled: {cmd} {action}")  # pragma: no cover


def _run_broker(args: argparse.Namespace) -> int:
    from eventlab.kafka.broker import EmbeddedBroker

    data_dir = args.data_dir or default_data_dir()
    broker = EmbeddedBroker(port=args.port or None, data_dir=data_dir).start()
    state = data_dir / STATE_FILE
    try:
        state.write_text(json.dumps({"pid": broker.pid, "host": broker.host, "port": broker.port}))
        print(f"embedded Kafka broker on {broker.bootstrap_servers} (data in {data_dir})\n"
              f"  export {ENV}={broker.bootstrap_servers}\n  Ctrl-C stops it; data is kept.",
              flush=True)
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        while not stop.wait(0.5):
            if not broker.running:
                print(f"the broker exited:\n{broker.log_tail()}", file=sys.stderr)
                return 1
        return 0
    finally:
        state.unlink(missing_ok=True)
        broker.stop()


def _dash(value: Any) -> Any:
    return "-" if value is None else value


def _say(args: argparse.Namespace, data: Any, text: str) -> int:
    print(json.dumps(data) if args.json else text)
    return 0


def _show(args: argparse.Namespace, data: Any, columns: list[str], rows: list[Any],
          title: str | None = None) -> int:
    if args.json:
        print(json.dumps(data, indent=2, default=str))
    else:
        _table(columns, rows, title)
    return 0


def _table(columns: list[str], rows: list[Any], title: str | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(*columns, title=title, title_justify="left")
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    Console().print(table)
