"""Lab 7's last step: ECS workers scaled by target tracking on the backlog per task.

The pattern is AWS's (https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-using-sqs-queue.html):
a custom metric ``visible messages / running tasks`` and a target-tracking policy whose
target is the *acceptable backlog per task* = what one task takes a second x the
latency the business accepts.  The sandbox runs the tasks (:mod:`eventlab.sandbox.ecs.workers`)
and Application Auto Scaling acts on the policy's alarms.

The workers drain their own queue ``orders-work-queue`` (the Lambda path of the earlier
steps stays as it was and keeps its grades).  Every task still calls the same warehouse,
so its cap still applies: ``MaxCapacity x WORKER_RATE`` may not exceed ``WAREHOUSE_RATE``.
The checks' burst (:func:`workers_outcome`) puts the same 600 orders on that queue after a
quiet spell, and reads how many tasks ran and how fast the queue emptied.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from autograder.checks import CheckFailed
from autograder.probes import probe_id
from eventlab.sandbox import inspect

CLUSTER = "orders"
SERVICE = "order-workers"
WORK_QUEUE = "orders-work-queue"
RESOURCE = f"service/{CLUSTER}/{SERVICE}"
DIMENSION = "ecs:service:DesiredCount"
WORKER_RATE = 0.5              # orders a second one task takes (2 s an order)
ACCEPTABLE_LATENCY = 60        # seconds an order may wait for a worker
BACKLOG_METRIC = {"Namespace": "OrdersWorkers", "MetricName": "BacklogPerTask"}
QUIET_MINUTES = 20             # before the checks' burst: long enough for a scale-in
WATCH_MINUTES = 40             # after the burst's start: drain, then 15 low minutes to scale in
DRAIN_LIMIT = 600.0            # the burst's backlog gone within 10 minutes of its end
FIRST_SECONDS = 10             # a worker must take orders in the burst's first 10 s


def acceptable_backlog() -> float:
    """The target value: orders one task takes in the latency the business accepts."""
    return WORKER_RATE * ACCEPTABLE_LATENCY


def scalable_target(sb: Any) -> dict[str, Any]:
    found = sb.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=[RESOURCE], ScalableDimension=DIMENSION)["ScalableTargets"]
    if not found:
        raise CheckFailed(f"the ECS service {SERVICE} ({RESOURCE}) is not registered as a scalable "
                          f"target on {DIMENSION}")
    return found[0]


def tracking_policies(sb: Any) -> list[dict[str, Any]]:
    policies = sb.client("application-autoscaling").describe_scaling_policies(
        ServiceNamespace="ecs", ResourceId=RESOURCE, ScalableDimension=DIMENSION)["ScalingPolicies"]
    tracking = [p for p in policies if p.get("PolicyType") == "TargetTrackingScaling"]
    if not tracking:
        raise CheckFailed(f"{RESOURCE} has no TargetTrackingScaling policy")
    return tracking


def tracked_metric(policy: dict[str, Any]) -> tuple[str, str]:
    config = policy.get("TargetTrackingScalingPolicyConfiguration") or {}
    custom = config.get("CustomizedMetricSpecification") or {}
    if custom:
        return custom.get("Namespace", ""), custom.get("MetricName", "")
    predefined = (config.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType", "")
    return "predefined", predefined


def workers_of(sb: Any) -> inspect.EcsWorkers:
    """The lab's workers as they are now (``consumed`` grows as they take orders)."""
    for workers in inspect.ecs_workers(sb):
        if (workers.cluster, workers.service) == (CLUSTER, SERVICE) and \
                workers.queue_url.rstrip("/").endswith("/" + WORK_QUEUE):
            return workers
    raise CheckFailed(f"no ECS workers of {CLUSTER}/{SERVICE} consume {WORK_QUEUE} (run the given "
                      "cell that starts them)")


def _tasks(sb: Any) -> int:
    found = sb.client("ecs").describe_services(cluster=CLUSTER, services=[SERVICE])["services"]
    return int(found[0]["desiredCount"]) if found else 0


@dataclass
class WorkersOutcome:
    """What the checks' burst on the workers' queue did."""

    orders: int = 0
    tasks: list[tuple[float, int]] = field(default_factory=list)    # (s since the burst began, tasks)
    backlog: list[tuple[float, int]] = field(default_factory=list)  # (s since the burst began, visible)
    taken: list[tuple[float, int]] = field(default_factory=list)    # (s, orders the workers took so far)
    minimum: int = 0                     # MinCapacity when the burst ran
    drained: float | None = None         # seconds after the burst's end the queue was empty
    problem: str = ""

    def peak_rate(self, window: float = 10.0) -> float:
        """The most orders a second the workers took over any span of at least ``window``
        seconds between two samples."""
        best = 0.0
        for i, (t0, n0) in enumerate(self.taken):
            later = next(((t, n) for t, n in self.taken[i + 1:] if t - t0 >= window), None)
            if later is not None:
                best = max(best, (later[1] - n0) / (later[0] - t0))
        return best


def once_per_key(sb: Any, slot: str, calls: list[Callable[[], Any]], run: Callable[[Any], Any],
                 clean: Callable[[Any], Any] = lambda value: value) -> Any:
    """``run(sb)``, reused while what ``calls`` read (the configuration its outcome depends
    on, each value passed through ``clean``; a call that raises counts as its error) stays
    the same: a step's checks share one burst, and a change runs it again."""
    parts = []
    for call in calls:
        try:
            value = call()
        except Exception as exc:
            value = repr(exc)
        parts.append(clean(value))
    key = json.dumps(parts, default=str, sort_keys=True)
    cache = sb.__dict__.setdefault(slot, {})
    if key not in cache:
        cache.clear()
        cache[key] = run(sb)
    return cache[key]


def workers_outcome(sb: Any) -> WorkersOutcome:
    """The checks' burst on the workers' queue, run once for the step's checks."""
    return once_per_key(sb, "_lab07_workers_outcome",
                        [lambda: scalable_target(sb), lambda: tracking_policies(sb),
                         lambda: (workers_of(sb).per_task_rate, workers_of(sb).backlog_metric)], _burst)


def _burst(sb: Any, rate: int = 20, seconds: int = 30) -> WorkersOutcome:
    out = WorkersOutcome()
    try:
        target = scalable_target(sb)
        tracking_policies(sb)
        workers = workers_of(sb)
    except CheckFailed as exc:
        out.problem = str(exc)
        return out
    out.minimum = int(target.get("MinCapacity") or 0)
    sqs, clock = sb.client("sqs"), sb.clock
    url = sqs.get_queue_url(QueueName=WORK_QUEUE)["QueueUrl"]
    clock.advance(minutes=QUIET_MINUTES)          # quiet: the workers scale in to their minimum
    clock.advance(seconds=60 - clock.time() % 60)
    start, taken0 = clock.time(), workers.consumed

    def look() -> None:
        now = clock.time() - start
        out.tasks.append((now, _tasks(sb)))
        out.taken.append((now, workers_of(sb).consumed - taken0))
        visible = int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
            "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"])
        out.backlog.append((now, visible))

    with clock.held():
        look()
        for _second in range(seconds):
            for first in range(0, rate, 10):
                sqs.send_message_batch(QueueUrl=url, Entries=[
                    {"Id": str(i), "MessageBody": json.dumps({"orderId": probe_id("work"), "quantity": 1})}
                    for i in range(first, min(first + 10, rate))])
                out.orders += min(10, rate - first)
            clock.advance(seconds=1)
            look()
        while clock.time() - start < WATCH_MINUTES * 60:
            clock.advance(seconds=10 if out.drained is None else 60)   # finer while orders wait
            look()
            if out.drained is None and out.backlog[-1][1] == 0 and out.taken[-1][1] >= out.orders:
                out.drained = out.backlog[-1][0] - seconds
            if out.drained is not None and out.tasks[-1][1] == out.minimum < max(n for _, n in out.tasks):
                break                                  # scaled out and back in: nothing more to see
    return out


def ran(sb: Any) -> WorkersOutcome:
    out = workers_outcome(sb)
    if out.problem:
        raise CheckFailed(f"the checks' burst on {WORK_QUEUE} could not run: {out.problem}")
    return out


def describe_tasks(out: WorkersOutcome) -> str:
    """The task counts as they changed: '1 at 0 s, 8 at 190 s, 1 at 1290 s'."""
    changes, last = [], None
    for t, n in out.tasks:
        if n != last:
            changes.append(f"{n} at {t:.0f} s")
            last = n
    return ", ".join(changes)

