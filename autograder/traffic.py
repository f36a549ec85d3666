"""Counting what flowed where, for the architecture picture and the probes.

Everything is read through :mod:`eventlab.sandbox.inspect`: SNS -> SQS deliveries as the
sandbox reports them (a message counts for a subscription only when its filter policy let
it through and no resource policy refused it), Lambda invocations from its invocation log,
EventBridge deliveries from its delivered and dead-lettered lists.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from eventlab.sandbox import inspect


class Traffic:
    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        # (subscription arn) -> message ids delivered
        self.sns_deliveries: dict[str, list[str]] = {}

    def install(self) -> Traffic:
        def record(subscription_arn: str, message_id: str) -> None:
            self.sns_deliveries.setdefault(subscription_arn, []).append(message_id)

        inspect.watch_sns_deliveries(self.sandbox, record)
        return self

    # -- queries ----------------------------------------------------------------------
    def delivered_to_subscription(self, subscription_arn: str) -> list[str]:
        return list(self.sns_deliveries.get(subscription_arn, []))

    def lambda_records(self) -> Counter[tuple[str, str]]:
        """(event source ARN, function name) -> records delivered by a mapping."""
        counts: Counter[tuple[str, str]] = Counter()
        for entry in inspect.invocations(self.sandbox):
            event = entry.get("event")
            if isinstance(event, dict):
                for record in event.get("Records") or []:
                    if isinstance(record, dict) and record.get("eventSourceARN"):
                        counts[(record["eventSourceARN"], entry["function"])] += 1
        return counts

    def rule_deliveries(self) -> Counter[tuple[str, str]]:
        """(rule name, target ARN) -> events delivered."""
        return Counter((d["rule"], d["arn"]) for d in inspect.rule_deliveries(self.sandbox))

    def dead_letters(self) -> Counter[tuple[str, str]]:
        counts: Counter[tuple[str, str]] = Counter()
        for d in inspect.dead_letters(self.sandbox):
            counts[(str(d.get("rule")), str(d.get("arn")))] += 1
        return counts


def invocations(sandbox: Any, function: str) -> list[dict[str, Any]]:
    """Every logged invocation of one function (by name)."""
    return inspect.invocations(sandbox, function)


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
