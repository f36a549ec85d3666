"""CloudWatch metrics in the sandbox: what AWS's services publish, on the virtual clock.

moto stores metric data and answers ``GetMetricStatistics``/``GetMetricData``, but of
AWS's own metrics it publishes only Kinesis ``IncomingBytes``/``IncomingRecords`` and two
S3 storage metrics.  This service publishes, into moto's CloudWatch backend of the
resource's region, the metrics that monitoring labs alarm on, with AWS's namespaces,
names, dimensions and units:

* ``AWS/SQS`` (``QueueName``): the counters ``NumberOfMessagesSent``,
  ``NumberOfMessagesReceived``, ``NumberOfMessagesDeleted``, ``NumberOfEmptyReceives``,
  counted on the API calls (also those of the Lambda poller and of SNS fan-out; a
  redrive to a dead-letter queue is not a send, as on AWS); the gauges
  ``ApproximateNumberOfMessagesVisible``/``NotVisible``/``Delayed`` and
  ``ApproximateAgeOfOldestMessage`` (Seconds), sampled at the end of every minute of
  virtual time and stamped with that minute's start.
* ``AWS/SNS`` (``TopicName``): ``NumberOfMessagesPublished``,
  ``NumberOfNotificationsDelivered``, ``NumberOfNotificationsFailed``,
  ``NumberOfNotificationsFilteredOut``, ``PublishSize`` (Bytes).
* ``AWS/Lambda`` (``FunctionName``): ``Invocations``, ``Errors``, ``Duration``
  (Milliseconds: the handler's run time plus the virtual time it slept),
  ``ConcurrentExecutions`` (per function and for the account, no dimension; read its
  Maximum), read from the Lambda service's ``invocation_log``; ``Throttles`` from its
  ``throttle_log`` (an invocation refused for want of concurrency: not an invocation); ``IteratorAge`` (Milliseconds) for
  Kinesis mappings: from when the batch's last record arrived to when it was handed over;
  ``AsyncEventsReceived``, ``AsyncEventAge`` (Milliseconds) and ``AsyncEventsDropped``
  from its ``async_log``.
* ``AWS/Kinesis`` (``StreamName``): ``IncomingRecords``/``IncomingBytes`` stay moto's own;
  ``GetRecords.IteratorAgeMilliseconds`` from ``GetRecords`` calls and mapping batches.
* ``AWS/States`` (``StateMachineArn``): ``ExecutionsStarted``, ``ExecutionsSucceeded``,
  ``ExecutionsFailed``, ``ExecutionsAborted``, ``ExecutionsTimedOut``, ``ExecutionTime``.
* ``AWS/ApiGateway`` (``ApiName`` and ``ApiName, Stage``): ``Count``, ``4XXError``,
  ``5XXError``, ``Latency`` through :func:`record_api_request`.

Each metric is kept as one aggregated datum per minute (sum, count, min, max), updated in
place, so that an API call costs a dict lookup and four additions.  Other modules publish
with :func:`emit`.  ``minute_listeners`` run at every minute boundary (alarms use it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eventlab.sandbox.core.patches import PatchSet
    from eventlab.sandbox.core.sandbox import Sandbox

Dims = tuple[tuple[str, str], ...]


def emit(sandbox: Sandbox, namespace: str, name: str, value: float, *,
         dimensions: dict[str, str] | None = None, unit: str = "Count",
         region: str | None = None, timestamp: float | None = None) -> None:
    """Publish one value of an AWS-namespace metric (as the service itself would)."""
    service = sandbox.service("metrics")
    service.emit(region or sandbox.region, namespace, name, _dims(dimensions), float(value),
                 unit, sandbox.clock.time() if timestamp is None else timestamp)


def record_api_request(sandbox: Sandbox, api_name: str, stage: str, status: int,
                       latency_ms: float) -> None:
    """Count one API Gateway request: ``Count``, ``4XXError``, ``5XXError``, ``Latency``.

    Published per ``ApiName`` and per ``ApiName, Stage``, as API Gateway does."""
    service = sandbox.service("metrics")
    now = sandbox.clock.time()
    region = sandbox.region
    client_error = 1.0 if 400 <= int(status) < 500 else 0.0
    server_error = 1.0 if int(status) >= 500 else 0.0
    for dims in ((("ApiName", api_name),), (("ApiName", api_name), ("Stage", stage))):
        service.emit(region, "AWS/ApiGateway", "Count", dims, 1.0, "Count", now)
        service.emit(region, "AWS/ApiGateway", "4XXError", dims, client_error, "Count", now)
        service.emit(region, "AWS/ApiGateway", "5XXError", dims, server_error, "Count", now)
        service.emit(region, "AWS/ApiGateway", "Latency", dims, float(latency_ms), "Milliseconds", now)


def _dims(dimensions: dict[str, str] | None) -> Dims:
    return tuple(sorted((dimensions or {}).items()))


class MetricsService:
    name = "metrics"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._lock = threading.Lock()
        # (region, namespace, name, dims) -> {minute: datum}; ours are also in moto's list.
        self._series: dict[tuple[str, str, str, Dims], dict[int, Any]] = {}
        self._user: dict[tuple[str, str, str, Dims], dict[int, list[float]]] = {}
        self._lambda_seen = 0
        self._throttles_seen = 0
        self._async_seen = 0
        self._kinesis_seen = 0
        self._regions: set[str] = {sandbox.region}
        self._armed = False
        self._lambda: Any = None
        self._kinesis: Any = None
        self.minute_listeners: list[Callable[[float], None]] = []
        self.keep_ticking: list[Callable[[], bool]] = []

    # -- the store -----------------------------------------------------------------
    def emit(self, region: str, namespace: str, name: str, dims: Dims, value: float,
             unit: str, when: float) -> None:
        minute = int(when // 60)
        key = (region, namespace, name, dims)
        series = self._series.get(key)
        if series is None:
            with self._lock:
                series = self._series.setdefault(key, {})
        datum = series.get(minute)
        if datum is None:
            with self._lock:
                datum = series.get(minute)
                if datum is None:
                    datum = self._new_datum(region, namespace, name, dims, unit, minute)
                    series[minute] = datum
        datum.sum += value
        datum.sample_count += 1
        if value < datum.min:
            datum.min = value
        if value > datum.max:
            datum.max = value

    def total(self, namespace: str, name: str, dimensions: dict[str, str] | None = None,
              region: str | None = None) -> float:
        """The sum of a metric the sandbox published, over all time."""
        series = self._series.get((region or self.sandbox.region, namespace, name, _dims(dimensions)), {})
        return sum(datum.sum for datum in list(series.values()))

    def _new_datum(self, region: str, namespace: str, name: str, dims: Dims, unit: str,
                   minute: int) -> Any:
        from moto.cloudwatch.models import MetricAggregatedDatum

        stamp = datetime.fromtimestamp(minute * 60, UTC).replace(tzinfo=None)
        datum = MetricAggregatedDatum(namespace, name, float("inf"), float("-inf"), 0.0, 0.0,
                                      [{"Name": k, "Value": v} for k, v in dims], stamp, unit)
        self.sandbox.backend("cloudwatch", region).metric_data.append(datum)
        return datum

    def statistics(self, region: str, namespace: str, name: str, dims: Dims, start: float,
                   end: float) -> dict[str, float] | None:
        """Sum, SampleCount, Minimum, Maximum, Average of a metric over [start, end), or None."""
        key = (region, namespace, name, dims)
        total = count = 0.0
        low, high = float("inf"), float("-inf")
        for minute in range(int(start // 60), int(-(-end // 60))):
            datum = self._series.get(key, {}).get(minute)
            if datum is not None and datum.sample_count:
                total += datum.sum
                count += datum.sample_count
                low, high = min(low, datum.min), max(high, datum.max)
            user = self._user.get(key, {}).get(minute)
            if user is not None:
                total += user[0]
                count += user[1]
                low, high = min(low, user[2]), max(high, user[3])
        if not count:
            return None
        return {"Sum": total, "SampleCount": count, "Minimum": low, "Maximum": high,
                "Average": total / count}

    def _index_user_datum(self, region: str, datum: Any) -> None:
        from moto.cloudwatch.models import MetricDatum

        dims = tuple(sorted((d.name, d.value) for d in datum.dimensions))
        key = (region, datum.namespace, datum.name, dims)
        minute = int(datum.timestamp.replace(tzinfo=UTC).timestamp() // 60)
        if isinstance(datum, MetricDatum):
            add = (datum.value, 1.0, datum.value, datum.value)
        else:
            add = (datum.sum, datum.sample_count, datum.min, datum.max)
        with self._lock:
            slot = self._user.setdefault(key, {}).setdefault(
                minute, [0.0, 0.0, float("inf"), float("-inf")])
            slot[0] += add[0]
            slot[1] += add[1]
            slot[2] = min(slot[2], add[2])
            slot[3] = max(slot[3], add[3])

    # -- installation --------------------------------------------------------------
    def install(self, patches: PatchSet) -> None:
        self._install_cloudwatch(patches)
        self._install_sqs(patches)
        patches.after_import("moto.sns.models", lambda: self._install_sns(patches))   # its first use
        # Step Functions' interpreter is imported only by sandboxes that use it; the counters
        # wrap it then, after the stepfunctions service's own hook (hooks run in order).
        patches.after_import("moto.stepfunctions.parser.models",
                             lambda: self._install_states(patches))
        self._install_kinesis(patches)
        self.arm()

    def _install_cloudwatch(self, patches: PatchSet) -> None:
        from moto.cloudwatch.models import CloudWatchBackend

        service = self

        def make_put(original: Any) -> Any:
            def put_metric_data(backend: Any, namespace: str, metric_data: list[dict[str, Any]]) -> None:
                before = len(backend.metric_data)
                original(backend, namespace, metric_data)
                for datum in backend.metric_data[before:]:
                    service._index_user_datum(backend.region_name, datum)
            return put_metric_data

        patches.wrap(CloudWatchBackend, "put_metric_data", make_put,
                     "PutMetricData is indexed so that alarms evaluate it on the clock")

    def _install_sqs(self, patches: PatchSet) -> None:
        from moto.sqs.models import SQSBackend

        service = self
        clock = self.sandbox.clock

        def count(backend: Any, queue_name: str, metric: str, value: float) -> None:
            service.emit(backend.region_name, "AWS/SQS", metric, (("QueueName", queue_name),),
                         value, "Count", clock.time())

        def make_send(original: Any) -> Any:
            def send_message(backend: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
                message = original(backend, queue_name, *args, **kwargs)
                count(backend, queue_name, "NumberOfMessagesSent", 1.0)
                return message
            return send_message

        def make_receive(original: Any) -> Any:
            def receive_message(backend: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
                messages = original(backend, queue_name, *args, **kwargs)
                if messages:
                    count(backend, queue_name, "NumberOfMessagesReceived", float(len(messages)))
                else:
                    count(backend, queue_name, "NumberOfEmptyReceives", 1.0)
                return messages
            return receive_message

        def make_delete(original: Any) -> Any:
            def delete_message(backend: Any, queue_name: str, receipt_handle: str) -> Any:
                result = original(backend, queue_name, receipt_handle)
                count(backend, queue_name, "NumberOfMessagesDeleted", 1.0)
                return result
            return delete_message

        def make_create(original: Any) -> Any:
            def create_queue(backend: Any, name: str, *args: Any, **kwargs: Any) -> Any:
                queue = original(backend, name, *args, **kwargs)
                service._regions.add(backend.region_name)
                service.arm()
                return queue
            return create_queue

        # send_message_batch and delete_message_batch go through these one message at a time.
        patches.wrap(SQSBackend, "send_message", make_send, "AWS/SQS NumberOfMessagesSent")
        patches.wrap(SQSBackend, "receive_message", make_receive,
                     "AWS/SQS NumberOfMessagesReceived and NumberOfEmptyReceives")
        patches.wrap(SQSBackend, "delete_message", make_delete, "AWS/SQS NumberOfMessagesDeleted")
        patches.wrap(SQSBackend, "create_queue", make_create, "queues get their gauges sampled")

    def _install_sns(self, patches: PatchSet) -> None:
        from moto.sns.models import Subscription, Topic

        service = self
        clock = self.sandbox.clock

        def make_publish(original: Any) -> Any:
            def publish(topic: Any, message: str, *args: Any, **kwargs: Any) -> Any:
                result = original(topic, message, *args, **kwargs)
                region, dims, now = topic.sns_backend.region_name, (("TopicName", topic.name),), clock.time()
                service.emit(region, "AWS/SNS", "NumberOfMessagesPublished", dims, 1.0, "Count", now)
                service.emit(region, "AWS/SNS", "PublishSize", dims, float(len(message.encode())), "Bytes", now)
                return result
            return publish

        def make_deliver(original: Any) -> Any:
            def deliver(sub: Any, message: str, message_id: str, *args: Any, **kwargs: Any) -> Any:
                topic = sub.topic
                region, dims = topic.sns_backend.region_name, (("TopicName", topic.name),)
                matcher = sub._filter_policy_matcher
                attributes = kwargs.get("message_attributes", args[1] if len(args) > 1 else None)
                if matcher is not None and not matcher.matches(attributes, message):
                    service.emit(region, "AWS/SNS", "NumberOfNotificationsFilteredOut", dims, 1.0,
                                 "Count", clock.time())
                    return None
                try:
                    result = original(sub, message, message_id, *args, **kwargs)
                except Exception:
                    service.emit(region, "AWS/SNS", "NumberOfNotificationsFailed", dims, 1.0,
                                 "Count", clock.time())
                    raise
                service.emit(region, "AWS/SNS", "NumberOfNotificationsDelivered", dims, 1.0,
                             "Count", clock.time())
                return result
            return deliver

        patches.wrap(Topic, "publish", make_publish, "AWS/SNS NumberOfMessagesPublished, PublishSize")
        patches.wrap(Subscription, "publish", make_deliver,
                     "AWS/SNS NumberOfNotificationsDelivered/Failed/FilteredOut")

    def _install_states(self, patches: PatchSet) -> None:
        from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication
        from moto.stepfunctions.parser.models import StepFunctionsParserBackend

        service = self
        clock = self.sandbox.clock
        outcome = {"SUCCEEDED": "ExecutionsSucceeded", "FAILED": "ExecutionsFailed",
                   "ABORTED": "ExecutionsAborted", "TIMED_OUT": "ExecutionsTimedOut"}

        def make_start(original: Any) -> Any:
            def start_execution(backend: Any, state_machine_arn: str, *args: Any, **kwargs: Any) -> Any:
                execution = original(backend, state_machine_arn, *args, **kwargs)
                service.emit(backend.region_name, "AWS/States", "ExecutionsStarted",
                             (("StateMachineArn", state_machine_arn),), 1.0, "Count", clock.time())
                return execution
            return start_execution

        def make_reflect(original: Any) -> Any:
            def reflect(comm: Any) -> None:
                original(comm)
                execution = comm.execution
                status = str(getattr(execution.exec_status, "value", execution.exec_status))
                metric = outcome.get(status)
                arn = getattr(execution.state_machine, "arn", None)
                if metric is None or arn is None:
                    return
                dims, now = (("StateMachineArn", arn),), clock.time()
                service.emit(execution.region_name, "AWS/States", metric, dims, 1.0, "Count", now)
                started = execution.start_date.timestamp() if execution.start_date else now
                service.emit(execution.region_name, "AWS/States", "ExecutionTime", dims,
                             max(0.0, (now - started) * 1000.0), "Milliseconds", now)
            return reflect

        patches.wrap(StepFunctionsParserBackend, "start_execution", make_start,
                     "AWS/States ExecutionsStarted")
        patches.wrap(BaseExecutionWorkerCommunication, "_reflect_execution_status", make_reflect,
                     "AWS/States ExecutionsSucceeded/Failed/Aborted/TimedOut, ExecutionTime")

    def _install_kinesis(self, patches: PatchSet) -> None:
        from moto.kinesis.models import KinesisBackend

        service = self
        clock = self.sandbox.clock

        def make_get_records(original: Any) -> Any:
            def get_records(backend: Any, stream_arn: str | None, shard_iterator: str,
                            limit: int | None) -> Any:
                result = original(backend, stream_arn, shard_iterator, limit)
                records = result[1]
                now = clock.time()
                age = (now - records[-1].created_at) * 1000.0 if records else 0.0
                from moto.kinesis.utils import decompose_shard_iterator

                stream_name = decompose_shard_iterator(shard_iterator)[0]
                service.emit(backend.region_name, "AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds",
                             (("StreamName", stream_name),), max(0.0, age), "Milliseconds", now)
                return result
            return get_records

        patches.wrap(KinesisBackend, "get_records", make_get_records,
                     "AWS/Kinesis GetRecords.IteratorAgeMilliseconds")

    # -- the pump's part: Lambda and Kinesis mapping metrics ---------------------------
    def poll(self) -> bool:
        if self._lambda is None:
            self._lambda = self.sandbox.service("lambda")
            self._kinesis = self.sandbox.service("kinesis")
        log = self._lambda.invocation_log
        if self._lambda_seen > len(log):  # the log was cleared: what is there now is new
            self._lambda_seen = 0
        throttles = self._lambda.throttle_log
        if self._throttles_seen > len(throttles):
            self._throttles_seen = 0
        while self._throttles_seen < len(throttles):
            entry = throttles[self._throttles_seen]
            self._throttles_seen += 1
            self.emit(entry["region"], "AWS/Lambda", "Throttles", (("FunctionName", entry["function"]),),
                      1.0, "Count", entry["time"])
            self.emit(entry["region"], "AWS/Lambda", "Throttles", (), 1.0, "Count", entry["time"])
        while self._lambda_seen < len(log):
            entry = log[self._lambda_seen]
            self._lambda_seen += 1
            dims = (("FunctionName", entry["function"]),)
            when, region = entry["time"], entry.get("region", self.sandbox.region)
            self.emit(region, "AWS/Lambda", "Invocations", dims, 1.0, "Count", when)
            self.emit(region, "AWS/Lambda", "Errors", dims, 0.0 if entry["ok"] else 1.0, "Count", when)
            self.emit(region, "AWS/Lambda", "Throttles", dims, 0.0, "Count", when)
            if entry.get("duration_ms") is not None:
                self.emit(region, "AWS/Lambda", "Duration", dims, float(entry["duration_ms"]),
                          "Milliseconds", when)
            if entry.get("concurrent") is not None:
                self.emit(region, "AWS/Lambda", "ConcurrentExecutions", dims,
                          float(entry["concurrent"]), "Count", when)
                self.emit(region, "AWS/Lambda", "ConcurrentExecutions", (),
                          float(entry["account_concurrent"]), "Count", when)
        self._emit_async()
        batches = self._kinesis.batches
        if self._kinesis_seen > len(batches):
            self._kinesis_seen = 0
        while self._kinesis_seen < len(batches):
            batch = batches[self._kinesis_seen]
            self._kinesis_seen += 1
            if "arrival" not in batch:
                continue
            age = max(0.0, (batch["time"] - batch["arrival"]) * 1000.0)
            region = batch["stream_arn"].split(":")[3]
            self.emit(region, "AWS/Lambda", "IteratorAge", (("FunctionName", batch["function"]),),
                      age, "Milliseconds", batch["time"])
            self.emit(region, "AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds",
                      (("StreamName", batch["stream_arn"].split("/", 1)[1]),), age,
                      "Milliseconds", batch["time"])
        return False

    def _emit_async(self) -> None:
        log = self._lambda.async_log
        if self._async_seen > len(log):
            self._async_seen = 0
        while self._async_seen < len(log):
            name, arn, when, value = log[self._async_seen]
            self._async_seen += 1
            self.emit(arn.split(":")[3], "AWS/Lambda", name, (("FunctionName", arn.split(":")[6]),),
                      value, "Milliseconds" if name == "AsyncEventAge" else "Count", when)

    # -- the minute tick: gauges, then listeners (alarms) -----------------------------
    def arm(self) -> None:
        """Make sure the minute tick is scheduled (it stops itself when nothing needs it)."""
        if self._armed:
            return
        self._armed = True
        now = self.sandbox.clock.time()
        self.sandbox.clock.call_at((int(now // 60) + 1) * 60, self._tick)

    def _tick(self) -> None:
        self._armed = False
        boundary = int(self.sandbox.clock.time() // 60) * 60
        queues = self._sample_queues(boundary)
        for listener in list(self.minute_listeners):
            listener(float(boundary))
        if queues or any(wanted() for wanted in self.keep_ticking):
            self.arm()
        self.sandbox.pump.mark_dirty()

    def _sample_queues(self, boundary: int) -> int:
        now_ms = boundary * 1000
        stamp = boundary - 60  # the state at the end of the minute that just ended
        sampled = 0
        for region in list(self._regions):
            sqs = self.sandbox.backend("sqs", region)
            for queue in list(sqs.queues.values()):
                sampled += 1
                visible = in_flight = delayed = 0
                oldest: float | None = None
                for m in list(queue._messages):
                    if m.delayed_until > now_ms:
                        delayed += 1
                    elif m.visible_at > now_ms:
                        in_flight += 1
                    else:
                        visible += 1
                    if m.sent_timestamp is not None and (oldest is None or m.sent_timestamp < oldest):
                        oldest = m.sent_timestamp
                dims = (("QueueName", queue.name),)
                self.emit(region, "AWS/SQS", "ApproximateNumberOfMessagesVisible", dims, float(visible), "Count", stamp)
                self.emit(region, "AWS/SQS", "ApproximateNumberOfMessagesNotVisible", dims, float(in_flight), "Count", stamp)
                self.emit(region, "AWS/SQS", "ApproximateNumberOfMessagesDelayed", dims, float(delayed), "Count", stamp)
                age = max(0.0, (now_ms - oldest) / 1000.0) if oldest is not None else 0.0
                self.emit(region, "AWS/SQS", "ApproximateAgeOfOldestMessage", dims, float(int(age)), "Seconds", stamp)
        return sampled
