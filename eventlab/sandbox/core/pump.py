"""The delivery pump: what makes a flow flow.

On AWS, pollers run all the time (Lambda polls SQS and Kinesis, EventBridge retries a
target, Lambda retries an async event).  In the sandbox they are *pollers* that the pump
runs until there is nothing left to do:

* after every API request the sandbox answers (in-process or over HTTP), so that when
  ``send_message`` returns, the Lambda function subscribed to the queue has already run;
* after every stop of ``clock.advance``, so that timers (visibility timeouts, batching
  windows, retries) fire at the right virtual time;
* from a background ticker, so that timers also fire as real time passes.

The pump is re-entrant in the one way that matters: a handler's own API call (made while
the pump is invoking it) does not start a second pump; it marks the pump dirty and the
running pump goes round again.  A poller that raises is reported once and disabled, so a
bug in one delivery path never stops the others.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

log = logging.getLogger("eventlab.sandbox")

MAX_ROUNDS = 10_000


class Poller(Protocol):
    name: str

    def poll(self) -> bool:
        """Do what is due now; return True if anything happened."""
        ...


T = TypeVar("T")


class DueQueue(Generic[T]):
    """Items to handle at a virtual time (retries, delayed deliveries), for a poller.

    ``schedule(when, item)`` also registers ``when`` with the clock so that
    ``clock.advance`` stops there; ``pop_due()`` returns the items whose time has come,
    in time order (ties in scheduling order).
    """

    def __init__(self, clock: Any) -> None:
        self._clock = clock
        self._heap: list[tuple[float, int, T]] = []
        self._seq = itertools.count()
        self._lock = threading.Lock()

    def schedule(self, when: float, item: T) -> None:
        with self._lock:
            heapq.heappush(self._heap, (when, next(self._seq), item))
        if when > self._clock.time():
            self._clock.call_at(when, lambda: None)  # advance() stops here

    def pop_due(self) -> list[T]:
        now = self._clock.time()
        due: list[T] = []
        with self._lock:
            while self._heap and self._heap[0][0] <= now:
                due.append(heapq.heappop(self._heap)[2])
        return due

    def __len__(self) -> int:
        with self._lock:
            return len(self._heap)


def window_closed(clock: Any, started: float | None, waiting: int, batch_size: int,
                  window: float) -> tuple[bool, float | None]:
    """A poller's batching window (``MaximumBatchingWindowInSeconds``): whether to take a
    batch now that ``waiting`` records wait, and when the window started (None: no window
    open).  A batch is taken when it is full, when there is no window, or once ``window``
    seconds have passed since the poller first saw a record (``started``); until then
    ``clock.advance`` stops when the window ends."""
    if window <= 0 or waiting >= batch_size:
        return True, None
    now = clock.time()
    started = now if started is None else started
    if now < started + window:
        clock.call_at(started + window, lambda: None)
        return False, started
    return True, None


class Pump:
    def __init__(self, wait_idle: Callable[[], bool] | None = None) -> None:
        self._pollers: list[Poller] = []
        self._lock = threading.Lock()
        self._dirty = threading.Event()
        self._running_thread: int | None = None
        self._wait_idle = wait_idle
        self.errors: list[str] = []
        self.paused = False

    def add(self, poller: Poller) -> None:
        self._pollers.append(poller)

    def mark_dirty(self) -> None:
        self._dirty.set()

    @property
    def dirty(self) -> bool:
        return self._dirty.is_set()

    def settle(self, *, block: bool = True, wait: bool = True) -> None:
        """Run pollers until none has anything left to do.

        ``block``: if another thread is pumping, wait for it and then pump (callers that
        must see every effect of their request: in-process API calls, clock advances);
        otherwise just mark the pump dirty and return (HTTP server threads, whose caller
        may be a handler the running pump is waiting on).  ``wait``: before each round,
        wait for workflow threads to pause.  A re-entrant call from the pumping thread
        never blocks.
        """
        if self.paused:
            return
        self._dirty.set()
        if self._running_thread == threading.get_ident():
            return
        if not self._lock.acquire(blocking=block):
            return
        self._running_thread = threading.get_ident()
        try:
            for _ in range(MAX_ROUNDS):
                if wait and self._wait_idle is not None:
                    self._wait_idle()
                self._dirty.clear()
                worked = False
                for poller in list(self._pollers):
                    try:
                        worked = poller.poll() or worked
                    except Exception as exc:  # a broken delivery path must not stop the rest
                        message = f"{poller.name}: {type(exc).__name__}: {exc}"
                        log.exception("eventlab sandbox: delivery poller failed: %s", message)
                        self.errors.append(message)
                        self._pollers.remove(poller)
                if not worked and not self._dirty.is_set():
                    break
            else:
                self.errors.append(f"the pump stopped after {MAX_ROUNDS} rounds: a flow is looping")
        finally:
            self._running_thread = None
            self._lock.release()
