"""EventBridge quotas on the virtual clock
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html).

* **PutEvents**: 10,000 requests per second for the account in us-east-1, us-west-2 and
  eu-west-1, down to 400 in the regions AWS does not list (``events.put-events``; the
  call's region decides).  Past it the request fails with ``ThrottlingException`` ("Rate
  exceeded", HTTP 400) and none of its entries is put.
* **Invocations**: 18,750 target invocations per second for the account in us-east-1,
  us-west-2 and eu-west-1, down to 750 (``events.invocations``; the rule's region decides).  Past it an invocation is *delayed*, never dropped: it waits
  for its turn in the order it came (a token bucket allowed to run into debt) and counts
  in ``ThrottledRules``.  Every attempt, retries too, is an invocation.

Metrics (``AWS/Events``; ``RuleName``, plus ``EventBusName`` for a custom bus, as AWS
publishes them, https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html):
``ThrottledRules`` (an invocation delayed by the quota), ``IngestionToInvocationStartLatency``
(Milliseconds, from the event's arrival on the bus to its first invocation, so a delay
shows here; also published without dimensions), ``FailedInvocations`` (an invocation that
failed for good: retries exhausted or an error EventBridge does not retry).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventlab.sandbox.core.capacity import Buckets, install_throttling_code, throttled


class EventsThroughputService:
    name = "events-throughput"

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self.buckets = Buckets(sandbox)

    def install(self, patches: Any) -> None:
        install_throttling_code(patches)
        patches.after_import("moto.events.responses", lambda: self._install(patches))

    def _install(self, patches: Any) -> None:
        from moto.events.responses import EventsHandler

        buckets = self.buckets

        def make_put_events(original: Callable[..., Any]) -> Callable[..., Any]:
            def put_events(handler: Any) -> Any:
                if not buckets.take("events.put-events", handler.current_account, region=handler.region):
                    raise throttled()
                return original(handler)
            return put_events

        patches.wrap(EventsHandler, "put_events", make_put_events,
                     "PutEvents is throttled past the account's requests per second")


class Invocations:
    """The invocation quota and metrics of :class:`EventsTargetsService`'s deliveries."""

    def __init__(self, sandbox: Any, schedule: Callable[[float, Any], None]) -> None:
        self.sandbox = sandbox
        self.buckets = Buckets(sandbox)
        self._schedule = schedule

    def delayed(self, delivery: Any) -> bool:
        """True when ``delivery`` must wait for the invocation quota (it is then scheduled
        at its turn); False when it may be invoked now."""
        now = self.sandbox.clock.time()
        if delivery.reserved:
            delivery.reserved = False
        else:
            _, _, _, region, account, _ = (delivery.rule_arn.split(":", 5) + [""] * 6)[:6]
            wait = self.buckets.reserve("events.invocations", account, region=region)
            if wait > 0:
                delivery.reserved = True
                self._schedule(now + wait, delivery)
                self._emit(delivery, "ThrottledRules", 1.0, "Count")
                return True
        if delivery.attempts == 0:
            latency = max(0.0, now - delivery.first_seen) * 1000
            self._emit(delivery, "IngestionToInvocationStartLatency", latency, "Milliseconds")
            self._emit(delivery, "IngestionToInvocationStartLatency", latency, "Milliseconds", ruled=False)
        return False

    def failed(self, delivery: Any) -> None:
        self._emit(delivery, "FailedInvocations", 1.0, "Count")

    def _emit(self, delivery: Any, name: str, value: float, unit: str, ruled: bool = True) -> None:
        from eventlab.sandbox.cloudwatch.metrics import emit

        region = (delivery.rule_arn.split(":") + [""] * 4)[3] or None
        emit(self.sandbox, "AWS/Events", name, value, unit=unit, region=region,
             dimensions=rule_dimensions(delivery.rule_arn) if ruled else None)


def rule_dimensions(rule_arn: str) -> dict[str, str]:
    """``RuleName`` for a rule of the default bus; ``EventBusName`` and ``RuleName`` else."""
    path = rule_arn.split(":rule/", 1)[-1]
    bus, _, rule = path.rpartition("/")
    return {"EventBusName": bus, "RuleName": rule} if bus and bus != "default" else {"RuleName": rule}
