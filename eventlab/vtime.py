"""Virtual time for code that reads the clock by itself: one active clock per process,
and ``time``/``datetime`` look-alikes that read it.

The sandbox points moto's modules at these (``eventlab.sandbox.core.patches``); a Lambda
execution environment (``eventlab.sandbox.awslambda.worker``) installs them process-wide,
with a clock that is real time plus the sandbox's offset at each invocation.  Standard
library only: it is part of every Lambda cold start.
"""

from __future__ import annotations

import datetime as _datetime_module
import time as _time_module
from typing import Any

# Bound once, at import: installing the look-alikes process-wide must not make these
# read themselves.
_RealDatetime = _datetime_module.datetime
_real_time = _time_module.time
_real_sleep = _time_module.sleep


class _VirtualDatetimeMeta(type):
    def __instancecheck__(cls, obj: object) -> bool:
        return isinstance(obj, _RealDatetime)

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, _RealDatetime)


# The clock of the running sandbox.  The functions below are process-wide singletons that
# read it, so that a module imported while one sandbox runs (and binding them by name)
# keeps reading the right clock in the next sandbox, and real time between them.
_active_clock: Any = None


def set_active_clock(clock: Any) -> None:
    """``clock`` has ``time()`` (and ``sleep(seconds)`` for :func:`virtual_sleep`); None: real time."""
    global _active_clock
    _active_clock = clock


def virtual_time() -> float:
    clock = _active_clock
    return clock.time() if clock is not None else _real_time()


def virtual_sleep(seconds: float) -> None:
    clock = _active_clock
    if clock is not None:
        clock.sleep(seconds)
    else:
        _real_sleep(seconds)


def virtual_utcnow() -> _datetime_module.datetime:
    return _RealDatetime.fromtimestamp(virtual_time(), _datetime_module.UTC).replace(tzinfo=None)


class VirtualDatetime(_RealDatetime, metaclass=_VirtualDatetimeMeta):
    @classmethod
    def now(cls, tz: _datetime_module.tzinfo | None = None) -> _datetime_module.datetime:  # type: ignore[override]
        now = _RealDatetime.fromtimestamp(virtual_time(), _datetime_module.UTC)
        return now.astimezone(tz) if tz is not None else now.astimezone().replace(tzinfo=None)

    @classmethod
    def utcnow(cls) -> _datetime_module.datetime:  # type: ignore[override]
        return virtual_utcnow()

    @classmethod
    def today(cls) -> _datetime_module.datetime:  # type: ignore[override]
        return cls.now()


class OffsetClock:
    """Real time plus an offset that its owner moves (a Lambda environment's view of the
    sandbox clock, updated at each invocation)."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def time(self) -> float:
        return _real_time() + self.offset


def install_process_wide(clock: Any) -> None:
    """Make ``time.time``/``time_ns``/``gmtime``/``localtime``/``ctime``/``strftime`` (with
    no time given), ``datetime.datetime.now``/``utcnow``/``today`` and ``datetime.date.today``
    read ``clock``, for every module of this process, imported before or after.  Logging's
    timestamps come from ``time.time``/``time_ns``, so they follow.  ``time.monotonic`` and
    ``time.sleep`` stay real."""
    set_active_clock(clock)
    real = {name: getattr(_time_module, name)
            for name in ("time_ns", "gmtime", "localtime", "ctime", "strftime")}
    _time_module.time = virtual_time
    _time_module.time_ns = lambda: real["time_ns"]() + int((virtual_time() - _real_time()) * 1e9)
    _time_module.gmtime = lambda secs=None: real["gmtime"](virtual_time() if secs is None else secs)
    _time_module.localtime = lambda secs=None: real["localtime"](virtual_time() if secs is None else secs)
    _time_module.ctime = lambda secs=None: real["ctime"](virtual_time() if secs is None else secs)
    _time_module.strftime = lambda fmt, t=None: real["strftime"](
        fmt, real["localtime"](virtual_time()) if t is None else t)
    _datetime_module.datetime = VirtualDatetime  # type: ignore[misc]
