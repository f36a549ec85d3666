"""The one way code outside the sandbox reads the sandbox's state.

Checks, the architecture picture and the traffic view ask here, and get back plain,
typed snapshots (frozen dataclasses, lists of dicts): never moto's objects, never private
attributes.  A moto upgrade that renames its internals then breaks this module, and its
tests, not every check.  ``tests/architecture/test_inspection.py`` keeps it that way.

Every function takes the running :class:`~eventlab.sandbox.Sandbox` and reads its account
in its region.  Field names follow the AWS API's (snake_case), so that a check reads like
the documentation: ``queue(sb, "orders").visibility_timeout``.

Reading never changes anything: listing a queue's messages does not receive them (their
receive counts and visibility stay as they were).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eventlab.sandbox.sqs.queues import visibility_timeout

if TYPE_CHECKING:  # moto ships its types: the conversions below are checked against them
    from moto.awslambda.models import LambdaFunction
    from moto.cloudwatch.models import Dimension
    from moto.events.models import EventBus
    from moto.kinesis.models import Stream as MotoStream
    from moto.sqs.models import Queue as MotoQueue

    from eventlab.sandbox.core.sandbox import Sandbox

# service -> the moto module that holds its objects once the sandbox has used it
_MODELS = {
    "lambda": "moto.awslambda.models", "apigateway": "moto.apigateway.models",
    "kinesis": "moto.kinesis.models", "firehose": "moto.firehose.models",
    "stepfunctions": "moto.stepfunctions.parser.models", "sqs": "moto.sqs.models",
    "sns": "moto.sns.models", "events": "moto.events.models", "kafka": "moto.kafka.models",
}


def in_use(service: str) -> bool:
    """Whether the sandbox has used a service yet (reading it here would otherwise load
    moto's models for it, a cost a picture drawn after every check must not pay)."""
    return _MODELS[service] in sys.modules


# -- SQS ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Message:
    """One message in a queue, as a reader that does not receive it sees it."""
    message_id: str
    body: str
    message_attributes: dict[str, Any]   # as sent: {name: {"DataType", "StringValue"...}}
    attributes: dict[str, Any]           # system attributes (AWSTraceHeader...)
    receive_count: int                   # ApproximateReceiveCount
    visible: bool                        # False while in flight or delayed
    group_id: str | None


@dataclass(frozen=True)
class Queue:
    name: str
    queue_arn: str
    url: str
    visibility_timeout: int
    message_retention_period: int        # seconds
    redrive_policy: dict[str, Any] | None
    policy: str | dict[str, Any] | None
    fifo_queue: bool
    approximate_number_of_messages: int   # visible now
    attributes: dict[str, Any]


def _queue(q: MotoQueue) -> Queue:
    return Queue(
        name=q.name, queue_arn=q.queue_arn,
        url=f"https://sqs.{q.region}.amazonaws.com/{q.account_id}/{q.name}",
        visibility_timeout=visibility_timeout(q),
        message_retention_period=int(vars(q)["message_retention_period"]), redrive_policy=q.redrive_policy,
        policy=q.policy, fifo_queue=bool(q.fifo_queue),
        approximate_number_of_messages=int(q.approximate_number_of_messages),
        attributes=dict(q.attributes))


def queues(sb: Sandbox) -> list[Queue]:
    return [_queue(q) for q in list(sb.backend("sqs").queues.values())]


def queue_names(sb: Sandbox) -> list[str]:
    """The names of the queues (cheaper than :func:`queues` when only names matter)."""
    return list(sb.backend("sqs").queues)


def queue(sb: Sandbox, name: str) -> Queue | None:
    q = sb.backend("sqs").queues.get(name)
    return None if q is None else _queue(q)


def messages(sb: Sandbox, queue_name: str, account: str | None = None) -> list[Message]:
    """Every message in a queue of ``account`` (default: the sandbox's) (visible, delayed
    or in flight), oldest first; [] when there is no such queue."""
    q = sb.backend("sqs", account=account).queues.get(queue_name)
    if q is None:
        return []
    return [Message(message_id=m.id, body=m.body,
                    message_attributes=dict(m.message_attributes or {}),
                    attributes=dict(m.system_attributes or {}),
                    receive_count=int(m.approximate_receive_count),
                    visible=bool(m.visible and not m.delayed), group_id=m.group_id)
            for m in list(q._messages)]


# -- SNS ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Topic:
    name: str
    arn: str
    fifo_topic: bool


@dataclass(frozen=True)
class Subscription:
    arn: str
    topic_arn: str
    protocol: str
    endpoint: str
    attributes: dict[str, Any]
    filter_policy: dict[str, Any] | None    # None: every message gets through

    @property
    def raw(self) -> bool:
        return str(self.attributes.get("RawMessageDelivery", "false")).lower() == "true"


def topics(sb: Sandbox) -> list[Topic]:
    return [Topic(name=t.name, arn=t.arn, fifo_topic=bool(t.fifo_topic))
            for t in list(sb.backend("sns").topics.values())]


def topic(sb: Sandbox, name: str) -> Topic | None:
    return next((t for t in topics(sb) if t.name == name), None)


def subscriptions(sb: Sandbox, topic_arn: str | None = None) -> list[Subscription]:
    out = []
    for s in list(sb.backend("sns").subscriptions.values()):
        if topic_arn is None or s.topic.arn == topic_arn:
            out.append(Subscription(
                arn=s.arn, topic_arn=s.topic.arn, protocol=s.protocol, endpoint=s.endpoint,
                attributes=dict(s.attributes),
                filter_policy=s._filter_policy if s._filter_policy_matcher is not None else None))
    return out


def watch_sns_deliveries(sb: Sandbox, record: Callable[[str, str], None]) -> None:
    """Call ``record(subscription_arn, message_id)`` for each message a subscription lets
    through its filter policy and no resource policy refused, from now until the sandbox
    stops."""
    from moto.sns.models import Subscription as MotoSubscription

    def make_publish(original: Callable[..., None]) -> Callable[..., None]:
        def publish(sub: MotoSubscription, message: str, message_id: str, *args: object,
                    **kwargs: object) -> None:
            attrs = kwargs.get("message_attributes") if "message_attributes" in kwargs else (
                args[1] if len(args) > 1 else None)
            matcher = sub._filter_policy_matcher
            refused = sb.service("policies").refused      # deliveries a resource policy refused
            before = len(refused)
            original(sub, message, message_id, *args, **kwargs)
            if len(refused) == before and (
                    matcher is None or matcher.matches(attrs if isinstance(attrs, dict) else None, message)):
                record(sub.arn, message_id)
        return publish

    sb.patches.wrap(MotoSubscription, "publish", make_publish,
                    "the lab's picture counts SNS deliveries per subscription")


# -- Lambda -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Function:
    function_name: str
    function_arn: str
    timeout: int
    runtime: str | None
    handler: str | None
    code_sha_256: str
    reserved_concurrency: int | None


@dataclass(frozen=True)
class Mapping:
    """An event source mapping."""
    uuid: str
    event_source_arn: str
    function_arn: str
    function_name: str
    enabled: bool
    batch_size: int | None
    starting_position: str | None
    function_response_types: list[str]
    maximum_batching_window: int | None
    filter_criteria: dict[str, Any] | None


def _function(fn: LambdaFunction) -> Function:
    reserved = fn.reserved_concurrency
    return Function(function_name=fn.function_name, function_arn=fn.function_arn,
                    timeout=int(fn.timeout or 3), runtime=fn.run_time, handler=fn.handler,
                    code_sha_256=fn.code_sha_256,
                    reserved_concurrency=None if reserved is None else int(reserved))


def functions(sb: Sandbox) -> list[Function]:
    return [_function(fn) for fn in sb.backend("lambda").list_functions()]


def function(sb: Sandbox, name_or_arn: str) -> Function | None:
    from eventlab.errors import FunctionNotFound

    try:
        return _function(sb.service("lambda").function(name_or_arn))
    except FunctionNotFound:
        return None


def mappings(sb: Sandbox, *, source_arn: str | None = None) -> list[Mapping]:
    """The event source mappings (of one source, with ``source_arn``)."""
    out = []
    for esm in list(sb.backend("lambda")._event_source_mappings.values()):
        if source_arn is not None and esm.event_source_arn != source_arn:
            continue
        arn = str(esm.function_arn)
        out.append(Mapping(
            uuid=esm.uuid, event_source_arn=esm.event_source_arn, function_arn=arn,
            function_name=arn.split(":")[6] if arn.count(":") >= 6 else arn,
            enabled=bool(esm.enabled), batch_size=esm.batch_size,
            starting_position=esm.starting_position,
            function_response_types=list(esm.function_response_types or []),
            maximum_batching_window=esm.max_batch_window, filter_criteria=esm.filter_criteria))
    return out


def invocations(sb: Sandbox, function_name: str | None = None) -> list[dict[str, Any]]:
    """Every invocation the sandbox ran, oldest first (of one function, by name): dicts with
    ``function``, ``event``, ``ok``, ``error`` (the runtime's error object), ``time``..."""
    log = list(sb.service("lambda").invocation_log)
    return log if function_name is None else [e for e in log if e["function"] == function_name]


def throttles(sb: Sandbox) -> list[dict[str, Any]]:
    """Every invocation refused for want of concurrency (``function``, ``time``...)."""
    return list(sb.service("lambda").throttle_log)


def log_text(sb: Sandbox, group: str) -> str:
    """Every line written to a CloudWatch Logs group so far ("" when it does not exist)."""
    found = sb.backend("logs").groups.get(group)
    if found is None:
        return ""
    return "\n".join(e.message for stream in found.streams.values() for e in stream.events)


# -- Kinesis and Firehose -----------------------------------------------------------------
@dataclass(frozen=True)
class Record:
    partition_key: str
    data: str                        # as moto keeps it (base64 text)
    sequence_number: str


@dataclass(frozen=True)
class Shard:
    shard_id: str
    records: list[Record]


@dataclass(frozen=True)
class Stream:
    stream_name: str
    arn: str
    status: str
    stream_mode: dict[str, Any] | None
    shards: dict[str, Shard]


def _stream(s: MotoStream) -> Stream:
    return Stream(
        stream_name=s.stream_name, arn=s.arn, status=s.status, stream_mode=s.stream_mode,
        shards={sid: Shard(sid, [Record(r.partition_key, r.data, str(r.sequence_number))
                                 for r in list(shard.records.values())])
                for sid, shard in list(s.shards.items())})


def streams(sb: Sandbox) -> list[Stream]:
    return [_stream(s) for s in list(sb.backend("kinesis").streams.values())]


def stream(sb: Sandbox, name: str) -> Stream | None:
    s = sb.backend("kinesis").streams.get(name)
    return None if s is None else _stream(s)


@dataclass(frozen=True)
class DeliveryStream:
    delivery_stream_name: str
    region: str
    delivery_stream_type: str
    source: dict[str, Any] | None           # KinesisStreamSourceConfiguration
    destinations: list[dict[str, Any]]

    @property
    def s3(self) -> dict[str, Any] | None:
        """The (Extended)S3 destination's configuration."""
        from eventlab.sandbox.firehose.service import s3_config

        return s3_config(self)


def delivery_streams(sb: Sandbox) -> list[DeliveryStream]:
    """Every Firehose stream of the account, in every region."""
    from moto.firehose.models import firehose_backends

    return [DeliveryStream(delivery_stream_name=d.delivery_stream_name, region=backend.region_name,
                           delivery_stream_type=d.delivery_stream_type,
                           source=d.source, destinations=list(d.destinations))
            for backend in list(firehose_backends[sb.account_id].values())
            for d in list(backend.delivery_streams.values())]


def delivery_stream(sb: Sandbox, name: str) -> DeliveryStream | None:
    return next((d for d in delivery_streams(sb) if d.delivery_stream_name == name), None)


def firehose_deliveries(sb: Sandbox) -> list[dict[str, Any]]:
    """Every object Firehose wrote, oldest first (``bucket``, ``key``, ``error_type``...)."""
    return list(sb.service("firehose").deliveries)


# -- EventBridge --------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    name: str
    bus: str
    arn: str
    event_pattern: str | None          # as the learner wrote it
    targets: list[dict[str, Any]]
    state: str


@dataclass(frozen=True)
class Bus:
    name: str
    arn: str
    rules: dict[str, Rule]


@dataclass(frozen=True)
class Archive:
    name: str
    arn: str
    source_arn: str
    retention: int
    events: list[dict[str, Any]]


@dataclass(frozen=True)
class Replay:
    name: str
    arn: str
    source_arn: str
    state: str
    destination: dict[str, Any]
    event_start_time: str
    event_end_time: str


def _bus(b: EventBus) -> Bus:
    return Bus(name=b.name, arn=b.arn, rules={
        name: Rule(name=r.name, bus=b.name, arn=r.arn, event_pattern=r.event_pattern._raw_pattern,
                   targets=[dict(t) for t in r.targets], state=str(r.state))
        for name, r in list(b.rules.items())})


def buses(sb: Sandbox) -> list[Bus]:
    return [_bus(b) for b in list(sb.backend("events").event_buses.values())]


def bus(sb: Sandbox, name: str) -> Bus | None:
    b = sb.backend("events").event_buses.get(name)
    return None if b is None else _bus(b)


def archives(sb: Sandbox) -> list[Archive]:
    return [Archive(name=a.name, arn=a.arn, source_arn=a.source_arn, retention=int(a.retention or 0),
                    events=[dict(e) for e in a.events])
            for a in list(sb.backend("events").archives.values())]


def archive(sb: Sandbox, name: str) -> Archive | None:
    return next((a for a in archives(sb) if a.name == name), None)


def replays(sb: Sandbox) -> list[Replay]:
    return [Replay(name=r.name, arn=r.arn, source_arn=r.source_arn,
                   state=str(getattr(r.state, "value", r.state)), destination=dict(r.destination),
                   event_start_time=r.event_start_time, event_end_time=r.event_end_time)
            for r in list(sb.backend("events").replays.values())]


def rule_deliveries(sb: Sandbox) -> list[dict[str, Any]]:
    """Every event a rule's target received (``rule``, ``target``, ``arn``...), oldest first."""
    return list(sb.service("events-targets").delivered)


def dead_letters(sb: Sandbox) -> list[dict[str, Any]]:
    """Every event a target's dead-letter queue received instead (``rule``, ``arn``...)."""
    return list(sb.service("events-targets").dead_lettered)


@dataclass(frozen=True)
class Refusal:
    target: str        # the ARN of the queue, topic or function that refused
    source: str        # from where: a topic's name or "rule NAME"
    reason: str        # which policy said no, and why


def refused_deliveries(sb: Sandbox) -> list[Refusal]:
    """Each delivery a resource policy refused: SNS's to queues and functions, and
    EventBridge's ``NO_PERMISSIONS`` (dead-lettered or dropped)."""
    found = [Refusal(e["target"], e["source"].split(":")[-1], str(e.get("reason", "")))
             for e in list(sb.service("policies").refused)]
    targets = sb.service("events-targets")
    found += [Refusal(e["arn"], f"rule {e['rule']}", str(e.get("error_message", "")))
              for e in list(targets.dead_lettered) + list(targets.dropped)
              if e.get("error_code") == "NO_PERMISSIONS"]
    return found


# -- Step Functions, API Gateway, CloudWatch, MSK -----------------------------------------
@dataclass(frozen=True)
class StateMachine:
    name: str
    arn: str
    type: str                       # STANDARD or EXPRESS
    executions: int


def state_machines(sb: Sandbox) -> list[StateMachine]:
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    backend = stepfunctions_parser_backends[sb.account_id][sb.region]
    return [StateMachine(name=m.name, arn=m.arn, type=str(m.sm_type),
                         executions=len(getattr(m, "executions", None) or []))
            for m in list(backend.state_machines)]


@dataclass(frozen=True)
class Route:
    """One method of a REST API resource and its integration."""
    method: str
    path: str
    uri: str
    request_parameters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RestApi:
    id: str
    name: str
    routes: list[Route]


def rest_apis(sb: Sandbox) -> list[RestApi]:
    out = []
    for api in list(sb.backend("apigateway").apis.values()):
        routes = []
        for resource in list(api.resources.values()):
            for verb, method in list(resource.resource_methods.items()):
                integration = getattr(method, "method_integration", None)
                routes.append(Route(
                    method=verb, path=resource.get_path(),
                    uri=getattr(integration, "uri", "") or "",
                    request_parameters=dict(getattr(integration, "request_parameters", None) or {})))
        out.append(RestApi(id=api.id, name=api.name, routes=routes))
    return out


@dataclass(frozen=True)
class Alarm:
    name: str
    namespace: str
    metric_name: str
    dimensions: dict[str, str]
    statistic: str | None
    comparison_operator: str
    threshold: float
    period: int
    evaluation_periods: int
    state_value: str
    alarm_actions: list[str]


def alarm(sb: Sandbox, name: str) -> Alarm | None:
    a = sb.backend("cloudwatch").alarms.get(name)
    if a is None:
        return None
    dims = dict(_dimension(d) for d in a.dimensions or [])
    return Alarm(name=a.name, namespace=a.namespace, metric_name=a.metric_name, dimensions=dims,
                 statistic=a.statistic, comparison_operator=a.comparison_operator,
                 threshold=a.threshold, period=a.period,   # as moto keeps them
                 evaluation_periods=a.evaluation_periods, state_value=a.state_value,
                 alarm_actions=list(a.alarm_actions or []))


def _dimension(d: Dimension | dict[str, str]) -> tuple[str, str]:
    """moto keeps a dimension as an object or, from some calls, as the API's dict."""
    if isinstance(d, dict):
        return str(d["Name"]), str(d["Value"])
    return str(d.name), str(d.value)


@dataclass(frozen=True)
class Cluster:
    cluster_name: str
    cluster_type: str
    state: str


def clusters(sb: Sandbox) -> list[Cluster]:
    """MSK clusters (the broker behind them: ``sb.service("msk")``)."""
    return [Cluster(cluster_name=c.cluster_name, cluster_type=c.cluster_type, state=c.state)
            for c in list(sb.backend("kafka").clusters.values())]


@dataclass(frozen=True)
class Pipe:
    """An EventBridge pipe (its parameters as the API spells them)."""
    name: str
    arn: str
    source: str
    target: str
    enrichment: str | None
    current_state: str
    desired_state: str
    source_parameters: dict[str, Any]
    target_parameters: dict[str, Any]
    role_arn: str = ""                 # the execution role the pipe acts with
    state_reason: str | None = None    # why it is not running, when the sandbox knows


def pipes(sb: Sandbox) -> list[Pipe]:
    """The pipes of the sandbox's account and region (none until the Pipes API was used)."""
    if "moto.pipes.models" not in sys.modules:
        return []
    return [Pipe(name=p.name, arn=p.arn, source=p.source, target=p.target, enrichment=p.enrichment,
                 current_state=str(p.current_state), desired_state=str(p.desired_state),
                 source_parameters=dict(p.source_parameters or {}),
                 target_parameters=dict(p.target_parameters or {}),
                 role_arn=str(p.role_arn or ""), state_reason=p.state_reason)
            for p in list(sb.backend("pipes").pipes.values())]


def pipe_batches(sb: Sandbox, pipe_name: str | None = None) -> list[dict[str, Any]]:
    """What became of each batch a pipe read, oldest first (of one pipe, by name): dicts
    with ``pipe``, ``time``, ``size``, ``filtered_out``, ``ok``, ``failed`` (item ids),
    ``error``, ``delivered``."""
    log = [dict(b) for b in sb.service("pipes").batches]
    return log if pipe_name is None else [b for b in log if b["pipe"] == pipe_name]


@dataclass(frozen=True)
class EcsWorkers:
    """ECS workers consuming a queue (eventlab/sandbox/ecs/workers.py), as they are now."""
    cluster: str
    service: str
    queue_url: str
    per_task_rate: float
    backlog_metric: dict[str, Any] | None
    consumed: int


def ecs_workers(sb: Sandbox) -> list[EcsWorkers]:
    """Every ECS service started with ``sb.service("ecs-workers").consume(...)``."""
    return [EcsWorkers(cluster=w.cluster, service=w.service, queue_url=w.queue_url,
                       per_task_rate=w.per_task_rate,
                       backlog_metric=dict(w.backlog_metric) if w.backlog_metric else None,
                       consumed=w.consumed)
            for w in list(sb.service("ecs-workers").workers)]
