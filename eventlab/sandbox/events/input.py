"""EventBridge event shapes and target input: the envelope, ``Input``, ``InputPath``,
``InputTransformer``.

https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html

* the envelope a target receives: ``version, id, detail-type, source, account, time,
  region, resources, detail`` (plus ``replay-name`` for replayed events), ``time`` as
  ``YYYY-MM-DDTHH:MM:SSZ``;
* ``Input``: the constant JSON text, as is;
* ``InputPath``: the value a JSONPath selects (dot names with dashes, underscores and
  slashes, ``[n]`` indices, ``*`` wildcards), as JSON text;
* ``InputTransformer``: variables from ``InputPathsMap``, put into ``InputTemplate``.  In
  a JSON template a placeholder outside quotes becomes the value's JSON (strings keep
  their quotes); inside quotes it becomes the value's text.  A template that is not
  JSON (``<instance> is in state <status>``) gets each value's text.  A path that
  selects nothing gives ``null`` (empty text inside quotes).  Predefined variables:
  ``aws.events.rule-arn``, ``aws.events.rule-name``,
  ``aws.events.event.ingestion-time`` (ISO 8601), ``aws.events.event`` (the event
  without ``detail``) and ``aws.events.event.json`` (the whole event).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

_MISSING = object()
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
_PATH_TOKEN = re.compile(r"\.([^.\[\]]+)|\[(\d+|\*)\]|\[['\"]([^'\"]+)['\"]\]")


def iso_time(value: Any, *, millis: bool = False) -> str:
    """EventBridge's timestamp text for epoch seconds, a datetime or a string."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    else:
        moment = datetime.fromtimestamp(float(value), UTC)
    moment = moment.astimezone(UTC)
    if millis:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch(value: Any) -> float:
    """Epoch seconds from what moto keeps for a time: a number, its text, ISO 8601 text
    or a datetime (a missing time counts as the epoch)."""
    if value is None or value == "":
        return 0.0
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    try:
        return float(value)
    except (TypeError, ValueError):
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def envelope(raw: dict[str, Any]) -> dict[str, Any]:
    """The event as a target sees it, from moto's internal event dict."""
    event = {
        "version": str(raw.get("version", "0")),
        "id": raw.get("id"),
        "detail-type": raw.get("detail-type"),
        "source": raw.get("source"),
        "account": raw.get("account"),
        "time": iso_time(raw.get("time", 0)),
        "region": raw.get("region"),
        "resources": list(raw.get("resources") or []),
        "detail": raw.get("detail", {}),
    }
    if "replay-name" in raw:
        event["replay-name"] = raw["replay-name"]
    return event


def json_path(document: Any, path: str) -> Any:
    """Evaluate EventBridge's JSONPath subset; ``_MISSING`` if nothing matches."""
    path = path.strip()
    if not path.startswith("$"):
        raise ValueError(f"JSON path {path!r} must start with $")
    rest = path[1:]
    tokens: list[str | int] = []
    pos = 0
    while pos < len(rest):
        match = _PATH_TOKEN.match(rest, pos)
        if match is None:
            raise ValueError(f"unsupported JSON path {path!r}")
        name, index, quoted = match.groups()
        if name is not None:
            tokens.append(name)
        elif quoted is not None:
            tokens.append(quoted)
        else:
            tokens.append("*" if index == "*" else int(index))
        pos = match.end()
    current: list[Any] = [document]
    wildcard = False
    for token in tokens:
        following: list[Any] = []
        for node in current:
            if token == "*":
                wildcard = True
                if isinstance(node, dict):
                    following.extend(node.values())
                elif isinstance(node, list):
                    following.extend(node)
            elif isinstance(token, int):
                if isinstance(node, list) and -len(node) <= token < len(node):
                    following.append(node[token])
            elif isinstance(node, dict) and token in node:
                following.append(node[token])
        current = following
    if wildcard:
        return current
    return current[0] if current else _MISSING


def input_path(event: dict[str, Any], path: str) -> str:
    value = json_path(event, path)
    return json.dumps(None if value is _MISSING else value)


def _text(value: Any) -> str:
    if value is _MISSING or value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def _looks_like_json(template: str, placeholder: re.Pattern[str] = _PLACEHOLDER) -> bool:
    probe = placeholder.sub("0", template).strip()
    if not probe.startswith(("{", "[", '"')):
        return False
    try:
        json.loads(probe)
    except ValueError:
        return probe.startswith("{")  # a JSON object template with a placeholder in quotes
    return True


def render_template(template: str, variables: dict[str, Any],
                    placeholder: re.Pattern[str] = _PLACEHOLDER) -> str:
    """Fill ``<name>`` placeholders as EventBridge's input transformer does (``placeholder``:
    what a placeholder looks like; Pipes' templates name JSON paths, ``<$.body.id>``)."""
    as_json = _looks_like_json(template, placeholder)
    out: list[str] = []
    in_string = False
    pos = 0
    while pos < len(template):
        char = template[pos]
        if char == "<":
            match = placeholder.match(template, pos)
            if match and match.group(1) in variables:
                value = variables[match.group(1)]
                if not as_json:
                    out.append(_text(value))
                elif in_string:
                    out.append(json.dumps(_text(value))[1:-1])
                else:
                    out.append(json.dumps(None if value is _MISSING else value))
                pos = match.end()
                continue
        if char == "\\" and in_string:
            out.append(template[pos:pos + 2])
            pos += 2
            continue
        if char == '"':
            in_string = not in_string
        out.append(char)
        pos += 1
    return "".join(out)


def transform(target: dict[str, Any], event: dict[str, Any], *, rule_arn: str, rule_name: str,
              ingestion_time: float) -> str:
    """The text a target receives for ``event`` (the envelope), per its input settings."""
    if target.get("Input") is not None:
        return str(target["Input"])
    if target.get("InputPath"):
        return input_path(event, target["InputPath"])
    transformer = target.get("InputTransformer")
    if transformer:
        variables: dict[str, Any] = {
            name: json_path(event, path)
            for name, path in (transformer.get("InputPathsMap") or {}).items()
        }
        without_detail = {k: v for k, v in event.items() if k != "detail"}
        variables.update({
            "aws.events.rule-arn": rule_arn,
            "aws.events.rule-name": rule_name,
            "aws.events.event.ingestion-time": iso_time(ingestion_time, millis=True),
            "aws.events.event": without_detail,
            "aws.events.event.json": event,
        })
        return render_template(transformer.get("InputTemplate") or "", variables)
    return json.dumps(event)


def missing() -> Any:
    return _MISSING
