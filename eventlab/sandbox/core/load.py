"""Load on the virtual clock: many calls spread over virtual seconds, and what became of them.

    result = sb.load(rate=1_000, seconds=60, send=lambda i: sqs.send_message(...),
                     queue="orders", dlq="orders-dlq")
    print(result)        # sent, accepted, throttled, processed, in DLQ, backlog peak, drain time

The clock is held for the whole run (:meth:`VirtualClock.held`): in each step of virtual
time (``step``, 1 s by default) ``send`` is called ``rate * step`` times, then the clock
advances by the step and the sandbox delivers what is due (pollers, retries, alarms).
Every quota is therefore spent per *virtual* second, the same on a slow or a fast
machine.  After the load, with ``drain=True``, the clock keeps advancing until the
queue is empty (or ``max_drain`` seconds have passed).

``send(i)`` is any callable: a boto3 call, an HTTP request to an API Gateway URL... A
call that raises a throttling error (``ThrottlingException``, ``TooManyRequestsException``,
``ProvisionedThroughputExceededException``, ``RequestLimitExceeded``, HTTP 429) counts as
throttled; any other exception counts as an error and is kept (the first five) for the
summary.  With ``queue`` (a name or URL), the backlog (visible plus in-flight messages)
is sampled after every step; with ``dlq``, what ended in the dead-letter queue is
counted.  ``processed`` is what the queue's consumers deleted (``NumberOfMessagesDeleted``);
``unaccounted`` is what was accepted but is neither processed, nor in the DLQ, nor still
in the queue, and should be 0.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eventlab.sandbox.core.sandbox import Sandbox

THROTTLING = ("Throttling", "ThrottlingException", "TooManyRequestsException",
              "ProvisionedThroughputExceededException", "RequestLimitExceeded",
              "LimitExceededException", "SlowDown")


@dataclass
class LoadResult:
    rate: float
    seconds: float
    sent: int = 0
    accepted: int = 0
    throttled: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    processed: int | None = None
    in_dlq: int | None = None
    backlog: list[tuple[float, int]] = field(default_factory=list)   # (seconds from start, messages)
    drained_at: float | None = None       # seconds from start when the queue was empty again

    @property
    def backlog_peak(self) -> int:
        return max((n for _, n in self.backlog), default=0)

    @property
    def remaining(self) -> int:
        return self.backlog[-1][1] if self.backlog else 0

    @property
    def unaccounted(self) -> int | None:
        if self.processed is None:
            return None
        return self.accepted - self.processed - (self.in_dlq or 0) - self.remaining

    def as_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready data (what ``POST /_eventlab/load`` answers)."""
        return {"rate": self.rate, "seconds": self.seconds, "sent": self.sent, "accepted": self.accepted,
                "throttled": self.throttled, "errors": self.errors, "errorSamples": self.error_samples,
                "processed": self.processed, "inDlq": self.in_dlq, "backlogPeak": self.backlog_peak,
                "remaining": self.remaining, "unaccounted": self.unaccounted,
                "drainedAfter": None if self.drained_at is None else self.drained_at - self.seconds,
                "backlog": [list(point) for point in self.backlog]}

    def __str__(self) -> str:
        lines = [f"load: {self.rate:g}/s for {self.seconds:g} s (virtual)",
                 f"  sent {self.sent:,}, accepted {self.accepted:,}, throttled {self.throttled:,}, "
                 f"errors {self.errors:,}"]
        if self.processed is not None:
            lines.append(f"  processed {self.processed:,}, in DLQ {self.in_dlq or 0:,}, still queued "
                         f"{self.remaining:,}, unaccounted {self.unaccounted:,}")
            lines.append(f"  backlog peak {self.backlog_peak:,}"
                         + (f", drained {self.drained_at - self.seconds:g} s after the load ended"
                            if self.drained_at is not None else ", not drained"))
        lines.extend(f"  error: {e}" for e in self.error_samples)
        return "\n".join(lines)


def _throttling(exc: BaseException) -> bool:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = (response.get("Error") or {}).get("Code", "")
        status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        return code in THROTTLING or status == 429
    return getattr(exc, "code", None) == 429 or type(exc).__name__ in THROTTLING


def run_load(sandbox: Sandbox, rate: float, seconds: float, send: Callable[[int], Any], *,
             queue: str | None = None, dlq: str | None = None, step: float = 1.0,
             drain: bool = True, max_drain: float = 3600.0, progress: bool | None = None) -> LoadResult:
    if rate <= 0 or seconds <= 0 or step <= 0:
        raise ValueError("load: rate, seconds and step must be positive")
    result = LoadResult(rate, seconds)
    queue_url = _url(sandbox, queue) if queue else None
    dlq_url = _url(sandbox, dlq) if dlq else None
    deleted_before = _deleted(sandbox, queue_url) if queue_url else 0
    dlq_before = _depth(sandbox, dlq_url) if dlq_url else 0
    bar = _Progress(seconds, progress)
    clock = sandbox.clock
    with clock.held():
        start = clock.time()
        carry = 0.0
        elapsed = 0.0
        i = 0
        while elapsed < seconds - 1e-9:
            width = min(step, seconds - elapsed)
            carry += rate * width
            calls, carry = int(carry), carry - int(carry)
            for _ in range(calls):
                result.sent += 1
                try:
                    send(i)
                    result.accepted += 1
                except Exception as exc:  # a failed call is a result, not an end of the run
                    if _throttling(exc):
                        result.throttled += 1
                    else:
                        result.errors += 1
                        if len(result.error_samples) < 5:
                            result.error_samples.append(f"{type(exc).__name__}: {exc}")
                i += 1
            clock.advance(seconds=width)
            elapsed = clock.time() - start
            if queue_url:
                result.backlog.append((round(elapsed, 3), _depth(sandbox, queue_url)))
            bar.update(elapsed)
        if queue_url and drain:
            while result.remaining and elapsed < seconds + max_drain:
                clock.advance(seconds=step)
                elapsed = clock.time() - start
                result.backlog.append((round(elapsed, 3), _depth(sandbox, queue_url)))
            if not result.remaining:
                result.drained_at = next((t for t, n in result.backlog if n == 0 and t >= seconds), elapsed)
    bar.close()
    if queue_url:
        result.processed = _deleted(sandbox, queue_url) - deleted_before
    if dlq_url:
        result.in_dlq = _depth(sandbox, dlq_url) - dlq_before
    return result


def http_load(sandbox: Sandbox, spec: Any) -> dict[str, Any]:
    """``POST /_eventlab/load``: the same run, its calls described as data::

        {"rate": 100, "seconds": 60, "queue": "orders", "dlq": "orders-dlq",
         "call": {"service": "sqs", "operation": "SendMessage",
                  "params": {"QueueUrl": "...", "MessageBody": "order {i}"}}}

    ``{i}`` in a string parameter becomes the call's number; each call is one attempt
    (no SDK retries), so a throttled call counts as throttled.  Answers
    :meth:`LoadResult.as_dict`."""
    if not isinstance(spec, dict):
        raise ValueError('send a JSON object: {"rate": ..., "seconds": ..., "call": {...}}')
    call = spec.get("call")
    if not isinstance(call, dict) or not call.get("service") or not call.get("operation"):
        raise ValueError('"call" needs "service" (e.g. "sqs"), "operation" (e.g. "SendMessage") '
                         'and "params"')
    import boto3
    from botocore.config import Config

    client = boto3.client(str(call["service"]), region_name=sandbox.region,
                          config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
    operation = str(call["operation"])
    names = {name: client.meta.method_to_api_mapping.get(name) for name in dir(client)}
    method = next((name for name, api in names.items() if api == operation), None)
    if method is None:
        raise ValueError(f"{call['service']} has no operation {operation!r} (use the API's name, "
                         "e.g. SendMessage)")
    params = call.get("params") or {}
    if not isinstance(params, dict):
        raise ValueError('"params" must be an object: the parameters of the operation')
    send_one = getattr(client, method)

    def send(i: int) -> Any:
        return send_one(**_numbered(params, i))

    options = {k: spec[k] for k in ("queue", "dlq", "step", "drain", "max_drain") if k in spec}
    try:
        rate, seconds = float(spec["rate"]), float(spec["seconds"])
    except (KeyError, TypeError, ValueError):
        raise ValueError('"rate" (calls per virtual second) and "seconds" must be numbers') from None
    return run_load(sandbox, rate, seconds, send, progress=False, **options).as_dict()


def _numbered(value: Any, i: int) -> Any:
    if isinstance(value, str):
        return value.replace("{i}", str(i))
    if isinstance(value, dict):
        return {k: _numbered(v, i) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbered(v, i) for v in value]
    return value


def _url(sandbox: Sandbox, queue: str) -> str:
    if queue.startswith(("http://", "https://")):
        return queue
    return sandbox.client("sqs").get_queue_url(QueueName=queue)["QueueUrl"]


def _depth(sandbox: Sandbox, url: str) -> int:
    attributes = sandbox.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                                      "ApproximateNumberOfMessagesDelayed"])["Attributes"]
    return sum(int(v) for v in attributes.values())


def _deleted(sandbox: Sandbox, url: str) -> int:
    return int(sandbox.service("metrics").total("AWS/SQS", "NumberOfMessagesDeleted",
                                                {"QueueName": url.rsplit("/", 1)[-1]}))


class _Progress:
    """A one-line progress bar on stderr for long runs (rich, when it is a terminal)."""

    def __init__(self, total: float, enabled: bool | None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.total = total
        self._progress: Any = None
        if self.enabled:
            from rich.progress import Progress

            self._progress = Progress(transient=True)
            self._progress.start()
            self._task = self._progress.add_task("load (virtual seconds)", total=total)

    def update(self, done: float) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=min(done, self.total))

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
