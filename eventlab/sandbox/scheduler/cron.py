"""AWS schedule expressions: ``rate()``, six-field ``cron()`` and one-time ``at()``.

AWS cron is not Unix cron
(https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html):
six fields ``minutes hours day-of-month month day-of-week year``; exactly one of
day-of-month and day-of-week is ``?``; day-of-week counts 1-7 from Sunday (``SUN``-``SAT``);
``L`` is the last day of the month (day-of-month) or, after a weekday, the last such
weekday of the month (``6L``); ``15W`` is the weekday nearest the 15th (within the month;
``LW`` the last weekday); ``2#3`` the third Monday, and with ``#`` the day-of-week field
holds that one expression only (``3#1,6#3`` is invalid).  A range may wrap past the end of
its field: the hours ``20-2`` are 20..23 and 0..2
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html).
``rate()`` takes a singular unit for 1 and a plural one otherwise (``rate(1 hour)``,
``rate(5 hours)``; https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rate-expressions.html).
Times are in the given time zone (UTC by default); when clocks spring forward a firing
whose local time does not exist is skipped, and when they fall back a repeated local time
fires once, at its first occurrence (the schedule-types page above).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from eventlab.errors import InputError

_MONTHS = {m: i for i, m in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1)}
_DAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)}
_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_UNIT = {"minute": 60, "hour": 3600, "day": 86400}
SEARCH_YEARS = 5


class ScheduleExpressionError(InputError, ValueError):
    pass


def _values(field: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int]:
    out: set[int] = set()
    for part in field.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)
            if step < 1:
                raise ScheduleExpressionError(f"bad step in {field!r}")
        if part in ("*", "?"):
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = _one(a, names), _one(b, names)
        else:
            start = _one(part, names)
            end = high if step > 1 else start
        if not (low <= start <= high and low <= end <= high):
            raise ScheduleExpressionError(f"{field!r} is out of range {low}-{high}")
        if start <= end:
            span = list(range(start, end + 1))
        else:  # a range that wraps past the end of the field, e.g. the hours 20-2
            span = list(range(start, high + 1)) + list(range(low, end + 1))
        out.update(span[::step])
    return out


def _one(text: str, names: dict[str, int] | None) -> int:
    text = text.strip().upper()
    if names and text in names:
        return names[text]
    if not text.isdigit():
        raise ScheduleExpressionError(f"{text!r} is not a valid value")
    return int(text)


@dataclass
class Cron:
    minutes: set[int]
    hours: set[int]
    dom: str
    months: set[int]
    dow: str
    years: set[int]

    @classmethod
    def parse(cls, body: str) -> Cron:
        fields = body.split()
        if len(fields) != 6:
            raise ScheduleExpressionError("cron() needs six fields: minutes hours "
                                          "day-of-month month day-of-week year")
        minute, hour, dom, month, dow, year = fields
        if (dom == "?") == (dow == "?"):
            raise ScheduleExpressionError("one of day-of-month and day-of-week must be '?'")
        if "#" in dow and "," in dow:
            raise ScheduleExpressionError(f"day-of-week {dow!r}: with '#' the field may hold "
                                          "only one expression, such as 3#2")
        cron = cls(_values(minute, 0, 59), _values(hour, 0, 23), dom.upper(),
                   _values(month.upper(), 1, 12, _MONTHS), dow.upper(), _values(year, 1970, 2199))
        cron.day_matches(date(2000, 1, 3))  # validates the day fields
        return cron

    def day_matches(self, day: date) -> bool:
        if day.year not in self.years or day.month not in self.months:
            return False
        last = calendar.monthrange(day.year, day.month)[1]
        if self.dom != "?":
            return any(_dom_part(p, day, last) for p in self.dom.split(","))
        weekday = (day.weekday() + 1) % 7 + 1  # Monday=0 -> 2 ... Sunday=6 -> 1
        return any(_dow_part(p, day, weekday, last) for p in self.dow.split(","))

    def next_after(self, after: datetime, tz: tzinfo) -> datetime | None:
        """The first firing strictly after ``after`` (aware), as an aware UTC datetime."""
        local = after.astimezone(tz)
        day = local.date()
        hours, minutes = sorted(self.hours), sorted(self.minutes)
        for _ in range(366 * SEARCH_YEARS):
            if self.day_matches(day):
                for h in hours:
                    for m in minutes:
                        when = datetime(day.year, day.month, day.day, h, m, tzinfo=tz)
                        if when > local and _exists(when):
                            return when.astimezone(UTC)
            day += timedelta(days=1)
        return None


def _exists(when: datetime) -> bool:
    """False for a wall-clock time skipped when clocks spring forward (02:30 in New York on
    8 March 2026): it does not survive a round trip through UTC."""
    back = when.astimezone(UTC).astimezone(when.tzinfo)
    return back.replace(tzinfo=None) == when.replace(tzinfo=None)


def _dom_part(part: str, day: date, last: int) -> bool:
    if part == "L":
        return day.day == last
    if part == "LW":
        target = last
        while date(day.year, day.month, target).weekday() >= 5:
            target -= 1
        return day.day == target
    if part.endswith("W"):
        n = int(part[:-1])
        if not 1 <= n <= 31:
            raise ScheduleExpressionError(f"bad day-of-month {part!r}")
        n = min(n, last)
        wd = date(day.year, day.month, n).weekday()
        target = n
        if wd == 5:  # Saturday: Friday, unless that leaves the month
            target = n - 1 if n > 1 else n + 2
        elif wd == 6:  # Sunday: Monday, unless that leaves the month
            target = n + 1 if n < last else n - 2
        return day.day == target
    return day.day in _values(part, 1, 31)


def _dow_part(part: str, day: date, weekday: int, last: int) -> bool:
    if "#" in part:
        wanted, nth = part.split("#", 1)
        if not (nth.isdigit() and 1 <= int(nth) <= 5):
            raise ScheduleExpressionError(f"bad day-of-week {part!r}: the number after '#' "
                                          "is 1-5")
        return weekday == _one(wanted, _DAYS) and (day.day - 1) // 7 + 1 == int(nth)
    if part.endswith("L") and part != "L":
        return weekday == _one(part[:-1], _DAYS) and day.day + 7 > last
    if part == "L":
        return weekday == 7
    return weekday in _values(part, 1, 7, _DAYS)


@dataclass
class Schedule:
    """A parsed schedule expression; ``next_after`` gives firing times."""

    kind: str  # "rate" | "cron" | "at"
    rate_seconds: int = 0
    cron: Cron | None = None
    at: datetime | None = None
    tz: tzinfo = UTC   # parse() gives a ZoneInfo; UTC alike without importing zoneinfo

    def next_after(self, after: float, anchor: float) -> float | None:
        """The first firing time (epoch seconds) strictly after ``after``.

        ``anchor`` is when a rate schedule starts counting (creation or StartDate)."""
        if self.kind == "rate":
            k = max(1, int((after - anchor) // self.rate_seconds) + 1)
            return anchor + k * self.rate_seconds
        if self.kind == "at":
            assert self.at is not None
            when = self.at.timestamp()
            return when if when > after else None
        assert self.cron is not None
        nxt = self.cron.next_after(datetime.fromtimestamp(after, UTC), self.tz)
        return nxt.timestamp() if nxt else None


def parse(expression: str, timezone: str | None = None) -> Schedule:
    """Parse ``rate(...)``, ``cron(...)`` or ``at(yyyy-mm-ddThh:mm:ss)``."""
    # imported here, not at start-up: zoneinfo loads sysconfig (~7 ms)
    from zoneinfo import ZoneInfo

    try:
        tz = ZoneInfo(timezone or "UTC")
    except Exception as exc:
        raise ScheduleExpressionError(f"unknown time zone {timezone!r}") from exc
    text = expression.strip()
    match = _RATE.match(text)
    if match:
        value, unit = int(match.group(1)), match.group(2)
        if value < 1:
            raise ScheduleExpressionError("a rate must be at least 1")
        singular = unit.rstrip("s")
        if (value == 1) != (unit == singular):
            wanted = singular if value == 1 else singular + "s"
            raise ScheduleExpressionError(f"{text!r}: the unit must be {wanted!r} when the value "
                                          f"is {value} (singular for 1, plural otherwise)")
        unit = singular
        return Schedule("rate", rate_seconds=value * _UNIT[unit], tz=tz)
    if text.startswith("cron(") and text.endswith(")"):
        return Schedule("cron", cron=Cron.parse(text[5:-1]), tz=tz)
    if text.startswith("at(") and text.endswith(")"):
        try:
            naive = datetime.strptime(text[3:-1], "%Y-%m-%dT%H:%M:%S")
        except ValueError as exc:
            raise ScheduleExpressionError("at() needs yyyy-mm-ddThh:mm:ss") from exc
        return Schedule("at", at=naive.replace(tzinfo=tz), tz=tz)
    raise ScheduleExpressionError(f"not a schedule expression: {expression!r}")
