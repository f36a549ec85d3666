"""API keys and usage plans, and stage and method throttling: who may call a method, how
fast, and how often.

When a REST API method has ``apiKeyRequired``, the request's ``x-api-key`` header must be
the value of an enabled API key that belongs to a usage plan associated with the API's
stage, or API Gateway answers 403 ``{"message":"Forbidden"}``.  The plan's ``throttle``
(``rateLimit`` requests per second refilling a bucket of ``burstLimit``) answers 429
``{"message":"Too Many Requests"}`` and its ``quota`` (``limit`` per ``DAY``/``WEEK``/
``MONTH``, from ``offset``) answers 429 ``{"message":"Limit Exceeded"}``.  Buckets and
counters are per (plan, key) and run on the sandbox's virtual clock.

Stage and method throttling (:class:`StageThrottles`,
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html):
a REST API stage's ``methodSettings`` (``UpdateStage`` patch operations
``/*/*/throttling/rateLimit`` and ``/*/*/throttling/burstLimit`` for every method,
``/{resource path with / as ~1}/{METHOD}/throttling/...`` for one, which then replaces the
stage's for that method), and an HTTP API stage's ``DefaultRouteSettings`` and
``RouteSettings`` (per route key) ``ThrottlingRateLimit``/``ThrottlingBurstLimit``, are
token buckets per stage and method (route) on the virtual clock: ``burstLimit`` requests
at once, refilled at ``rateLimit`` a second; an empty bucket answers 429
``{"message":"Too Many Requests"}``.  A request passes the account's bucket first, then
its usage plan's (per key), then its stage's or method's: the narrowest limit decides.
A setting left out is the account's in the API's region (10,000/s, burst 5,000 in most);
``0`` and ``0`` refuse every request (AWS's way to switch a method off).  An HTTP API
stage's settings changed by ``UpdateStage`` after it was created apply from the next
request (:mod:`eventlab.sandbox.apigateway.v2_stage`).
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from eventlab.sandbox.apigateway.common import Response, message
from eventlab.sandbox.core.capacity import TokenBucket


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


class StageThrottles:
    """The stage and method (route) token buckets of every API, on the virtual clock."""

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self._lock = threading.Lock()
        self._buckets: dict[tuple[Any, ...], TokenBucket] = {}

    def take(self, scope: tuple[Any, ...], rate: Any, burst: Any, region: str | None = None) -> bool:
        """Spend a token from the bucket of ``scope`` (API, stage, method or route), sized
        ``rate``/``burst`` (None: the account's in ``region``); False when it is empty."""
        if rate is None and burst is None:
            return True
        quotas = self.sandbox.quotas
        rate = float(quotas.get("apigateway.account.rate", region) if rate is None else rate)
        burst = float(quotas.get("apigateway.account.burst", region) if burst is None else burst)
        now = self.sandbox.clock.time()
        with self._lock:
            key = (*scope, rate, burst)   # new settings: a new bucket, full
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = TokenBucket(rate, max(burst, 0.0), now)
            return bucket.take(1, now)

    def rest(self, api: Any, stage_name: str, stage: Any, resource: Any, method: Any) -> Response | None:
        """A REST API request's stage/method throttle: 429 or None."""
        settings = getattr(stage, "method_settings", None) or {}
        key = f"{resource.get_path().replace('/', '~1')}/{method.http_method}"
        chosen, scope = settings.get(key), key
        if not _throttles(chosen, "throttlingRateLimit", "throttlingBurstLimit"):
            chosen, scope = settings.get("*/*"), "*/*"
        if chosen is None or not _throttles(chosen, "throttlingRateLimit", "throttlingBurstLimit"):
            return None
        if self.take(("rest", api.id, stage_name, scope), chosen.get("throttlingRateLimit"),
                     chosen.get("throttlingBurstLimit"), _region(api)):
            return None
        return message(429, "Too Many Requests")

    def http_api(self, api: Any, stage: Any, route: Any) -> Response | None:
        """An HTTP API request's route or stage throttle: 429 or None."""
        route_key = route.route_key or ""
        chosen = (getattr(stage, "route_settings", None) or {}).get(route_key)
        scope = route_key
        if not _throttles(chosen, "throttlingRateLimit", "throttlingBurstLimit"):
            chosen, scope = getattr(stage, "default_route_settings", None), "$stage"
        if chosen is None or not _throttles(chosen, "throttlingRateLimit", "throttlingBurstLimit"):
            return None
        if self.take(("http", api.api_id, stage.name, scope), chosen.get("throttlingRateLimit"),
                     chosen.get("throttlingBurstLimit"), _region(api)):
            return None
        return message(429, "Too Many Requests")


def _region(api: Any) -> str | None:
    """The region of a moto REST API (``region_name``) or HTTP API (its ARN,
    ``arn:aws:apigateway:{region}::/apis/{id}``); None: the sandbox's."""
    region = getattr(api, "region_name", None)
    if region is None:
        region = (str(getattr(api, "arn", "")).split(":") + [""] * 4)[3] or None
    return region


def _throttles(settings: Any, rate: str, burst: str) -> bool:
    return isinstance(settings, dict) and (settings.get(rate) is not None or settings.get(burst) is not None)


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
