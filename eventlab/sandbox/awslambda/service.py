"""Lambda in the sandbox: moto's control plane, our runtime, AWS's invocation semantics.

* Synchronous ``Invoke`` runs the handler (:mod:`eventlab.sandbox.awslambda.runtime`) and
  answers as AWS does (``FunctionError``, ``LogResult``, ``ExecutedVersion``).
* Asynchronous invocations (``InvocationType='Event'``, and every service that invokes
  asynchronously: SNS, EventBridge, S3) are queued and run by the pump; a failure is
  retried after 1 and then 2 minutes of virtual time (``MaximumRetryAttempts`` from the
  function's event invoke configuration, default 2), events older than
  ``MaximumEventAgeInSeconds`` are dropped, and what still fails goes to the on-failure
  destination or the function's dead-letter queue, with the record shapes AWS documents.
* Concurrency (:mod:`eventlab.sandbox.awslambda.concurrency`): an invocation that finds
  no concurrency left is throttled.  Synchronous ``Invoke`` answers 429
  ``TooManyRequestsException`` with AWS's ``Reason``; an asynchronous event goes back to
  the queue and is tried again after 1, 2, 4... seconds (at most 5 minutes apart) until
  it is ``MaximumEventAgeInSeconds`` old, then to the on-failure destination or the
  dead-letter queue; with reserved concurrency 0 it goes there at once, without retries
  (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html).
  ``PutFunctionConcurrency`` refuses a reservation that would leave less than 100
  unreserved.
* The asynchronous queue's metrics
  (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html):
  ``async_log`` holds ``AsyncEventsReceived`` (an event queued), ``AsyncEventAge`` (from
  queueing to each invocation that runs, retries included) and ``AsyncEventsDropped``
  (an event given up on, whether or not it then went to a destination or DLQ).
* moto's own trigger code (which invokes once per SQS message inside ``SendMessage``
  and once per Kinesis record) is switched off: the event source mappings in
  :mod:`eventlab.sandbox.awslambda.esm.sqs` and :mod:`eventlab.sandbox.awslambda.esm.kinesis` poll instead.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from moto.core.exceptions import JsonRESTError

from eventlab.errors import FunctionNotFound
from eventlab.sandbox.awslambda.concurrency import Concurrency, Throttled, reserved_concurrency
from eventlab.sandbox.awslambda.runtime import FunctionConfig, InvocationResult, LambdaRuntime
from eventlab.sandbox.core.pump import DueQueue
from eventlab.sandbox.iam.identity import function_credentials
from eventlab.sandbox.sqs.queues import visibility_timeout

if TYPE_CHECKING:
    from eventlab.sandbox.core.patches import PatchSet
    from eventlab.sandbox.core.sandbox import Sandbox

LAMBDA_MODELS = "moto.awslambda.models"
ASYNC_RETRY_DELAYS = (60.0, 120.0)  # seconds before the first and the second retry
DEFAULT_MAX_EVENT_AGE = 21600
THROTTLE_RETRY_MAX = 300.0   # throttled async events: 1 s, 2 s, 4 s... at most 5 minutes apart


@dataclass
class AsyncInvocation:
    function_arn: str
    event: Any
    request_id: str
    first_seen: float
    attempts: int = 0
    throttles: int = 0


class LambdaService:
    name = "lambda"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        assert sandbox.workdir is not None
        self.runtime = LambdaRuntime(
            workdir=sandbox.workdir / "lambda",
            endpoint=lambda: sandbox.endpoint_url,
            region=sandbox.region,
            log_sink=self._write_logs,
            clock_time=sandbox.clock.time,
            time_scale=sandbox.lambda_time_scale,
        )
        sandbox.runtime = self.runtime
        self._queue: DueQueue[AsyncInvocation] = DueQueue(sandbox.clock)
        self._log_lock = threading.Lock()
        self.invocation_log: list[dict[str, Any]] = []
        self.throttle_log: list[dict[str, Any]] = []
        self.async_log: list[tuple[str, str, float, float]] = []  # (metric, function ARN, time, value)
        self.concurrency = Concurrency(sandbox)

    # -- installation --------------------------------------------------------------
    def install(self, patches: PatchSet) -> None:
        # moto's Lambda models pull in S3, DynamoDB and ECR: patch them when first used.
        patches.after_import(LAMBDA_MODELS, lambda: self._install(patches))

    def _install(self, patches: PatchSet) -> None:
        from moto.awslambda.models import LambdaBackend, LambdaFunction

        service = self

        def invoke(fn: Any, body: Any, request_headers: Any, response_headers: dict[str, Any]) -> bytes:
            headers = {str(k).lower(): v for k, v in dict(request_headers or {}).items()}
            invocation_type = headers.get("x-amz-invocation-type", "RequestResponse")
            event = _decode_event(body)
            if invocation_type == "DryRun":
                return b""
            if invocation_type == "Event":
                response_headers["x-amz-request-id"] = service.invoke_async(fn.function_arn, event)
                return b""
            try:
                result = service.invoke(fn, event)
            except Throttled as exc:
                raise TooManyRequests(exc.reason) from None
            if result.function_error:
                response_headers["x-amz-function-error"] = result.function_error
            response_headers["x-amz-log-result"] = result.log_result
            response_headers["x-amz-executed-version"] = getattr(fn, "version", "$LATEST")
            response_headers["x-amz-request-id"] = result.request_id
            return result.payload

        patches.replace(LambdaFunction, "invoke", invoke,
                        "Lambda code really runs, in warm Python processes (no Docker)")

        def make_put_concurrency(original: Any) -> Any:
            def put_function_concurrency(backend: Any, function_name: str, reserved: str) -> Any:
                from moto.awslambda.exceptions import InvalidParameterValueException

                fn = backend.get_function(function_name)
                pool = service.concurrency.unreserved_pool(backend, excluding=fn.function_name,
                                                           extra=int(reserved))
                minimum = service.sandbox.quotas["lambda.unreserved-minimum"]
                if pool < minimum:
                    raise InvalidParameterValueException(
                        "Specified ReservedConcurrentExecutions for function decreases account's "
                        f"UnreservedConcurrentExecution below its minimum value of [{int(minimum)}].")
                return original(backend, function_name, reserved)
            return put_function_concurrency

        patches.wrap(LambdaBackend, "put_function_concurrency", make_put_concurrency,
                     "a reservation may not leave less than 100 unreserved (the sandbox's quota)")

        def make_create_esm(original: Any) -> Any:
            def create_event_source_mapping(backend: Any, spec: dict[str, Any]) -> Any:
                _check_visibility_covers_timeout(service.sandbox, backend, spec)
                esm = original(backend, spec)
                function_arn, source_arn = esm.function_arn, esm.event_source_arn
                # moto's inline triggers fire inside SendMessage/PutRecord, once per item;
                # our pollers take over (batching, windows, retries).
                sqs = service.sandbox.backend("sqs", backend.region_name, backend.account_id)
                for queue in sqs.queues.values():
                    if queue.lambda_event_source_mappings.get(function_arn) is esm:
                        del queue.lambda_event_source_mappings[function_arn]
                kinesis = service.sandbox.backend("kinesis", backend.region_name, backend.account_id)
                for stream in kinesis.streams.values():
                    if stream.lambda_event_source_mappings.get(source_arn) is esm:
                        del stream.lambda_event_source_mappings[source_arn]
                esm.eventlab_created = service.sandbox.clock.time()
                return esm
            return create_event_source_mapping

        patches.wrap(LambdaBackend, "create_event_source_mapping", make_create_esm,
                     "event source mappings poll with batching instead of firing per message")

        def make_create_function(original: Any) -> Any:
            def create_function(backend: Any, spec: dict[str, Any]) -> Any:
                fn = original(backend, spec)
                fn.eventlab_dead_letter = (spec.get("DeadLetterConfig") or {}).get("TargetArn")
                return fn
            return create_function

        patches.wrap(LambdaBackend, "create_function", make_create_function,
                     "the function's DeadLetterConfig is kept and used for failed async events")

        def make_update_config(original: Any) -> Any:
            def update_configuration(fn: Any, config: dict[str, Any]) -> Any:
                if "DeadLetterConfig" in config:
                    fn.eventlab_dead_letter = (config.get("DeadLetterConfig") or {}).get("TargetArn")
                return original(fn, config)
            return update_configuration

        patches.wrap(LambdaFunction, "update_configuration", make_update_config,
                     "the function's DeadLetterConfig can be changed")

        def make_get_configuration(original: Any) -> Any:
            def get_configuration(fn: Any, *args: Any, **kwargs: Any) -> Any:
                config = original(fn, *args, **kwargs)
                dlq = getattr(fn, "eventlab_dead_letter", None)
                if dlq:
                    config["DeadLetterConfig"] = {"TargetArn": dlq}
                return config
            return get_configuration

        patches.wrap(LambdaFunction, "get_configuration", make_get_configuration,
                     "GetFunctionConfiguration reports DeadLetterConfig as AWS does")

    def close(self) -> None:
        self.runtime.close()

    # -- invoking ------------------------------------------------------------------
    def function(self, name_or_arn: str) -> Any:
        from moto.awslambda.exceptions import CrossAccountNotAllowed, UnknownFunctionException

        backend = (self.sandbox.backend_for("lambda", name_or_arn) if name_or_arn.startswith("arn:")
                   else self.sandbox.backend("lambda"))
        try:
            return backend.get_function(name_or_arn, None)
        except (UnknownFunctionException, CrossAccountNotAllowed):
            raise FunctionNotFound(name_or_arn) from None

    def invoke(self, fn: Any, event: Any) -> InvocationResult:
        """Run one synchronous invocation of a moto function object.

        Raises :class:`Throttled` (and runs nothing) when the function has no concurrency
        left at this moment of virtual time."""
        region = fn.function_arn.split(":")[3]
        backend = self.sandbox.backend_for("lambda", fn.function_arn)
        started = self.sandbox.clock.time()
        reason = self.concurrency.start(fn, backend, started)
        if reason is not None:
            self.throttle_log.append({"function": fn.function_name, "time": started,
                                      "reason": reason, "region": region})
            raise Throttled(fn.function_name, reason)
        config = FunctionConfig(
            name=fn.function_name, arn=fn.function_arn, handler=fn.handler or "",
            runtime=fn.run_time or "", timeout=float(fn.timeout or 3), memory=int(fn.memory_size or 128),
            env={**(fn.environment_vars or {}), **function_credentials(self.sandbox, fn)},
            code_sha=fn.code_sha_256 or "none",
        )
        code = getattr(fn, "code_bytes", b"") or b""
        if not code:
            self.concurrency.hold(fn, backend, started, started)
            return self.runtime._error_result(
                config, "Sandbox.NoCode",
                f"{config.name} has no zip code the sandbox can run (image functions and empty "
                "code are not supported).", str(uuid.uuid4()))
        result = self._run_with_faults(fn, config, code, event)
        ended = self.sandbox.clock.time() + result.virtual_ms / 1000.0
        self.concurrency.hold(fn, backend, started, ended)
        result.ended = ended
        account_concurrent, concurrent = self.concurrency.counts(backend, started, fn.function_arn)
        self.invocation_log.append({
            "concurrent": max(1, concurrent), "account_concurrent": max(1, account_concurrent),
            "region": region,
            "function": fn.function_name, "event": event, "ok": result.ok,
            "time": self.sandbox.clock.time(), "request_id": result.request_id,
            "error": result.error(), "duration_ms": result.duration_ms})
        return result

    def _run_with_faults(self, fn: Any, config: FunctionConfig, code: bytes, event: Any) -> InvocationResult:
        """Run the handler, with the faults in force (``sb.faults``, FIS experiments): a
        delay before it starts (billed, counted against the timeout) and an error."""
        delay, error = self.sandbox.faults.for_invocation(fn.function_arn)
        if not delay and error is None:
            return self.runtime.invoke(config, code, event)
        request_id = str(uuid.uuid4())
        if delay >= config.timeout:
            result = self.runtime._error_result(
                config, "Sandbox.Timedout",
                f"RequestId: {request_id} Error: Task timed out after {config.timeout:.2f} seconds",
                request_id)
            delay = config.timeout
        elif error is not None and error.prevent_execution:
            result = InvocationResult(b"null", None, "", 0.0, request_id)
        else:
            result = self.runtime.invoke(config, code, event)
        result.virtual_ms += delay * 1000.0
        result.duration_ms += delay * 1000.0
        if error is not None:   # the invocation is marked failed, whatever its code did
            result.function_error = "Unhandled"
            result.payload = json.dumps({
                "errorMessage": "Invocation failed by the fault injected with "
                                f"{'an FIS experiment' if error.source != 'sandbox' else 'sb.faults'} "
                                "(aws:lambda:invocation-error).",
                "errorType": "FaultInjectionError", "requestId": result.request_id or request_id,
                "stackTrace": []}).encode()
        return result

    def invoke_async(self, function_arn: str, event: Any) -> str:
        """Accept an asynchronous invocation (as AWS's ``Event`` type does); returns the request id."""
        request_id = str(uuid.uuid4())
        now = self.sandbox.clock.time()
        item = AsyncInvocation(function_arn, event, request_id, now)
        self.async_log.append(("AsyncEventsReceived", function_arn, now, 1.0))
        self._schedule(now, item)
        return request_id

    def _schedule(self, when: float, item: AsyncInvocation) -> None:
        self._queue.schedule(when, item)

    # -- the pump's poller -------------------------------------------------------------
    def poll(self) -> bool:
        due = self._queue.pop_due()
        for item in due:
            self._run_async(item)
        return bool(due)

    def _run_async(self, item: AsyncInvocation) -> None:
        try:
            fn = self.function(item.function_arn)
        except FunctionNotFound:
            return  # the function was deleted: AWS drops the event
        config = _event_invoke_config(fn)
        max_retries = int(config.get("MaximumRetryAttempts", 2))
        max_age = float(config.get("MaximumEventAgeInSeconds", DEFAULT_MAX_EVENT_AGE))
        started = self.sandbox.clock.time()
        try:
            result = self.invoke(fn, item.event)
        except Throttled as exc:
            self._throttled_async(fn, config, item, exc, max_age)
            return
        self.async_log.append(("AsyncEventAge", item.function_arn, started,
                               (started - item.first_seen) * 1000.0))
        item.attempts += 1
        now = self.sandbox.clock.time()
        if result.ok:
            self._destination(fn, config, "OnSuccess", item, result, "Success")
            return
        retries_done = item.attempts - 1
        if retries_done < max_retries:
            when = now + ASYNC_RETRY_DELAYS[min(retries_done, len(ASYNC_RETRY_DELAYS) - 1)]
            if when - item.first_seen <= max_age:
                self._schedule(when, item)
                return
            condition = "EventAgeExceeded"
        else:
            condition = "RetriesExhausted"
        self._drop(fn, config, item, result, condition)

    def _drop(self, fn: Any, config: dict[str, Any], item: AsyncInvocation,
              result: InvocationResult, condition: str, status: int = 200) -> None:
        """Give up on an event: counted as dropped, then sent to the on-failure
        destination or else the dead-letter queue, if there is one."""
        self.async_log.append(("AsyncEventsDropped", item.function_arn, self.sandbox.clock.time(), 1.0))
        if not self._destination(fn, config, "OnFailure", item, result, condition, status=status):
            self._dead_letter(fn, item, result, status=status)

    def _throttled_async(self, fn: Any, config: dict[str, Any], item: AsyncInvocation,
                         exc: Throttled, max_age: float) -> None:
        """Back to the queue with exponential back-off; past the event age (or at once,
        with reserved concurrency 0) to the on-failure destination or dead-letter queue."""
        item.throttles += 1
        now = self.sandbox.clock.time()
        if reserved_concurrency(fn) != 0:
            when = now + min(THROTTLE_RETRY_MAX, 2.0 ** (item.throttles - 1))
            if when - item.first_seen <= max_age:
                self._schedule(when, item)
                return
        result = InvocationResult(json.dumps({"errorMessage": "Rate Exceeded.",
                                              "errorType": "TooManyRequestsException",
                                              "Reason": exc.reason}).encode(),
                                  None, "", 0.0, item.request_id)
        condition = "EventAgeExceeded" if reserved_concurrency(fn) != 0 else "RetriesExhausted"
        self._drop(fn, config, item, result, condition, status=429)

    def _destination(self, fn: Any, config: dict[str, Any], which: str, item: AsyncInvocation,
                     result: InvocationResult, condition: str, status: int = 200) -> bool:
        target = ((config.get("DestinationConfig") or {}).get(which) or {}).get("Destination")
        if not target:
            return False
        response: Any
        try:
            response = json.loads(result.payload)
        except ValueError:
            response = result.payload.decode(errors="replace")
        record = {
            "version": "1.0",
            "timestamp": datetime.fromtimestamp(self.sandbox.clock.time(), UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "requestContext": {"requestId": item.request_id, "functionArn": f"{fn.function_arn}:$LATEST",
                               "condition": condition, "approximateInvokeCount": item.attempts},
            "requestPayload": item.event,
            "responseContext": {"statusCode": status, "executedVersion": "$LATEST"},
            "responsePayload": response,
        }
        if result.function_error:
            record["responseContext"]["functionError"] = result.function_error
        deliver_to_arn(self.sandbox, target, json.dumps(record),
                       source="lambda", detail_type=f"Lambda Function Invocation Result - {'Success' if which == 'OnSuccess' else 'Failure'}")
        return True

    def _dead_letter(self, fn: Any, item: AsyncInvocation, result: InvocationResult,
                     status: int = 200) -> None:
        target = getattr(fn, "eventlab_dead_letter", None)
        if not target:
            return
        error = result.error() or {}
        attributes = {
            "RequestID": {"DataType": "String", "StringValue": item.request_id},
            "ErrorCode": {"DataType": "Number", "StringValue": str(status)},
            "ErrorMessage": {"DataType": "String", "StringValue": str(error.get("errorMessage", ""))[:1000]},
        }
        deliver_to_arn(self.sandbox, target, json.dumps(item.event), attributes=attributes)

    # -- logs ----------------------------------------------------------------------
    def _write_logs(self, group: str, stream: str, lines: list[tuple[float, str]]) -> None:
        logs = self.sandbox.backend("logs")
        with self._log_lock:
            try:
                logs.ensure_log_group(group)
            except Exception:
                pass
            log_group = logs.groups.get(group)
            if log_group is not None and stream not in log_group.streams:
                logs.create_log_stream(group, stream)
            events = [{"timestamp": int(ms), "message": line} for ms, line in lines]
            if events:
                logs.put_log_events(group, stream, events)


def _check_visibility_covers_timeout(sandbox: Sandbox, backend: Any, spec: dict[str, Any]) -> None:
    """Lambda refuses an SQS mapping whose function may run longer than the queue hides a
    message: "Your function's timeout must be less than or equal to the queue's visibility
    timeout" (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html)."""
    source = spec.get("EventSourceArn") or ""
    if not source.startswith("arn:aws:sqs:"):
        return
    from moto.awslambda.exceptions import InvalidParameterValueException, LambdaClientError

    queue = sandbox.backend_for("sqs", source).queues.get(source.rsplit(":", 1)[1])
    try:
        fn = backend.get_function(spec.get("FunctionName") or "")
    except LambdaClientError:   # moto reports the missing function itself
        return
    if queue is None:
        return
    visibility, timeout = visibility_timeout(queue), int(fn.timeout)
    if timeout > visibility:
        raise InvalidParameterValueException(
            f"Queue visibility timeout: {visibility} seconds is less than Function timeout: "
            f"{timeout} seconds")


def enabled_mappings(sandbox: Sandbox, source: str) -> list[Any]:
    """The enabled event source mappings, of every account and region, whose source ARN is
    of ``source`` ("sqs", "kinesis")."""
    return [esm for lam in sandbox.backends("lambda")
            for esm in list(lam._event_source_mappings.values())
            if esm.event_source_arn.startswith(f"arn:aws:{source}:") and esm_enabled(esm)]


def esm_enabled(esm: Any) -> bool:
    """Whether an event source mapping is enabled (moto may keep ``Enabled`` as a string)."""
    enabled = esm.enabled
    if isinstance(enabled, str):
        return enabled.lower() != "false"
    return bool(enabled)


def _decode_event(body: Any) -> Any:
    if body in (None, b"", ""):
        return {}
    if isinstance(body, (bytes, bytearray)):
        body = body.decode()
    if isinstance(body, str):
        try:
            return json.loads(body)
        except ValueError:
            return body
    return body


def _event_invoke_config(fn: Any) -> dict[str, Any]:
    configs = getattr(fn, "event_invoke_config", None) or []
    return dict(configs[0].config) if configs else {}


def deliver_to_arn(sandbox: Sandbox, arn: str, body: str, *, attributes: dict[str, Any] | None = None,
                   source: str = "eventlab", detail_type: str = "Event",
                   group_id: str | None = None) -> None:
    """Send ``body`` to an SQS queue, SNS topic, Lambda function or event bus, by ARN."""
    _, _, service, region, account = arn.split(":")[:5]
    if service == "sqs":
        sqs = sandbox.client("sqs", region, account)
        url = sqs.get_queue_url(QueueName=arn.split(":")[5])["QueueUrl"]
        kwargs: dict[str, Any] = {"QueueUrl": url, "MessageBody": body}
        if attributes:
            kwargs["MessageAttributes"] = attributes
        if group_id is not None or arn.endswith(".fifo"):
            kwargs["MessageGroupId"] = group_id or "eventlab"
            kwargs["MessageDeduplicationId"] = uuid.uuid4().hex
        sqs.send_message(**kwargs)
    elif service == "sns":
        sns_attributes = {k: {"DataType": v["DataType"], "StringValue": v["StringValue"]}
                          for k, v in (attributes or {}).items()}
        sandbox.client("sns", region, account).publish(TopicArn=arn, Message=body,
                                              MessageAttributes=sns_attributes)
    elif service == "lambda":
        sandbox.service("lambda").invoke_async(arn, json.loads(body))
    elif service == "events":
        sandbox.client("events", region, account).put_events(Entries=[{
            "Source": source, "DetailType": detail_type, "Detail": body,
            "EventBusName": arn}])
    else:
        raise ValueError(f"cannot deliver to {arn}: unsupported destination service {service!r}")



class TooManyRequests(JsonRESTError):
    """429 ``TooManyRequestsException`` with the ``Reason`` and ``Type`` AWS sends."""

    code = 429

    def __init__(self, reason: str) -> None:
        super().__init__("TooManyRequestsException", "Rate Exceeded.")
        self.description = json.dumps({"Reason": reason, "Type": "User", "message": "Rate Exceeded.",
                                       "__type": "TooManyRequestsException"})
