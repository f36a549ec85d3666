"""What a pipe does to its events between the steps: implicit body parsing, filtering
and input templates.

* Implicit body parsing
  (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-input-transformation.html):
  an SQS ``body`` that is JSON, and the base64 ``data`` of a Kinesis record (``key`` and
  ``value`` of a Kafka record) whose bytes are JSON, are read as JSON by filters and by
  ``<$.body.key>`` paths.
* Filtering (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-event-filtering.html):
  ``FilterCriteria.Filters[].Pattern`` are event patterns matched against each source
  record by the matcher that routes ``PutEvents`` (:func:`eventlab.sandbox.events.pattern.pattern_matches`);
  a record matching any filter goes on, the others are consumed.  A Kafka record's ``key``
  and ``value`` are filtered as UTF-8 text, or as JSON when they are; a pattern for one
  of them whose form (object or list of values) does not fit what the record holds, or a
  value that is not UTF-8, is left out and the record is filtered on its other fields
  (the table in eb-pipes-event-filtering.html, "Properly filtering ... Apache Kafka").
* ``InputTemplate``: placeholders are JSON paths into the event (``<$.body.id>``) or the
  reserved variables ``aws.pipes.pipe-arn``, ``pipe-name``, ``source-arn``,
  ``enrichment-arn``, ``target-arn``, ``event.ingestion-time``, ``event`` and
  ``event.json``; filled as EventBridge's input transformer fills its templates
  (:func:`eventlab.sandbox.events.input.render_template`), once per event of a batch.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from eventlab.sandbox.events.input import iso_time, json_path, render_template
from eventlab.sandbox.events.pattern import pattern_matches

PLACEHOLDER = re.compile(r"<(\$[^<>\s]*|aws\.pipes\.[A-Za-z.\-]+)>")


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


KAFKA_SOURCES = ("aws:kafka", "SelfManagedKafka")


def _text(data: Any) -> str | None:
    """Base64 data as UTF-8 text (None: not base64 text, or not UTF-8)."""
    if not isinstance(data, str):
        return None
    try:
        return base64.b64decode(data, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


def _structure(text: str | None) -> Any:
    """The JSON object or array ``text`` holds (None: it holds none)."""
    value = None if text is None else _json_or_none(text)
    return value if isinstance(value, (dict, list)) else None


def _encoded_fields(event: dict[str, Any]) -> tuple[str, ...]:
    if event.get("eventSource") == "aws:kinesis":
        return ("data",)
    return ("key", "value") if event.get("eventSource") in KAFKA_SOURCES else ()


def parsed(event: Any) -> Any:
    """The event as filters and templates read it: a JSON ``body`` (SQS), base64 JSON
    ``data`` (Kinesis), ``key`` and ``value`` (Kafka) parsed."""
    if not isinstance(event, dict):
        return event
    view = dict(event)
    body = event.get("body")
    if isinstance(body, str):
        value = _json_or_none(body)
        if isinstance(value, (dict, list)):
            view["body"] = value
    for name in _encoded_fields(event):
        value = _structure(_text(event.get(name)))
        if value is not None:
            view[name] = value
    return view


def passes(filters: list[dict[str, Any]], record: dict[str, Any]) -> bool:
    """Whether a source record passes the pipe's ``FilterCriteria.Filters`` (none: all pass)."""
    if not filters:
        return True
    view = parsed(record)
    patterns = [f.get("Pattern") or "{}" for f in filters]
    if record.get("eventSource") in KAFKA_SOURCES:
        view, patterns = _kafka_filtering(record, view, patterns)
    return any(pattern_matches(pattern, view) for pattern in patterns)


def _kafka_filtering(record: dict[str, Any], view: dict[str, Any], patterns: list[str]) -> tuple[dict[str, Any], list[str]]:
    """A Kafka record's ``key`` and ``value`` as filters read them (JSON, or UTF-8 text), and
    the patterns without the rules on a field whose form does not fit the record."""
    forms: dict[str, str | None] = {}
    for name in ("key", "value"):
        if record.get(name) is None:
            continue
        text = _text(record[name])
        if isinstance(view[name], (dict, list)):
            forms[name] = "json"
        elif text is not None:
            view[name], forms[name] = text, "text"
        else:
            forms[name] = None               # not UTF-8: filtered on the other fields
    fitted = []
    for text in patterns:
        pattern = json.loads(text)
        for name, form in forms.items():
            if name in pattern and form != ("json" if isinstance(pattern[name], dict) else "text"):
                del pattern[name]
        fitted.append(json.dumps(pattern))
    return view, fitted


MAX_FILTERS = 5


def filter_problem(filters: Any) -> str | None:
    """What is wrong with ``FilterCriteria.Filters`` (None: nothing): at most 5 filters, each
    ``Pattern`` an event pattern the matcher accepts."""
    from moto.events.models import EventPatternParser

    if not isinstance(filters, list):
        return "FilterCriteria.Filters must be a list"
    if len(filters) > MAX_FILTERS:
        return f"FilterCriteria.Filters has {len(filters)} filters; a pipe takes at most {MAX_FILTERS}"
    for i, f in enumerate(filters):
        pattern = f.get("Pattern") if isinstance(f, dict) else None
        try:
            if not isinstance(pattern, str) or not isinstance(json.loads(pattern), dict):
                raise ValueError("it must be a JSON object, as text")
            EventPatternParser(pattern).parse()
        except Exception as exc:   # moto's InvalidEventPatternException or ours
            reason = getattr(exc, "message", None) or str(exc)
            return f"FilterCriteria.Filters[{i}].Pattern is not a valid event pattern: {reason}"
    return None


def render(template: str | None, event: Any, reserved: dict[str, Any], ingestion: float) -> Any:
    """The event after ``InputTemplate`` (as is without one): a JSON value, or the text
    when what the template made is not JSON."""
    if not template:
        return event
    view = parsed(event)
    variables: dict[str, Any] = {name: json_path(view, name) for name in PLACEHOLDER.findall(template)
                                 if name.startswith("$")}
    variables.update({f"aws.pipes.{k}": v for k, v in reserved.items()})
    variables["aws.pipes.event.ingestion-time"] = iso_time(ingestion, millis=True)
    variables["aws.pipes.event"] = event
    variables["aws.pipes.event.json"] = view
    text = render_template(template, variables, PLACEHOLDER)
    value = _json_or_none(text)
    return text if value is None and text.strip() != "null" else value


def as_text(value: Any) -> str:
    """The text a target that takes text (an SQS body, an SNS message) receives."""
    return value if isinstance(value, str) else json.dumps(value)
