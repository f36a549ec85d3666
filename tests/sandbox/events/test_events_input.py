"""EventBridge Input, InputPath and InputTransformer, end to end and in detail."""

from __future__ import annotations

import json
import re

from eventlab.sandbox import Sandbox
from eventlab.sandbox.events.input import render_template, transform
from tests.sandbox.helpers import drain, make_queue, recorder

EVENT = {
    "version": "0", "id": "e-1", "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2", "account": "123456789012", "time": "2015-11-11T21:29:54Z",
    "region": "us-east-1", "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-1"],
    "detail": {"instance-id": "i-0123456789", "state": "RUNNING", "tags": [{"k": "a"}, {"k": "b"}]},
}


def _put(sb: Sandbox, targets: list[dict[str, object]]) -> tuple[str, str]:
    events = sb.client("events")
    rule_arn = events.put_rule(Name="ec2", EventPattern=json.dumps({"source": ["aws.ec2.sim"]}))["RuleArn"]
    events.put_targets(Rule="ec2", Targets=targets)
    event_id = events.put_events(Entries=[{
        "Source": "aws.ec2.sim", "DetailType": "State", "Detail": json.dumps(EVENT["detail"])}])["Entries"][0]["EventId"]
    return rule_arn, event_id


def test_input_constant_json(sandbox: Sandbox) -> None:
    url, arn = make_queue(sandbox, "q")
    _put(sandbox, [{"Id": "q", "Arn": arn, "Input": '{"fixed": true, "n": 1}'}])
    assert drain(sandbox, url) == [{"fixed": True, "n": 1}]


def test_input_path(sandbox: Sandbox) -> None:
    fn, out = recorder(sandbox, "rec")
    url, arn = make_queue(sandbox, "q")
    _put(sandbox, [{"Id": "fn", "Arn": fn, "InputPath": "$.detail"},
                   {"Id": "q", "Arn": arn, "InputPath": "$.detail.state"}])
    assert drain(sandbox, out) == [EVENT["detail"]]
    assert drain(sandbox, url) == ["RUNNING"]


def test_input_transformer_json_template(sandbox: Sandbox) -> None:
    fn, out = recorder(sandbox, "rec")
    rule_arn, event_id = _put(sandbox, [{"Id": "fn", "Arn": fn, "InputTransformer": {
        "InputPathsMap": {"instance": "$.detail.instance-id", "state": "$.detail.state",
                          "id": "$.id"},
        "InputTemplate": '{"instance": <instance>, "message": "<instance> is in state <state>",'
                         ' "rule": "<aws.events.rule-arn>", "name": "<aws.events.rule-name>",'
                         ' "at": "<aws.events.event.ingestion-time>", "id": <id>,'
                         ' "original": <aws.events.event.json>}'}}])
    [received] = drain(sandbox, out)
    assert received["instance"] == "i-0123456789"
    assert received["message"] == "i-0123456789 is in state RUNNING"
    assert received["rule"] == rule_arn
    assert received["name"] == "ec2"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", received["at"])
    assert received["id"] == event_id
    assert received["original"]["id"] == event_id and received["original"]["detail"] == EVENT["detail"]


def test_input_transformer_string_template_to_sqs(sandbox: Sandbox) -> None:
    url, arn = make_queue(sandbox, "q")
    _put(sandbox, [{"Id": "q", "Arn": arn, "InputTransformer": {
        "InputPathsMap": {"instance": "$.detail.instance-id", "state": "$.detail.state"},
        "InputTemplate": "<instance> is in state <state>"}}])
    messages = drain(sandbox, url, attributes=True)
    assert [m["Body"] for m in messages] == ["i-0123456789 is in state RUNNING"]


def _render(template: str, paths: dict[str, str]) -> str:
    target = {"InputTransformer": {"InputPathsMap": paths, "InputTemplate": template}}
    return transform(target, EVENT, rule_arn="arn:rule", rule_name="r", ingestion_time=0)


def test_placeholders_inside_and_outside_quotes() -> None:
    out = _render('{"a": <state>, "b": "state=<state>", "tags": <tags>, "t": "<tags>"}',
                  {"state": "$.detail.state", "tags": "$.detail.tags"})
    assert json.loads(out) == {"a": "RUNNING", "b": "state=RUNNING",
                               "tags": [{"k": "a"}, {"k": "b"}], "t": '[{"k": "a"}, {"k": "b"}]'}


def test_quoted_string_template() -> None:
    assert _render('"instance <i> is <s>"', {"i": "$.detail.instance-id", "s": "$.detail.state"}) == \
        '"instance i-0123456789 is RUNNING"'


def test_missing_path_is_null_outside_quotes_and_empty_inside() -> None:
    out = _render('{"a": <nope>, "b": "x<nope>y"}', {"nope": "$.detail.absent"})
    assert json.loads(out) == {"a": None, "b": "xy"}


def test_array_index_and_wildcard_paths() -> None:
    out = _render('{"first": <first>, "all": <all>}',
                  {"first": "$.detail.tags[0].k", "all": "$.detail.tags[*].k"})
    assert json.loads(out) == {"first": "a", "all": ["a", "b"]}


def test_predefined_event_without_detail() -> None:
    out = json.loads(_render('{"e": <aws.events.event>, "ingested": "<aws.events.event.ingestion-time>"}', {}))
    assert "detail" not in out["e"] and out["e"]["id"] == "e-1"
    assert out["ingested"] == "1970-01-01T00:00:00.000Z"


def test_string_values_are_escaped_inside_quotes() -> None:
    assert json.loads(render_template('{"m": "say <q>"}', {"q": 'a "quoted" word'})) == {
        "m": 'say a "quoted" word'}
