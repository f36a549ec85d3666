"""A live picture of the learner's architecture, drawn from the sandbox's state.

Resources are nodes (topics, queues, functions, buses, rules, archives); deliveries are
edges labelled with message counts.  The picture is Mermaid inside Markdown, which
JupyterLab 4 renders as a diagram; its plain-text form lists the same edges.
"""

from __future__ import annotations

import json
import re
from typing import Any

from autograder.traffic import Traffic
from eventlab.sandbox import inspect


def _id(kind: str, name: str) -> str:
    return kind + "_" + re.sub(r"[^A-Za-z0-9_]", "_", name)


def _label(text: str) -> str:
    return text.replace('"', "'")


class Picture:
    def __init__(self) -> None:
        self.nodes: dict[str, str] = {}
        self.labels: dict[str, str] = {}
        self.edges: list[tuple[str, str, str, bool]] = []
        self.problems: set[str] = set()

    def node(self, kind: str, name: str, shape: str) -> str:
        nid = _id(kind, name)
        if nid not in self.nodes:
            self.nodes[nid] = shape.format(_label(name))
            quoted = re.search(r'"(.*)"', shape.format(name))
            self.labels[nid] = quoted.group(1) if quoted else name
        return nid

    def edge(self, a: str, b: str, label: str, dashed: bool = False) -> None:
        self.edges.append((a, b, label, dashed))

    def problem(self, nid: str, what: str, detail: str) -> None:
        """Mark node ``nid`` as failing: a red node and a dashed edge to a note saying what
        failed (function errors, throttles)."""
        safe = _label(detail).replace("{", "(").replace("}", ")")   # node() formats the shape
        note = self.node("problem", f"{nid}_{what}", '[/"' + safe + '"/]')
        self.labels[note] = detail
        self.edge(nid, note, what, dashed=True)
        self.problems.add(nid)

    def mermaid(self) -> str:
        lines = ["flowchart LR"]
        lines += [f"    {nid}{shape}" for nid, shape in self.nodes.items()]
        for a, b, label, dashed in self.edges:
            arrow = "-.->" if dashed else "-->"
            lines.append(f'    {a} {arrow}|"{_label(label)}"| {b}')
        if self.problems:
            lines.append("    classDef problem fill:#fde2e2,stroke:#c62828,stroke-width:2px")
            lines.append(f"    class {','.join(sorted(self.problems))} problem")
        if len(lines) == 1:
            lines.append('    empty["nothing created yet"]')
        return "\n".join(lines)

    def text(self) -> str:
        if not self.edges and not self.nodes:
            return "architecture: nothing created yet"
        names = self.labels
        rows = [f"  {names.get(a, a)} -> {names.get(b, b)}  ({label})" for a, b, label, _ in self.edges]
        alone = set(names) - {a for a, *_ in self.edges} - {b for _, b, *_ in self.edges}
        rows += [f"  {names[n]}" for n in sorted(alone)]
        return "architecture:\n" + "\n".join(rows)


def _msgs(n: int) -> str:
    return f"{n} msg" + ("" if n == 1 else "s")


def picture(sandbox: Any, traffic: Traffic | None = None) -> Picture:
    pic = Picture()
    _sns_sqs_lambda(sandbox, pic, traffic)
    _eventbridge(sandbox, pic, traffic)
    for section in (_pipes, _kafka, _apigateway, _streams, _workflows, _function_failures, _refused):
        try:
            section(sandbox, pic)
        except Exception:  # noqa: BLE001 - a picture must never break a check cell
            continue
    return pic


def _function_failures(sb: Any, pic: Picture) -> None:
    """Each function whose invocations failed or were throttled: a red node, and an edge to
    what went wrong (the count and the last error, as its logs show it)."""
    if not inspect.in_use("lambda"):
        return
    errors: dict[str, list[dict[str, Any]]] = {}
    for entry in inspect.invocations(sb):
        if not entry.get("ok", True):
            errors.setdefault(entry["function"], []).append(entry.get("error") or {})
    throttles: dict[str, int] = {}
    for entry in inspect.throttles(sb):
        throttles[entry["function"]] = throttles.get(entry["function"], 0) + 1
    for name in sorted(set(errors) | set(throttles)):
        fid = pic.node("f", name, '("{} (Lambda)")')
        if name in errors:
            last = errors[name][-1]
            kind = str(last.get("errorType") or "Error")
            message = str(last.get("errorMessage") or "")[:60]
            n = len(errors[name])
            pic.problem(fid, "errors", f"{n} error{'s' if n != 1 else ''}, last {kind}: {message}".rstrip(": "))
        if name in throttles:
            n = throttles[name]
            pic.problem(fid, "throttled", f"{n} invocation{'s' if n != 1 else ''} throttled (no concurrency left)")


def _refused(sb: Any, pic: Picture) -> None:
    """Each queue, topic or function whose resource policy refused deliveries (SNS's, and
    EventBridge's ``NO_PERMISSIONS``): a red node, and an edge saying from where."""
    refused: dict[str, list[str]] = {}
    for refusal in inspect.refused_deliveries(sb):
        refused.setdefault(refusal.target, []).append(refusal.source)
    for arn, sources in sorted(refused.items()):
        n = len(sources)
        pic.problem(_target_node(pic, arn), "refused",
                    f"{n} deliver{'ies' if n != 1 else 'y'} from {', '.join(sorted(set(sources)))} "
                    "refused by its resource policy")


def _apigateway(sb: Any, pic: Picture) -> None:
    """REST APIs and where their integrations send requests (SQS queues, Lambda functions)."""
    if not inspect.in_use("apigateway"):
        return
    for api in inspect.rest_apis(sb):
        gid = pic.node("g", api.name, '[/"{} (API Gateway)"/]')
        for r in api.routes:
            uri, route = r.uri, f"{r.method} {r.path}"
            if ":sqs:path/" in uri:
                pic.edge(gid, pic.node("q", uri.rsplit("/", 1)[-1], '[["{} (SQS)"]]'), route)
            elif ":sqs:action/" in uri:
                queue = next((v.strip("'").rsplit("/", 1)[-1] for k, v in r.request_parameters.items()
                              if k.endswith("QueueUrl")), "SQS")
                pic.edge(gid, pic.node("q", queue, '[["{} (SQS)"]]'), route)
            elif ":lambda:path/" in uri and ":function:" in uri:
                name = uri.split(":function:")[1].split("/")[0].split(":")[0]
                pic.edge(gid, pic.node("f", name, '("{} (Lambda)")'), route)


def _streams(sb: Any, pic: Picture) -> None:
    """Kinesis streams with their Lambda consumers, Firehose streams with source and bucket."""
    if inspect.in_use("kinesis"):
        for stream in inspect.streams(sb):
            records = sum(len(shard.records) for shard in stream.shards.values())
            sid = pic.node("k", stream.stream_name,
                           '[/"{} (Kinesis, ' + f"{len(stream.shards)} shards, {_records(records)})" + '"/]')
            if inspect.in_use("lambda"):
                for esm in inspect.mappings(sb, source_arn=stream.arn):
                    pic.edge(sid, pic.node("f", esm.function_name, '("{} (Lambda)")'),
                             "event source mapping")
    if inspect.in_use("firehose"):
        for delivery in inspect.delivery_streams(sb):
            if delivery.region != sb.region:
                continue
            fid = pic.node("h", delivery.delivery_stream_name, '[/"{} (Firehose)"/]')
            stream_arn = (delivery.source or {}).get("KinesisStreamARN")
            if stream_arn:
                pic.edge(_id("k", stream_arn.rsplit("/", 1)[-1]), fid, "reads")
            for destination in delivery.destinations:
                s3 = destination.get("S3") or destination.get("ExtendedS3") or {}
                bucket = str(s3.get("BucketARN", "")).rsplit(":", 1)[-1]
                if bucket:
                    label = str(s3.get("CompressionFormat") or "UNCOMPRESSED")
                    pic.edge(fid, pic.node("s", bucket, '[("{} (S3)")]'), label)


def _workflows(sb: Any, pic: Picture) -> None:
    """State machines with the count of their executions."""
    if not inspect.in_use("stepfunctions"):
        return
    for machine in inspect.state_machines(sb):
        runs = machine.executions
        runs_text = f"{runs} run" + ("" if runs == 1 else "s")
        pic.node("w", machine.name, '[["{} (Step Functions ' + machine.type + f", {runs_text})" + '"]]')


def _records(n: int) -> str:
    return f"{n} record" + ("" if n == 1 else "s")


def _sns_sqs_lambda(sb: Any, pic: Picture, traffic: Traffic | None) -> None:
    queues = inspect.queues(sb)
    queue_ids: dict[str, str] = {}
    for queue in queues:
        waiting = queue.approximate_number_of_messages
        shape = '[["{} (SQS)' + (f", {waiting} waiting" if waiting else "") + '"]]'
        queue_ids[queue.queue_arn] = pic.node("q", queue.name, shape)
    subscriptions = inspect.subscriptions(sb)
    for topic in inspect.topics(sb):
        tid = pic.node("t", topic.name, '(["{} (SNS)"])')
        for sub in subscriptions:
            if sub.topic_arn != topic.arn:
                continue
            target = queue_ids.get(sub.endpoint) or pic.node(
                "x", sub.endpoint.split(":")[-1], '["{}"]')
            n = len(traffic.delivered_to_subscription(sub.arn)) if traffic else 0
            extra = []
            if sub.filter_policy is not None:
                extra.append("filter")
            if sub.raw:
                extra.append("raw")
            pic.edge(tid, target, " ".join([_msgs(n), *extra]))
    for queue in queues:
        redrive = queue.redrive_policy or {}
        dlq_arn = redrive.get("deadLetterTargetArn")
        if dlq_arn in queue_ids:
            pic.edge(queue_ids[queue.queue_arn], queue_ids[dlq_arn],
                     f"DLQ after {redrive.get('maxReceiveCount')} receives", dashed=True)
    records = traffic.lambda_records() if traffic else {}
    fn_ids = {fn.function_name: pic.node("f", fn.function_name, '("{} (Lambda)")')
              for fn in inspect.functions(sb)}
    for esm in inspect.mappings(sb):
        name = esm.function_name
        if esm.event_source_arn in queue_ids and name in fn_ids:
            n = records.get((esm.event_source_arn, name), 0)
            pic.edge(queue_ids[esm.event_source_arn], fn_ids[name], _msgs(n))


def _eventbridge(sb: Any, pic: Picture, traffic: Traffic | None) -> None:
    deliveries = traffic.rule_deliveries() if traffic else {}
    dead = traffic.dead_letters() if traffic else {}
    for bus in inspect.buses(sb):
        if bus.name == "default" and not bus.rules:
            continue
        bid = pic.node("b", bus.name, '{{"{} (bus)"}}')
        for rule in bus.rules.values():
            rid = pic.node("r", f"{bus.name}/{rule.name}", '>"rule {}"]')
            pic.edge(bid, rid, _pattern_summary(rule.event_pattern))
            for target in rule.targets:
                arn = target["Arn"]
                tid = _target_node(pic, arn)
                n = deliveries.get((rule.name, arn), 0)
                label = _msgs(n) + (" transformed" if target.get("InputTransformer") else "")
                pic.edge(rid, tid, label)
                dlq = (target.get("DeadLetterConfig") or {}).get("Arn")
                if dlq:
                    pic.edge(tid, _target_node(pic, dlq),
                             f"DLQ, {_msgs(dead.get((rule.name, arn), 0))}", dashed=True)
    for archive in inspect.archives(sb):
        aid = pic.node("a", archive.name, '[("{} (archive)")]')
        source = archive.source_arn.split("/")[-1]
        pic.edge(_id("b", source), aid, f"{len(archive.events)} archived", dashed=True)


def _pipes(sb: Any, pic: Picture) -> None:
    """Each EventBridge pipe: its source, a dashed edge to its enrichment, and its target,
    with how many events it filtered out and delivered."""
    for p in inspect.pipes(sb):
        batches = inspect.pipe_batches(sb, p.name)
        pid = pic.node("p", p.name, '>"pipe {} (' + p.current_state + ')"]')
        filtered = sum(b["filtered_out"] for b in batches)
        has_filter = bool((p.source_parameters.get("FilterCriteria") or {}).get("Filters"))
        pic.edge(_target_node(pic, p.source), pid,
                 _msgs(sum(b["size"] for b in batches)) + (f", {filtered} filtered out" if has_filter else ""))
        if p.enrichment:
            pic.edge(pid, _target_node(pic, p.enrichment), "enrichment", dashed=True)
        resource = p.target.split(":")[-1]
        target = (pic.node("b", resource.split("/", 1)[1], '{{"{} (bus)"}}')   # a bus of its account
                  if resource.startswith("event-bus/") else _target_node(pic, p.target))
        pic.edge(pid, target, _msgs(sum(b.get("delivered", 0) for b in batches)))


def _kafka(sb: Any, pic: Picture) -> None:
    """MSK clusters; with a running broker, its topics and each group's backlog per topic."""
    clusters = inspect.clusters(sb)
    if not clusters:
        return
    cids = [pic.node("k", c.cluster_name, '[/"{} (MSK ' + c.cluster_type.title() + ", "
                     + c.state + ')"/]') for c in clusters]
    try:
        msk = sb.service("msk")
        if not (msk.external or (msk.broker is not None and msk.broker.running)):
            return
        from confluent_kafka import TopicPartition
        from confluent_kafka.admin import OffsetSpec

        from eventlab.kafka import tools

        bs = msk.bootstrap_servers()
        admin = tools.admin(bs)  # one client: this runs in every check
        topics = {name: len(t.partitions) for name, t in admin.list_topics(timeout=5).topics.items()
                  if not name.startswith("__")}
        wanted = {TopicPartition(t, p): OffsetSpec.latest() for t, n in topics.items()
                  for p in range(n)}
        ends = {(tp.topic, tp.partition): f.result(timeout=5).offset
                for tp, f in (admin.list_offsets(wanted, request_timeout=5) if wanted else {}).items()}
        tids = {}
        for topic, n in sorted(topics.items()):
            held = sum(v for (t, _), v in ends.items() if t == topic)
            tids[topic] = pic.node("kt", topic, f'[("{{}} ({n} partitions, {_msgs(held)})")]')
            pic.edge(cids[0], tids[topic], "topic", dashed=True)
        groups = sorted(g.group_id for g in admin.list_consumer_groups(
            request_timeout=5).result(timeout=5).valid)
        described = admin.describe_consumer_groups(groups, request_timeout=5) if groups else {}
        for group in groups:
            members = len(described[group].result(timeout=5).members)
            committed = {tp: offset for tp, offset in tools.committed_offsets(
                bs, group, timeout=5).items() if offset is not None}
            gid = pic.node("kg", group, f'(["{{}} (group, {members} live)"])')
            for topic in sorted({t for t, _ in committed} & set(tids)):
                backlog = sum(ends.get((topic, p), 0) - committed.get((topic, p), 0)
                              for p in range(topics[topic]))
                pic.edge(tids[topic], gid, f"backlog {backlog}")
    except Exception:  # the picture never breaks a check cell
        return


def _target_node(pic: Picture, arn: str) -> str:
    service, name = arn.split(":")[2], arn.split(":")[-1]
    if service == "lambda":
        return pic.node("f", name, '("{} (Lambda)")')
    if service == "sqs":
        return pic.node("q", name, '[["{} (SQS)"]]')
    return pic.node("x", name, '["{}"]')


def _pattern_summary(raw: Any) -> str:
    try:
        pattern = json.loads(raw) if isinstance(raw, str) else (raw or {})
    except ValueError:
        return "pattern"
    kinds = pattern.get("detail-type") or []
    return ", ".join(str(k) for k in kinds) or "pattern"


def show(sandbox: Any, traffic: Traffic | None = None) -> None:
    """Display the picture as it is now, in the running cell.  Earlier cells keep the
    picture of their own moment, so a saved notebook shows the architecture growing
    step by step (and where it first went wrong)."""
    pic = picture(sandbox, traffic)
    show_text(pic.mermaid(), pic.text())


def show_text(mermaid: str, text: str) -> None:
    """Display a picture given as Mermaid source and its text form."""
    from autograder.display import in_notebook

    if not in_notebook():
        print(text)
        return
    from IPython.display import display

    bundle = {"text/markdown": "```mermaid\n" + mermaid + "\n```", "text/plain": text}
    display(bundle, raw=True)
