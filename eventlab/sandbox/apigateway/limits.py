"""API keys and usage plans: who may call a method, how fast, and how often.

When a REST API method has ``apiKeyRequired``, the request's ``x-api-key`` header must be
the value of an enabled API key that belongs to a usage plan associated with the API's
stage, or API Gateway answers 403 ``{"message":"Forbidden"}``.  The plan's ``throttle``
(``rateLimit`` requests per second refilling a bucket of ``burstLimit``) answers 429
``{"message":"Too Many Requests"}`` and its ``quota`` (``limit`` per ``DAY``/``WEEK``/
``MONTH``, from ``offset``) answers 429 ``{"message":"Limit Exceeded"}``.  Buckets and
counters are per (plan, key) and run on the sandbox's virtual clock.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from eventlab.sandbox.apigateway.common import Response, message


class UsageLimits:
    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}  # tokens, last refill
        self._quota: dict[tuple[str, str], tuple[Any, int]] = {}  # period key, used

    def check(self, backend: Any, api_id: str, stage: str, key_value: str | None) -> tuple[Response | None, Any]:
        """(an error response or None, the API key object)."""
        if not key_value:
            return message(403, "Forbidden"), None
        key = next((k for k in backend.keys.values() if k.value == key_value), None)
        if key is None or not _enabled(key.enabled):
            return message(403, "Forbidden"), None
        plan = None
        for candidate in backend.usage_plans.values():
            stages = candidate.api_stages or []
            if key.id in backend.usage_plan_keys.get(candidate.id, {}) and any(
                    s.get("apiId") == api_id and s.get("stage") == stage for s in stages):
                plan = candidate
                break
        if plan is None:
            return message(403, "Forbidden"), key
        with self._lock:
            if not self._take_token(plan, key.id):
                return message(429, "Too Many Requests"), key
            if not self._count_quota(plan, key.id):
                return message(429, "Limit Exceeded"), key
        return None, key

    def _take_token(self, plan: Any, key_id: str) -> bool:
        throttle = plan.throttle or {}
        rate = float(throttle.get("rateLimit") or 0)
        burst = float(throttle.get("burstLimit") or 0)
        if rate <= 0 and burst <= 0:
            return True
        capacity = max(burst, 1.0)
        now = self.clock.time()
        tokens, last = self._buckets.get((plan.id, key_id), (capacity, now))
        tokens = min(capacity, tokens + max(0.0, now - last) * rate)
        if tokens < 1.0:
            self._buckets[(plan.id, key_id)] = (tokens, now)
            return False
        self._buckets[(plan.id, key_id)] = (tokens - 1.0, now)
        return True

    def _count_quota(self, plan: Any, key_id: str) -> bool:
        quota = plan.quota or {}
        limit = quota.get("limit")
        if limit in (None, ""):
            return True
        period = _period(self.clock.now(), str(quota.get("period", "DAY")).upper(),
                         int(quota.get("offset") or 0))
        seen, used = self._quota.get((plan.id, key_id), (period, 0))
        if seen != period:
            used = 0
        if used >= int(limit):
            self._quota[(plan.id, key_id)] = (period, used)
            return False
        self._quota[(plan.id, key_id)] = (period, used + 1)
        return True

    def remaining(self, plan_id: str, key_id: str) -> int | None:
        """Requests used in the current quota period (None before the first)."""
        got = self._quota.get((plan_id, key_id))
        return None if got is None else got[1]


def _enabled(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() != "false"
    return bool(value)


def _period(now: dt.datetime, period: str, offset: int) -> Any:
    """The quota window ``now`` falls in (UTC): a day, a week from Sunday+offset, a month."""
    day = now.astimezone(dt.UTC).date()
    if period == "WEEK":
        # offset 0 = Sunday, 1 = Monday ... (as the UsagePlan QuotaSettings documents)
        since_start = (day.isoweekday() - offset) % 7
        return ("WEEK", day - dt.timedelta(days=since_start))
    if period == "MONTH":
        shifted = day - dt.timedelta(days=offset)
        return ("MONTH", shifted.year, shifted.month)
    return ("DAY", day)
