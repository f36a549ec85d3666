"""Firehose S3 object keys: custom prefix expressions and the small JQ subset.

Following https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html and
https://docs.aws.amazon.com/firehose/latest/dev/s3-object-name.html:

* keys are ``<evaluated prefix><stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid><extension>``;
* ``!{timestamp:<Java DateTimeFormatter pattern>}`` (UTC, the arrival time of the oldest
  record in the object; every use in one prefix evaluates to the same instant),
  ``!{firehose:error-output-type}``, ``!{firehose:random-string}`` (11 characters),
  ``!{partitionKeyFromQuery:key}`` and ``!{partitionKeyFromLambda:key}``;
* a prefix without a ``timestamp`` expression gets ``!{timestamp:yyyy/MM/dd/HH/}`` appended
  (no prefix at all: just that), except a dynamic-partitioning prefix (one that uses
  ``partitionKeyFrom...``), which AWS's dynamic-partitioning examples deliver as written;
* failed records go under ``ErrorOutputPrefix`` (when it has no expression,
  ``<error-output-type>/yyyy/MM/dd/HH/`` is appended to it); when it is null and ``Prefix``
  has no expression, it is ``<Prefix><error-output-type>/yyyy/MM/dd/HH/`` (the semantic
  rules and the ``myFirehosePrefix`` example row).

The JQ subset is what dynamic partitioning's ``MetadataExtractionQuery`` needs in the
labs: an object of paths (``{device: .device, region: .meta.region}``) or one path
(``.a.b``, ``.a["b"]``).
"""

from __future__ import annotations

import json
import random
import re
import string
import uuid
from datetime import UTC, datetime
from typing import Any

from eventlab.errors import InputError

EXPRESSION = re.compile(r"!\{([A-Za-z]+):([^}]*)\}")
DEFAULT_TIME_PREFIX = "!{timestamp:yyyy/MM/dd/HH}/"
ERROR_TYPES = ("processing-failed", "AmazonOpenSearchService-failed", "splunk-failed",
               "format-conversion-failed", "http-endpoint-failed")

_JAVA_FIELDS = {"yyyy": "%Y", "uuuu": "%Y", "yy": "%y", "MM": "%m", "dd": "%d", "HH": "%H",
                "mm": "%M", "ss": "%S", "DDD": "%j", "a": "%p", "EEE": "%a", "MMM": "%b"}


class PrefixError(InputError, ValueError):
    """A prefix expression the sandbox cannot evaluate (a configuration mistake)."""


def java_datetime_format(pattern: str, when: datetime) -> str:
    """Format ``when`` with a Java DateTimeFormatter pattern (letters, 'quoted' literals)."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "'":
            if pattern.startswith("''", i):  # two quotes outside a literal: one quote
                out.append("'")
                i += 2
                continue
            # a quoted literal, in which two quotes stand for one (Java: 'o''clock' -> o'clock)
            j = i + 1
            while True:
                end = pattern.find("'", j)
                if end < 0:
                    raise PrefixError(f"unterminated quote in timestamp pattern {pattern!r}")
                if pattern.startswith("''", end):
                    out.append(pattern[j:end + 1])
                    j = end + 2
                    continue
                out.append(pattern[j:end])
                break
            i = end + 1
        elif ch.isalpha():
            j = i
            while j < len(pattern) and pattern[j] == ch:
                j += 1
            run = pattern[i:j]
            if run == "SSS":
                out.append(f"{when.microsecond // 1000:03d}")
            elif run in ("M", "d", "H"):
                out.append(str({"M": when.month, "d": when.day, "H": when.hour}[run]))
            elif run in _JAVA_FIELDS:
                out.append(when.strftime(_JAVA_FIELDS[run]))
            else:
                raise PrefixError(f"timestamp pattern letter run {run!r} in {pattern!r} is not "
                                  "supported by the sandbox (use yyyy, MM, dd, HH, mm, ss)")
            i = j
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def random_string(length: int = 11) -> str:
    return "".join(random.choices(string.ascii_lowercase + string.digits, k=length))


def evaluate(prefix: str, when: datetime, *, error_type: str | None = None,
             query_keys: dict[str, str] | None = None,
             lambda_keys: dict[str, str] | None = None) -> str:
    """Evaluate every ``!{namespace:value}`` expression in ``prefix``."""
    def replace(match: re.Match[str]) -> str:
        namespace, value = match.group(1), match.group(2)
        if namespace == "timestamp":
            return java_datetime_format(value, when)
        if namespace == "firehose":
            if value == "random-string":
                return random_string()
            if value == "error-output-type":
                if error_type is None:
                    raise PrefixError("!{firehose:error-output-type} may only be used in ErrorOutputPrefix")
                return error_type
            raise PrefixError(f"unknown firehose namespace value {value!r}")
        if namespace in ("partitionKeyFromQuery", "partitionKeyFromLambda"):
            keys = query_keys if namespace == "partitionKeyFromQuery" else lambda_keys
            if keys is None or value not in keys:
                raise KeyError(f"{namespace}:{value}")
            return keys[value]
        raise PrefixError(f"unknown prefix namespace {namespace!r}")

    return EXPRESSION.sub(replace, prefix)


def object_prefix(config: dict[str, Any], when: datetime, *, query_keys: dict[str, str] | None = None,
                  lambda_keys: dict[str, str] | None = None) -> str:
    prefix = config.get("Prefix") or ""
    namespaces = {m.group(1) for m in EXPRESSION.finditer(prefix)}
    if "timestamp" not in namespaces and not any(n.startswith("partitionKey") for n in namespaces):
        prefix += DEFAULT_TIME_PREFIX
    return evaluate(prefix, when, query_keys=query_keys, lambda_keys=lambda_keys)


def error_prefix(config: dict[str, Any], when: datetime, error_type: str) -> str:
    prefix = config.get("ErrorOutputPrefix") or ""
    if not prefix and not EXPRESSION.search(config.get("Prefix") or ""):
        # "ErrorOutputPrefix can be null only if Prefix contains no expressions": then it is
        # <specified-prefix><error-output-type>/yyyy/MM/dd/HH/.
        prefix = config.get("Prefix") or ""
    if not EXPRESSION.search(prefix):
        prefix += "!{firehose:error-output-type}/" + DEFAULT_TIME_PREFIX
    # Partition keys are unknown for a failed record: they evaluate to nothing.
    return evaluate(EXPRESSION.sub(lambda m: m.group(0) if not m.group(1).startswith("partitionKey")
                                   else "", prefix), when, error_type=error_type)


def object_suffix(stream_name: str, version: str, when: datetime, extension: str = "") -> str:
    stamp = when.astimezone(UTC).strftime("%Y-%m-%d-%H-%M-%S")
    return f"{stream_name}-{version}-{stamp}-{uuid.uuid4()}{extension}"


# -- JQ subset --------------------------------------------------------------------------

_PATH_STEP = re.compile(r'\s*(?:\.([A-Za-z_][A-Za-z0-9_]*)|\.?\[\s*"([^"]*)"\s*\])')


class JQError(InputError, ValueError):
    pass


def _path(expr: str) -> list[str]:
    expr = expr.strip()
    if expr == ".":
        return []
    steps: list[str] = []
    pos = 0
    while pos < len(expr):
        match = _PATH_STEP.match(expr, pos)
        if not match:
            raise JQError(f"the sandbox's JQ supports paths like .a.b and objects like "
                          f"{{key: .a.b}}; cannot read {expr!r}")
        steps.append(match.group(1) if match.group(1) is not None else match.group(2))
        pos = match.end()
    return steps


def _split_top(body: str) -> list[str]:
    parts, depth, start, quoted = [], 0, 0, False
    for i, ch in enumerate(body):
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "[{(":
            depth += 1
        elif not quoted and ch in "]})":
            depth -= 1
        elif not quoted and ch == "," and depth == 0:
            parts.append(body[start:i])
            start = i + 1
    parts.append(body[start:])
    return [p for p in parts if p.strip()]


def compile_jq(query: str) -> list[tuple[str | None, list[str]]]:
    """``{k: .a, ...}`` -> [(k, path)...]; ``.a.b`` -> [(None, path)]."""
    query = query.strip()
    if query.startswith("{") and query.endswith("}"):
        fields: list[tuple[str | None, list[str]]] = []
        for part in _split_top(query[1:-1]):
            key, sep, value = part.partition(":")
            if not sep:
                raise JQError(f"expected key: .path in {query!r}")
            key = key.strip().strip('"')
            fields.append((key, _path(value)))
        return fields
    return [(None, _path(query))]


def _scalar(value: Any, key: str, path: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if value is None:
        raise JQError(f"partition key {key!r} is null in the record (query path {path}); "
                      "a partition key needs a value")
    return json.dumps(value)


def run_jq(compiled: list[tuple[str | None, list[str]]], document: Any) -> dict[str, str]:
    """The partition keys a record yields; raises JQError when a key is missing."""
    out: dict[str, str] = {}
    for key, path in compiled:
        value = document
        where = "." + ".".join(path)
        for step in path:
            if not isinstance(value, dict) or step not in value:
                raise JQError(f"path {where} not found in the record")
            value = value[step]
        if key is None:
            if not isinstance(value, dict):
                raise JQError("the query must produce an object of partition keys")
            out.update({k: _scalar(v, k, f"{where.rstrip('.')}.{k}") for k, v in value.items()})
        else:
            out[key] = _scalar(value, key, where)
    return out


def utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
