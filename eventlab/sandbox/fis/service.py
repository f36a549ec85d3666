"""AWS Fault Injection Service: experiments that really inject, on the virtual clock.

moto stores experiment templates and experiments and moves an experiment's state on
each describe, injecting nothing.  Here ``StartExperiment`` starts the Lambda actions of
the template (https://docs.aws.amazon.com/fis/latest/userguide/use-lambda-actions.html)
as faults of :mod:`eventlab.sandbox.core.faults`, on the functions the action's
``Functions`` target selects (``resourceArns`` or ``resourceTags``; ``selectionMode``
``ALL``, ``COUNT(n)``, ``PERCENT(n)``: the first ones, in name order):

* ``aws:lambda:invocation-add-delay``: ``startupDelayMilliseconds`` (0-900000, default
  1000) before the handler starts, for ``invocationPercentage`` (1-100, default 100) of
  invocations;
* ``aws:lambda:invocation-error``: invocations fail (``preventExecution`` ``true``:
  without running the handler), for ``invocationPercentage`` of them;

each for ``duration`` (ISO 8601, ``PT1M`` to ``PT12H``) of virtual time.  The experiment
is ``running`` until its longest action ends, then ``completed``; ``StopExperiment``
ends its faults at once (``stopped``).  ``CreateExperimentTemplate`` refuses these
actions' parameters outside AWS's ranges (``ValidationException``).

Differs from AWS: no FIS Lambda extension layer, S3 configuration bucket or IAM role is
needed; other actions are stored but inject nothing.
"""

from __future__ import annotations

import math
import re
from typing import Any

from moto.core.exceptions import JsonRESTError

ADD_DELAY = "aws:lambda:invocation-add-delay"
ERROR = "aws:lambda:invocation-error"
_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$")
_TERMINAL = ("completed", "stopped", "failed")


class ValidationException(JsonRESTError):
    def __init__(self, message: str) -> None:
        super().__init__("ValidationException", message)


def duration_seconds(value: Any, where: str) -> float:
    """``PT5M`` -> 300.0; FIS's Lambda actions take one minute to 12 hours."""
    match = _DURATION.match(str(value or ""))
    if not match or not any(match.groups()):
        raise ValidationException(f"{where}: duration {value!r} is not an ISO 8601 duration such as PT5M")
    hours, minutes, seconds = (float(g or 0) for g in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if not 60 <= total <= 12 * 3600:
        raise ValidationException(f"{where}: duration {value!r} must be from PT1M to PT12H")
    return total


def _number(parameters: dict[str, Any], name: str, default: float, low: float, high: float,
            where: str) -> float:
    raw = parameters.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = math.nan
    if not low <= value <= high:
        raise ValidationException(f"{where}: {name} {raw!r} must be a number from {low:g} to {high:g}")
    return value


def lambda_action(name: str, action: dict[str, Any]) -> dict[str, Any] | None:
    """The checked parameters of a Lambda action (None for other actions)."""
    kind = action.get("actionId")
    if kind not in (ADD_DELAY, ERROR):
        return None
    where = f"action {name} ({kind})"
    parameters = action.get("parameters") or {}
    out: dict[str, Any] = {
        "kind": kind,
        "seconds": duration_seconds(parameters.get("duration"), where),
        "percentage": _number(parameters, "invocationPercentage", 100, 1, 100, where),
    }
    if kind == ADD_DELAY:
        out["delay_ms"] = _number(parameters, "startupDelayMilliseconds", 1000, 0, 900_000, where)
    else:
        prevent = str(parameters.get("preventExecution", "false")).lower()
        if prevent not in ("true", "false"):
            raise ValidationException(f"{where}: preventExecution must be true or false, not {prevent!r}")
        out["prevent"] = prevent == "true"
    if not (action.get("targets") or {}).get("Functions"):
        raise ValidationException(f"{where}: the action needs a target named in targets.Functions")
    return out


class FisService:
    name = "fis"

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox

    def install(self, patches: Any) -> None:
        patches.after_import("moto.fis.models", lambda: self._install(patches))

    def _install(self, patches: Any) -> None:
        from moto.fis.models import Experiment, FISBackend

        service = self

        def make_create(original: Any) -> Any:
            def create_experiment_template(backend: Any, *args: Any, **kwargs: Any) -> Any:
                for name, action in (kwargs.get("actions") or {}).items():
                    lambda_action(name, action)
                return original(backend, *args, **kwargs)
            return create_experiment_template

        patches.wrap(FISBackend, "create_experiment_template", make_create,
                     "Lambda fault actions' parameters are checked against AWS's ranges")

        def make_start(original: Any) -> Any:
            def start_experiment(backend: Any, *args: Any, **kwargs: Any) -> Any:
                answer = original(backend, *args, **kwargs)
                experiment = backend.experiments[answer["id"]]
                if not hasattr(experiment, "eventlab_end"):
                    service._start(backend, experiment)
                return experiment.to_dict(tags=answer.get("tags"))
            return start_experiment

        patches.wrap(FISBackend, "start_experiment", make_start,
                     "an experiment's Lambda actions inject their faults on the virtual clock")

        def make_stop(original: Any) -> Any:
            def stop_experiment(backend: Any, id: str) -> Any:
                answer = original(backend, id=id)
                experiment = backend.experiments[id]
                if hasattr(experiment, "eventlab_end") and experiment._status not in _TERMINAL:
                    experiment._status = "stopped"
                    experiment.end_time = service.sandbox.clock.time()
                    service.sandbox.faults.clear(source=experiment.id)
                    answer = experiment.to_dict(tags=answer.get("tags"))
                return answer
            return stop_experiment

        patches.wrap(FISBackend, "stop_experiment", make_stop, "StopExperiment ends its faults at once")

        def make_sync(original: Any) -> Any:
            def sync_state(experiment: Any) -> str:
                if not hasattr(experiment, "eventlab_end"):
                    return original(experiment)
                return service._sync(experiment)
            return sync_state

        patches.wrap(Experiment, "_sync_state", make_sync,
                     "an experiment is running until its longest action ends (virtual time)")

    # -- experiments ------------------------------------------------------------------
    def _start(self, backend: Any, experiment: Any) -> None:
        now = self.sandbox.clock.time()
        longest = 0.0
        faults = self.sandbox.faults
        ends: dict[str, float] = {}
        experiment.eventlab_action_ends = ends
        for name, action in experiment.actions.items():
            checked = lambda_action(name, action)
            if checked is None:
                continue
            end = now + checked["seconds"]
            longest = max(longest, checked["seconds"])
            ends[name] = end
            target = (experiment.targets or {}).get(action["targets"]["Functions"]) or {}
            for arn in self._functions(backend.region_name, target):
                if checked["kind"] == ADD_DELAY:
                    faults.slow_function(arn, checked["delay_ms"] / 1000.0, percentage=checked["percentage"],
                                         until=end, source=experiment.id)
                else:
                    faults.fail_function(arn, percentage=checked["percentage"],
                                         prevent_execution=checked["prevent"], until=end,
                                         source=experiment.id)
        experiment.eventlab_end = now + longest
        experiment.start_time = now
        experiment._status = "running"
        self.sandbox.clock.call_at(experiment.eventlab_end, lambda: None)

    def _functions(self, region: str, target: dict[str, Any]) -> list[str]:
        lam = self.sandbox.backend("lambda", region)
        arns = sorted(target.get("resourceArns") or [])
        tags = target.get("resourceTags") or {}
        if tags:
            arns += sorted(fn.function_arn for fn in lam.list_functions()
                           if all((fn.tags or {}).get(k) == v for k, v in tags.items()))
        mode = str(target.get("selectionMode") or "ALL").upper()
        count = re.match(r"^(COUNT|PERCENT)\((\d+)\)$", mode)
        if count:
            n = int(count.group(2))
            keep = n if count.group(1) == "COUNT" else math.ceil(len(arns) * n / 100)
            arns = arns[:keep]
        return arns

    def _sync(self, experiment: Any) -> str:
        now = self.sandbox.clock.time()
        status = experiment._status
        if status not in _TERMINAL:
            status = "completed" if now >= experiment.eventlab_end else "running"
            experiment._status = status
            if status == "completed":
                experiment.end_time = experiment.eventlab_end
        reasons = experiment.STATUS_REASONS
        for name, action in experiment.actions.items():
            action.setdefault("startTime", experiment.start_time)
            action_end = experiment.eventlab_action_ends.get(name, experiment.eventlab_end)
            ended = status in _TERMINAL or now >= action_end
            action_status = status if status in _TERMINAL else ("completed" if ended else "running")
            action["state"] = {"status": action_status, "reason": reasons.get(action_status, action_status)}
            if ended:
                action["endTime"] = min(experiment.end_time or now, action_end)
        return status
