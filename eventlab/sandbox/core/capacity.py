"""Capacity on the virtual clock: AWS's published quotas and the buckets that spend them.

Every limit the sandbox enforces is a :class:`Quota` here, with AWS's default and the page
it comes from.  Where AWS publishes different defaults per region (grouped as AWS's tables
group them), the quota carries them (``Quota.regional``) and a call is limited by the
default of *its* region: a sandbox serving several regions over HTTP gives each region's
buckets that region's figure.  A sandbox holds one :class:`Quotas`: the defaults, changed by ``Sandbox(quotas={...})``, ``eventlab serve --quota NAME=VALUE``,
``sb.quotas.set(NAME, VALUE)`` or ``POST /_eventlab/quotas``, so that a lab can make a
limit small enough to hit.  ``docs/differences.md`` lists them all (a test keeps the two
in step).  A change applies in every region (it wins over every regional default).

Throughput is spent from :class:`TokenBucket`\\ s that fill with *virtual* time: a limit of
1,000 records per second holds the same whether the machine runs the calls in a
millisecond or a minute, and ``sb.clock.advance(seconds=1)`` refills it.  A bucket starts
full; its capacity is its burst (one second of the rate unless AWS documents another).
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from eventlab.errors import InputError

KDS_LIMITS = "https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html"
KDS_ON_DEMAND = "https://docs.aws.amazon.com/streams/latest/dev/how-do-i-size-a-stream.html"
LAMBDA_LIMITS = "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html"
LAMBDA_SCALING = "https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html"
SQS_FIFO_TPS = ("https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/"
                "troubleshooting-fifo-throttling-issues.html")
SQS_MESSAGES = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html"
SQS_STANDARD = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-queues.html"
SQS_FIFO = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-fifo.html"
SNS_LIMITS = "https://docs.aws.amazon.com/general/latest/gr/sns.html"
EVENTS_LIMITS = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html"
APIGW_LIMITS = "https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html"
APIGW_WS_LIMITS = ("https://docs.aws.amazon.com/apigateway/latest/developerguide/"
                   "apigateway-execution-service-websocket-limits-table.html")
SFN_LIMITS = "https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html"


class QuotaError(InputError, ValueError):
    """An unknown quota name or a value that is not a positive number."""


DEFAULT_REGION = "us-east-1"
Regional = tuple[tuple[tuple[str, ...], float], ...]


@dataclass(frozen=True)
class Quota:
    """One of AWS's quotas: ``default`` holds in every region that ``regional`` does not
    name; ``regional`` is AWS's table of other figures, ``((regions, value), ...)``."""

    name: str
    default: float
    unit: str
    what: str
    source: str
    regional: Regional = ()

    def default_in(self, region: str | None) -> float:
        """AWS's default for this quota in ``region`` (the general default when AWS lists
        no figure of its own for it)."""
        for regions, value in self.regional:
            if region in regions:
                return value
        return self.default


# Regions as AWS's quota tables group them.
LARGEST = ("us-east-1", "us-west-2", "eu-west-1")   # "US East (N. Virginia), US West (Oregon), Europe (Ireland)"
SNS_1500 = ("us-east-2", "us-west-1", "ap-south-1", "ap-northeast-2", "ap-southeast-1", "ap-southeast-2",
            "ap-northeast-1", "eu-central-1")
EVENTS_TIER2 = ("us-east-2", "eu-central-1", "eu-south-2")
EVENTS_TIER3 = ("us-west-1", "ap-northeast-1", "ap-southeast-1", "ap-southeast-2", "eu-west-2")
EVENTS_TIER4 = ("ap-east-1", "ap-northeast-2", "ap-south-1", "ca-central-1", "eu-north-1", "eu-west-3", "sa-east-1")
APIGW_SMALLER = ("af-south-1", "eu-south-1", "ap-southeast-3", "me-central-1", "ap-south-2", "ap-southeast-4",
                 "eu-south-2", "eu-central-2", "il-central-1", "ca-west-1", "ap-southeast-5", "ap-southeast-7",
                 "mx-central-1")


QUOTAS: dict[str, Quota] = {q.name: q for q in (
    Quota("kinesis.shard.write-bytes", 1_048_576, "bytes/s",
          "data written to one shard of a provisioned stream, per second", KDS_LIMITS),
    Quota("kinesis.shard.write-records", 1_000, "records/s",
          "records written to one shard of a provisioned stream, per second", KDS_LIMITS),
    Quota("kinesis.shard.read-bytes", 2_097_152, "bytes/s",
          "data read from one shard by GetRecords (shared by all its readers), per second",
          KDS_LIMITS),
    Quota("kinesis.shard.read-calls", 5, "calls/s",
          "GetRecords calls on one shard, per second", KDS_LIMITS),
    Quota("kinesis.on-demand.write-bytes", 4_194_304, "bytes/s",
          "write capacity of a new on-demand stream; it then follows twice the peak of the "
          "previous 30 days", KDS_ON_DEMAND),
    Quota("kinesis.on-demand.write-records", 4_000, "records/s",
          "record capacity of a new on-demand stream; it then follows twice the peak of the "
          "previous 30 days", KDS_ON_DEMAND),
    Quota("lambda.concurrent-executions", 1_000, "executions",
          "concurrent executions of all functions of the account in the region", LAMBDA_LIMITS),
    Quota("lambda.unreserved-minimum", 100, "executions",
          "concurrency that reserved concurrency may never take from the unreserved pool",
          LAMBDA_LIMITS),
    Quota("lambda.scaling-rate", 1_000, "environments/10 s",
          "new execution environments one function may add every 10 seconds (refilled "
          "continuously, never accumulated beyond one period's worth)", LAMBDA_SCALING),
    # -- service API limits ----------------------------------------------------------------
    Quota("sqs.fifo.calls", 300, "calls/s",
          "calls per second to one FIFO queue, per action (SendMessage, ReceiveMessage, "
          "DeleteMessage, ChangeMessageVisibility; a batch call counts once and carries up to "
          "10 messages: 3,000 messages/s)", SQS_FIFO_TPS),
    Quota("sqs.fifo-high-throughput.calls", 70_000, "calls/s",
          "calls per second to one FIFO queue in high-throughput mode (FifoThroughputLimit "
          "perMessageGroupId), per action", SQS_MESSAGES),
    Quota("sqs.fifo-high-throughput.group-calls", 300, "calls/s",
          "calls per second per message group (one partition) of a high-throughput FIFO queue, "
          "per action", SQS_MESSAGES),
    Quota("sqs.standard.in-flight", 120_000, "messages",
          "messages received and not yet deleted in one standard queue (then ReceiveMessage "
          "answers OverLimit, or nothing when it long-polls)", SQS_STANDARD),
    Quota("sqs.fifo.in-flight", 120_000, "messages",
          "messages received and not yet deleted in one FIFO queue (then ReceiveMessage "
          "answers nothing, without an error)", SQS_FIFO),
    Quota("sns.publish.messages", 300, "messages/s",
          "messages published to standard topics (Publish, each PublishBatch entry) per second by the "
          "account in the region", SNS_LIMITS,
          ((("us-east-1",), 30_000), (("us-west-2", "eu-west-1"), 9_000), (SNS_1500, 1_500))),
    Quota("sns.fifo.publish.messages", 3_000, "messages/s",
          "messages published to FIFO topics (Publish, each PublishBatch entry) per second by the "
          "account in the region", SNS_LIMITS,
          ((("us-east-1",), 30_000), (("us-west-2", "eu-west-1"), 9_000))),
    Quota("sns.fifo-topic.messages", 3_000, "messages/s",
          "messages published per second to one FIFO topic whose FifoThroughputScope is Topic "
          "(the default)", SNS_LIMITS),
    Quota("sns.fifo-topic.bytes", 20_000_000, "bytes/s",
          "message bytes published per second to one FIFO topic whose FifoThroughputScope is Topic "
          "(AWS: 20 MB/s or 3,000 messages/s, whichever comes first)", SNS_LIMITS),
    Quota("sns.fifo.group-messages", 300, "messages/s",
          "messages published per second to one message group of a FIFO topic", SNS_LIMITS),
    Quota("events.put-events", 400, "requests/s",
          "PutEvents requests per second by the account in the region", EVENTS_LIMITS,
          ((LARGEST, 10_000), (EVENTS_TIER2, 2_400), (EVENTS_TIER3, 1_200), (EVENTS_TIER4, 600))),
    Quota("events.invocations", 750, "invocations/s",
          "target invocations per second by the account in the region; beyond it invocations "
          "are delayed, never dropped", EVENTS_LIMITS,
          ((LARGEST, 18_750), (EVENTS_TIER2, 4_500), (EVENTS_TIER3, 2_250), (EVENTS_TIER4, 1_100))),
    Quota("apigateway.account.rate", 10_000, "requests/s",
          "requests per second to all REST and HTTP APIs of the account in the region", APIGW_LIMITS,
          ((APIGW_SMALLER, 2_500),)),
    Quota("apigateway.account.burst", 5_000, "requests",
          "burst (token bucket capacity) of the account-level throttle", APIGW_LIMITS,
          ((APIGW_SMALLER, 1_250),)),
    Quota("apigateway.websocket.frame-bytes", 32_768, "bytes",
          "largest WebSocket frame; a bigger one closes the connection with 1009", APIGW_WS_LIMITS),
    Quota("apigateway.websocket.message-bytes", 131_072, "bytes",
          "largest WebSocket message (frames together); bigger closes with 1009", APIGW_WS_LIMITS),
    Quota("apigateway.websocket.idle-seconds", 600, "seconds",
          "a WebSocket connection with no message either way for this long is closed", APIGW_WS_LIMITS),
    Quota("apigateway.websocket.duration-seconds", 7_200, "seconds",
          "longest life of a WebSocket connection", APIGW_WS_LIMITS),
    Quota("stepfunctions.standard.start-rate", 150, "calls/s",
          "StartExecution refill rate for Standard state machines", SFN_LIMITS, ((LARGEST, 300),)),
    Quota("stepfunctions.standard.start-burst", 800, "calls",
          "StartExecution bucket size for Standard state machines", SFN_LIMITS, ((LARGEST, 1_300),)),
    Quota("stepfunctions.express.start-rate", 6_000, "calls/s",
          "StartExecution and StartSyncExecution refill rate for Express state machines", SFN_LIMITS),
    Quota("stepfunctions.express.start-burst", 6_000, "calls",
          "StartExecution and StartSyncExecution bucket size for Express state machines", SFN_LIMITS),
)}


class Quotas:
    """The quotas in force in one sandbox: AWS's defaults (for the region asked about, else
    the sandbox's own ``region``) unless changed."""

    def __init__(self, overrides: Mapping[str, float] | None = None, region: str = DEFAULT_REGION) -> None:
        self.region = region
        self._values: dict[str, float] = {}
        self._lock = threading.Lock()
        self._listeners: list[Callable[[str], None]] = []
        for name, value in (overrides or {}).items():
            self.set(name, value)

    def __getitem__(self, name: str) -> float:
        return self.get(name)

    def get(self, name: str, region: str | None = None) -> float:
        """The quota in force in ``region`` (default: the sandbox's): a change made to it,
        else AWS's default there."""
        quota = _quota(name)
        value = self._values.get(name)
        return quota.default_in(region or self.region) if value is None else value

    def set(self, name: str, value: float) -> None:
        """Change a quota (for example to make it small enough for a lab to hit)."""
        quota = _quota(name)
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise QuotaError(f"quota {name}: {value!r} is not a number ({quota.unit})") from None
        if not math.isfinite(number) or number < 0:
            raise QuotaError(f"quota {name}: {value!r} must be a number >= 0 ({quota.unit})")
        with self._lock:
            self._values[name] = number
        for listener in list(self._listeners):
            listener(name)

    def reset(self, name: str | None = None) -> None:
        """Back to AWS's defaults (one quota, or all)."""
        with self._lock:
            names = [name] if name else list(self._values)
            for n in names:
                _quota(n)
                self._values.pop(n, None)
        for n in names:
            for listener in list(self._listeners):
                listener(n)

    def describe(self, region: str | None = None) -> dict[str, Any]:
        """Every quota in ``region`` (default: the sandbox's), as ``GET /_eventlab/quotas``
        answers: the value in force, AWS's default there, AWS's regional figures (each
        group of regions with its value, and the figure ``elsewhere``), unit and source."""
        region = region or self.region
        return {"region": region, "quotas": {name: {
            "value": self.get(name, region), "default": q.default_in(region), "unit": q.unit,
            "regional": {"elsewhere": q.default,
                         "regions": [{"regions": list(regions), "value": v} for regions, v in q.regional]},
            "source": q.source} for name, q in sorted(QUOTAS.items())}}

    def changed(self) -> dict[str, float]:
        return dict(self._values)

    def on_change(self, listener: Callable[[str], None]) -> None:
        self._listeners.append(listener)

    @staticmethod
    def parse(assignments: list[str]) -> dict[str, float]:
        """``["kinesis.shard.write-records=10", ...]`` (the ``--quota`` option) -> dict."""
        parsed: dict[str, float] = {}
        for item in assignments:
            name, sep, value = item.partition("=")
            if not sep:
                raise QuotaError(f"--quota {item!r}: write NAME=VALUE, e.g. kinesis.shard.write-records=10")
            _quota(name.strip())
            try:
                parsed[name.strip()] = float(value)
            except ValueError:
                raise QuotaError(f"--quota {item!r}: {value!r} is not a number") from None
        return parsed


def _quota(name: str) -> Quota:
    try:
        return QUOTAS[name]
    except KeyError:
        raise QuotaError(f"no quota named {name!r}; the sandbox's quotas are: "
                         f"{', '.join(sorted(QUOTAS))}") from None


class TokenBucket:
    """``rate`` tokens per second of virtual time, holding at most ``capacity``; starts full.

    ``take(n, now)`` spends ``n`` tokens if they are all there (all or nothing)."""

    __slots__ = ("rate", "capacity", "tokens", "stamp")

    def __init__(self, rate: float, capacity: float | None = None, now: float = 0.0) -> None:
        self.rate = float(rate)
        self.capacity = float(rate if capacity is None else capacity)
        self.tokens = self.capacity
        self.stamp = now

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def take(self, amount: float, now: float) -> bool:
        self._refill(now)
        if amount <= self.tokens + 1e-9:
            self.tokens -= amount
            return True
        return False

    def available(self, now: float) -> float:
        self._refill(now)
        return self.tokens

    def reserve(self, amount: float, now: float) -> float:
        """Spend ``amount`` now, in debt if need be; the seconds until the debt is paid (0: at
        once).  Work that must wait its turn, never be refused, starts after that delay."""
        self._refill(now)
        self.tokens -= amount
        return 0.0 if self.tokens >= -1e-9 else -self.tokens / self.rate if self.rate > 0 else math.inf

    def resize(self, rate: float, capacity: float | None = None) -> None:
        """New rate and capacity; the tokens in hand are kept (capped)."""
        self.rate = float(rate)
        self.capacity = float(rate if capacity is None else capacity)
        self.tokens = min(self.tokens, self.capacity)


class Buckets:
    """The token buckets of one sandbox's API limits, sized by its quotas, on its virtual
    clock; emptied when a quota changes (they start full again at the new size)."""

    def __init__(self, sandbox: Any) -> None:
        self.clock = sandbox.clock
        self.quotas: Quotas = sandbox.quotas
        self._buckets: dict[tuple[Any, ...], TokenBucket] = {}
        self._lock = threading.Lock()
        self.quotas.on_change(lambda _name: self._buckets.clear())

    def _get(self, rate: str, scope: tuple[Any, ...], burst: str | None, region: str | None,
             now: float) -> TokenBucket:
        key = (rate, region, *scope)
        bucket = self._buckets.get(key)
        if bucket is None:
            capacity = self.quotas.get(burst, region) if burst else None
            bucket = self._buckets[key] = TokenBucket(self.quotas.get(rate, region), capacity, now)
        return bucket

    def take(self, rate: str, *scope: Any, amount: float = 1, burst: str | None = None,
             region: str | None = None) -> bool:
        """Spend ``amount`` from the bucket of quota ``rate`` for ``scope`` (an account, a
        queue...), sized by the quota's value in ``region`` (the call's; default: the
        sandbox's); False, spending nothing, when it has too little."""
        now = self.clock.time()
        with self._lock:
            return self._get(rate, scope, burst, region, now).take(amount, now)

    def take_all(self, wanted: list[tuple[str, tuple[Any, ...], float]], region: str | None = None) -> bool:
        """Spend from several buckets (quota, scope, amount) at once, or from none."""
        now = self.clock.time()
        with self._lock:
            buckets = [(self._get(rate, scope, None, region, now), amount) for rate, scope, amount in wanted]
            if not all(b.available(now) + 1e-9 >= amount for b, amount in buckets):
                return False
            for b, amount in buckets:
                b.tokens -= amount
        return True

    def reserve(self, rate: str, *scope: Any, amount: float = 1, region: str | None = None) -> float:
        """Spend ``amount`` even in debt; the seconds to wait for it (see TokenBucket.reserve)."""
        now = self.clock.time()
        with self._lock:
            return self._get(rate, scope, None, region, now).reserve(amount, now)


def throttled(code: str = "ThrottlingException", message: str = "Rate exceeded") -> Exception:
    """The error a throttled API call answers, in the call's own wire protocol (moto
    serializes it; HTTP 400 unless the service's model says otherwise)."""
    return _throttled_class()(code, message)


@functools.cache
def _throttled_class() -> type[Exception]:
    from moto.core.exceptions import ServiceException

    class Throttled(ServiceException):
        """Raised by a response handler; moto reads no service off this module's name."""

    Throttled.__module__ = __name__
    return Throttled


def install_throttling_code(patches: Any) -> None:
    """``ThrottlingException`` is common to AWS's APIs but absent from most service models
    (SQS's, SNS's): without this moto warns at every throttled call that it has no shape.
    Idempotent: each service with API limits calls it."""
    import moto.core.errors as moto_errors

    if "ThrottlingException" not in moto_errors.COMMON_ERROR_CODES:
        patches.replace(moto_errors, "COMMON_ERROR_CODES",
                        [*moto_errors.COMMON_ERROR_CODES, "ThrottlingException"],
                        "ThrottlingException is a common error code (no warning per throttled call)")
