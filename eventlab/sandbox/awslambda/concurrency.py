"""Lambda concurrency on the virtual clock, as AWS counts it.

An invocation holds one unit of concurrency from its start to its end in *virtual* time:
its run time on the clock plus whatever its handler spent in ``time.sleep`` (which the
Lambda environment turns into virtual time, see :mod:`eventlab.sandbox.awslambda.worker`).
Invocations that the sandbox runs one after the other in real time therefore overlap in
virtual time when their handlers sleep, exactly as they would on AWS: a poller that
starts five batches at 12:00:00 whose handlers each take 2 s holds five units until
12:00:02.

The limits (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html):

* a function with **reserved concurrency** ``R`` (``PutFunctionConcurrency``) runs at
  most ``R`` at once; ``R = 0`` throttles every invocation;
* the other functions share the **unreserved pool**: the account's concurrency quota
  (``lambda.concurrent-executions``, 1,000 by default) less every reservation;
  reservations may not leave less than ``lambda.unreserved-minimum`` (100) unreserved.

A throttled invocation never runs.  What happens next is the caller's: a synchronous
``Invoke`` answers 429 ``TooManyRequestsException`` with AWS's ``Reason``; the
asynchronous queue retries (:mod:`eventlab.sandbox.awslambda.service`); an SQS
mapping leaves the batch to come back after its visibility timeout; a Kinesis mapping
retries the batch, holding its shard.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eventlab.errors import SandboxError

if TYPE_CHECKING:
    from eventlab.sandbox.core.sandbox import Sandbox

RESERVED = "ReservedFunctionConcurrentInvocationLimitExceeded"
ACCOUNT = "ConcurrentInvocationLimitExceeded"


class Throttled(SandboxError):
    """Lambda refused to start an invocation: no concurrency left for the function."""

    def __init__(self, function_name: str, reason: str) -> None:
        super().__init__(f"Rate Exceeded. ({reason} for {function_name})")
        self.function_name = function_name
        self.reason = reason


@dataclass
class Slot:
    function_arn: str
    reserved: bool
    start: float
    end: float


def reserved_concurrency(fn: Any) -> int | None:
    value = getattr(fn, "reserved_concurrency", None)
    if value is None or value == "":
        return None
    return int(value)


class Concurrency:
    """The invocations in flight in one account and region, on the virtual clock."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._slots: dict[tuple[str, str], list[Slot]] = {}
        self._lock = threading.Lock()

    def _active(self, key: tuple[str, str], now: float) -> list[Slot]:
        slots = [s for s in self._slots.get(key, []) if s.end > now]
        self._slots[key] = slots
        return slots

    def throttle_reason(self, fn: Any, backend: Any, now: float) -> str | None:
        """Why ``fn`` may not start an invocation at ``now`` (None: it may)."""
        key = (backend.account_id, backend.region_name)
        with self._lock:
            active = self._active(key, now)
        reserved = reserved_concurrency(fn)
        if reserved is not None:
            mine = sum(1 for s in active if s.function_arn == fn.function_arn)
            return RESERVED if mine >= reserved else None
        pool = self.unreserved_pool(backend)
        shared = sum(1 for s in active if not s.reserved)
        return ACCOUNT if shared >= pool else None

    def unreserved_pool(self, backend: Any, excluding: str | None = None, extra: int = 0) -> float:
        total = self.sandbox.quotas["lambda.concurrent-executions"]
        reserved = sum(reserved_concurrency(f) or 0 for f in backend.list_functions()
                       if f.function_name != excluding)
        return total - reserved - extra

    def hold(self, fn: Any, backend: Any, start: float, end: float) -> None:
        """Record an invocation that ran from ``start`` to ``end`` (virtual seconds)."""
        if end <= start:
            return
        slot = Slot(fn.function_arn, reserved_concurrency(fn) is not None, start, end)
        with self._lock:
            self._slots.setdefault((backend.account_id, backend.region_name), []).append(slot)

    def in_flight(self, backend: Any, now: float, function_arn: str | None = None) -> int:
        return self.counts(backend, now, function_arn)[function_arn is not None]

    def counts(self, backend: Any, now: float, function_arn: str | None) -> tuple[int, int]:
        """(in flight in the account, in flight for ``function_arn``) at ``now``."""
        with self._lock:
            active = self._active((backend.account_id, backend.region_name), now)
        return len(active), sum(1 for s in active if s.function_arn == function_arn)

    def retry_at(self, backend: Any, now: float) -> float:
        """When a throttled poller tries again: once a unit frees up, at least 1 s on."""
        return max(now + 1.0, self.next_free(backend, now) or 0.0)

    def next_free(self, backend: Any, now: float) -> float | None:
        """When the next unit of concurrency frees up (None when none is held)."""
        with self._lock:
            active = self._active((backend.account_id, backend.region_name), now)
        return min((s.end for s in active), default=None)
