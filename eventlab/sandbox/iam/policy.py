"""IAM policy evaluation, as AWS documents it, for the policies the sandbox applies.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html:
an explicit ``Deny`` in any matching statement wins; otherwise a matching ``Allow``
allows; otherwise the request is implicitly denied.  A statement matches when its
principal (``Principal``/``NotPrincipal``), action (``Action``/``NotAction``), resource
(``Resource``/``NotResource``) and every condition match the request.

* Principals: ``"*"`` and ``{"AWS": "*"}`` match everyone (services included); an account
  id or ``arn:aws:iam::ACCOUNT:root`` matches every principal of that account; a role or
  user ARN matches that principal (an assumed-role session matches its role);
  ``{"Service": "sns.amazonaws.com"}`` matches that service.
* Actions match case-insensitively, resources case-sensitively, both with ``*`` and ``?``.
* Condition operators (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html):
  ``String*``, ``Arn*``, ``Numeric*``, ``Date*`` (ISO 8601 or epoch seconds), ``Bool``,
  ``IpAddress``/``NotIpAddress``, ``Null``, each with ``...IfExists``, and the
  ``ForAnyValue:``/``ForAllValues:`` set operators.  Keys are case-insensitive.  Several
  values for one key are OR-ed (a negated operator: none may match); keys and operators
  are AND-ed.  A key missing from the request fails a positive operator and passes a
  negated one (``IfExists`` passes both).
* Policy variables (``${aws:username}``) are not substituted.

Documents are compiled once each (cached by their text), so a check costs a few regex
matches.  No maintained Python package evaluates a request against resource policies with
conditions (moto's ``iam/access_control.py`` knows only ``*``/AWS principals and
equality conditions; policyuniverse and principalmapper analyse policies but have no
request evaluator, and neither has had a release since 2023): hence this module.
"""

from __future__ import annotations

import enum
import functools
import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from eventlab.errors import SandboxError


class Decision(enum.Enum):
    ALLOW = "allow"
    DENY = "deny"          # an explicit Deny matched
    NONE = "none"          # nothing matched: implicitly denied


class PolicyError(SandboxError):
    """A policy document the sandbox cannot read (AWS would have refused to store it)."""


@dataclass(frozen=True)
class Request:
    """Who asks to do what to which resource, with the request's condition keys.

    ``principal`` is a service principal (``sns.amazonaws.com``) or an IAM ARN
    (``arn:aws:iam::111111111111:root``, a role's ARN); ``context`` maps condition keys
    (any case) to a value or a list of values.  ``any_resource``: the resource is not known
    (a call the sandbox cannot name the ARN of): every ``Resource`` matches."""

    principal: str
    action: str
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)
    any_resource: bool = False

    @property
    def is_service(self) -> bool:
        return self.principal.endswith(".amazonaws.com") and not self.principal.startswith("arn:")

    @property
    def account(self) -> str | None:
        return None if self.is_service else arn_account(self.principal)


def arn_account(arn: str) -> str | None:
    parts = arn.split(":", 5)
    return parts[4] if len(parts) > 4 and parts[4] else None


def evaluate(document: str | Mapping[str, Any] | None, request: Request) -> Decision:
    """The decision of one policy document for one request (no document: NONE)."""
    if not document:
        return Decision.NONE
    if not isinstance(document, str):
        document = json.dumps(document, sort_keys=True)
    return compile_policy(document).decide(request)


@functools.lru_cache(maxsize=1024)
def compile_policy(text: str) -> CompiledPolicy:
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise PolicyError(f"the policy is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise PolicyError("a policy must be a JSON object with a Statement")
    statements = document.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    return CompiledPolicy(tuple(_Statement(s, i) for i, s in enumerate(statements)))


@dataclass(frozen=True)
class CompiledPolicy:
    statements: tuple[_Statement, ...]

    def decide(self, request: Request) -> Decision:
        allowed = False
        context = _lower_keys(request.context)
        for statement in self.statements:
            if statement.matches(request, context):
                if statement.deny:
                    return Decision.DENY
                allowed = True
        return Decision.ALLOW if allowed else Decision.NONE


def _lower_keys(context: Mapping[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in context.items():
        if value is None:
            continue
        values = value if isinstance(value, (list, tuple, set)) else [value]
        out[key.lower()] = [_text(v) for v in values]
    return out


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


@functools.lru_cache(maxsize=4096)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


class _Statement:
    def __init__(self, raw: Any, index: int) -> None:
        if not isinstance(raw, dict):
            raise PolicyError(f"Statement {index} is not a JSON object")
        effect = raw.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise PolicyError(f"Statement {index} has Effect {effect!r}; it must be Allow or Deny")
        self.deny = effect == "Deny"
        self.principal, self.not_principal = self._principals(raw, "Principal"), self._principals(raw, "NotPrincipal")
        self.actions, self.negate_actions = self._patterns(raw, "Action", "NotAction", True)
        self.resources, self.negate_resources = self._patterns(raw, "Resource", "NotResource", False)
        self.conditions = [_condition(op, key, values)
                           for op, block in (raw.get("Condition") or {}).items()
                           for key, values in block.items()]

    @staticmethod
    def _principals(raw: dict[str, Any], name: str) -> list[tuple[str, str]] | None:
        value = raw.get(name)
        if value is None:
            return None
        if value == "*":
            return [("*", "*")]
        if not isinstance(value, dict):
            raise PolicyError(f"{name} must be \"*\" or an object like {{\"AWS\": ...}}")
        out = []
        for kind, ids in value.items():
            for ident in _as_list(ids):
                ident = str(ident)
                if kind == "AWS" and re.fullmatch(r"\d{12}", ident):
                    ident = f"arn:aws:iam::{ident}:root"
                out.append((kind, ident))
        return out

    @staticmethod
    def _patterns(raw: dict[str, Any], name: str, negated: str, ignore_case: bool,
                  ) -> tuple[list[re.Pattern[str]] | None, bool]:
        if negated in raw:
            return [_wildcard(p, ignore_case) for p in _as_list(raw[negated])], True
        if name in raw:
            return [_wildcard(p, ignore_case) for p in _as_list(raw[name])], False
        return None, False   # a resource policy may omit Resource: it is the resource

    def matches(self, request: Request, context: dict[str, list[str]]) -> bool:
        if self.principal is not None and not _principal_matches(self.principal, request):
            return False
        if self.not_principal is not None and _principal_matches(self.not_principal, request):
            return False
        if self.actions is not None and any(p.match(request.action) for p in self.actions) == self.negate_actions:
            return False
        if self.resources is not None and not request.any_resource and any(p.match(request.resource) for p in self.resources) == self.negate_resources:
            return False
        return all(condition(context) for condition in self.conditions)


def _principal_matches(principals: list[tuple[str, str]], request: Request) -> bool:
    for kind, ident in principals:
        if ident == "*" and kind in ("*", "AWS"):
            return True
        if request.is_service:
            if kind == "Service" and ident.lower() == request.principal.lower():
                return True
            continue
        if kind != "AWS":
            continue
        root = f"arn:aws:iam::{request.account}:root"
        if ident == request.principal or ident == root:
            return True
        if "*" in ident and _wildcard(ident, False).match(root):   # moto's PutPermission writes
            return True                                            # "arn:aws:iam::*:root" for "*"
        session_role = _role_of_session(request.principal)
        if session_role is not None and ident == session_role:
            return True
    return False


def _role_of_session(arn: str) -> str | None:
    """``arn:aws:sts::A:assumed-role/R/session`` -> ``arn:aws:iam::A:role/R``."""
    match = re.match(r"^arn:aws:sts::(\d{12}):assumed-role/([^/]+)/", arn)
    return f"arn:aws:iam::{match.group(1)}:role/{match.group(2)}" if match else None


# -- conditions ---------------------------------------------------------------------------
Compare = Callable[[str, str], bool]


def _string(ignore_case: bool = False) -> Compare:
    if ignore_case:
        return lambda actual, wanted: actual.lower() == wanted.lower()
    return lambda actual, wanted: actual == wanted


def _like(actual: str, wanted: str) -> bool:
    return _wildcard(wanted, False).match(actual) is not None


def _arn_like(actual: str, wanted: str) -> bool:
    a, w = actual.split(":", 5), wanted.split(":", 5)
    if len(a) != 6 or len(w) != 6:
        return False
    return all(_wildcard(wp, False).match(ap) is not None for ap, wp in zip(a, w, strict=True))


def _ordered(parse: Callable[[str], float], op: Callable[[float, float], bool]) -> Compare:
    def compare(actual: str, wanted: str) -> bool:
        try:
            return op(parse(actual), parse(wanted))
        except ValueError:
            return False
    return compare


def _epoch(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _number(op: Callable[[float, float], bool]) -> Compare:
    return _ordered(float, op)


def _date(op: Callable[[float, float], bool]) -> Compare:
    return _ordered(_epoch, op)


def _ip(actual: str, wanted: str) -> bool:
    try:
        return ipaddress.ip_address(actual) in ipaddress.ip_network(wanted, strict=False)
    except ValueError:
        return False


_OPERATORS: dict[str, tuple[Compare, bool]] = {   # name -> (compare, negated)
    "StringEquals": (_string(), False), "StringNotEquals": (_string(), True),
    "StringEqualsIgnoreCase": (_string(True), False), "StringNotEqualsIgnoreCase": (_string(True), True),
    "StringLike": (_like, False), "StringNotLike": (_like, True),
    "ArnEquals": (_arn_like, False), "ArnLike": (_arn_like, False),
    "ArnNotEquals": (_arn_like, True), "ArnNotLike": (_arn_like, True),
    "NumericEquals": (_number(lambda a, w: a == w), False),
    "NumericNotEquals": (_number(lambda a, w: a == w), True),
    "NumericLessThan": (_number(lambda a, w: a < w), False),
    "NumericLessThanEquals": (_number(lambda a, w: a <= w), False),
    "NumericGreaterThan": (_number(lambda a, w: a > w), False),
    "NumericGreaterThanEquals": (_number(lambda a, w: a >= w), False),
    "DateEquals": (_date(lambda a, w: a == w), False), "DateNotEquals": (_date(lambda a, w: a == w), True),
    "DateLessThan": (_date(lambda a, w: a < w), False), "DateLessThanEquals": (_date(lambda a, w: a <= w), False),
    "DateGreaterThan": (_date(lambda a, w: a > w), False),
    "DateGreaterThanEquals": (_date(lambda a, w: a >= w), False),
    "Bool": (_string(True), False),
    "IpAddress": (_ip, False), "NotIpAddress": (_ip, True),
}


def _condition(operator: str, key: str, values: Any) -> Callable[[dict[str, list[str]]], bool]:
    """One (operator, key) pair of a Condition block, compiled to a test of the context."""
    key = key.lower()
    wanted = [_text(v) for v in _as_list(values)]
    prefix, _, name = operator.rpartition(":")
    if prefix not in ("", "ForAnyValue", "ForAllValues"):
        raise PolicyError(f"unknown condition set operator {prefix!r} in {operator!r}")
    if_exists = name.endswith("IfExists")
    base = name[: -len("IfExists")] if if_exists else name
    if base == "Null":
        expect_missing = [w.lower() == "true" for w in wanted]
        return lambda context: (key not in context) in expect_missing
    if base not in _OPERATORS:
        raise PolicyError(f"the sandbox does not know the condition operator {operator!r}")
    compare, negated = _OPERATORS[base]

    def one(actual: str) -> bool:
        return any(compare(actual, w) for w in wanted)

    def test(context: dict[str, list[str]]) -> bool:
        actual = context.get(key)
        if actual is None:
            if prefix == "ForAllValues":
                return True
            return if_exists or (negated and prefix == "")
        if prefix == "ForAllValues":
            return all(one(a) != negated for a in actual)
        if prefix == "ForAnyValue":
            return any(one(a) != negated for a in actual)
        return any(one(a) for a in actual) != negated
    return test


def decide_all(documents: Iterable[str | Mapping[str, Any] | None], request: Request) -> Decision:
    """The combined decision of several documents (a Deny in any wins)."""
    allowed = False
    for document in documents:
        decision = evaluate(document, request)
        if decision is Decision.DENY:
            return Decision.DENY
        allowed = allowed or decision is Decision.ALLOW
    return Decision.ALLOW if allowed else Decision.NONE
