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
  reservations may not leave less than ``lambda.unreserved-minimum`` (100) unreserved;
* the **scaling rate** (https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html):
  each function may add at most ``lambda.scaling-rate`` (1,000) execution environments
  every 10 seconds, refilled continuously and never accumulated beyond 1,000.  An
  invocation reuses an idle environment of its function when there is one; otherwise it
  needs a new one, and without one left in the function's scaling budget it is throttled
  with ``FunctionInvocationRateLimitExceeded`` (AWS does not document which ``Reason``
  this throttle carries; the sandbox uses the function-level rate reason).  An
  environment idle for ``ENVIRONMENT_IDLE_SECONDS`` of virtual time is reclaimed (AWS
  does not document when it reclaims them).

A throttled invocation never runs.  What happens next is the caller's: a synchronous
``Invoke`` answers 429 ``TooManyRequestsException`` with AWS's ``Reason``; the
asynchronous queue retries (:mod:`eventlab.sandbox.awslambda.service`); an SQS
mapping leaves the batch to come back after its visibility timeout; a Kinesis mapping
retries the batch, holding its shard.
"""

from __future__ import annotations

import heapq
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eventlab.errors import SandboxError
from eventlab.sandbox.core.capacity import TokenBucket

if TYPE_CHECKING:
    from eventlab.sandbox.core.sandbox import Sandbox

RESERVED = "ReservedFunctionConcurrentInvocationLimitExceeded"
ACCOUNT = "ConcurrentInvocationLimitExceeded"
SCALING = "FunctionInvocationRateLimitExceeded"
SCALING_PERIOD = 10.0            # the scaling rate is so many environments per 10 seconds
ENVIRONMENT_IDLE_SECONDS = 300.0  # sandbox choice: an idle environment is reclaimed after 5 min


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


@dataclass
class Environments:
    """One function's execution environments: when each is free again (a min-heap), and
    the budget of new ones (the scaling rate)."""

    budget: TokenBucket
    free_at: list[float] = field(default_factory=list)

    def claim(self, now: float) -> bool:
        """An environment for an invocation starting at ``now``: an idle one, else a new
        one from the budget (False: none is allowed)."""
        free_at = self.free_at
        while free_at and free_at[0] < now - ENVIRONMENT_IDLE_SECONDS:
            heapq.heappop(free_at)                # idle too long: reclaimed
        if free_at and free_at[0] <= now:
            heapq.heappop(free_at)
            return True
        return self.budget.take(1, now)

    def release(self, end: float) -> None:
        heapq.heappush(self.free_at, end)


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
        self._environments: dict[str, Environments] = {}
        self._lock = threading.Lock()
        sandbox.quotas.on_change(self._scaling_rate_changed)

    def _scaling_rate_changed(self, name: str) -> None:
        if name == "lambda.scaling-rate":
            with self._lock:
                for environments in self._environments.values():
                    environments.budget.resize(*self._scaling_budget())

    def _scaling_budget(self) -> tuple[float, float]:
        per_period = self.sandbox.quotas["lambda.scaling-rate"]
        return per_period / SCALING_PERIOD, per_period

    def _active(self, key: tuple[str, str], now: float) -> list[Slot]:
        slots = [s for s in self._slots.get(key, []) if s.end > now]
        self._slots[key] = slots
        return slots

    def start(self, fn: Any, backend: Any, now: float) -> str | None:
        """Start an invocation of ``fn`` at ``now``: None, and it holds an execution
        environment until :meth:`hold` records its end; or why it is throttled."""
        reason = self._concurrency_reason(fn, backend, now)
        if reason is not None:
            return reason
        with self._lock:
            environments = self._environments.get(fn.function_arn)
            if environments is None:
                rate, capacity = self._scaling_budget()
                environments = Environments(TokenBucket(rate, capacity, now))
                self._environments[fn.function_arn] = environments
            return None if environments.claim(now) else SCALING

    def _concurrency_reason(self, fn: Any, backend: Any, now: float) -> str | None:
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
        """Record an invocation that ran from ``start`` to ``end`` (virtual seconds); its
        execution environment is free again at ``end``."""
        with self._lock:
            environments = self._environments.get(fn.function_arn)
            if environments is not None:
                environments.release(max(start, end))
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
