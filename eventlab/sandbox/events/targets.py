"""EventBridge in the sandbox: every target delivers, with retries and dead-letter queues.

moto's ``Rule.send_to_targets`` raises NotImplementedError for Lambda, SNS, Step
Functions, Kinesis and Firehose targets (failing the WHOLE PutEvents), ignores
``Input``/``InputPath``, and strips ``account`` from the event.  Here a matching rule
(ENABLED only) hands each target its own delivery, which the pump runs
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html):

* the payload is the event envelope, or what ``Input``/``InputPath``/``InputTransformer``
  make of it (:mod:`eventlab.sandbox.events.input`);
* Lambda is invoked asynchronously (Lambda's own retries then apply), SNS published to,
  SQS sent to (FIFO: ``SqsParameters.MessageGroupId``; the queue needs content-based
  deduplication, as on AWS), Step Functions started with the payload as input, Kinesis
  put to with ``KinesisParameters.PartitionKeyPath`` (default: the event id), Firehose
  put to, CloudWatch Logs written to (one stream per event, as moto does), another event
  bus given the same event; archives and API destinations stay moto's;
* a failing target never fails PutEvents nor the other targets.  Errors AWS does not
  retry (the target does not exist, a parameter is invalid, no permission) go straight
  to the target's ``DeadLetterConfig``; others are retried with exponential back-off on
  the virtual clock (1 s doubling, at most 5 min apart) until ``RetryPolicy``'s
  ``MaximumRetryAttempts`` (default 185) or ``MaximumEventAgeInSeconds`` (default 86400)
  is reached.  The DLQ message is the event, with the attributes RULE_ARN, TARGET_ARN,
  ERROR_CODE, ERROR_MESSAGE, RETRY_ATTEMPTS ("0" when nothing was retried) and, when a
  retry limit ended the delivery, EXHAUSTED_RETRY_CONDITION (rule-dlq.html).
* :meth:`EventsTargetsService.inject_failure` makes a target fail with a transient
  error for a while (labs about retries; nothing in the sandbox fails transiently); it
  is ``sb.faults.fail_target`` (:mod:`eventlab.sandbox.core.faults`).
* ``PutTargets`` refuses a sixth target on a rule (LimitExceededException).
* invocations past the account's quota wait their turn (never dropped), and the
  ``AWS/Events`` metrics show it (:mod:`eventlab.sandbox.events.throughput`).
* ``StartReplay`` replays only the archived events whose time falls between
  ``EventStartTime`` and ``EventEndTime`` ("based on the time in the event",
  https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_StartReplay.html), in
  time order, to the rules in ``Destination.FilterArns`` when it names any.
"""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from eventlab.errors import FunctionNotFound, SandboxError
from eventlab.sandbox.awslambda.service import deliver_to_arn
from eventlab.sandbox.core.pump import DueQueue
from eventlab.sandbox.events.input import envelope, epoch, json_path, missing, transform
from eventlab.sandbox.events.throughput import Invocations
from eventlab.sandbox.iam.enforce import DeliveryRefused, check_bus_to_bus, check_target
from eventlab.sandbox.iam.identity import check_target_role

if TYPE_CHECKING:
    from eventlab.sandbox.core.patches import PatchSet
    from eventlab.sandbox.core.sandbox import Sandbox

if TYPE_CHECKING:
    from moto.events.models import EventMessageType

DEFAULT_MAX_RETRIES = 185
DEFAULT_MAX_AGE = 86400
BACKOFF_FIRST = 1.0
BACKOFF_CAP = 300.0
MAX_TARGETS_PER_RULE = 5
MAX_BUS_HOPS = 4  # a guard against bus -> bus loops

_NOT_FOUND = {"QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", "NotFound",
              "NotFoundException", "ResourceNotFoundException", "ResourceNotFound",
              "StateMachineDoesNotExist", "FunctionNotFound"}
_INVALID = {"InvalidParameterValue", "InvalidParameter", "ValidationException", "ValidationError",
            "MissingParameter", "InvalidMessageContents", "InvalidArgument", "InvalidExecutionInput",
            "InvalidParameterValueException", "InvalidParameterException", "InvalidName",
            "InvalidArgumentException"}
_THROTTLED = {"Throttling", "ThrottlingException", "TooManyRequestsException",
              "ProvisionedThroughputExceededException", "RequestThrottled"}
_DENIED = {"AccessDenied", "AccessDeniedException", "AuthorizationError"}


class TargetError(SandboxError):
    def __init__(self, code: str, message: str, retriable: bool) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retriable = retriable


@dataclass
class Delivery:
    rule_arn: str
    rule_name: str
    target: dict[str, Any]
    event: dict[str, Any]
    payload: str
    first_seen: float
    hops: int = 0
    attempts: int = 0
    errors: list[str] = field(default_factory=list)
    reserved: bool = False   # its turn under the invocation quota has come


class EventsTargetsService:
    name = "events-targets"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._queue: DueQueue[Delivery] = DueQueue(sandbox.clock)
        self.invocations = Invocations(sandbox, self._schedule)
        self._moto_send: Any = None
        self.delivered: list[dict[str, Any]] = []
        self.dead_lettered: list[dict[str, Any]] = []
        self.dropped: list[dict[str, Any]] = []

    # -- installation --------------------------------------------------------------
    def install(self, patches: PatchSet) -> None:
        from moto.events.models import EventsBackend, Rule

        service = self
        self._moto_send = Rule.send_to_targets

        def send_to_targets(rule: Any, event: dict[str, Any], transform_input: bool = True) -> None:
            service.route(rule, event, transform_input)

        patches.replace(Rule, "send_to_targets", send_to_targets,
                        "every EventBridge target type delivers; failures retry and dead-letter per target")

        def cache_jsonpaths() -> None:
            import functools
            import sys

            ext = sys.modules["jsonpath_ng.ext"]   # not yet an attribute of jsonpath_ng while it loads
            patches.replace(ext, "parse", functools.lru_cache(maxsize=256)(ext.parse),
                            "moto parses 8 JSONPaths per archived event and jsonpath_ng rebuilds its "
                            "parser each time (~50 ms a path): parsed paths are cached")

        # moto imports jsonpath_ng.ext inside the function that archives (21 modules, ~6 ms)
        patches.after_import("jsonpath_ng.ext", cache_jsonpaths)

        def make_put_targets(original: Any) -> Any:
            def put_targets(backend: Any, name: str, event_bus_arn: str | None,
                            targets: list[dict[str, Any]]) -> None:
                bus = backend._get_event_bus(backend._normalize_event_bus_arn(event_bus_arn))
                rule = bus.rules.get(name)
                if rule is not None:
                    ids = {t["Id"] for t in rule.targets} | {t["Id"] for t in targets}
                    if len(ids) > MAX_TARGETS_PER_RULE:
                        from moto.core.exceptions import JsonRESTError

                        raise JsonRESTError("LimitExceededException",
                                            "The requested resource exceeds the maximum number allowed.")
                return original(backend, name, event_bus_arn, targets)
            return put_targets

        patches.wrap(EventsBackend, "put_targets", make_put_targets,
                     "a rule has at most 5 targets, as on AWS")

        from moto.events.models import Replay, ReplayState, events_backends

        def replay_events(replay: Any, archive: Any) -> None:
            backend = events_backends[replay.account_id][replay.region]
            bus = backend.describe_event_bus(replay.destination["Arn"].split("/")[-1])
            only = set(replay.destination.get("FilterArns") or [])
            start, end = epoch(replay.event_start_time), epoch(replay.event_end_time)
            chosen = sorted((e for e in archive.events if start <= epoch(e.get("time")) <= end),
                            key=lambda e: epoch(e.get("time")))
            for event in chosen:
                for rule in list(bus.rules.values()):
                    if not only or rule.arn in only:
                        # an archived event (moto's own shape) with a new id and the replay's name
                        replayed = cast("EventMessageType", dict(event, **{
                            "id": str(uuid.uuid4()), "replay-name": replay.name}))
                        rule.send_to_targets(replayed, transform_input=False)
            replay.state = ReplayState.COMPLETED
            replay.end_time = service.sandbox.clock.time()

        patches.replace(Replay, "replay_events", replay_events,
                        "a replay sends only the archived events whose time is inside "
                        "EventStartTime..EventEndTime (moto replays the whole archive)")

    # -- routing (inside PutEvents) --------------------------------------------------
    def route(self, rule: Any, raw_event: dict[str, Any], transform_input: bool = True,
              hops: int = 0) -> None:
        if str(rule.state).upper() == "DISABLED":
            return
        if not rule.event_pattern.matches_event(raw_event):
            return
        event = envelope(raw_event)
        ingestion = raw_event.get("ingestion-time") or self.sandbox.clock.time()
        for target in list(rule.targets):
            arn = target["Arn"]
            parts = arn.split(":", 5)
            service, resource = parts[2], (parts[5] if len(parts) > 5 else "")
            if service == "events" and not resource.startswith("event-bus/"):
                # archives and API destinations: moto's own code, one target at a time
                clone = copy.copy(rule)
                clone.targets = [target]
                try:
                    self._moto_send(clone, raw_event, transform_input)
                except Exception as exc:  # never fail PutEvents
                    self.dropped.append({"target": arn, "error": repr(exc)})
                continue
            try:
                payload = transform(target, event, rule_arn=rule.arn, rule_name=rule.name,
                                    ingestion_time=float(ingestion))
            except Exception as exc:  # a broken transformer is the target's failure
                delivery = Delivery(rule.arn, rule.name, target, event, "", self.sandbox.clock.time(), hops)
                self._give_up(delivery, TargetError("INVALID_JSON", str(exc), False))
                continue
            delivery = Delivery(rule.arn, rule.name, copy.deepcopy(target), event, payload,
                                self.sandbox.clock.time(), hops)
            self._schedule(self.sandbox.clock.time(), delivery)
        self.sandbox.pump.mark_dirty()

    def _schedule(self, when: float, delivery: Delivery) -> None:
        self._queue.schedule(when, delivery)

    # -- the pump's part -------------------------------------------------------------
    def poll(self) -> bool:
        due = self._queue.pop_due()
        for delivery in due:
            if not self.invocations.delayed(delivery):
                self._attempt(delivery)
        return bool(due)

    def pending(self) -> int:
        return len(self._queue)

    def _attempt(self, delivery: Delivery) -> None:
        delivery.attempts += 1
        try:
            self._injected(delivery.target["Arn"])
            self.dispatch(delivery)
        except Exception as exc:
            error = classify(exc)
            delivery.errors.append(f"{error.code}: {error.message}")
            self._failed(delivery, error)
            return
        self.delivered.append({"rule": delivery.rule_name, "target": delivery.target["Id"],
                               "arn": delivery.target["Arn"], "payload": delivery.payload,
                               "attempts": delivery.attempts, "time": self.sandbox.clock.time()})

    def _failed(self, delivery: Delivery, error: TargetError) -> None:
        if not error.retriable:
            self._give_up(delivery, error)
            return
        policy = delivery.target.get("RetryPolicy") or {}
        max_retries = int(policy.get("MaximumRetryAttempts", DEFAULT_MAX_RETRIES))
        max_age = float(policy.get("MaximumEventAgeInSeconds", DEFAULT_MAX_AGE))
        retries_done = delivery.attempts - 1
        if retries_done >= max_retries:
            self._give_up(delivery, error, "MaximumRetryAttempts")
            return
        when = self.sandbox.clock.time() + min(BACKOFF_FIRST * 2 ** retries_done, BACKOFF_CAP)
        if when - delivery.first_seen > max_age:
            self._give_up(delivery, error, "MaximumEventAgeInSeconds")
            return
        self._schedule(when, delivery)

    def _give_up(self, delivery: Delivery, error: TargetError, exhausted: str | None = None) -> None:
        record = {"rule": delivery.rule_name, "target": delivery.target.get("Id"),
                  "arn": delivery.target.get("Arn"), "error_code": error.code,
                  "error_message": error.message, "attempts": delivery.attempts,
                  "exhausted": exhausted, "event": delivery.event}
        self.invocations.failed(delivery)
        dlq = (delivery.target.get("DeadLetterConfig") or {}).get("Arn")
        if not dlq:
            self.dropped.append(record)
            return
        attributes = {
            "RULE_ARN": delivery.rule_arn,
            "TARGET_ARN": delivery.target["Arn"],
            "ERROR_CODE": error.code,
            "ERROR_MESSAGE": error.message[:1000] or error.code,
            "RETRY_ATTEMPTS": str(max(delivery.attempts - 1, 0)),
        }
        if exhausted:
            attributes["EXHAUSTED_RETRY_CONDITION"] = exhausted
        try:
            check_target(self.sandbox, "events", dlq, delivery.rule_arn)   # the DLQ's queue policy
            deliver_to_arn(self.sandbox, dlq, json.dumps(delivery.event), attributes={
                k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()})
        except Exception as exc:  # InvocationsFailedToBeSentToDLQ
            record["dlq_error"] = repr(exc)
            self.dropped.append(record)
            return
        self.dead_lettered.append(record)

    # -- failure injection -----------------------------------------------------------
    def inject_failure(self, target_arn: str, *, code: str = "THROTTLING",
                       message: str = "Rate exceeded (injected by the sandbox)",
                       times: int | None = None, retriable: bool = True) -> None:
        """Make deliveries to ``target_arn`` fail (``times`` times, or until cleared);
        the same as ``sb.faults.fail_target``."""
        self.sandbox.faults.clear(target_arn)
        self.sandbox.faults.fail_target(target_arn, code=code, message=message, times=times,
                                        retriable=retriable)

    def clear_failure(self, target_arn: str) -> None:
        self.sandbox.faults.clear(target_arn)

    def _injected(self, arn: str) -> None:
        fault = self.sandbox.faults.target_failure(arn)
        if fault is not None:
            raise TargetError(fault.code, fault.message, fault.retriable)

    # -- one delivery ----------------------------------------------------------------
    def dispatch(self, d: Delivery) -> None:
        arn = d.target["Arn"]
        _, _, service, region, account, resource = (arn.split(":", 5) + [""] * 6)[:6]
        sb = self.sandbox
        if d.target.get("RoleArn"):
            check_target_role(sb, d.target["RoleArn"], arn, d.rule_arn)   # iam="enforce" only
        elif service in ("lambda", "sns", "sqs"):
            try:
                check_target(sb, "events", arn, d.rule_arn)   # the target's resource policy
            except FunctionNotFound as exc:
                raise TargetError("NO_RESOURCE", f"Function not found: {arn}", False) from exc
        if service == "lambda":
            lam = sb.service("lambda")
            try:
                fn = lam.function(arn)
            except FunctionNotFound as exc:
                raise TargetError("NO_RESOURCE", f"Function not found: {arn}", False) from exc
            lam.invoke_async(fn.function_arn, _as_event(d.payload))
        elif service == "sns":
            sb.client("sns", region, account).publish(TopicArn=arn, Message=d.payload)
        elif service == "sqs":
            sqs = sb.client("sqs", region, account)
            url = sqs.get_queue_url(QueueName=resource)["QueueUrl"]
            send: dict[str, Any] = {"QueueUrl": url, "MessageBody": d.payload}
            group = (d.target.get("SqsParameters") or {}).get("MessageGroupId")
            if group:
                send["MessageGroupId"] = group
            sqs.send_message(**send)
        elif service == "states":
            sb.client("stepfunctions", region, account).start_execution(
                stateMachineArn=arn, name=str(uuid.uuid4()), input=d.payload)
        elif service == "kinesis":
            key_path = (d.target.get("KinesisParameters") or {}).get("PartitionKeyPath")
            key: Any = json_path(d.event, key_path) if key_path else missing()
            if key is missing() or key is None:
                key = d.event["id"]
            sb.client("kinesis", region, account).put_record(
                StreamName=resource.split("/", 1)[-1], Data=d.payload.encode(),
                PartitionKey=key if isinstance(key, str) else json.dumps(key))
        elif service == "firehose":
            sb.client("firehose", region, account).put_record(
                DeliveryStreamName=resource.split("/", 1)[-1], Record={"Data": d.payload.encode()})
        elif service == "logs":
            self._to_logs(resource, region, account, d.payload)
        elif service == "events" and resource.startswith("event-bus/"):
            self._to_bus(resource.split("/", 1)[1], region, account, d)
        else:
            raise TargetError("INVALID_PARAMETER", f"The sandbox cannot deliver to {arn}", False)

    def _to_logs(self, resource: str, region: str, account: str, payload: str) -> None:
        from moto.backends import get_backend

        group = resource.split(":", 1)[1] if resource.startswith("log-group:") else resource
        group = group[:-2] if group.endswith(":*") else group
        logs = get_backend("logs")[account or self.sandbox.account_id][region]
        stream = str(uuid.uuid4())
        logs.create_log_stream(group, stream)
        logs.put_log_events(group, stream, [{"timestamp": int(self.sandbox.clock.time() * 1000),
                                             "message": payload}])

    def _to_bus(self, bus_name: str, region: str, account: str, d: Delivery) -> None:
        from moto.backends import get_backend

        if d.hops + 1 > MAX_BUS_HOPS:
            raise TargetError("INVALID_PARAMETER", "event bus hop limit reached (a bus loop?)", False)
        backend = get_backend("events")[account or self.sandbox.account_id][region]
        bus = backend.describe_event_bus(bus_name)
        check_bus_to_bus(self.sandbox, bus, d.rule_arn.split(":")[4], d.target.get("RoleArn"))
        raw = dict(d.event)
        raw["ingestion-time"] = self.sandbox.clock.time()
        for rule in list(bus.rules.values()):
            self.route(rule, raw, True, d.hops + 1)


def _as_event(payload: str) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        return payload


def classify(exc: BaseException) -> TargetError:
    """AWS's DLQ error code for an exception, and whether EventBridge would retry."""
    if isinstance(exc, TargetError):
        return exc
    if isinstance(exc, DeliveryRefused):
        return TargetError("NO_PERMISSIONS", str(exc), False)
    code, message = type(exc).__name__, str(exc)
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        code = response["Error"].get("Code", code)
        message = response["Error"].get("Message", message)
    elif getattr(exc, "error_type", None):
        code, message = exc.error_type, getattr(exc, "message", message)  # type: ignore[attr-defined]
    if code in _NOT_FOUND or "does not exist" in message.lower():
        return TargetError("NO_RESOURCE", message, False)
    if code in _INVALID:
        return TargetError("INVALID_PARAMETER", message, False)
    if code in _DENIED:
        return TargetError("NO_PERMISSIONS", message, False)
    if code in _THROTTLED:
        return TargetError("THROTTLING", message, True)
    return TargetError("INTERNAL_ERROR", f"{code}: {message}", True)
