"""Counting what flowed where, for the architecture picture and the probes.

SNS -> SQS deliveries are recorded by wrapping moto's ``Subscription.publish`` (through
the sandbox's PatchSet, undone when the sandbox stops): a message counts for a
subscription only when its filter policy let it through and no resource policy refused it.  Lambda invocations come from
the sandbox's own ``invocation_log``; EventBridge deliveries from the ``events-targets``
service's ``delivered`` and ``dead_lettered`` lists.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any


class Traffic:
    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        # (subscription arn) -> message ids delivered
        self.sns_deliveries: dict[str, list[str]] = {}

    def install(self) -> Traffic:
        from moto.sns.models import Subscription

        traffic = self

        def make_publish(original: Any) -> Any:
            def publish(sub: Any, message: str, message_id: str, *args: Any, **kwargs: Any) -> Any:
                attrs = kwargs.get("message_attributes") if "message_attributes" in kwargs else (
                    args[1] if len(args) > 1 else None)
                matcher = getattr(sub, "_filter_policy_matcher", None)
                refused = traffic.sandbox.service("policies").refused   # by a resource policy
                before = len(refused)
                result = original(sub, message, message_id, *args, **kwargs)
                if (matcher is None or matcher.matches(attrs, message)) and len(refused) == before:
                    traffic.sns_deliveries.setdefault(sub.arn, []).append(message_id)
                return result
            return publish

        self.sandbox.patches.wrap(Subscription, "publish", make_publish,
                                  "the lab's picture counts SNS deliveries per subscription")
        return self

    # -- queries ----------------------------------------------------------------------
    def delivered_to_subscription(self, subscription_arn: str) -> list[str]:
        return list(self.sns_deliveries.get(subscription_arn, []))

    def lambda_records(self) -> Counter[tuple[str, str]]:
        """(event source ARN, function name) -> records delivered by a mapping."""
        counts: Counter[tuple[str, str]] = Counter()
        for entry in self.sandbox.service("lambda").invocation_log:
            event = entry.get("event")
            if isinstance(event, dict):
                for record in event.get("Records") or []:
                    if isinstance(record, dict) and record.get("eventSourceARN"):
                        counts[(record["eventSourceARN"], entry["function"])] += 1
        return counts

    def rule_deliveries(self) -> Counter[tuple[str, str]]:
        """(rule name, target ARN) -> events delivered."""
        service = self.sandbox.service("events-targets")
        return Counter((d["rule"], d["arn"]) for d in service.delivered)

    def dead_letters(self) -> Counter[tuple[str, str]]:
        service = self.sandbox.service("events-targets")
        counts: Counter[tuple[str, str]] = Counter()
        for d in service.dead_lettered:
            counts[(str(d.get("rule")), str(d.get("arn")))] += 1
        return counts


def invocations(sandbox: Any, function: str) -> list[dict[str, Any]]:
    """Every logged invocation of one function (by name)."""
    return [e for e in sandbox.service("lambda").invocation_log if e["function"] == function]


def bodies(event: Any) -> list[str]:
    """The message bodies an SQS event carries (unwrapping SNS envelopes)."""
    out: list[str] = []
    for record in (event or {}).get("Records") or []:
        body = record.get("body", "")
        try:
            parsed = json.loads(body)
        except (TypeError, ValueError):
            out.append(str(body))
            continue
        if isinstance(parsed, dict) and parsed.get("Type") == "Notification" and "Message" in parsed:
            out.append(str(parsed["Message"]))
        else:
            out.append(str(body))
    return out
