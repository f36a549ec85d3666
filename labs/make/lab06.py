"""Lab 6: a trading stream on MSK Serverless (source of labs/source/lab06_msk)."""

from __future__ import annotations

from labs.make.cells import check, given, md, notebook, scorecard, solution

NAME = "lab06_msk"
C = "../../../content"


def build():
    return notebook([
        md("lab06-intro", f"""
        # Lab 6: a trading stream on Amazon MSK

        A broker streams stock trades. Three applications read them, each at its own pace:
        a nightly **analytics** job, a live **dashboard** that needs two consumers to keep
        up, and a **settlement** service that must never lose a trade. A fourth job turns
        trades into one-minute **OHLC bars** (open, high, low, close) for charts. This is
        the [stream processing with Kafka]({C}/patterns.md#stream-processing-with-kafka)
        pattern on [Amazon MSK]({C}/streams.md#amazon-msk).

        Use these names (the checks look for them): cluster `trading` (serverless), topics
        `trades`, `bars-1m` and `settlements`, consumer groups `analytics`, `dashboard` and
        `settlement`. The checks read the MSK control plane and the Kafka broker itself
        (topics, partitions, committed offsets, lag, group members) and produce their own
        probe trades (symbols `PRB...`, ids `probe-...`); they never read your variables.

        In the sandbox the cluster's brokers are one local Kafka-protocol broker,
        plaintext and unauthenticated, with replication factor 1 (the MSK section of
        eventlab's `docs/differences.md` lists what differs). Your Kafka code is the same as on
        AWS, apart from the security settings. A topic cannot be created twice: to redo a
        step, run the notebook again from its first cell (a fresh sandbox and broker).
        """),
        given("lab06-setup", """
        import json
        import random
        from datetime import timedelta

        from confluent_kafka import Consumer, KafkaException, Producer
        from confluent_kafka.admin import AdminClient, NewTopic

        from autograder.lab import architecture, check, hidden, start
        from eventlab.kafka import tools
        from eventlab.kafka.ohlc import ohlc_bars

        sb = start("lab06")   # a fresh local AWS
        kafka = sb.client("kafka")

        # 240 trades over 5 minutes, from 2026-05-28 20:26:00 UTC; seq counts per symbol.
        START = 1_779_999_960
        rng = random.Random(6)
        prices = {"AAPL": 190.0, "MSFT": 410.0, "GOOG": 170.0, "AMZN": 180.0,
                  "NVDA": 120.0, "TSLA": 250.0}
        seq = dict.fromkeys(prices, 0)
        TRADES = []
        for i in range(240):
            symbol = rng.choice(sorted(prices))
            prices[symbol] = round(prices[symbol] * (1 + rng.uniform(-0.002, 0.002)), 2)
            seq[symbol] += 1
            TRADES.append({"id": f"t-{i:04d}", "symbol": symbol, "seq": seq[symbol],
                           "price": prices[symbol], "size": rng.randint(1, 50) * 10,
                           "ts": START + i * 1.25})

        QUIET = {"log_level": 0}   # librdkafka's connection chatter off

        def caught_up(consumer):
            \"\"\"True when the consumer has an assignment and has read it to the end.\"\"\"
            parts = consumer.assignment()
            if not parts:
                return False
            committed = {(tp.topic, tp.partition): tp.offset
                         for tp in consumer.committed(parts, timeout=10)}
            for tp in consumer.position(parts):
                low, high = consumer.get_watermark_offsets(tp, timeout=10, cached=False)
                at = max(tp.offset, committed[(tp.topic, tp.partition)], low)
                if at < high:
                    return False
            return True

        print(len(TRADES), "trades, e.g.", TRADES[0])
        """),
        md("lab06-cluster-md", f"""
        ## Step 1: an MSK Serverless cluster

        **MSK Serverless** runs Kafka without brokers to size: you pay per cluster-hour,
        partition-hour and GB in and out, and AWS scales the capacity. It lives in your
        VPC (subnets in at least two AZs and security groups) and clients authenticate
        with **IAM** only. Creating it takes minutes: the cluster is `CREATING`, then
        `ACTIVE`. Create it with `create_cluster_v2` (the API for both provisioned and
        serverless clusters), advance the sandbox's virtual clock instead of waiting,
        then ask `get_bootstrap_brokers` for the address clients connect to. A serverless
        cluster answers only `BootstrapBrokerStringSaslIam` (port 9098 on AWS). See
        [cluster types]({C}/streams.md#cluster-types).

        Keep the address in `bootstrap`. (On AWS the clients would add
        `security.protocol=SASL_SSL` and the IAM signer; the sandbox's broker is plaintext.)
        """),
        solution("lab06-cluster", "", """
        cluster_arn = kafka.create_cluster_v2(ClusterName="trading", Serverless={
            "VpcConfigs": [{"SubnetIds": ["subnet-a", "subnet-b"], "SecurityGroupIds": ["sg-kafka"]}],
            "ClientAuthentication": {"Sasl": {"Iam": {"Enabled": True}}},
        })["ClusterArn"]
        state = kafka.describe_cluster_v2(ClusterArn=cluster_arn)["ClusterInfo"]["State"]
        while state != "ACTIVE":
            sb.clock.advance(minutes=1)
            state = kafka.describe_cluster_v2(ClusterArn=cluster_arn)["ClusterInfo"]["State"]
        bootstrap = kafka.get_bootstrap_brokers(ClusterArn=cluster_arn)["BootstrapBrokerStringSaslIam"]
        print(state, bootstrap)
        """),
        check("lab06-check-cluster", "cluster"),
        md("lab06-topic-md", f"""
        ## Step 2: the `trades` topic and its partitions

        A topic is split into **partitions**: the unit of order and of parallelism. Kafka
        keeps order only within a partition, and in a consumer group each partition is
        read by exactly one member, so the partition count caps how many consumers of one
        group can work at once. Partitions can be added later but never removed, and adding
        them moves keys to other partitions. Create `trades` with **6 partitions** using
        the Kafka admin client (on MSK, replication factor 3; the sandbox has one broker,
        so 1). MSK Serverless has a quota of partitions per cluster and bills every
        partition-hour, so more partitions than consumers need cost money. See [ordering and delivery]({C}/streams.md#ordering-and-delivery).
        """),
        solution("lab06-topic", """
        admin = AdminClient({"bootstrap.servers": bootstrap, **QUIET})
        """, """
        for future in admin.create_topics([NewTopic("trades", num_partitions=6,
                                                    replication_factor=1)]).values():
            future.result()
        """, """
        print(tools.describe_topic(bootstrap, "trades")["partitions"])
        """),
        check("lab06-check-topic", "topic", hidden=True),
        md("lab06-produce-md", f"""
        ## Step 3: a producer keyed by symbol

        The **key** picks the partition (a hash of the key modulo the partition count), so
        all trades of one symbol land on one partition, in the order they were produced.
        A random key would scatter a symbol over partitions and lose its order; a constant
        key would put every symbol on one partition and leave the other consumers idle.
        Produce every trade of `TRADES`, in order, keyed by its `symbol`, with the JSON
        trade as the value; `flush()` waits for the broker's acknowledgements. (The
        `murmur2_random` partitioner hashes keys as the Java client does, so the same key
        picks the same partition from any client.) See
        [Kinesis Data Streams vs MSK]({C}/decision-points.md#kinesis-data-streams-vs-msk).
        """),
        solution("lab06-produce", """
        producer = Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2_random",
                             "acks": "all", **QUIET})
        """, """
        for trade in TRADES:
            producer.produce("trades", key=trade["symbol"], value=json.dumps(trade))
        producer.flush()
        """, """
        for p in tools.describe_topic(bootstrap, "trades")["partitions"]:
            print("partition", p["partition"], "holds", p["end"], "trades")
        """),
        check("lab06-check-produce", "produce"),
        md("lab06-analytics-md", f"""
        ## Step 4: the analytics group and its lag

        A **consumer group** has its own committed offset per partition, so each
        application reads the whole topic at its own pace. **Consumer lag** is the distance
        between the end of a partition and the group's committed offset: the number to
        watch (MSK publishes it as `MaxOffsetLag` and `SumOffsetLag` in CloudWatch). The
        analytics job reads in batches: read the first 100 trades with group `analytics`
        (`tools.consume` commits what it read) and describe the group with
        `tools.describe_group`. Its `total_lag` counts only partitions where the group has
        committed (as Kafka's own tools show `-` for the others), so the **backlog** is
        `end - (committed or 0)` summed over the partitions. Read that many more, and
        describe the group again: lag 0. (The checks' probe trades are in the topic too,
        so the backlog is a little over 140.) The same
        numbers come from the command line: `eventlab kafka lag -b <bootstrap>`. See
        [ordering and delivery]({C}/streams.md#ordering-and-delivery).
        """),
        solution("lab06-analytics", "", """
        first = tools.consume(bootstrap, "trades", "analytics", max_messages=100)
        before = tools.describe_group(bootstrap, "analytics")
        backlog = sum(p.end - (p.committed or 0) for p in before.partitions)
        rest = tools.consume(bootstrap, "trades", "analytics", max_messages=backlog)
        after = tools.describe_group(bootstrap, "analytics")
        print(len(first), "read; lag", before.total_lag, "backlog", backlog)
        print(len(rest), "read; lag", after.total_lag)
        """),
        check("lab06-check-analytics", "analytics"),
        md("lab06-dashboard-md", f"""
        ## Step 5: two dashboard consumers, one group

        The dashboard is a second application, so a second group: `dashboard`. One
        consumer cannot keep up, so start a second one **in the same group**: the group
        coordinator **rebalances**, revoking partitions from the first member and giving
        them to the new one. Each partition then has exactly one reader, so each symbol
        is still processed in order. Start `dash-1`, poll until it owns partitions and
        read a first batch; then start `dash-2` and poll **both** (a member only takes part
        in a rebalance while it polls) until both own partitions and have read everything,
        committing after each batch. The `on_assign` callback prints each assignment, so
        you see the rebalance. Leave both consumers **open**: the check looks at the live
        group. See [stream processing with Kafka]({C}/patterns.md#stream-processing-with-kafka).
        """),
        solution("lab06-dashboard", """
        def dashboard_consumer(name):
            consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "dashboard",
                                 "client.id": name, "enable.auto.commit": False,
                                 "auto.offset.reset": "earliest", **QUIET})
            consumer.subscribe(["trades"], on_assign=lambda c, parts: print(
                name, "now owns partitions", [p.partition for p in parts]))
            return consumer

        read = {"dash-1": 0, "dash-2": 0}

        def poll(name, consumer):
            batch = [m for m in consumer.consume(100, timeout=0.1) if m.error() is None]
            if batch:
                read[name] += len(batch)     # the dashboard would update its charts here
                try:
                    consumer.commit(asynchronous=False)
                except KafkaException as exc:   # a rebalance took the partitions away:
                    print(name, "commit refused:", exc.args[0].str())  # read again, at least once
        """, """
        dash1 = dashboard_consumer("dash-1")
        for _ in range(50):
            poll("dash-1", dash1)
            if read["dash-1"]:
                break
        dash2 = dashboard_consumer("dash-2")
        for _ in range(40):
            for name, consumer in (("dash-1", dash1), ("dash-2", dash2)):
                poll(name, consumer)
            if all(c.assignment() and caught_up(c) for c in (dash1, dash2)):
                break
        """, """
        print(read)
        for member in tools.describe_group(bootstrap, "dashboard").members:
            print(member.client_id, member.assignments)
        """),
        check("lab06-check-dashboard", "dashboard", hidden=True),
        md("lab06-ohlc-md", f"""
        ## Step 6: OHLC bars in tumbling windows

        A **tumbling window** cuts time into fixed, non-overlapping intervals (here one
        minute, aligned on the clock): each trade falls in exactly one bar. A hopping
        window overlaps (a trade counts in several bars); a session window closes after a
        gap of inactivity. Windows are on **event time** (the trade's `ts`), so a replay
        gives the same bars. On AWS this runs in Managed Service for Apache Flink or Kafka
        Streams; here `ohlc_bars` (a bytewax dataflow) reads `trades` to its end, keys by
        symbol, folds each symbol's trades per window and writes one bar per symbol and
        minute to another topic. A symbol's trades must reach it in order: if they were
        spread over partitions (any key but the symbol), they would arrive out of order
        and the windows would drop the late ones (`result.late`). Create `bars-1m`
        (6 partitions), run
        `ohlc_bars(bootstrap, "trades", "bars-1m", window=...)` with one-minute windows.
        See [Managed Service for Apache Flink]({C}/streams.md#managed-service-for-apache-flink).
        """),
        solution("lab06-ohlc", "", """
        for future in admin.create_topics([NewTopic("bars-1m", num_partitions=6,
                                                    replication_factor=1)]).values():
            future.result()
        result = ohlc_bars(bootstrap, "trades", "bars-1m", window=timedelta(minutes=1))
        print(result)
        """, """
        for p in tools.describe_topic(bootstrap, "bars-1m")["partitions"]:
            print("partition", p["partition"], "holds", p["end"], "bars")
        """),
        check("lab06-check-ohlc", "ohlc"),
        md("lab06-settle-md", f"""
        ## Step 7: at-least-once settlement, through a crash

        Kafka delivers **at least once** when a consumer commits an offset only **after**
        processing: if it crashes in between, the group gives the uncommitted messages to
        the next member, which processes them again (so processing must be idempotent).
        Committing **before** processing is at-most-once: a crash loses what was
        committed but not yet processed, and so is committing before the writes it
        covers are flushed. Commit per batch or per message, as long as each commit comes
        after the flush of what it covers. (Exactly-once needs Kafka transactions.)

        `settle(name, crash_in_batch)` reads `trades` in batches of 50 with group
        `settlement` and hands each batch to `handle_batch`, which you write: for each
        message, produce `{{"id": <trade id>, "by": name}}` to `settlements` (keyed by the
        trade's key), then flush and commit. When `crash_at` is set, raise a
        `RuntimeError` on reaching message number `crash_at`, like a process that dies in
        the middle of a batch. The cell then runs a settler that crashes in its second
        batch, and a second settler of the same group.

        **Sandbox note.** On MSK, a consumer process that dies is evicted from its group
        after `session.timeout.ms` (45 s) and its partitions are reassigned. The sandbox's
        broker never evicts a member that vanished without leaving
        (`docs/differences.md`), so here the crashing settler
        **closes** its consumer in `finally` (it leaves the group without committing): what
        the next member gets is the same as after an eviction. Like a dead process, it
        loses the settlements its producer had not yet sent (`purge()`): only what
        `flush()` returned for is safe, so flush before you commit. See
        [ordering and delivery]({C}/streams.md#ordering-and-delivery).
        """),
        solution("lab06-settle", """
        for future in admin.create_topics([NewTopic("settlements", num_partitions=6,
                                                    replication_factor=1)]).values():
            future.result()

        def settle(name, crash_in_batch=None):
            \"\"\"Settle trades in batches of 50 with group 'settlement'; crash if asked.\"\"\"
            consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "settlement",
                                 "client.id": name, "enable.auto.commit": False,
                                 "auto.offset.reset": "earliest", **QUIET})
            consumer.subscribe(["trades"])
            # linger.ms: writes wait in the producer (up to 1 s) unless flushed
            out = Producer({"bootstrap.servers": bootstrap, "linger.ms": 1000, **QUIET})
            batches = 0
            try:
                for _ in range(200):
                    if caught_up(consumer):
                        break
                    batch = [m for m in consumer.consume(50, timeout=0.1) if m.error() is None]
                    if batch:
                        batches += 1
                        crash_at = len(batch) // 2 if batches == crash_in_batch else None
                        handle_batch(consumer, out, batch, name, crash_at)
            except RuntimeError:
                out.purge()   # a process that dies loses what its producer had not sent
                raise
            finally:
                out.flush()
                consumer.close()   # leaves the group (see the sandbox note)
                print(name, "ran", batches, "batches")
        """, """
        def handle_batch(consumer, out, batch, name, crash_at=None):
            for i, msg in enumerate(batch):
                if i == crash_at:
                    raise RuntimeError(f"{name} crashed in the middle of a batch")
                trade = json.loads(msg.value())
                out.produce("settlements", key=msg.key(),
                            value=json.dumps({"id": trade["id"], "by": name}))
            out.flush()
            consumer.commit(asynchronous=False)
        """, """
        try:
            settle("settler-1", crash_in_batch=2)
        except RuntimeError as exc:
            print("crash:", exc)
        settle("settler-2")
        print("settlement lag:", tools.describe_group(bootstrap, "settlement").total_lag)
        """),
        check("lab06-check-settle", "settlement"),
        md("lab06-end-md", f"""
        ## The picture, and what the sandbox cannot show

        The picture below (also under each check) draws the cluster, its topics and each
        consumer group with its backlog, read from the broker.

        On AWS you would also watch `MaxOffsetLag` per group in CloudWatch, give the
        cluster's IAM policy `kafka-cluster:Connect`, `ReadData` and `WriteData`, and
        replicate each partition 3 times. The sandbox has no CloudWatch metrics for MSK,
        no IAM authentication and one broker. See [security]({C}/streams.md#security).
        """),
        given("lab06-picture", """
        architecture()   # the cluster, its topics, and each group's backlog per topic
        print(tools.list_topics(bootstrap))
        for group, state in tools.list_groups(bootstrap):
            print(group, state, "lag", tools.describe_group(bootstrap, group).total_lag)
        """),
        *scorecard("lab06"),
        md("lab06-quiz-md", f"""
        ## Check your understanding

        Three exam-style scenarios on
        [Kinesis Data Streams vs MSK]({C}/decision-points.md#kinesis-data-streams-vs-msk).
        """),
        given("lab06-quiz", """
        from quizzes.widget import quiz_for

        quiz_for(decision="kinesis-vs-msk", n=3)
        """),
    ])
