"""Schedules that fire on the virtual clock: EventBridge scheduled rules and EventBridge Scheduler.

moto stores both and never fires them.  Here (expressions: :mod:`eventlab.sandbox.scheduler.cron`):

* **Scheduled rules** (``ScheduleExpression`` on the default bus, ``ENABLED``) send the
  event AWS documents (``source`` ``aws.events``, ``detail-type`` ``Scheduled Event``,
  ``resources`` [the rule's ARN], ``detail`` {}) to every target through the EventBridge
  delivery of :mod:`eventlab.sandbox.events.targets` (Input, retries, DLQs).  A rule with
  only a schedule no longer matches every ``PutEvents`` event (moto's empty pattern did).
* **Scheduler schedules** (``rate()``, ``cron()``, ``at()``) fire in
  ``ScheduleExpressionTimezone``, between ``StartDate`` and ``EndDate``, when ``ENABLED``;
  with ``FlexibleTimeWindow`` ``FLEXIBLE`` they fire at the scheduled time plus half of
  ``MaximumWindowInMinutes`` (a deterministic point of the window).  The target gets
  ``Target.Input`` (``{}`` when absent) with the context attributes
  (``<aws.scheduler.schedule-arn>``, ``scheduled-time``, ``execution-id``,
  ``attempt-number``) filled in: Lambda (invoked asynchronously), SQS
  (``SqsParameters.MessageGroupId``), SNS, Step Functions, an event bus
  (``EventBridgeParameters``) and Kinesis (``KinesisParameters``).  A failed delivery is
  retried (exponential back-off on the clock) within ``RetryPolicy``; then the input goes
  to ``DeadLetterConfig.Arn`` with the attributes ERROR_CODE, ERROR_MESSAGE, EXECUTION_ID,
  SCHEDULE_ARN, TARGET_ARN, RETRY_ATTEMPTS, EXHAUSTED_RETRY_CONDITION.  A one-time
  schedule with ``ActionAfterCompletion=DELETE`` is deleted after it has run.
* Rate schedules count from creation (or ``StartDate``): ``rate(5 minutes)`` first fires
  five minutes later.  Firing times are whole minutes for cron, as on AWS.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from eventlab.sandbox.events.targets import BACKOFF_CAP, BACKOFF_FIRST, classify
from eventlab.sandbox.iam.identity import check_target_role
from eventlab.sandbox.scheduler.cron import ScheduleExpressionError, parse

if TYPE_CHECKING:
    from eventlab.sandbox.core.patches import PatchSet
    from eventlab.sandbox.core.sandbox import Sandbox

DEFAULT_MAX_RETRIES = 185
DEFAULT_MAX_AGE = 86400


def _epoch(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    return float(value)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SchedulesService:
    name = "schedules"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._lock = threading.Lock()
        self._plans: dict[str, dict[str, Any]] = {}  # ARN -> {sig, next, anchor, ...}
        self._dirty = True
        self._regions: set[str] = set()
        self._retries: list[dict[str, Any]] = []
        self.fired: list[dict[str, Any]] = []
        self.dead_lettered: list[dict[str, Any]] = []

    # -- installation --------------------------------------------------------------
    def install(self, patches: PatchSet) -> None:
        from moto.events.models import EventsBackend, Rule
        from moto.scheduler.models import EventBridgeSchedulerBackend

        service = self

        def make_changed(original: Any) -> Any:
            def changed(backend: Any, *args: Any, **kwargs: Any) -> Any:
                result = original(backend, *args, **kwargs)
                service._regions.add(backend.region_name)
                service._dirty = True
                service.sandbox.pump.mark_dirty()
                return result
            return changed

        for name in ("put_rule", "delete_rule", "enable_rule", "disable_rule"):
            patches.wrap(EventsBackend, name, make_changed, "scheduled rules fire on the virtual clock")
        for name in ("create_schedule", "update_schedule", "delete_schedule", "delete_schedule_group"):
            patches.wrap(EventBridgeSchedulerBackend, name, make_changed,
                         "EventBridge Scheduler schedules fire on the virtual clock")

        def make_send(original: Any) -> Any:
            def send_to_targets(rule: Any, event: dict[str, Any], transform_input: bool = True) -> None:
                if rule.scheduled_expression and not rule.event_pattern._raw_pattern:
                    return  # a schedule-only rule matches no event
                original(rule, event, transform_input)
            return send_to_targets

        patches.wrap(Rule, "send_to_targets", make_send,
                     "a rule with only a ScheduleExpression matches no PutEvents event")

    # -- planning ------------------------------------------------------------------
    def _sources(self) -> list[tuple[str, Any, Any]]:
        """(kind, owner, object) for every rule with a schedule and every Scheduler schedule."""
        out: list[tuple[str, Any, Any]] = []
        regions = {self.sandbox.region} | self._regions
        for events in self.sandbox.backends("events"):      # every account's
            if events.region_name not in regions:
                continue
            bus = events.event_buses.get("default")
            for rule in list(bus.rules.values()) if bus is not None else []:
                if rule.scheduled_expression:
                    out.append(("rule", events, rule))
        for scheduler in self.sandbox.backends("scheduler"):
            if scheduler.region_name not in regions:
                continue
            for group in list(scheduler.schedule_groups.values()):
                for schedule in list(group.schedules.values()):
                    out.append(("schedule", scheduler, schedule))
        return out

    def _replan(self, now: float) -> None:
        seen = set()
        for kind, _owner, obj in self._sources():
            if kind == "rule":
                sig: tuple[Any, ...] = (obj.scheduled_expression, str(obj.state).upper())
                key, tz, start, end = obj.arn, None, None, None
                enabled = sig[1] == "ENABLED"
            else:
                key = obj.arn
                tz = obj.schedule_expression_timezone
                start, end = _epoch(obj.start_date), _epoch(obj.end_date)
                sig = (obj.schedule_expression, tz, start, end, obj.state,
                       json.dumps(obj.flexible_time_window, sort_keys=True, default=str))
                enabled = str(obj.state).upper() == "ENABLED"
            seen.add(key)
            plan = self._plans.get(key)
            if plan is not None and plan["sig"] == sig:
                continue
            try:
                expression = parse(sig[0], tz)
            except ScheduleExpressionError:
                self._plans[key] = {"sig": sig, "next": None}
                continue
            anchor = max(now, start) if start is not None else now
            plan = {"sig": sig, "kind": kind, "expr": expression, "anchor": anchor,
                    "end": end, "enabled": enabled, "count": 0}
            after = anchor if expression.kind == "rate" else max(now, (start or now) - 1e-6)
            plan["next"] = self._next(plan, after)
            self._plans[key] = plan
        for key in list(self._plans):
            if key not in seen:
                del self._plans[key]

    def _next(self, plan: dict[str, Any], after: float) -> float | None:
        if not plan["enabled"]:
            return None
        when = plan["expr"].next_after(after, plan["anchor"])
        if when is None or (plan["end"] is not None and when > plan["end"]):
            return None
        if when is not None:
            self.sandbox.clock.call_at(when + plan.get("flex", 0.0), lambda: None)
        return when

    # -- the pump's part -------------------------------------------------------------
    def poll(self) -> bool:
        now = self.sandbox.clock.time()
        if self._dirty:
            self._dirty = False
            self._replan(now)
        worked = False
        for key, plan in list(self._plans.items()):
            while plan.get("next") is not None and plan["next"] + self._flex(key, plan) <= now:
                scheduled = plan["next"]
                plan["next"] = self._next(plan, scheduled)
                self._fire(key, plan, scheduled)
                worked = True
        with self._lock:
            due = [r for r in self._retries if r["at"] <= now]
            self._retries = [r for r in self._retries if r["at"] > now]
        for attempt in due:
            self._attempt(attempt)
            worked = True
        return worked

    def _flex(self, key: str, plan: dict[str, Any]) -> float:
        if plan.get("kind") != "schedule":
            return 0.0
        if "flex" not in plan:
            schedule = self._find_schedule(key)
            window = (schedule.flexible_time_window or {}) if schedule is not None else {}
            flex = 0.0
            if str(window.get("Mode", "OFF")).upper() == "FLEXIBLE":
                flex = float(window.get("MaximumWindowInMinutes") or 0) * 60 / 2
            plan["flex"] = flex
            if plan.get("next") is not None and flex:
                self.sandbox.clock.call_at(plan["next"] + flex, lambda: None)
        return plan["flex"]

    def _find_schedule(self, arn: str) -> Any:
        group, name = arn.split(":schedule/", 1)[1].split("/", 1)
        groups = self.sandbox.backend_for("scheduler", arn).schedule_groups
        return groups[group].schedules.get(name) if group in groups else None

    def _fire(self, key: str, plan: dict[str, Any], scheduled: float) -> None:
        plan["count"] += 1
        self.fired.append({"arn": key, "scheduled": scheduled, "time": self.sandbox.clock.time()})
        if plan["kind"] == "rule":
            self._fire_rule(key, scheduled)
            return
        schedule = self._find_schedule(key)
        if schedule is None:
            return
        self._attempt({"schedule": schedule, "scheduled": scheduled, "attempts": 0,
                       "execution_id": uuid.uuid4().hex[:16], "first": self.sandbox.clock.time()})
        if plan["expr"].kind == "at" and str(schedule.action_after_completion).upper() == "DELETE":
            self.sandbox.backend_for("scheduler", key).delete_schedule(schedule.group_name, schedule.name)
            self._plans.pop(key, None)

    def _fire_rule(self, arn: str, scheduled: float) -> None:
        region, account = arn.split(":")[3], arn.split(":")[4]
        events = self.sandbox.backend_for("events", arn)
        rule = events.event_buses["default"].rules.get(arn.rsplit("/", 1)[1])
        if rule is None:
            return
        raw = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
               "source": "aws.events", "account": account, "time": scheduled, "region": region,
               "resources": [arn], "detail": {}, "ingestion-time": self.sandbox.clock.time()}
        self.sandbox.service("events-targets").route(rule, raw)

    # -- Scheduler targets ---------------------------------------------------------------
    def _attempt(self, attempt: dict[str, Any]) -> None:
        schedule = attempt["schedule"]
        target = schedule.target
        attempt["attempts"] += 1
        payload = self._payload(schedule, attempt)
        try:
            if target.get("RoleArn"):   # iam="enforce" only: the schedule's role must allow it
                check_target_role(self.sandbox, target["RoleArn"], target["Arn"], schedule.arn, "scheduler")
            self.deliver(target, payload)
        except Exception as exc:
            error = classify(exc)
            policy = target.get("RetryPolicy") or {}
            max_retries = int(policy.get("MaximumRetryAttempts", DEFAULT_MAX_RETRIES))
            max_age = float(policy.get("MaximumEventAgeInSeconds", DEFAULT_MAX_AGE))
            retries_done = attempt["attempts"] - 1
            now = self.sandbox.clock.time()
            when = now + min(BACKOFF_FIRST * 2 ** retries_done, BACKOFF_CAP)
            if retries_done < max_retries and when - attempt["first"] <= max_age:
                attempt["at"] = when
                with self._lock:
                    self._retries.append(attempt)
                self.sandbox.clock.call_at(when, lambda: None)
                return
            condition = "MaximumRetryAttempts" if retries_done >= max_retries else "MaximumEventAgeInSeconds"
            self._dead_letter(schedule, payload, attempt, error.code, error.message, condition)

    def _payload(self, schedule: Any, attempt: dict[str, Any]) -> str:
        text = schedule.target.get("Input")
        text = "{}" if text in (None, "") else str(text)
        for name, value in (("schedule-arn", schedule.arn), ("scheduled-time", _iso(attempt["scheduled"])),
                            ("execution-id", attempt["execution_id"]),
                            ("attempt-number", str(attempt["attempts"]))):
            text = text.replace(f"<aws.scheduler.{name}>", value)
        return text

    def deliver(self, target: dict[str, Any], payload: str) -> None:
        arn = target["Arn"]
        parts = arn.split(":", 5)
        service, region, account = parts[2], parts[3], parts[4]
        resource = parts[5] if len(parts) > 5 else ""
        sb = self.sandbox   # Scheduler acts with the schedule's role: no resource policy to ask
        if service == "lambda":
            lam = sb.service("lambda")
            fn = lam.function(arn)
            lam.invoke_async(fn.function_arn, _json_or_text(payload))
        elif service == "sqs":
            sqs = sb.client("sqs", region, account)
            url = sqs.get_queue_url(QueueName=resource)["QueueUrl"]
            send: dict[str, Any] = {"QueueUrl": url, "MessageBody": payload}
            group = (target.get("SqsParameters") or {}).get("MessageGroupId")
            if group:
                send["MessageGroupId"] = group
            sqs.send_message(**send)
        elif service == "sns":
            sb.client("sns", region, account).publish(TopicArn=arn, Message=payload)
        elif service == "states":
            sb.client("stepfunctions", region, account).start_execution(stateMachineArn=arn, input=payload)
        elif service == "events" and resource.startswith("event-bus/"):
            params = target.get("EventBridgeParameters") or {}
            sb.client("events", region, account).put_events(Entries=[{
                "EventBusName": arn, "Source": params.get("Source", "aws.scheduler"),
                "DetailType": params.get("DetailType", "Scheduled Event"), "Detail": payload}])
        elif service == "kinesis":
            key = (target.get("KinesisParameters") or {}).get("PartitionKey", "scheduler")
            sb.client("kinesis", region, account).put_record(StreamName=resource.split("/", 1)[-1],
                                                    Data=payload.encode(), PartitionKey=key)
        else:
            raise ValueError(f"the sandbox's Scheduler cannot invoke {arn}")

    def _dead_letter(self, schedule: Any, payload: str, attempt: dict[str, Any], code: str,
                     message: str, condition: str) -> None:
        from eventlab.sandbox.awslambda.service import deliver_to_arn

        record = {"schedule": schedule.arn, "error_code": code, "error_message": message,
                  "attempts": attempt["attempts"], "payload": payload}
        dlq = (schedule.target.get("DeadLetterConfig") or {}).get("Arn")
        if not dlq:
            self.dead_lettered.append({**record, "dropped": True})
            return
        attributes = {"ERROR_CODE": code, "ERROR_MESSAGE": (message or code)[:1000],
                      "EXECUTION_ID": attempt["execution_id"], "SCHEDULE_ARN": schedule.arn,
                      "TARGET_ARN": schedule.target["Arn"],
                      "RETRY_ATTEMPTS": str(attempt["attempts"] - 1),
                      "EXHAUSTED_RETRY_CONDITION": condition}
        deliver_to_arn(self.sandbox, dlq, payload, attributes={
            k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()})
        self.dead_lettered.append(record)


def _json_or_text(payload: str) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        return payload
