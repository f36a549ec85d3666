"""Threads, events and latches for Step Functions executions that the clock accounts for.

moto's interpreter runs an execution on several threads (the program worker, one per
state with a timeout, Parallel branches, Map iterations, ``.waitForTaskToken`` waiters)
that hand work to each other through ``threading.Event``, ``Thread.join`` and a
count-down latch.  The sandbox settles a request by waiting until no sandbox thread is
busy (``VirtualClock.wait_idle``), so each of these threads must:

* count as busy from before ``start()`` returns until it ends, whatever happens (the
  counting lives in ``try``/``finally`` via ``clock.busy()``);
* count as idle while it waits on an event, a join or a latch;
* be counted busy again *before* the thread that woke it goes on: the waker claims each
  waiter it wakes and waits for that waiter to report that it is busy again (an
  acknowledgement), so the busy count never drops to zero in between.  A request thread
  (``SendTaskSuccess``) or ``clock.advance`` waking a waiter therefore returns only once
  the execution is running again, and the settle that follows waits for it.

Timeouts on these waits (a Task's ``TimeoutSeconds``, an execution's ``TimeoutSeconds``,
heartbeats) are in virtual time: a clock timer wakes the waiter when ``advance`` passes
the deadline.
"""

from __future__ import annotations

import threading
import types
from typing import Any

ACK_TIMEOUT = 5.0  # real seconds a waker waits for a woken thread (a safety net, never reached)


class _Waiter:
    __slots__ = ("wake", "ack", "claimed", "done")

    def __init__(self) -> None:
        self.wake = threading.Event()
        self.ack = threading.Event()
        self.claimed = False
        self.done = False


def make_primitives(clock: Any) -> tuple[type, type]:
    """``(HandoffEvent, BusyThread)`` bound to ``clock``."""

    class HandoffEvent(threading.Event):
        """A ``threading.Event`` whose ``wait`` is idle, in virtual time, with hand-off."""

        def __init__(self) -> None:
            super().__init__()
            self._waiters_lock = threading.Lock()
            self._waiters: list[_Waiter] = []

        def set(self) -> None:
            with self._waiters_lock:
                super().set()
                claimed = [w for w in self._waiters if self._claim(w)]
            for waiter in claimed:
                waiter.ack.wait(ACK_TIMEOUT)

        @staticmethod
        def _claim(waiter: _Waiter) -> bool:
            if waiter.done or waiter.claimed:
                return False
            waiter.claimed = True
            waiter.wake.set()
            return True

        def _poke(self, waiter: _Waiter) -> None:
            """The virtual deadline of a wait has come (run by the clock's timers)."""
            with self._waiters_lock:
                claimed = self._claim(waiter)
            if claimed:
                waiter.ack.wait(ACK_TIMEOUT)

        def wait(self, timeout: float | None = None) -> bool:
            with self._waiters_lock:
                if super().is_set():
                    return True
                waiter = _Waiter()
                self._waiters.append(waiter)
            deadline = None
            if timeout is not None:
                deadline = clock.time() + max(0.0, float(timeout))
                clock.call_at(deadline, lambda: self._poke(waiter))
            try:
                with clock.idle():
                    while not waiter.wake.is_set():
                        if deadline is None:
                            waiter.wake.wait()
                            continue
                        remaining = deadline - clock.time()
                        if remaining <= 0:
                            break
                        waiter.wake.wait(min(remaining, 0.5))
            finally:
                # Busy again (if this thread was busy): only now may a waker go on.
                with self._waiters_lock:
                    waiter.done = True
                    self._waiters.remove(waiter)
                if waiter.claimed:
                    waiter.ack.set()
            return super().is_set()

    class BusyThread(threading.Thread):
        """A ``threading.Thread`` that counts as busy on the clock while it runs."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._eventlab_entered = threading.Event()
            self._eventlab_finished = HandoffEvent()

        def start(self) -> None:
            super().start()
            # Return only once the new thread counts as busy: the caller may go idle next.
            self._eventlab_entered.wait(ACK_TIMEOUT)

        def run(self) -> None:
            try:
                with clock.busy():
                    self._eventlab_entered.set()
                    try:
                        super().run()
                    finally:
                        # Wake a joiner (and wait until it is busy) before going idle.
                        self._eventlab_finished.set()
            finally:
                self._eventlab_entered.set()

        def join(self, timeout: float | None = None) -> None:
            if self._eventlab_finished.wait(timeout):
                super().join(ACK_TIMEOUT)

    return HandoffEvent, BusyThread


def threading_module(handoff_event: type, busy_thread: type) -> types.ModuleType:
    """A stand-in for the ``threading`` module with the clock-aware Thread and Event."""
    shim = types.ModuleType("threading")
    shim.__dict__.update(threading.__dict__)
    shim.Thread = busy_thread  # type: ignore[attr-defined]
    shim.Event = handoff_event  # type: ignore[attr-defined]
    return shim


def latch_methods(handoff_event: type) -> dict[str, Any]:
    """Replacements for moto's ``CountDownLatch`` methods (Parallel and Map wait on it)."""

    def __init__(latch: Any, num: int) -> None:
        latch._num = num
        latch.lock = threading.Lock()
        latch._eventlab_zero = handoff_event()
        if num <= 0:
            latch._eventlab_zero.set()

    def count_down(latch: Any) -> None:
        with latch.lock:
            latch._num -= 1
            reached = latch._num <= 0
        if reached:
            latch._eventlab_zero.set()

    def wait(latch: Any) -> None:
        latch._eventlab_zero.wait()

    return {"__init__": __init__, "count_down": count_down, "wait": wait}
