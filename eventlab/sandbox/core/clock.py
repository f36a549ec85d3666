"""The sandbox's virtual clock.

Virtual time is real time plus an offset: it flows on its own, as AWS time does, and
``advance()`` jumps it forward without sleeping.  Everything in the sandbox that waits
(SQS visibility timeouts and delays, batching windows, Lambda async retries, Step
Functions ``Wait`` states and retry back-off, Firehose buffers, alarms) reads this clock,
so an hour-long wait completes as soon as the clock is advanced past it.

Jumps are taken in steps: ``advance(3600)`` stops at every timer that falls due on the
way (a retry at +60 s, a redrive at +120 s...) and lets the sandbox react there before
going on, so a cascade of timers happens in the same order it would in real time.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Protocol


class Interrupt(Protocol):
    """What ``VirtualClock.sleep`` polls (a threading.Event, or a check of its own)."""

    def is_set(self) -> bool: ...

_real_time = time.time


class VirtualClock:
    """Real time plus an offset, with timers and sleeps that an ``advance`` wakes."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._cond = threading.Condition()
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        # Threads of the sandbox that are doing work (not blocked on this clock); the
        # sandbox waits for this to reach zero before it calls itself idle.
        self._busy = 0
        self._local = threading.local()
        self._on_advance: list[Callable[[float], None]] = []
        self._held: float | None = None   # virtual time while held (see ``held``)
        self._hold_depth = 0

    # -- reading -----------------------------------------------------------------
    def time(self) -> float:
        """Virtual seconds since the epoch (what ``time.time()`` is in the sandbox)."""
        held = self._held
        return held if held is not None else _real_time() + self._offset

    def now(self) -> datetime:
        """Virtual time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.time(), tz=UTC)

    def utcnow(self) -> datetime:
        """Virtual time as a naive UTC datetime (moto's convention)."""
        return self.now().replace(tzinfo=None)

    @property
    def offset(self) -> float:
        """How far virtual time is ahead of real time, in seconds."""
        return self.time() - _real_time()

    @contextmanager
    def held(self) -> Iterator[None]:
        """Inside, virtual time stands still unless ``advance`` moves it: what runs there
        is measured against the virtual clock only, the same on a fast or a slow machine
        (load runs and capacity tests use it).  On leaving, time flows on from where it
        stood.  Nested holds are one hold."""
        with self._cond:
            if self._hold_depth == 0:
                self._held = _real_time() + self._offset
            self._hold_depth += 1
        try:
            yield
        finally:
            with self._cond:
                self._hold_depth -= 1
                if self._hold_depth == 0 and self._held is not None:
                    self._offset = self._held - _real_time()
                    self._held = None
                self._cond.notify_all()

    # -- moving ------------------------------------------------------------------
    def advance(self, seconds: float = 0.0, *, minutes: float = 0.0, hours: float = 0.0,
                days: float = 0.0) -> float:
        """Jump forward, stopping at each timer that falls due on the way.

        Returns the new virtual time.  Listeners registered with ``on_advance`` (the
        sandbox's delivery pump) run at every stop, and once before the clock moves: what
        arrived from outside the sandbox since the last pump (records produced straight to
        a Kafka broker) is seen at the time it arrived, not at the end of the jump.
        """
        total = seconds + 60 * minutes + 3600 * hours + 86400 * days
        if total < 0:
            raise ValueError("the clock only moves forward: advance() needs a positive duration")
        target = self.time() + total
        self._notify_listeners()
        while True:
            due = self.next_due()
            if due is None or due > target:
                break
            self._jump_to(due)
            self._run_due_timers()
            self._notify_listeners()
        self._jump_to(target)
        self._run_due_timers()
        self._notify_listeners()
        return self.time()

    def _jump_to(self, when: float) -> None:
        with self._cond:
            gap = when - self.time()
            if gap > 0:
                self._offset += gap
                if self._held is not None:
                    self._held += gap
            self._cond.notify_all()

    def _notify_listeners(self) -> None:
        for listener in list(self._on_advance):
            listener(self.time())

    def on_advance(self, listener: Callable[[float], None]) -> None:
        """Call ``listener(now)`` after every stop of ``advance``."""
        self._on_advance.append(listener)

    # -- timers ------------------------------------------------------------------
    def call_at(self, when: float, callback: Callable[[], None]) -> None:
        """Run ``callback`` once virtual time reaches ``when`` (during ``advance`` or
        ``run_due``, whichever comes first)."""
        with self._cond:
            heapq.heappush(self._timers, (when, next(self._seq), callback))

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        self.call_at(self.time() + delay, callback)

    def next_due(self) -> float | None:
        """The earliest time a timer or a sleeper is waiting for, if any."""
        with self._cond:
            return self._timers[0][0] if self._timers else None

    def _run_due_timers(self) -> int:
        ran = 0
        while True:
            with self._cond:
                if not self._timers or self._timers[0][0] > self.time():
                    return ran
                _, _, callback = heapq.heappop(self._timers)
            callback()
            ran += 1

    def run_due(self) -> int:
        """Run the timers whose time has come in real time; returns how many ran."""
        return self._run_due_timers()

    # -- sleeping ----------------------------------------------------------------
    def sleep(self, seconds: float, interrupt: Interrupt | None = None) -> bool:
        """Block the calling thread for ``seconds`` of virtual time.

        Wakes when real time gets there or when ``advance`` jumps past it.  The thread
        counts as idle while it sleeps.  Returns False if ``interrupt`` was set first
        (anything with ``is_set()``; it is polled every 50 ms of real time).

        A busy thread that ``advance`` wakes is counted busy again *before* ``advance``
        goes on (the timer that wakes it takes the count on its behalf), so that the
        settle after each stop of ``advance`` waits for what the sleeper does next.
        """
        deadline = self.time() + max(0.0, seconds)
        if deadline <= self.time():
            return True
        was_busy = self.is_busy_thread()
        depth = getattr(self._local, "depth", 0)
        state = {"done": False}

        def wake() -> None:
            # A sleeper is also a timer: advance() stops at its deadline and runs this.
            with self._cond:
                if state["done"]:
                    return
                state["done"] = True
                if was_busy:
                    self._busy += 1  # on the sleeper's behalf: it is about to work again
                self._cond.notify_all()

        self.call_at(deadline, wake)
        reached = True
        with self._cond:
            if was_busy:
                self._local.depth = 0
                self._busy -= 1
                self._cond.notify_all()
            try:
                while not state["done"]:
                    remaining = deadline - self.time()
                    interrupted = interrupt is not None and interrupt.is_set()
                    if remaining <= 0 or interrupted:
                        # Woken by real time or by the interrupt: count ourselves busy
                        # again in the same critical section that marks the wake.
                        state["done"] = True
                        reached = remaining <= 0 or not interrupted
                        if was_busy:
                            self._busy += 1
                        break
                    self._cond.wait(timeout=min(remaining, 0.05))
            except BaseException:
                if not state["done"]:
                    state["done"] = True
                    if was_busy:
                        self._busy += 1
                raise
            finally:
                if was_busy:
                    self._local.depth = depth
        return reached

    # -- idleness ----------------------------------------------------------------
    @contextmanager
    def busy(self) -> Iterator[None]:
        """Mark the calling thread as doing sandbox work for the duration (nestable)."""
        depth = getattr(self._local, "depth", 0)
        self._local.depth = depth + 1
        if depth == 0:
            with self._cond:
                self._busy += 1
        try:
            yield
        finally:
            self._local.depth = depth
            if depth == 0:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    @contextmanager
    def idle(self) -> Iterator[None]:
        """Mark a stretch where a busy thread only waits (a no-op on other threads)."""
        depth = getattr(self._local, "depth", 0)
        if depth == 0:
            yield
            return
        self._local.depth = 0
        with self._cond:
            self._busy -= 1
            self._cond.notify_all()
        try:
            yield
        finally:
            with self._cond:
                self._busy += 1
            self._local.depth = depth

    def is_busy_thread(self) -> bool:
        """Whether the calling thread is inside ``busy`` (and not in an ``idle`` stretch)."""
        return getattr(self._local, "depth", 0) > 0

    @property
    def busy_threads(self) -> int:
        return self._busy

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait (real time) until no sandbox thread is busy.  False on timeout."""
        end = _real_time() + timeout
        with self._cond:
            while self._busy > 0:
                left = end - _real_time()
                if left <= 0:
                    return False
                self._cond.wait(timeout=min(left, 0.05))
        return True

    def __repr__(self) -> str:
        return f"VirtualClock(now={self.now().isoformat()}, offset={self._offset:.3f}s)"
