"""``TestEventPattern`` answers ``{"Result": true|false}`` with EventBridge's own matcher."""

from __future__ import annotations

import json

import pytest

EVENT = {"id": "7", "account": "123456789012", "source": "order-service", "time": "2026-12-06T00:00:00Z",
         "region": "us-east-1", "resources": [], "detail-type": "OrderConfirmed",
         "detail": {"orderId": "12345", "total": 99.99}}


@pytest.mark.parametrize("pattern, result", [
    ({"source": ["order-service"], "detail-type": ["OrderConfirmed"]}, True),
    ({"source": ["payment-service"]}, False),
    ({"detail": {"total": [{"numeric": [">", 100]}]}}, False),
    ({"detail": {"total": [{"numeric": [">", 50]}]}}, True),
    ({"detail": {"orderId": [{"prefix": "123"}]}}, True),
])
def test_result_says_whether_the_event_matches(sandbox, pattern, result):
    answer = sandbox.client("events").test_event_pattern(EventPattern=json.dumps(pattern), Event=json.dumps(EVENT))
    assert answer["Result"] is result


def test_an_invalid_pattern_and_an_incomplete_event_are_aws_errors(sandbox):
    events = sandbox.client("events")
    with pytest.raises(events.exceptions.InvalidEventPatternException):
        events.test_event_pattern(EventPattern="{not json", Event=json.dumps(EVENT))
    with pytest.raises(events.exceptions.ClientError, match="lacks id, account") as caught:
        events.test_event_pattern(EventPattern='{"source": ["x"]}', Event='{"source": "x"}')
    assert caught.value.response["Error"]["Code"] == "ValidationException"
