"""Capacity on the virtual clock: AWS's published quotas and the buckets that spend them.

Every limit the sandbox enforces is a :class:`Quota` here, with AWS's default for the
sandbox's region and the page it comes from.  A sandbox holds one :class:`Quotas`: the
defaults, changed by ``Sandbox(quotas={...})``, ``eventlab serve --quota NAME=VALUE``,
``sb.quotas.set(NAME, VALUE)`` or ``POST /_eventlab/quotas``, so that a lab can make a
limit small enough to hit.  ``docs/differences.md`` lists them all (a test keeps the two
in step).

Throughput is spent from :class:`TokenBucket`\\ s that fill with *virtual* time: a limit of
1,000 records per second holds the same whether the machine runs the calls in a
millisecond or a minute, and ``sb.clock.advance(seconds=1)`` refills it.  A bucket starts
full; its capacity is its burst (one second of the rate unless AWS documents another).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from eventlab.errors import InputError

KDS_LIMITS = "https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html"
KDS_ON_DEMAND = "https://docs.aws.amazon.com/streams/latest/dev/how-do-i-size-a-stream.html"
LAMBDA_LIMITS = "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html"
LAMBDA_SCALING = "https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html"


class QuotaError(InputError, ValueError):
    """An unknown quota name or a value that is not a positive number."""


@dataclass(frozen=True)
class Quota:
    name: str
    default: float
    unit: str
    what: str
    source: str


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
)}


class Quotas:
    """The quotas in force in one sandbox: AWS's defaults unless changed."""

    def __init__(self, overrides: Mapping[str, float] | None = None) -> None:
        self._values: dict[str, float] = {}
        self._lock = threading.Lock()
        self._listeners: list[Callable[[str], None]] = []
        for name, value in (overrides or {}).items():
            self.set(name, value)

    def __getitem__(self, name: str) -> float:
        return self._values.get(name, _quota(name).default)

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
        """Back to AWS's default (one quota, or all)."""
        with self._lock:
            names = [name] if name else list(self._values)
            for n in names:
                _quota(n)
                self._values.pop(n, None)
        for n in names:
            for listener in list(self._listeners):
                listener(n)

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

    def resize(self, rate: float, capacity: float | None = None) -> None:
        """New rate and capacity; the tokens in hand are kept (capped)."""
        self.rate = float(rate)
        self.capacity = float(rate if capacity is None else capacity)
        self.tokens = min(self.tokens, self.capacity)
