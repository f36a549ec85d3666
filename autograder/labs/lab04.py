"""Lab 4: a Step Functions saga for travel bookings.

Names the lab asks for: functions ``reserve-flight``, ``reserve-hotel``, ``reserve-car``,
``cancel-flight``, ``cancel-hotel``, ``cancel-car``, ``issue-ticket``, ``notify-email``,
``notify-sms``; state machines ``travel-booking`` (STANDARD) and ``travel-booking-express``
(EXPRESS); queue ``booking-approvals``.  The handler reads two input flags: ``failAt``
(``flight``/``hotel``/``car``: that reservation fails for good, ``BookingFailed``) and
``flaky`` (``{"hotel": 2}``: the first two attempts fail with ``ServiceUnavailable``).

Every check starts its own executions (trip ids ``trip-probe-...``), moves the virtual
clock and reads ``GetExecutionHistory`` to see what really ran.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from autograder.checks import CheckFailed, check, declared_checks
from autograder.probes import function, probe_id, queue
from eventlab.sandbox import inspect

MACHINE = "travel-booking"
EXPRESS = "travel-booking-express"
QUEUE = "booking-approvals"
ITEMS = ("flight", "hotel", "car")
FUNCTIONS = ([f"reserve-{i}" for i in ITEMS] + [f"cancel-{i}" for i in ITEMS]
             + ["issue-ticket", "notify-email", "notify-sms"])
THRESHOLD = 1000
PASSENGERS = ["ana", "bo", "chen"]

# moto's interpreter logs every Fail state (each compensated saga) as an ERROR with its
# parse tree; the execution history is the record, so keep the notebook's output readable.
logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)


# -- reading the sandbox -------------------------------------------------------------------
def _sfn(sb: Any) -> Any:
    return sb.client("stepfunctions")


def _machine(sb: Any, name: str = MACHINE) -> dict[str, Any]:
    for m in _sfn(sb).list_state_machines()["stateMachines"]:
        if m["name"] == name:
            return _sfn(sb).describe_state_machine(stateMachineArn=m["stateMachineArn"])
    raise CheckFailed(f"there is no state machine named '{name}'")


def _trip(**extra: Any) -> dict[str, Any]:
    return {"tripId": probe_id("trip-probe"), "total": 400, "passengers": list(PASSENGERS),
            **extra}


def history(sb: Any, execution_arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = _sfn(sb).get_execution_history(**kwargs)
        events += page["events"]
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def _json(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return text


def _function_of(event: dict[str, Any]) -> tuple[str, Any] | None:
    """The function a Lambda task scheduled (direct ARN or the lambda:invoke integration)
    and the input it was given (the history's ``input``, or the integration's
    ``Payload``)."""
    if event["type"] == "LambdaFunctionScheduled":
        details = event["lambdaFunctionScheduledEventDetails"]
        return details["resource"].split(":")[6], _json(details.get("input"))
    if event["type"] == "TaskScheduled":
        details = event["taskScheduledEventDetails"]
        if details.get("resourceType") == "lambda":
            parameters = _json(details.get("parameters") or "{}")
            name = parameters.get("FunctionName", "")
            return (name.split(":")[6] if name.startswith("arn:") else name,
                    _json(parameters.get("Payload")))
    return None


def calls(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each Lambda call in the history: function, its input, when scheduled, and error if
    it failed."""
    out: list[dict[str, Any]] = []
    for event in events:
        scheduled = _function_of(event)
        if scheduled is not None:
            fn, given = scheduled
            out.append({"fn": fn, "input": given, "at": event["timestamp"], "error": None,
                        "failed_at": None})
        elif event["type"] in ("LambdaFunctionFailed", "TaskFailed") and out:
            details = (event.get("lambdaFunctionFailedEventDetails")
                       or event.get("taskFailedEventDetails") or {})
            open_calls = [c for c in out if c["failed_at"] is None]
            if open_calls:
                open_calls[-1]["error"] = details.get("error")
                open_calls[-1]["failed_at"] = event["timestamp"]
    return out


def ran(events: list[dict[str, Any]]) -> list[str]:
    return [c["fn"] for c in calls(events)]


def _status(sb: Any, arn: str) -> dict[str, Any]:
    return _sfn(sb).describe_execution(executionArn=arn)


def _finish(sb: Any, arn: str, minutes: int = 30) -> dict[str, Any]:
    """Let the clock run (back-offs, waits) until the execution ends or ``minutes`` pass."""
    out = _status(sb, arn)
    for _ in range(minutes):
        if out["status"] != "RUNNING":
            break
        sb.clock.advance(60)
        out = _status(sb, arn)
    return out


def execute(sb: Any, trip: dict[str, Any], *, wait: bool = True) -> tuple[str, dict[str, Any]]:
    arn = _sfn(sb).start_execution(stateMachineArn=_machine(sb)["stateMachineArn"],
                                   name=trip["tripId"], input=json.dumps(trip))["executionArn"]
    sb.settle()
    return arn, (_finish(sb, arn) if wait else _status(sb, arn))


def _cached(sb: Any, kind: str, probe: Callable[[], Any]) -> Any:
    """A probe's result, reused while the machine's definition and the functions' code are
    unchanged (checks of one step, and grading, share the saga and happy-path probes)."""
    definition = _machine(sb)["definition"]
    code = tuple(sorted((f.function_name, f.code_sha_256)
                        for f in inspect.functions(sb)))
    cache = sb.__dict__.setdefault("_lab04_probes", {})
    key = (kind, definition, code)
    if key not in cache:
        cache[key] = probe()
    return cache[key]


def _happy(sb: Any) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """A trip of 400 for three passengers with nothing failing: (trip, status, history)."""
    def probe() -> Any:
        trip = _trip()
        arn, out = execute(sb, trip)
        return trip, out, history(sb, arn)
    return _cached(sb, "happy", probe)


def _short(names: list[str]) -> str:
    return ", ".join(names) if names else "no function"


# -- checks --------------------------------------------------------------------------------
@check("functions", step="functions", title="the nine booking functions", points=1,
       passed="All nine functions exist.",
       failed="A booking function is missing.",
       hint="create_function for each name in FUNCTIONS with zip_code(HANDLER).")
def check_functions(sb: Any) -> None:
    missing = []
    for name in FUNCTIONS:
        try:
            function(sb, name)
        except CheckFailed:
            missing.append(name)
    if missing:
        raise CheckFailed("missing function(s): " + ", ".join(missing))


@check("workflow", step="workflow", title="travel-booking reserves flight, hotel, car", points=2,
       passed="A probe trip ran reserve-flight, reserve-hotel, reserve-car, each given the trip, "
              "and SUCCEEDED with the three references in its output.",
       failed="The STANDARD state machine 'travel-booking' does not book a trip.",
       hint="Three Task states with the function ARNs as Resource, each with ResultPath "
            "'$.flight' (etc.) so that the trip's input stays, then a Succeed state.")
def check_workflow(sb: Any) -> None:
    machine = _machine(sb)
    if machine.get("type") != "STANDARD":
        raise CheckFailed(f"'{MACHINE}' is {machine.get('type')}, not STANDARD")
    trip, out, events = _happy(sb)
    names = ran(events)
    if out["status"] != "SUCCEEDED":
        raise CheckFailed(f"a trip of 400 with nothing failing ended {out['status']} "
                          f"({out.get('error', '')}) after running {_short(names)}")
    reserves = [n for n in names if n.startswith("reserve-")]
    if reserves != [f"reserve-{i}" for i in ITEMS]:
        raise CheckFailed(f"the reservations that ran were {_short(reserves)}, expected "
                          "reserve-flight, reserve-hotel, reserve-car once each, in that order")
    blind = _without_trip(calls(events), reserves, trip["tripId"])
    if blind:
        raise CheckFailed(f"{blind[0]} (for a trip of 400 with nothing failing): the trip did "
                          "not reach that step", hint=(
                              "A Task's result replaces its input unless ResultPath puts it "
                              "beside it: ResultPath '$.flight', '$.hotel', '$.car'."))
    kept = set(_strings(json.loads(out.get("output") or "null")))
    lost = [f"reserve-{i}" for i in ITEMS if f"{i.upper()}-{trip['tripId']}" not in kept]
    if lost:
        raise CheckFailed(f"the booked trip's output has lost the reference of {_short(lost)} "
                          f"(each answers {{'ref': 'FLIGHT-<tripId>', ...}}; the output's "
                          f"keys are {sorted(json.loads(out['output']))}): a later result "
                          "overwrote it", hint=(
                              "Give each reservation its own ResultPath ('$.flight', "
                              "'$.hotel', '$.car'): the booking must keep every supplier's "
                              "reference, to show it and to cancel it."))


def _jittered_retriers(sb: Any) -> dict[str, dict[str, Any]]:
    """The Retry entries with ``JitterStrategy: FULL`` of each reserve-<item> state that
    cover ServiceUnavailable, by item.  Full jitter waits a random time up to the
    exponential delay (AWS accepts it and recommends it against retry storms), so such a
    retrier's back-off is judged by its definition, not by the waits one run happened to
    draw."""
    found: dict[str, dict[str, Any]] = {}

    def walk(states: dict[str, Any]) -> None:
        for state in states.values():
            text = json.dumps(state.get("Resource", "")) + json.dumps(state.get("Parameters", {}))
            for item in ITEMS:
                if f"reserve-{item}" not in text:
                    continue
                for retrier in state.get("Retry") or []:
                    names = retrier.get("ErrorEquals") or []
                    covers = any(n in ("ServiceUnavailable", "States.ALL") for n in names)
                    if covers and retrier.get("JitterStrategy") == "FULL":
                        found[item] = retrier
            for branch in state.get("Branches") or []:
                walk(branch.get("States") or {})
            for key in ("Iterator", "ItemProcessor"):
                walk((state.get(key) or {}).get("States") or {})

    walk(json.loads(_machine(sb)["definition"]).get("States") or {})
    return found


@check("retry", step="retry",
       title="transient errors retried 3 times with exponential back-off", points=2,
       passed="Each reservation was retried 3 times after ServiceUnavailable, waiting 2, 4, 8 s.",
       failed="The reservations do not retry busy suppliers with exponential back-off.",
       hint="On each Reserve state: Retry [{'ErrorEquals': ['ServiceUnavailable'], "
            "'IntervalSeconds': 2, 'BackoffRate': 2, 'MaxAttempts': 3}].")
def check_retry(sb: Any) -> None:
    flaky = {i: 3 for i in ITEMS}
    arn, out = execute(sb, _trip(flaky=flaky))
    made = calls(history(sb, arn))
    jittered = _jittered_retriers(sb)
    wrong = []
    for item in ITEMS:
        mine = [c for c in made if c["fn"] == f"reserve-{item}"]
        if len(mine) != 4:
            wrong.append(f"reserve-{item} ran {len(mine)} time(s) when its first 3 attempts "
                         "fail with ServiceUnavailable (expected 4: MaxAttempts 3)")
            continue
        if item in jittered:
            retrier = jittered[item]
            rate, first = float(retrier.get("BackoffRate", 2.0)), float(retrier.get("IntervalSeconds", 1))
            if rate < 2 or first < 1:
                wrong.append(f"reserve-{item}'s jittered retry has IntervalSeconds {first:g} and "
                             f"BackoffRate {rate:g}: its delays do not double")
            continue
        gaps = [(nxt["at"] - c["failed_at"]).total_seconds()
                for c, nxt in zip(mine, mine[1:], strict=False) if c["failed_at"] is not None]
        growing = all(b >= 1.8 * a for a, b in zip(gaps, gaps[1:], strict=False))
        if len(gaps) != 3 or gaps[0] < 1 or not growing:
            shown = ", ".join(f"{g:.0f} s" for g in gaps)
            wrong.append(f"the waits before reserve-{item}'s retries were {shown}: not "
                         "doubling (exponential back-off needs BackoffRate 2)")
    if wrong:
        raise CheckFailed("; ".join(wrong[:2]))
    if out["status"] != "SUCCEEDED":
        raise CheckFailed(f"a trip whose suppliers were busy 3 times ended {out['status']}")


@check("retry-transient-only", step="retry", title="permanent errors are not retried", points=1,
       passed="BookingFailed (no room) was not retried.",
       failed="A permanent error was retried.",
       hint="Retry only ServiceUnavailable; States.ALL in Retry also retries BookingFailed.", hidden=True)
def check_retry_transient_only(sb: Any) -> None:
    arn, _ = execute(sb, _trip(failAt="hotel"))
    count = ran(history(sb, arn)).count("reserve-hotel")
    if count != 1:
        raise CheckFailed(f"reserve-hotel ran {count} times when it failed with BookingFailed "
                          "(no room: retrying cannot help)")


# The two error classes the saga step's Catch must handle, and the cancellations each
# must start: a reservation that fails for good (BookingFailed) cancels every earlier
# one; a supplier still busy when the retries ran out (the car's first 4 attempts fail
# with ServiceUnavailable: MaxAttempts 3 cannot get past them) enters the chain at
# CancelCar (busy too: the handler's flag makes every car call fail 4 times, so the
# chain stops there; the check asks only that the Catch took the error).
# case -> (the trip's failure flags, how it is described, the compensations it needs)
SAGA_CASES: dict[str, tuple[dict[str, Any], str, list[str]]] = {**{item: ({"failAt": item}, f"with {item} failing (BookingFailed)",
                        [f"cancel-{i}" for i in ITEMS[:ITEMS.index(item)]])
                 for item in ITEMS},
              "car-busy": ({"flaky": {"car": 4}},
                           "with the car's supplier still busy after the retries "
                           "(ServiceUnavailable)", ["cancel-car"])}


def _saga(sb: Any) -> dict[str, tuple[str, str, list[dict[str, Any]]]]:
    """case -> (trip id, status, Lambda calls), for each of :data:`SAGA_CASES`."""
    def probe() -> Any:
        out = {}
        for case, (flags, _, _) in SAGA_CASES.items():
            trip = _trip(**flags)
            arn, status = execute(sb, trip)
            out[case] = (trip["tripId"], status["status"], calls(history(sb, arn)))
        return out
    return _cached(sb, "saga", probe)


def _strings(value: Any) -> list[str]:
    """Every string in a JSON value, keys and values, however deep."""
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def _without_trip(made: list[dict[str, Any]], names: Any, trip_id: str) -> list[str]:
    """Each call to one of ``names`` whose input does not carry the trip (``tripId``, which
    the handler reads), as 'function, given {...}'."""
    out = []
    for c in made:
        given = c["input"]
        if c["fn"] in names and not (isinstance(given, dict) and given.get("tripId") == trip_id):
            out.append(f"{c['fn']} ran with input {json.dumps(given)[:120]}, without the "
                       "trip's tripId")
    return out


def _cancels_without_trip(made: list[dict[str, Any]], trip_id: str) -> list[str]:
    return _without_trip(made, [f"cancel-{i}" for i in ITEMS], trip_id)


COMPENSATION_HINT = ("A Catch without ResultPath replaces the state's input with the error: put "
                     "the error beside the trip (ResultPath '$.error') and keep ResultPath None "
                     "on the cancellations, so each one gets the tripId it must cancel.")


@check("compensate", step="saga", title="a failure cancels every reservation made", points=2,
       passed="With each reservation failing in turn (BookingFailed), every earlier one was "
              "cancelled with the trip's tripId and the execution FAILED; a supplier still busy "
              "after the retries (ServiceUnavailable) was compensated too.",
       failed="A failing reservation leaves an earlier reservation in place.",
       hint="Catch [{'ErrorEquals': ['States.ALL'], 'ResultPath': '$.error', 'Next': 'CancelHotel'}] "
            "on ReserveHotel (and likewise), a chain CancelCar -> CancelHotel -> CancelFlight, "
            "then a Fail state.")
def check_compensate(sb: Any) -> None:
    wrong, blind = [], []
    for case, (trip_id, status, made) in _saga(sb).items():
        _, label, expected = SAGA_CASES[case]
        names = [c["fn"] for c in made]
        missing = [n for n in expected if n not in names]
        if status != "FAILED":
            wrong.append(f"{label} the execution ended {status}, not FAILED")
        if missing:
            wrong.append(f"{label}, {', '.join(missing)} never ran (ran: {_short(names)})")
        blind += [f"{label}, {b}" for b in _cancels_without_trip(made, trip_id)[:1]]
    if wrong:
        raise CheckFailed("; ".join(wrong))
    if blind:
        raise CheckFailed("; ".join(blind[:2]) + ": it had nothing to cancel",
                          hint=COMPENSATION_HINT)


@check("compensate-order", step="saga", title="cancellations in reverse order", points=1,
       passed="The cancellations ran in reverse booking order: car, hotel, flight.",
       failed="The cancellations ran in the wrong order.",
       hint="Undo the last reservation first: CancelCar -> CancelHotel -> CancelFlight.")
def check_compensate_order(sb: Any) -> None:
    wrong = []
    for case, (_, _, made) in _saga(sb).items():
        cancels = [c["fn"] for c in made if c["fn"].startswith("cancel-")]
        expected = sorted(cancels, key=lambda n: -ITEMS.index(n.removeprefix("cancel-")))
        if cancels != expected:
            wrong.append(f"{SAGA_CASES[case][1]} the cancellations ran as {_short(cancels)}")
    if wrong:
        raise CheckFailed("; ".join(wrong) + " (expected car before hotel before flight)")


def _own_executions(sb: Any) -> list[dict[str, Any]]:
    arn = _machine(sb)["stateMachineArn"]
    listed = _sfn(sb).list_executions(stateMachineArn=arn, maxResults=1000)["executions"]
    return [e for e in listed if not e["name"].startswith("trip-probe")]


@check("inject", step="inject",
       title="your executions made each reservation fail in turn", points=1,
       passed="Your own executions failed at flight, at hotel and at car (read from their history).",
       failed="Your executions do not show each reservation failing in turn.",
       hint="Start three executions of travel-booking with input failAt 'flight', 'hotel', 'car'.")
def check_inject(sb: Any) -> None:
    found: dict[str, list[str]] = {}
    for e in _own_executions(sb):
        described = _status(sb, e["executionArn"])
        trip = json.loads(described.get("input") or "{}")
        item = trip.get("failAt") if isinstance(trip, dict) else None
        if item not in ITEMS or described["status"] != "FAILED":
            continue
        made = calls(history(sb, e["executionArn"]))
        failed = [c["fn"] for c in made if c["error"] == "BookingFailed"]
        later = [f"reserve-{i}" for i in ITEMS[ITEMS.index(item) + 1:]]
        if set(failed) == {f"reserve-{item}"} and not any(c["fn"] in later for c in made):
            found[item] = [c["fn"] for c in made]
    missing = [i for i in ITEMS if i not in found]
    if missing:
        raise CheckFailed("no execution of yours made " + ", ".join(missing)
                          + " fail (input failAt, execution FAILED, that reservation's "
                          "BookingFailed in its history)")


def _probe_approval(sb: Any, how: str) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    trip = _trip(total=5000)
    arn, out = execute(sb, trip, wait=False)
    if out["status"] != "RUNNING":
        raise CheckFailed(f"a trip of 5000 did not wait for approval: it ended {out['status']} "
                          f"after running {_short(ran(history(sb, arn)))}")
    queue(sb, QUEUE)
    bodies = [m.body for m in inspect.messages(sb, QUEUE) if trip["tripId"] in m.body]
    if not bodies:
        raise CheckFailed(f"a trip of 5000 is waiting but sent no message with its tripId to {QUEUE}")
    try:
        body = json.loads(bodies[0])
        token = body["taskToken"]
    except (ValueError, KeyError, TypeError):
        raise CheckFailed(f"the approval message has no 'taskToken' field: {bodies[0][:160]}") from None
    if how == "approve":
        _sfn(sb).send_task_success(taskToken=token, output=json.dumps({"approved": True}))
    else:
        _sfn(sb).send_task_failure(taskToken=token, error="BookingRejected",
                                   cause="the travel manager said no")
    sb.settle()
    return _finish(sb, arn), calls(history(sb, arn)), trip["tripId"]


@check("map", step="fanout", title="a Map issues one ticket per passenger", points=1,
       passed="issue-ticket ran once per passenger, from a Map state.",
       failed="Tickets are not issued per passenger by a Map state.",
       hint="A Map state with ItemsPath '$.passengers' and ItemSelector {'tripId.$': '$.tripId', "
            "'passenger.$': '$$.Map.Item.Value'}, its ItemProcessor a Task on issue-ticket.")
def check_map(sb: Any) -> None:
    trip, _, events = _happy(sb)
    if not any(e["type"] == "MapStateEntered" for e in events):
        raise CheckFailed("a booked trip's history has no Map state")
    got = []
    for entry in inspect.invocations(sb):
        event = entry.get("event")
        if entry["function"] == "issue-ticket" and isinstance(event, dict) \
                and event.get("tripId") == trip["tripId"]:
            got.append(event.get("passenger"))
    if sorted(map(str, got)) != PASSENGERS:
        raise CheckFailed(f"issue-ticket got passengers {got} for a trip with {PASSENGERS} "
                          "(one call per passenger, each with 'passenger' and 'tripId')")


@check("parallel", step="fanout", title="notifications in a Parallel state", points=1,
       passed="notify-email and notify-sms ran as branches of a Parallel state.",
       failed="The notifications are not two branches of a Parallel state.",
       hint="A Parallel state with two Branches, each a Task (notify-email, notify-sms).")
def check_parallel(sb: Any) -> None:
    _, _, events = _happy(sb)
    names = ran(events)
    if not any(e["type"] == "ParallelStateEntered" for e in events):
        raise CheckFailed(f"a booked trip's history has no Parallel state (ran: {_short(names)})")
    missing = [n for n in ("notify-email", "notify-sms") if n not in names]
    if missing:
        raise CheckFailed(f"{_short(missing)} did not run for a booked trip")


@check("approval", step="approval", title="trips over 1000 wait for a human (callback)", points=2,
       passed="A trip of 5000 waited with its token in booking-approvals and finished after "
              "SendTaskSuccess; one of 300 did not wait.",
       failed="Big trips do not wait for approval through a task token.",
       hint="A Choice on $.total > 1000 to a Task on arn:aws:states:::sqs:sendMessage.waitForTaskToken "
            "with MessageBody {'taskToken.$': '$$.Task.Token', 'tripId.$': '$.tripId', "
            "'total.$': '$.total'}.")
def check_approval(sb: Any) -> None:
    arn, out = execute(sb, _trip(total=300), wait=False)
    if out["status"] != "SUCCEEDED":
        raise CheckFailed(f"a trip of 300 (under {THRESHOLD}) ended {out['status']} instead of "
                          "booking without approval")
    out, made, _ = _probe_approval(sb, "approve")
    names = [c["fn"] for c in made]
    if out["status"] != "SUCCEEDED":
        raise CheckFailed(f"after SendTaskSuccess the trip of 5000 ended {out['status']}")
    if "issue-ticket" not in names:
        raise CheckFailed("after approval no ticket was issued")


@check("approval-reject", step="approval", title="a rejected trip is cancelled", points=1,
       passed="After SendTaskFailure all three reservations were cancelled, each with the trip's "
              "tripId.",
       failed="A rejected trip keeps its reservations.",
       hint="Catch on the approval task to CancelCar.", hidden=True)
def check_approval_reject(sb: Any) -> None:
    out, made, trip_id = _probe_approval(sb, "reject")
    names = [c["fn"] for c in made]
    missing = [f"cancel-{i}" for i in ITEMS if f"cancel-{i}" not in names]
    if out["status"] != "FAILED" or missing:
        raise CheckFailed(f"after SendTaskFailure the trip ended {out['status']}, and "
                          f"{_short(missing)} did not run")
    blind = _cancels_without_trip(made, trip_id)
    if blind:
        raise CheckFailed(f"after SendTaskFailure {blind[0]}: it had nothing to cancel",
                          hint=COMPENSATION_HINT)


@check("express", step="express", title="an EXPRESS copy run with StartSyncExecution", points=2,
       passed="travel-booking-express is EXPRESS, has no callback, and books a trip synchronously.",
       failed="The EXPRESS copy is missing, still has the callback, or does not book a trip.",
       hint="create_state_machine(name='travel-booking-express', type='EXPRESS', ...) from a copy "
            "of the definition with the approval task replaced by a Fail state.")
def check_express(sb: Any) -> None:
    machine = _machine(sb, EXPRESS)
    if machine.get("type") != "EXPRESS":
        raise CheckFailed(f"'{EXPRESS}' is {machine.get('type')}, not EXPRESS")
    definition = machine["definition"]
    if ".waitForTaskToken" in definition or ".sync" in definition:
        raise CheckFailed(f"'{EXPRESS}' still has a .waitForTaskToken task (Express "
                          "workflows support only request-response integrations: no "
                          "callbacks, no .sync)")
    trip = _trip()
    out = _sfn(sb).start_sync_execution(stateMachineArn=machine["stateMachineArn"],
                                        input=json.dumps(trip))
    if out["status"] != "SUCCEEDED":
        raise CheckFailed(f"StartSyncExecution of a trip of 400 answered {out['status']} "
                          f"({out.get('error', '')}: {str(out.get('cause', ''))[:120]})")
    reserved = {e["function"] for e in inspect.invocations(sb)
                if isinstance(e.get("event"), dict) and e["event"].get("tripId") == trip["tripId"]}
    if not {f"reserve-{i}" for i in ITEMS} <= reserved:
        raise CheckFailed(f"the Express run of a trip reserved only {_short(sorted(reserved))}")


CHECKS = declared_checks(globals())   # the @check functions above, in the order they are defined
