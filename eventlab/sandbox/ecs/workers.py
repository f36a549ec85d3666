"""ECS workers on the virtual clock: a service's tasks consume an SQS queue (sandbox-specific).

The sandbox runs no containers.  For the scaling lesson AWS teaches with ECS and SQS
(target tracking on the backlog per task,
https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-using-sqs-queue.html) it models
what matters: an ECS service whose ``desiredCount`` (set by you or by Application Auto
Scaling) is the number of tasks, each taking ``per_task_rate`` messages a second off a
queue (received and deleted, as a worker loop would), every virtual second while
messages wait::

    sb.service("ecs-workers").consume(cluster="workers", service="consumer",
                                      queue_url=url, per_task_rate=5,
                                      backlog_metric={"Namespace": "Workers",
                                                      "MetricName": "BacklogPerTask"})

``backlog_metric`` stands in for the small publisher AWS's pattern needs (a scheduled
function or the application): at the end of every virtual minute it puts
``ApproximateNumberOfMessagesVisible / tasks`` as that custom metric (with the given
``Dimensions``, default ``QueueName``), stamped like the SQS gauges, before the alarms
evaluate.  Over HTTP: ``POST /_eventlab/ecs-workers`` with the same keys in camelCase or
as written here.  Tasks start and stop at once (ECS takes a while); ``runningCount``
follows ``desiredCount``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eventlab.errors import InputError


class WorkersError(InputError, ValueError):
    """Workers asked for with something the sandbox cannot use."""


@dataclass
class Workers:
    cluster: str
    service: str
    queue_url: str
    per_task_rate: float
    region: str
    backlog_metric: dict[str, Any] | None = None
    last: float | None = None          # virtual time consumption was last worked out
    carry: float = 0.0                 # a fraction of a message owed to the next second
    consumed: int = 0
    history: list[tuple[float, int, int]] = field(default_factory=list)  # (minute, tasks, visible)


class EcsWorkersService:
    name = "ecs-workers"

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self.workers: list[Workers] = []
        self._listening = False
        sandbox.admin_routes["/_eventlab/ecs-workers"] = self._http

    def install(self, patches: Any) -> None:
        pass

    # -- the API -----------------------------------------------------------------------
    def consume(self, *, cluster: str, service: str, queue_url: str, per_task_rate: float,
                backlog_metric: dict[str, Any] | None = None, region: str | None = None) -> Workers:
        """Make the tasks of an ECS service consume ``queue_url``, ``per_task_rate`` messages
        per task per virtual second."""
        if not isinstance(per_task_rate, (int, float)) or not 0 < per_task_rate <= 10_000:
            raise WorkersError(f"per_task_rate={per_task_rate!r}: give messages per task per second, "
                               "above 0 and at most 10,000")
        if backlog_metric is not None and not (isinstance(backlog_metric, dict)
                                               and backlog_metric.get("Namespace")
                                               and backlog_metric.get("MetricName")):
            raise WorkersError("backlog_metric needs a Namespace and a MetricName, e.g. "
                               '{"Namespace": "Workers", "MetricName": "BacklogPerTask"}')
        workers = Workers(cluster, service, queue_url, float(per_task_rate), region or self.sandbox.region,
                          backlog_metric)
        self._ecs_service(workers)      # it must exist
        self._queue(workers)
        self.workers.append(workers)
        if backlog_metric is not None and not self._listening:
            metrics = self.sandbox.service("metrics")
            metrics.minute_listeners.insert(0, self._publish)   # before the alarms evaluate
            metrics.keep_ticking.append(lambda: bool(self.workers))
            metrics.arm()
            self._listening = True
        self.sandbox.pump.mark_dirty()
        return workers

    def _http(self, body: dict[str, Any]) -> dict[str, Any]:
        def get(name: str, camel: str) -> Any:
            return body.get(name, body.get(camel))

        workers = self.consume(cluster=get("cluster", "Cluster"), service=get("service", "Service"),
                               queue_url=get("queue_url", "QueueUrl"),
                               per_task_rate=get("per_task_rate", "PerTaskRate"),
                               backlog_metric=get("backlog_metric", "BacklogMetric"),
                               region=get("region", "Region"))
        return {"cluster": workers.cluster, "service": workers.service, "queueUrl": workers.queue_url,
                "perTaskRate": workers.per_task_rate}

    # -- the pump's part -------------------------------------------------------------
    def poll(self) -> bool:
        worked = False
        now = self.sandbox.clock.time()
        for workers in list(self.workers):
            worked = self._work(workers, now) or worked
        return worked

    def _work(self, workers: Workers, now: float) -> bool:
        ecs_service = self._ecs_service(workers, missing_ok=True)
        queue = self._queue(workers, missing_ok=True)
        if ecs_service is None or queue is None:
            return False
        tasks = int(ecs_service.desired_count or 0)
        ecs_service.running_count = tasks
        last = now if workers.last is None else workers.last
        workers.last = now
        visible = _visible(queue, now)
        if not tasks or not visible:
            workers.carry = 0.0
            return False
        due = workers.carry + tasks * workers.per_task_rate * (now - last)
        take = min(int(due), visible)
        workers.carry = due - int(due) if take == int(due) else 0.0
        self.sandbox.clock.call_at(now + 1.0, lambda: None)    # working: come back every second
        if take <= 0:
            return False
        sqs = self.sandbox.backend("sqs", workers.region)
        while take > 0:
            batch = sqs.receive_message(queue.name, min(10, take), 0, queue.visibility_timeout)
            if not batch:
                break
            for message in batch:
                sqs.delete_message(queue.name, message.receipt_handle)
            take -= len(batch)
            workers.consumed += len(batch)
        return True

    def _publish(self, boundary: float) -> None:
        from eventlab.sandbox.cloudwatch.metrics import emit

        for workers in self.workers:
            if workers.backlog_metric is None:
                continue
            ecs_service = self._ecs_service(workers, missing_ok=True)
            queue = self._queue(workers, missing_ok=True)
            if ecs_service is None or queue is None:
                continue
            tasks = int(ecs_service.desired_count or 0)
            visible = _visible(queue, boundary)
            workers.history.append((boundary, tasks, visible))
            metric = workers.backlog_metric
            dimensions = {d["Name"]: d["Value"] for d in metric.get("Dimensions") or
                          [{"Name": "QueueName", "Value": queue.name}]}
            emit(self.sandbox, metric["Namespace"], metric["MetricName"],
                 visible / tasks if tasks else float(visible), dimensions=dimensions,
                 unit="None", region=workers.region, timestamp=boundary - 60)

    # -- helpers -----------------------------------------------------------------------
    def _ecs_service(self, workers: Workers, missing_ok: bool = False) -> Any:
        ecs = self.sandbox.backend("ecs", workers.region)
        found = ecs.services.get(f"{workers.cluster}:{workers.service}")
        if found is None and not missing_ok:
            raise WorkersError(f"no ECS service {workers.service!r} in cluster {workers.cluster!r} "
                               f"({workers.region}); create it with CreateService first")
        return found

    def _queue(self, workers: Workers, missing_ok: bool = False) -> Any:
        sqs = self.sandbox.backend("sqs", workers.region)
        name = str(workers.queue_url).rstrip("/").rsplit("/", 1)[-1]
        found = sqs.queues.get(name)
        if found is None and not missing_ok:
            raise WorkersError(f"no SQS queue {workers.queue_url!r} in {workers.region}")
        return found


def _visible(queue: Any, now: float) -> int:
    now_ms = now * 1000
    return sum(1 for m in list(queue._messages) if m.visible_at <= now_ms and m.delayed_until <= now_ms)

