"""Unit tests for the pure parts of EventBridge target input (eventlab/sandbox/events/input.py)
that tests/sandbox/events/test_events_input.py does not call directly: the timestamp text,
the envelope a target receives, the JSONPath subset behind ``InputPath`` and
``InputPathsMap``, and the remaining documented ``InputTemplate`` examples. No Sandbox is
used. Expected values come from AWS's event structure
(https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html), its input
transformation page (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html:
supported path syntax is dot notation, dashes, underscores, alphanumerics, array indices,
wildcards and forward slashes; the predefined ``aws.events.*`` variables; the example templates)
and the InputTransformer API reference. Unsupported paths raise ``ValueError`` naming the path.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from eventlab.sandbox.events.input import (
    envelope,
    input_path,
    iso_time,
    json_path,
    missing,
    transform,
)

# AWS's sample EC2 state-change event, as moto holds it (time as epoch seconds).
RAW = {"version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
       "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2",
       "account": "111122223333", "time": 1513968228, "region": "us-west-1",
       "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
       "detail": {"instance-id": "i-0123456789", "state": "RUNNING",
                  "path/with/slashes": "ok", "snake_case": [10, 20, 30],
                  "nested": {"a": {"b": "deep"}}}}
EVENT = envelope(RAW)
RULE_ARN = "arn:aws:events:us-east-2:123456789012:rule/example"


@pytest.mark.parametrize(("value", "millis", "expected"), [
    (0, False, "1970-01-01T00:00:00Z"),
    (1513968228, False, "2017-12-22T18:43:48Z"),
    (1513968228.789, False, "2017-12-22T18:43:48Z"),
    (1513968228.789, True, "2017-12-22T18:43:48.789Z"),
    ("1513968228", False, "2017-12-22T18:43:48Z"),                 # epoch seconds as text
    ("2017-12-22T18:43:48Z", False, "2017-12-22T18:43:48Z"),       # already ISO 8601: kept
    (datetime(2017, 12, 22, 18, 43, 48), False, "2017-12-22T18:43:48Z"),  # naive means UTC
    (datetime(2017, 12, 22, 20, 43, 48, tzinfo=timezone(timedelta(hours=2))), False,
     "2017-12-22T18:43:48Z"),
])
def test_iso_time(value: Any, millis: bool, expected: str) -> None:
    assert iso_time(value, millis=millis) == expected


def test_envelope_has_the_documented_fields_in_order() -> None:
    assert list(EVENT) == ["version", "id", "detail-type", "source", "account", "time", "region",
                           "resources", "detail"]
    assert EVENT["time"] == "2017-12-22T18:43:48Z"
    assert EVENT["resources"] == RAW["resources"] and EVENT["detail"] == RAW["detail"]
    assert "replay-name" not in EVENT


def test_envelope_of_a_replayed_event_and_of_an_empty_one() -> None:
    assert envelope({**RAW, "replay-name": "replay-1"})["replay-name"] == "replay-1"
    assert envelope({}) == {"version": "0", "id": None, "detail-type": None, "source": None,
                            "account": None, "time": "1970-01-01T00:00:00Z", "region": None,
                            "resources": [], "detail": {}}


@pytest.mark.parametrize(("path", "expected"), [
    ("$", EVENT),
    ("$.detail", RAW["detail"]),
    ("$.detail.state", "RUNNING"),                                  # dot notation
    ("$.detail-type", "EC2 Instance State-change Notification"),    # dashes
    ("$.detail.instance-id", "i-0123456789"),
    ("$.detail.snake_case[1]", 20),                                 # underscores, array index
    ("$.detail.path/with/slashes", "ok"),                           # forward slashes
    ("$.detail.nested.a.b", "deep"),
    ("$['detail']['state']", "RUNNING"),
    ("$.resources[0]", "arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"),
    ("$.detail.snake_case[*]", [10, 20, 30]),                       # wildcards
    ("$.detail.nested.*", [{"b": "deep"}]),
    ("$.detail.snake_case[*].x", []),
])
def test_json_path(path: str, expected: Any) -> None:
    assert json_path(EVENT, path) == expected


@pytest.mark.parametrize("path", ["$.nope", "$.detail.state.x", "$.resources[5]", "$.detail.nested.b"])
def test_json_path_that_selects_nothing(path: str) -> None:
    assert json_path(EVENT, path) is missing()
    assert input_path(EVENT, path) == "null"


@pytest.mark.parametrize(("path", "message"), [
    ("detail", "JSON path 'detail' must start with $"),
    ("$..state", "unsupported JSON path '$..state'"),
    ("$.resources[-1]", "unsupported JSON path '$.resources[-1]'"),
    ("$.detail[?(@.state)]", "unsupported JSON path '$.detail[?(@.state)]'"),
])
def test_unsupported_json_paths(path: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        json_path(EVENT, path)


@pytest.mark.parametrize(("path", "expected"), [
    ("$.detail", RAW["detail"]),
    ("$.detail.state", "RUNNING"),
    ("$.detail.snake_case", [10, 20, 30]),
])
def test_input_path_is_json_text(path: str, expected: Any) -> None:
    assert json.loads(input_path(EVENT, path)) == expected


# -- transform: which input setting wins, and AWS's remaining template examples ------------------

def _transform(target: dict[str, Any]) -> str:
    return transform(target, EVENT, rule_arn=RULE_ARN, rule_name="example",
                     ingestion_time=1513968229.25)


def _transformer(template: str, paths: dict[str, str] | None = None) -> dict[str, Any]:
    return {"InputTransformer": {"InputTemplate": template, "InputPathsMap": paths if paths is not None else {
        "instance": "$.detail.instance-id", "state": "$.detail.state"}}}


@pytest.mark.parametrize(("target", "expected"), [
    ({}, json.dumps(EVENT)),                                     # no setting: the whole event
    ({"Input": '{"constant": true}'}, '{"constant": true}'),     # Input: the text as is
    ({"Input": "", "InputPath": "$.detail"}, ""),                # an empty Input is still Input
    ({"InputPath": "$.detail.state"}, '"RUNNING"'),
])
def test_input_settings(target: dict[str, Any], expected: str) -> None:
    assert _transform(target) == expected


@pytest.mark.parametrize(("template", "expected"), [
    # "JSON with a mix of variables and static information"
    ('{"instance" : <instance>, "state": [ 9, <state>, true ], "Transformed" : "Yes"}',
     {"instance": "i-0123456789", "state": [9, "RUNNING", True], "Transformed": "Yes"}),
    # "Including reserved variables in JSON"
    ('{"instance" : <instance>, "state": <state>, "ruleArn" : <aws.events.rule-arn>, '
     '"ruleName" : <aws.events.rule-name>}',
     {"instance": "i-0123456789", "state": "RUNNING", "ruleArn": RULE_ARN, "ruleName": "example"}),
    # "Including reserved variables in a string"
    ('"<aws.events.rule-name> triggered"', "example triggered"),
    # "String with escaped quotes"
    ('"instance \\"<instance>\\" is in state <state>"', 'instance "i-0123456789" is in state RUNNING'),
    # The API reference: valid JSON with variables in quotes or out.
    ('{"myInstance": <instance>,"myStatus": "<instance> is in state \\"<state>\\""}',
     {"myInstance": "i-0123456789", "myStatus": 'i-0123456789 is in state "RUNNING"'}),
    # The whole event, detail included.
    ('{"e": <aws.events.event.json>}', {"e": EVENT}),
])
def test_documented_templates(template: str, expected: Any) -> None:
    assert json.loads(_transform(_transformer(template))) == expected


def test_template_that_is_not_json_gets_plain_text() -> None:
    # The API reference's first example: "<instance> is in state <status>" (quotes kept as written).
    assert _transform(_transformer('<instance> is in state "<state>"')) == \
        'i-0123456789 is in state "RUNNING"'


def test_ingestion_time_is_iso_8601() -> None:
    out = json.loads(_transform(_transformer('{"t": "<aws.events.event.ingestion-time>"}', {})))
    assert out == {"t": "2017-12-22T18:43:49.250Z"}
    assert datetime.fromisoformat(out["t"].replace("Z", "+00:00")) == \
        datetime(2017, 12, 22, 18, 43, 49, 250000, tzinfo=UTC)

