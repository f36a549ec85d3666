"""Faults on the virtual clock: the sandbox's own injection, and what FIS experiments start.

``sb.faults`` (this module's :class:`FaultsService`) holds every fault in force:

* ``throttle(api, ...)``: requests to one AWS API (``"sqs:SendMessage"``, IAM's service
  prefix and the action name) fail with ``ThrottlingException`` (or the ``code`` given),
  ``times`` times or for ``seconds`` of virtual time or until cleared.  Only callers'
  requests are refused: what the sandbox itself calls while it delivers (an SNS fan-out,
  a DLQ redrive, a destination record) is not, as AWS's internal deliveries do not spend
  the API's request quota;
* ``fail_target(arn, ...)``: EventBridge deliveries to a target fail with a transient
  error (``THROTTLING`` unless told), retried by EventBridge's retry policy (the older
  ``sb.service("events-targets").inject_failure`` is this);
* ``slow_function(name, seconds, ...)``: each invocation of a function starts
  ``seconds`` of virtual time late (it holds its concurrency and is billed meanwhile);
* ``fail_function(name, ...)``: invocations of a function fail (``prevent_execution``:
  without running its code).

The last two are what AWS Fault Injection Service's ``aws:lambda:invocation-add-delay``
and ``aws:lambda:invocation-error`` actions do (:mod:`eventlab.sandbox.fis.service`).
``percentage`` picks that share of invocations, deterministically (the n-th is picked
when ``n * percentage / 100`` passes a whole number), so runs repeat exactly.
"""

from __future__ import annotations

import functools
import math
import threading
import warnings
from dataclasses import dataclass
from typing import Any

from moto.core.exceptions import ServiceException

from eventlab.errors import InputError

# moto's service names that are not IAM's prefix
_PREFIX = {"awslambda": "lambda", "stepfunctions": "states", "elbv2": "elasticloadbalancing"}


class FaultError(InputError, ValueError):
    """A fault asked for with an argument the sandbox cannot use."""


class InjectedError(ServiceException):
    """The error a throttled API answers (serialized in the API's own protocol)."""


@dataclass
class Fault:
    kind: str                        # "api", "target", "delay", "error"
    key: str                         # "sqs:SendMessage", a target ARN or a function ARN
    code: str = ""
    message: str = ""
    left: int | None = None          # times still to inject (None: no count)
    until: float = math.inf          # virtual time the fault ends
    retriable: bool = True
    seconds: float = 0.0
    percentage: float = 100.0
    prevent_execution: bool = False
    seen: int = 0                    # invocations considered so far (for ``percentage``)
    source: str = "sandbox"          # "sandbox" or an FIS experiment id

    def picks(self) -> bool:
        """Whether this invocation is one of the ``percentage`` picked."""
        self.seen += 1
        return math.floor(self.seen * self.percentage / 100) > math.floor((self.seen - 1) * self.percentage / 100)

    def spend(self) -> None:
        if self.left is not None:
            self.left -= 1


class FaultsService:
    name = "faults"

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self.injected: list[dict[str, Any]] = []   # what was injected, when (for inspection)
        routes = getattr(sandbox, "admin_routes", None)
        if routes is not None:
            for method in ("GET", "POST", "DELETE"):
                routes[f"{method} /_eventlab/faults"] = functools.partial(self.http, method)

    def install(self, patches: Any) -> None:
        from moto.core.responses import BaseResponse

        service = self

        def make_call_action(original: Any) -> Any:
            def call_action(response: Any) -> Any:
                refusal = service._refuse(response) if service._faults else None
                if refusal is None:
                    return original(response)
                # answered as moto answers a ServiceException, in the API's protocol
                from moto.core.responses import ActionResult

                with warnings.catch_warnings():   # a code of no error shape of the API's model
                    warnings.simplefilter("ignore")
                    status, headers, body = response.serialized(ActionResult(refusal))
                headers["status"] = status
                status, headers, body = response._transform_response(response.response_headers,
                                                                      (body, headers))
                headers, body = response._enrich_response(headers, body)
                return status, headers, body
            return call_action

        patches.wrap(BaseResponse, "call_action", make_call_action,
                     "sb.faults.throttle(api) refuses a caller's requests to one API")

    # -- asking for faults ------------------------------------------------------------
    def throttle(self, api: str, *, code: str = "ThrottlingException", message: str = "Rate exceeded",
                 times: int | None = None, seconds: float | None = None) -> None:
        """Refuse requests to ``api`` ("service:Action", e.g. "sqs:SendMessage")."""
        service, sep, action = api.partition(":")
        if not sep or not service or not action:
            raise FaultError(f"throttle({api!r}): name the API as service:Action, e.g. 'sqs:SendMessage'")
        self._add(Fault("api", f"{service.lower()}:{action}", code, message,
                        _count(times, "times"), self._until(seconds)))

    def fail_target(self, arn: str, *, code: str = "THROTTLING",
                    message: str = "Rate exceeded (injected by the sandbox)",
                    times: int | None = None, retriable: bool = True, seconds: float | None = None) -> None:
        """Make EventBridge deliveries to the target ``arn`` fail."""
        self._add(Fault("target", arn, code, message, _count(times, "times"), self._until(seconds),
                        retriable))

    def slow_function(self, name: str, seconds: float, *, percentage: float = 100,
                      until: float | None = None, source: str = "sandbox") -> None:
        """Start each invocation of a function ``seconds`` of virtual time late."""
        if not isinstance(seconds, (int, float)) or not 0 <= seconds <= 900:
            raise FaultError(f"slow_function({name!r}, {seconds!r}): seconds must be from 0 to 900 "
                             "(a function's longest timeout)")
        self._add(Fault("delay", self._function_arn(name), seconds=float(seconds),
                        percentage=_percentage(percentage), until=math.inf if until is None else until,
                        source=source))

    def fail_function(self, name: str, *, percentage: float = 100, prevent_execution: bool = False,
                      until: float | None = None, source: str = "sandbox") -> None:
        """Make invocations of a function fail (``prevent_execution``: without running it)."""
        self._add(Fault("error", self._function_arn(name), percentage=_percentage(percentage),
                        prevent_execution=bool(prevent_execution),
                        until=math.inf if until is None else until, source=source))

    def clear(self, key: str | None = None, *, source: str | None = None) -> None:
        """End faults: all, those on one API, target or function (name or ARN), or of one source."""
        keys: set[str] | None = None
        if key is not None:
            keys = {key}
            if ":" not in key:
                keys.add(self._function_arn(key, missing_ok=True))
        with self._lock:
            self._faults = [f for f in self._faults
                            if not ((keys is None or f.key in keys) and (source is None or f.source == source))]

    def active(self) -> list[Fault]:
        now = self.sandbox.clock.time()
        with self._lock:
            return [f for f in self._faults if f.until > now and (f.left is None or f.left > 0)]

    # -- over HTTP (eventlab serve) -------------------------------------------------------
    def http(self, method: str, body: Any) -> dict[str, Any]:
        """``/_eventlab/faults``: the same faults for ``eventlab serve`` users.

        ``POST`` a fault, or a list of them, each named by the method and its first
        argument, with the method's keyword arguments beside it::

            {"throttle": "sqs:SendMessage", "times": 2}
            {"fail_target": "arn:aws:sqs:us-east-1:123456789012:orders", "code": "THROTTLING"}
            {"slow_function": "worker", "seconds": 2.5, "percentage": 50}
            {"fail_function": "worker", "prevent_execution": true}

        ``DELETE`` ends faults (a body ``{"key": "sqs:SendMessage"}`` or a function name:
        those only; none: all).  Every method answers the faults in force
        (``{"faults": [...], "injected": N}``)."""
        if method == "POST":
            for spec in body if isinstance(body, list) else [body]:
                self._add_described(spec)
        elif method == "DELETE":
            key = body.get("key") if isinstance(body, dict) else None
            if key is not None and not isinstance(key, str):
                raise FaultError('DELETE /_eventlab/faults: "key" names an API ("sqs:SendMessage"), '
                                 "a target ARN or a function; leave it out to end every fault")
            self.clear(key)
        return {"faults": [_fault_json(f) for f in self.active()], "injected": len(self.injected)}

    def _add_described(self, spec: Any) -> None:
        kinds = [name for name in _HTTP_FAULTS if isinstance(spec, dict) and name in spec]
        if len(kinds) != 1:
            raise FaultError("POST /_eventlab/faults: send one of " + ", ".join(
                f'{{"{name}": ...}}' for name in _HTTP_FAULTS) + f" (got {_json_text(spec)})")
        kind = kinds[0]
        options = {k: v for k, v in spec.items() if k != kind}
        unknown = sorted(set(options) - set(_HTTP_FAULTS[kind]))
        if unknown:
            raise FaultError(f"POST /_eventlab/faults: {kind} takes {', '.join(_HTTP_FAULTS[kind])}; "
                             f"not {', '.join(unknown)}")
        target = spec[kind]
        if not isinstance(target, str) or not target:
            raise FaultError(f'POST /_eventlab/faults: "{kind}" names what to fault (a string), '
                             f"not {_json_text(target)}")
        getattr(self, kind)(target, **options)

    # -- what the services ask -----------------------------------------------------------
    def target_failure(self, arn: str) -> Fault | None:
        """The fault to raise for a delivery to ``arn`` now (spent by one), or None."""
        fault = self._find("target", arn)
        if fault is not None:
            fault.spend()
            self._note(fault)
        return fault

    def for_invocation(self, function_arn: str) -> tuple[float, Fault | None]:
        """(seconds to delay the start, the error fault to apply or None) for one invocation."""
        delay = 0.0
        error = None
        now = self.sandbox.clock.time()
        with self._lock:
            faults = [f for f in self._faults if f.key == function_arn and f.until > now]
        for fault in faults:
            if fault.kind == "delay" and fault.picks():
                delay += fault.seconds
                self._note(fault)
            elif fault.kind == "error" and error is None and fault.picks():
                error = fault
                self._note(fault)
        return delay, error

    def _refuse(self, response: Any) -> Any:
        """The error to answer a caller's request with (None: let it through)."""
        pump = getattr(self.sandbox, "pump", None)
        if pump is not None and pump._running_thread == threading.get_ident():
            return None   # the sandbox delivering, not a caller
        service = getattr(response, "service_name", "") or ""
        try:
            action = response._get_action()
        except Exception:
            return None
        fault = self._find("api", f"{_PREFIX.get(service, service)}:{action}")
        if fault is None:
            return None
        fault.spend()
        self._note(fault)
        return InjectedError(fault.code, fault.message)

    # -- helpers -----------------------------------------------------------------------
    def _add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)
        self.sandbox.pump.mark_dirty()

    def _find(self, kind: str, key: str) -> Fault | None:
        now = self.sandbox.clock.time()
        with self._lock:
            self._faults = [f for f in self._faults if f.until > now and (f.left is None or f.left > 0)]
            return next((f for f in self._faults if f.kind == kind and f.key == key), None)

    def _note(self, fault: Fault) -> None:
        self.injected.append({"kind": fault.kind, "key": fault.key, "time": self.sandbox.clock.time(),
                              "source": fault.source})

    def _until(self, seconds: float | None) -> float:
        if seconds is None:
            return math.inf
        if not isinstance(seconds, (int, float)) or seconds <= 0:
            raise FaultError(f"seconds={seconds!r}: give a positive number of virtual seconds")
        return self.sandbox.clock.time() + float(seconds)

    def _function_arn(self, name: str, missing_ok: bool = False) -> str:
        try:
            return self.sandbox.service("lambda").function(name).function_arn
        except Exception:
            if missing_ok:
                return name
            raise FaultError(f"no Lambda function {name!r} in the sandbox (create it first)") from None


# what POST /_eventlab/faults accepts: each method's keyword arguments
_HTTP_FAULTS = {
    "throttle": ("code", "message", "times", "seconds"),
    "fail_target": ("code", "message", "times", "retriable", "seconds"),
    "slow_function": ("seconds", "percentage"),
    "fail_function": ("percentage", "prevent_execution"),
}


def _fault_json(fault: Fault) -> dict[str, Any]:
    kind = {"api": "throttle", "target": "fail_target", "delay": "slow_function", "error": "fail_function"}
    out: dict[str, Any] = {"fault": kind[fault.kind], "key": fault.key, "source": fault.source,
                           "until": None if math.isinf(fault.until) else fault.until}
    if fault.kind in ("api", "target"):
        out.update(code=fault.code, message=fault.message, timesLeft=fault.left)
    if fault.kind == "target":
        out["retriable"] = fault.retriable
    if fault.kind == "delay":
        out["seconds"] = fault.seconds
    if fault.kind in ("delay", "error"):
        out["percentage"] = fault.percentage
    if fault.kind == "error":
        out["preventExecution"] = fault.prevent_execution
    return out


def _json_text(value: Any) -> str:
    import json

    try:
        return json.dumps(value)[:200]
    except (TypeError, ValueError):
        return repr(value)[:200]


def _count(times: int | None, what: str) -> int | None:
    if times is None:
        return None
    if not isinstance(times, int) or times < 1:
        raise FaultError(f"{what}={times!r}: give a whole number >= 1, or leave it out (until cleared)")
    return times


def _percentage(value: float) -> float:
    if not isinstance(value, (int, float)) or not 0 < value <= 100:
        raise FaultError(f"percentage={value!r}: give a number above 0 and at most 100")
    return float(value)
