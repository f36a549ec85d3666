"""Lab 6: a trading stream on an MSK Serverless cluster.

Names the lab asks for: cluster ``trading`` (serverless); topics ``trades`` (key = stock
symbol), ``bars-1m`` (OHLC bars) and ``settlements``; consumer groups ``analytics``,
``dashboard`` (two members) and ``settlement``.  The learner's trades have ids ``t-...``
and the symbols of ``SYMBOLS``; the checks' probe trades have ids ``probe-...`` and
symbols ``PRB...``, and are left out wherever the learner's data is compared.

Every check reads the MSK control plane (through boto3) and the broker (the Kafka admin
client and a group-less reader), never the learner's variables.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from autograder.checks import CheckFailed, check, declared_checks

CLUSTER = "trading"
TRADES = "trades"
BARS = "bars-1m"
SETTLEMENTS = "settlements"
GROUPS = {"analytics": "analytics", "dashboard": "dashboard", "settlement": "settlement"}
SYMBOLS = ("AAPL", "MSFT", "GOOG", "AMZN", "NVDA", "TSLA")
MIN_PARTITIONS = 3
WINDOW = timedelta(minutes=1)
PROBE_PREFIX = "PRB"
SETTLE_BATCH = 50   # settle() reads batches of 50: at most one comes back after the crash
START = 1_779_999_960  # the lab's first trade (2026-05-28 20:26 UTC, on the minute)


# -- the control plane and the broker ---------------------------------------------------------
def _cluster(sb: Any) -> dict[str, Any]:
    kafka = sb.client("kafka")
    clusters = kafka.list_clusters_v2(ClusterNameFilter=CLUSTER).get("ClusterInfoList", [])
    clusters = [c for c in clusters if c["ClusterName"] == CLUSTER]
    if not clusters:
        raise CheckFailed(f"there is no MSK cluster named '{CLUSTER}'")
    return clusters[0]


def bootstrap(sb: Any) -> str:
    """The cluster's bootstrap brokers, as GetBootstrapBrokers gives them."""
    info = _cluster(sb)
    if info["State"] != "ACTIVE":
        raise CheckFailed(f"the cluster '{CLUSTER}' is {info['State']}, not ACTIVE")
    brokers = sb.client("kafka").get_bootstrap_brokers(ClusterArn=info["ClusterArn"])
    for key in ("BootstrapBrokerStringSaslIam", "BootstrapBrokerStringTls",
                "BootstrapBrokerString"):
        if brokers.get(key):
            return str(brokers[key])
    raise CheckFailed(f"GetBootstrapBrokers gave no broker address for '{CLUSTER}'")


def _partitions(bs: str, topic: str) -> int:
    from eventlab.kafka import tools

    count = tools.list_topics(bs).get(topic)
    if count is None:
        raise CheckFailed(f"there is no topic '{topic}' on the cluster")
    return count


_READ: dict[Any, dict[int, list[tuple[int, str | None, Any]]]] = {}


def read_topic(bs: str, topic: str) -> dict[int, list[tuple[int, str | None, Any]]]:
    """partition -> [(offset, key, decoded JSON value or None)], everything now in the topic
    (read without a consumer group, so no offsets are committed)."""
    from confluent_kafka import Consumer, TopicPartition

    from eventlab.kafka import tools

    count = _partitions(bs, topic)
    ends = tools.end_offsets(bs, [(topic, p) for p in range(count)])
    starts = tools.end_offsets(bs, [(topic, p) for p in range(count)], "earliest")
    seen = (bs, topic, tuple(sorted(ends.items())), tuple(sorted(starts.items())))
    if seen in _READ:  # topics only grow: the same offsets mean the same records
        return _READ[seen]
    out: dict[int, list[tuple[int, str | None, Any]]] = {p: [] for p in range(count)}
    wanted = {p for p in range(count) if ends[(topic, p)] > starts[(topic, p)]}
    if not wanted:
        return out
    consumer = Consumer({"bootstrap.servers": bs, "group.id": "eventlab-check-reader",
                         "enable.auto.commit": False, "log_level": 0})
    consumer.assign([TopicPartition(topic, p, starts[(topic, p)]) for p in wanted])
    left = sum(ends[(topic, p)] - starts[(topic, p)] for p in wanted)
    try:
        for _ in range(200):
            # no more than are left: consume() returns as soon as it has them all
            batch = consumer.consume(max(1, min(1000, left)), 0.05)
            left -= len(batch)
            for m in batch:
                raw_key, partition, offset = m.key(), m.partition(), m.offset()
                if m.error() is not None or partition is None or offset is None:
                    continue
                key = raw_key.decode("utf-8", "replace") if isinstance(raw_key, bytes) else raw_key
                try:
                    value = json.loads(m.value() or b"")
                except ValueError:
                    value = None
                out[partition].append((offset, key, value))
                if offset + 1 >= ends[(topic, partition)]:
                    wanted.discard(partition)
            if not wanted:
                break
    finally:
        consumer.close()
    if wanted:
        raise CheckFailed(f"could not read partitions {sorted(wanted)} of '{topic}' to their end")
    if len(_READ) > 8:
        _READ.clear()
    _READ[seen] = out
    return out


def _is_learner_trade(value: Any) -> bool:
    return isinstance(value, dict) and str(value.get("id", "")).startswith("t-") \
        and value.get("symbol") in SYMBOLS


def learner_trades(bs: str) -> dict[int, list[tuple[int, str | None, dict[str, Any]]]]:
    data = read_topic(bs, TRADES)
    trades = {p: [r for r in rows if _is_learner_trade(r[2])] for p, rows in data.items()}
    if not any(trades.values()):
        raise CheckFailed(f"the topic '{TRADES}' holds none of the lab's trades (ids t-...)")
    return trades


def _committed(bs: str, group: str) -> dict[int, int | None]:
    """partition of 'trades' -> the group's committed offset (None: never committed)."""
    from eventlab.kafka import tools

    if group not in {g for g, _ in tools.list_groups(bs)}:
        raise CheckFailed(f"there is no consumer group '{group}' on the cluster")
    out: dict[int, int | None] = dict.fromkeys(range(_partitions(bs, TRADES)))
    for (topic, part), offset in tools.committed_offsets(bs, group).items():
        if topic == TRADES and offset is not None:
            out[part] = offset
    return out


def _group_read_everything(bs: str, group: str) -> None:
    """The group has committed past the last of the learner's trades on every partition."""
    committed = _committed(bs, group)
    behind = []
    for part, rows in learner_trades(bs).items():
        if not rows:
            continue
        need = rows[-1][0] + 1
        got = committed.get(part)
        if got is None or got < need:
            behind.append(f"partition {part}: committed {got if got is not None else 'nothing'}, "
                          f"the last trade is at offset {need - 1}")
    if behind:
        raise CheckFailed(f"group '{group}' has not committed all the trades ("
                          + "; ".join(behind) + ")")


def _probe_trades(n: int) -> list[tuple[str, str]]:
    """n probe trades on distinct probe symbols, keyed by symbol as the lab asks."""
    out = []
    for _ in range(n):
        symbol = PROBE_PREFIX + uuid.uuid4().hex[:6].upper()
        trade = {"id": f"probe-{uuid.uuid4().hex[:10]}", "symbol": symbol, "price": 1.0,
                 "size": 1, "ts": START, "seq": 0}
        out.append((symbol, json.dumps(trade)))
    return out


# -- checks -------------------------------------------------------------------------------------
@check("cluster", step="cluster", title="MSK Serverless cluster 'trading', ACTIVE", points=2,
       passed="The serverless cluster 'trading' is ACTIVE.",
       failed="The serverless cluster 'trading' is missing, not serverless or not ACTIVE.",
       hint="kafka.create_cluster_v2(ClusterName='trading', Serverless={'VpcConfigs': [...], "
            "'ClientAuthentication': {'Sasl': {'Iam': {'Enabled': True}}}}), then "
            "sb.clock.advance(minutes=2) until describe_cluster_v2 says ACTIVE.")
def check_cluster(sb: Any) -> None:
    info = _cluster(sb)
    if info.get("ClusterType") != "SERVERLESS":
        raise CheckFailed(f"'{CLUSTER}' is a {info.get('ClusterType')} cluster, not a serverless one")
    if info["State"] != "ACTIVE":
        raise CheckFailed(f"'{CLUSTER}' is {info['State']}: advance the clock "
                          "(sb.clock.advance(minutes=2)) and describe it again")


@check("topic", step="topic", title="topic 'trades' with several partitions", points=1,
       passed="'trades' has enough partitions for several consumers per group.",
       failed="The topic 'trades' is missing or has too few partitions.",
       hint="AdminClient.create_topics([NewTopic('trades', num_partitions=6, replication_factor=1)]) "
            "(replication 1: the sandbox has one broker; on MSK use 3).")
def check_topic(sb: Any) -> None:
    count = _partitions(bootstrap(sb), TRADES)
    if count < MIN_PARTITIONS:
        raise CheckFailed(f"'{TRADES}' has {count} partition(s); the lab asks for 6 "
                          f"(at least {MIN_PARTITIONS})")


@check("topic-probe", step="topic", title="probe keys spread over partitions", points=1,
       passed="Probe trades: each key stayed on one partition and the keys spread over several.",
       failed="Probe trades did not spread over several partitions of 'trades'.",
       hint="Give 'trades' 6 partitions: the key's hash picks one of them.", hidden=True)
def check_topic_probe(sb: Any) -> None:
    from eventlab.kafka import tools

    bs = bootstrap(sb)
    _partitions(bs, TRADES)
    probes = _probe_trades(12)
    tools.produce(bs, TRADES, probes + probes)  # each probe symbol twice
    symbols = {k for k, _ in probes}
    where: dict[str, set[int]] = defaultdict(set)
    for part, rows in read_topic(bs, TRADES).items():
        for _, key, _value in rows:
            if key in symbols:
                where[key].add(part)
    split = [s for s, parts in where.items() if len(parts) > 1]
    if split:
        raise CheckFailed(f"the same key went to several partitions ({', '.join(split[:3])})")
    used = set().union(*where.values()) if where else set()
    if len(used) < 2:
        raise CheckFailed(f"12 probe symbols all landed on partition(s) {sorted(used)}: "
                          "one partition caps the stream at one consumer per group")


@check("keyed", step="produce", title="every trade keyed by its symbol", points=2,
       passed="Every trade's key is its symbol, so each symbol lives on one partition.",
       failed="Trades are not keyed by their stock symbol.",
       hint="producer.produce('trades', key=trade['symbol'], value=json.dumps(trade)): a random key "
            "scatters a symbol over partitions (no order), a constant key puts every symbol on one "
            "partition (no parallelism).")
def check_keyed(sb: Any) -> None:
    trades = learner_trades(bootstrap(sb))
    wrong_key: Counter[str | None] = Counter()
    where: dict[str, set[int]] = defaultdict(set)
    for part, rows in trades.items():
        for _, key, value in rows:
            if key != value["symbol"]:
                wrong_key[key] += 1
            where[value["symbol"]].add(part)
    if wrong_key:
        keys = ", ".join(f"{k!r} x{n}" for k, n in wrong_key.most_common(3))
        raise CheckFailed(f"{sum(wrong_key.values())} trade(s) are not keyed by their symbol "
                          f"(keys seen: {keys}{', ...' if len(wrong_key) > 3 else ''})")
    spread = {s: sorted(p) for s, p in where.items() if len(p) > 1}
    if spread:
        raise CheckFailed("a symbol's trades are on several partitions ("
                          + "; ".join(f"{s} on {p}" for s, p in sorted(spread.items())) + ")")


@check("ordering", step="produce", title="each trade once, in order per symbol", points=1,
       passed="Every trade is in the topic once, in seq order within its symbol.",
       failed="Trades are duplicated or out of order within a symbol.",
       hint="Produce TRADES once, in list order, then producer.flush().")
def check_ordering(sb: Any) -> None:
    trades = learner_trades(bootstrap(sb))
    ids = Counter(v["id"] for rows in trades.values() for _, _, v in rows)
    dupes = [i for i, n in ids.items() if n > 1]
    if dupes:
        raise CheckFailed(f"{len(dupes)} trade(s) were produced more than once, e.g. {dupes[0]}")
    out_of_order = []
    for part, rows in trades.items():
        last: dict[str, int] = {}
        for offset, _, v in rows:
            seq = int(v.get("seq", 0))
            if seq <= last.get(v["symbol"], -1):
                out_of_order.append(f"{v['symbol']} seq {seq} at offset {offset} of partition {part}")
            last[v["symbol"]] = seq
    if out_of_order:
        raise CheckFailed("trades of a symbol are out of order: " + "; ".join(out_of_order[:3]))


@check("analytics-group", step="analytics", title="group 'analytics' read every trade", points=2,
       passed="The 'analytics' group has committed every trade (lag 0 on the lab's data).",
       failed="The consumer group 'analytics' is missing or has not committed all the trades.",
       hint="tools.consume(bootstrap, 'trades', 'analytics', max_messages=...) commits what it "
            "read; measure tools.describe_group(bootstrap, 'analytics').total_lag before and after.")
def check_analytics(sb: Any) -> None:
    _group_read_everything(bootstrap(sb), GROUPS["analytics"])


@check("split", step="dashboard", title="two dashboard consumers share the partitions", points=2,
       passed="'dashboard' has two live members, each owning some of the partitions.",
       failed="The 'dashboard' group does not have two members splitting the partitions.",
       hint="Two Consumer objects with group.id 'dashboard', both subscribed to 'trades', both "
            "polled until each has an assignment; leave them open (do not close them).")
def check_split(sb: Any) -> None:
    from eventlab.kafka import tools

    bs = bootstrap(sb)
    count = _partitions(bs, TRADES)
    group = GROUPS["dashboard"]
    if group not in {g for g, _ in tools.list_groups(bs)}:
        raise CheckFailed(f"there is no consumer group '{group}' on the cluster")
    desc = tools.describe_group(bs, group)
    members = [m for m in desc.members]
    if len(members) != 2:
        raise CheckFailed(f"group '{group}' has {len(members)} live member(s) (state "
                          f"{desc.state}); keep both consumers open")
    owned = [sorted(p for t, p in m.assignments if t == TRADES) for m in members]
    if not all(owned):
        raise CheckFailed(f"a member of '{group}' owns no partition of '{TRADES}' (the members "
                          f"own {owned})")
    flat = owned[0] + owned[1]
    if sorted(flat) != list(range(count)):
        raise CheckFailed(f"the members own partitions {owned}, not each of the {count} "
                          "partitions exactly once")


@check("dashboard-committed", step="dashboard", title="dashboard committed every trade", points=1,
       passed="The 'dashboard' group has committed every trade.",
       failed="The 'dashboard' group has not committed all the trades.",
       hint="After processing each batch, consumer.commit(asynchronous=False) on the consumer that "
            "read it.")
def check_dashboard(sb: Any) -> None:
    _group_read_everything(bootstrap(sb), GROUPS["dashboard"])


def _backlog(bs: str, group: str) -> int:
    """Messages the group has still to read on 'trades' (a partition it never committed on
    counts from its start)."""
    from eventlab.kafka import tools

    committed = _committed(bs, group)
    parts = [(TRADES, p) for p in committed]
    starts, ends = tools.end_offsets(bs, parts, "earliest"), tools.end_offsets(bs, parts)
    return sum(ends[(TRADES, p)] - (c if c is not None else starts[(TRADES, p)])
               for p, c in committed.items())


@check("two-groups", step="dashboard", title="each group sees every new trade", points=1,
       passed="5 probe trades added 5 to the backlog of 'analytics' and of 'dashboard'.",
       failed="Probe trades did not reach both groups independently.",
       hint="Use two different group.id values: 'analytics' and 'dashboard' each keep their own "
            "offsets.", hidden=True)
def check_two_groups(sb: Any) -> None:
    from eventlab.kafka import tools

    bs = bootstrap(sb)
    groups = [GROUPS["analytics"], GROUPS["dashboard"]]
    before = {g: _backlog(bs, g) for g in groups}
    probes = _probe_trades(5)
    tools.produce(bs, TRADES, probes)
    after = {g: _backlog(bs, g) for g in groups}
    wrong = [f"{g}: {before[g]} -> {after[g]}" for g in groups if after[g] - before[g] != 5]
    if wrong:
        raise CheckFailed("5 probe trades did not add 5 to each group's backlog (" + "; ".join(wrong)
                          + "): each group must track every partition of 'trades'")


def _expected_bars(trades: dict[int, list[tuple[int, str | None, dict[str, Any]]]]
                   ) -> dict[tuple[str, str], dict[str, Any]]:
    from eventlab.kafka.ohlc import EPOCH, parse_trade

    bars: dict[tuple[str, str], dict[str, Any]] = {}
    rows = sorted((v for r in trades.values() for _, _, v in r), key=lambda v: v["ts"])
    for value in rows:
        t = parse_trade(json.dumps(value))
        if t is None:
            continue
        start = EPOCH + ((t["at"] - EPOCH) // WINDOW) * WINDOW
        key = (t["symbol"], start.isoformat())
        bar = bars.get(key)
        if bar is None:
            bars[key] = {"open": t["price"], "high": t["price"], "low": t["price"],
                         "close": t["price"], "volume": t["size"], "trades": 1}
        else:
            bar["high"] = max(bar["high"], t["price"])
            bar["low"] = min(bar["low"], t["price"])
            bar["close"] = t["price"]
            bar["volume"] += t["size"]
            bar["trades"] += 1
    return bars


@check("bars", step="ohlc", title="1-minute tumbling OHLC bars", points=2,
       passed="'bars-1m' holds one correct OHLC bar per symbol and minute.",
       failed="The bars in 'bars-1m' are not the 1-minute tumbling windows of the trades.",
       hint="Create 'bars-1m', then ohlc_bars(bootstrap, 'trades', 'bars-1m', "
            "window=timedelta(minutes=1)).")
def check_bars(sb: Any) -> None:
    bs = bootstrap(sb)
    expected = _expected_bars(learner_trades(bs))
    got: dict[tuple[str, str], dict[str, Any]] = {}
    sizes: Counter[timedelta] = Counter()
    for rows in read_topic(bs, BARS).values():
        for _, _key, bar in rows:
            if not isinstance(bar, dict) or bar.get("symbol") not in SYMBOLS:
                continue
            start = datetime.fromisoformat(bar["window_start"])
            end = datetime.fromisoformat(bar["window_end"])
            sizes[end - start] += 1
            got[(bar["symbol"], bar["window_start"])] = bar
    if not got:
        raise CheckFailed(f"'{BARS}' holds no bar of the lab's symbols")
    wrong_size = {str(s): n for s, n in sizes.items() if s != WINDOW}
    if wrong_size:
        raise CheckFailed(f"bars span {', '.join(wrong_size)} instead of 1 minute "
                          "(tumbling windows of one minute)")
    aligned = [k for k in got if datetime.fromisoformat(k[1]).astimezone(UTC).second != 0]
    if aligned:
        raise CheckFailed(f"windows do not start on the minute (e.g. {aligned[0]})")
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    if missing or extra:
        raise CheckFailed(f"{len(missing)} expected bar(s) missing, {len(extra)} unexpected "
                          f"(e.g. {(missing or extra)[0]})")
    for key, want in expected.items():
        bar = got[key]
        for field in ("open", "high", "low", "close", "volume", "trades"):
            if abs(float(bar[field]) - float(want[field])) > 1e-6:
                raise CheckFailed(f"the {key[0]} bar at {key[1]} has {field} {bar[field]}, "
                                  f"the trades give {want[field]}")


def _settled(bs: str) -> Counter:
    counts: Counter = Counter()
    for rows in read_topic(bs, SETTLEMENTS).values():
        for _, _, value in rows:
            if isinstance(value, dict) and "id" in value:
                counts[str(value["id"])] += 1
    return counts


@check("settled", step="settlement", title="no trade lost by the crash", points=2,
       passed="Every trade reached 'settlements' despite the crash.",
       failed="Some trades never reached 'settlements'.",
       hint="Commit only after processing: produce the batch's settlements, flush, then "
            "consumer.commit(asynchronous=False). Committing first loses a batch when the "
            "consumer crashes in the middle of it.")
def check_settled(sb: Any) -> None:
    bs = bootstrap(sb)
    # each trade's own key (the symbol, when the producer keys as asked): a settlement keeps
    # it, so that a symbol's settlements stay in order on one partition
    trades = {v["id"]: key for rows in learner_trades(bs).values() for _, key, v in rows}
    settled = _settled(bs)
    lost = [i for i in trades if i not in settled]
    if lost:
        raise CheckFailed(f"{len(lost)} of {len(trades)} trades never reached '{SETTLEMENTS}' "
                          f"(e.g. {lost[0]}): they were committed but not processed, or their "
                          "settlements were not flushed before the commit")
    wrong_key: Counter[str | None] = Counter()
    for rows in read_topic(bs, SETTLEMENTS).values():
        for _, key, value in rows:
            if isinstance(value, dict) and value.get("id") in trades \
                    and key != trades[value["id"]]:
                wrong_key[key] += 1
    if wrong_key:
        keys = ", ".join(f"{k!r} x{n}" for k, n in wrong_key.most_common(3))
        raise CheckFailed(f"{sum(wrong_key.values())} settlement(s) do not carry their "
                          f"trade's key (keys seen: {keys})")


@check("redelivered", step="settlement",
       title="at-least-once: the next consumer took over", points=1,
       passed="After the crash the next consumer resumed from the group's last commit (at most the "
              "batch in flight came back), and 'settlement' has committed everything.",
       failed="'settlement' has not committed everything, or far more than the batch in flight was "
              "settled again.",
       hint="Commit in handle_batch (consumer.commit(asynchronous=False) after out.flush()), per "
            "batch or per message: then settle('settler-2') resumes where the crashed settler's "
            "last commit left off.")
def check_redelivered(sb: Any) -> None:
    """At least once: after the crash the next member took over from the group's last
    commit and committed every trade.  A redelivery is not required: a consumer that
    commits each message after flushing its settlement has nothing to redo."""
    bs = bootstrap(sb)
    _group_read_everything(bs, GROUPS["settlement"])
    produced = Counter(v["id"] for rows in learner_trades(bs).values() for _, _, v in rows)
    settled = _settled(bs)
    again = sum(max(0, settled.get(i, 0) - n) for i, n in produced.items())
    if again > SETTLE_BATCH:
        raise CheckFailed(f"{again} trade(s) were settled again after the crash, more than the "
                          f"batch of {SETTLE_BATCH} in flight: commits were missing or came late")


CHECKS = declared_checks(globals())   # the @check functions above, in the order they are defined
