"""Lab 7: backpressure. A burst far above what the backend takes, absorbed by a queue and
drained by a capped consumer; graded on what the checks' own burst did.

Names the lab asks for: REST API ``orders-api`` (``POST /orders``, stage ``prod``; the
notebook builds it as lab 5 did); queue ``orders-queue`` with dead-letter queue
``orders-dlq``; function ``order-processor`` whose package holds the given ``warehouse``
module; topic ``ops-alerts`` with queue ``ops-inbox`` subscribed; alarms
``orders-age-alarm`` (age of the oldest order) and ``orders-dlq-alarm`` (DLQ depth).  The
learner records the predicted drain time as the queue's tag ``PredictedDrainSeconds``.

The scale: the warehouse takes ``WAREHOUSE_RATE`` orders a second (AWS's scenario: 1,000)
and one reservation takes ``CALL_SECONDS``, so one execution of the function reserves
2 a second and the warehouse tolerates 2 at once.  The checks' burst posts
``BURST_RATE`` orders a second for ``BURST_SECONDS`` through the API (some with quantity
0, which must end in the DLQ), on the virtual clock (:func:`eventlab.sandbox.core.load`),
then reads the warehouse's log, the queues, the alarms' history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from autograder.checks import CheckFailed, check, declared_checks
from autograder.labs import lab07_workers as W
from autograder.labs.lab05 import (
    ROLES,  # noqa: F401  (APIGATEWAY_ROLE_ARN in the notebook, as in lab 5)
    _record,
    _stage,
    check_alarm,
)
from autograder.probes import function, log_text, probe_id, queue, queue_bodies, queue_url

QUEUE = "orders-queue"
DLQ = "orders-dlq"
FUNCTION = "order-processor"
TOPIC = "ops-alerts"
AGE_ALARM = "orders-age-alarm"
DLQ_ALARM = "orders-dlq-alarm"
DRAIN_TAG = "PredictedDrainSeconds"

WAREHOUSE_RATE = 4.0          # orders a second the warehouse takes
CALL_SECONDS = 0.5            # one reservation: so one execution reserves 2 a second
MAX_AT_ONCE = int(WAREHOUSE_RATE * CALL_SECONDS)    # 2 executions at most
BURST_RATE = 20               # the checks' burst: orders a second ...
BURST_SECONDS = 30            # ... for this long
BAD_EVERY = 100               # every 100th order of the burst has quantity 0
MIN_RECEIVES = 5
AGE_LIMIT = 60                # seconds: the oldest order may wait this long
RATE_WINDOW = 10.0            # the warehouse's rate is measured over 10 s windows ...
RATE_SLACK = 1.05             # ... and may be 5 % over (a window's edges cut reservations)
DRAIN_TOLERANCE = (0.15, 10.0)   # measured drain within 15 % or 10 s of the prediction
MAX_WAIT = 7200.0             # how long the checks wait for bad orders to reach the DLQ
SAMPLE_EVERY = 10.0           # seconds between looks at the queue while it drains


def tolerance(predicted: float) -> float:
    return max(DRAIN_TOLERANCE[0] * predicted, DRAIN_TOLERANCE[1])


# -- look-ups -------------------------------------------------------------------------
def _mapping(sb: Any) -> dict[str, Any]:
    function(sb, FUNCTION)
    arn = queue(sb, QUEUE).queue_arn
    found = sb.client("lambda").list_event_source_mappings(
        FunctionName=FUNCTION, EventSourceArn=arn)["EventSourceMappings"]
    if not found:
        raise CheckFailed(f"no event source mapping connects {QUEUE} to {FUNCTION}")
    return found[0]


def _config(sb: Any) -> dict[str, Any]:
    return sb.client("lambda").get_function_configuration(FunctionName=FUNCTION)


def _reserved(sb: Any) -> int | None:
    answer = sb.client("lambda").get_function_concurrency(FunctionName=FUNCTION)
    return answer.get("ReservedConcurrentExecutions")


def reservations(sb: Any) -> dict[str, list[float]]:
    """orderId -> the virtual times the warehouse reserved it (from the function's log:
    the warehouse module prints ``reserved <orderId> at <epoch seconds>``)."""
    out: dict[str, list[float]] = {}
    for line in log_text(sb, FUNCTION).splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0] == "reserved" and parts[2] == "at":
            try:
                out.setdefault(parts[1], []).append(float(parts[3]))
            except ValueError:
                continue
    return out


def _ids_in(bodies: list[str]) -> set[str]:
    ids = set()
    for body in bodies:
        try:
            order = json.loads(body)
        except ValueError:
            continue
        if isinstance(order, dict) and isinstance(order.get("orderId"), str):
            ids.add(order["orderId"])
    return ids


def _prediction(sb: Any) -> float:
    tags = sb.client("sqs").list_queue_tags(QueueUrl=queue_url(sb, QUEUE)).get("Tags") or {}
    if DRAIN_TAG not in tags:
        raise CheckFailed(f"{QUEUE} has no tag {DRAIN_TAG} (found tags: {sorted(tags) or 'none'})")
    try:
        value = float(tags[DRAIN_TAG])
    except ValueError:
        raise CheckFailed(f"the tag {DRAIN_TAG} is {tags[DRAIN_TAG]!r}, not a number of seconds") from None
    if not value > 0:
        raise CheckFailed(f"the tag {DRAIN_TAG} is {value:g}: a drain takes a positive time")
    return value


# -- step 1: queues -------------------------------------------------------------------
@check("dlq", step="queues", title="redrive to orders-dlq after at least 5 receives", points=2,
       passed="orders-queue moves a message to orders-dlq after at least 5 receives.",
       failed="orders-queue has no redrive policy to orders-dlq, or gives up too soon.",
       hint="RedrivePolicy {'deadLetterTargetArn': dlq_arn, 'maxReceiveCount': '5'} or more: a "
            "throttled batch counts as a receive.")
def check_dlq(sb: Any) -> None:
    q, dlq = queue(sb, QUEUE), queue(sb, DLQ)
    redrive = q.redrive_policy
    if isinstance(redrive, str):
        redrive = json.loads(redrive)
    if not redrive or redrive.get("deadLetterTargetArn") != dlq.queue_arn:
        raise CheckFailed(f"{QUEUE} has no RedrivePolicy to {DLQ}")
    count = int(redrive.get("maxReceiveCount", 0))
    if count < MIN_RECEIVES:
        raise CheckFailed(f"maxReceiveCount is {count}: a batch that is throttled or times out "
                          f"a few times during a burst would send good orders to {DLQ} (AWS "
                          f"recommends at least {MIN_RECEIVES})")


# -- step 2: the consumer ---------------------------------------------------------------
@check("handler", step="consumer",
       title="the handler reserves good orders and reports the bad one", points=2,
       passed="For two good orders and one with quantity 0 the warehouse reserved the good ones and "
              "the handler reported only the bad one.",
       failed="The handler does not reserve the good orders or does not report exactly the bad one.",
       hint="For each record: parse, fail a quantity that is not positive (append {'itemIdentifier': "
            "record['messageId']}), else warehouse.reserve(order); return {'batchItemFailures': failures}.")
def check_handler(sb: Any) -> None:
    function(sb, FUNCTION)
    arn = queue(sb, QUEUE).queue_arn
    good, bad = [probe_id("probe"), probe_id("probe")], probe_id("probe")
    orders = [(good[0], 1), (bad, 0), (good[1], 3)]
    ids = {order_id: f"m-{n}" for n, (order_id, _) in enumerate(orders)}
    records = [_record(ids[o], json.dumps({"orderId": o, "sku": "SKU-42", "quantity": q}), arn)
               for o, q in orders]
    answer = sb.client("lambda").invoke(FunctionName=FUNCTION, Payload=json.dumps({"Records": records}))
    payload = answer["Payload"].read().decode()
    if answer.get("FunctionError"):
        raise CheckFailed(f"the handler raised on a batch with one bad order: {payload[:200]} (a "
                          "raise fails the whole batch: report the bad item instead)")
    try:
        reported = sorted(f["itemIdentifier"] for f in json.loads(payload)["batchItemFailures"])
    except (ValueError, KeyError, TypeError):
        raise CheckFailed(f"the handler returned {payload[:200]}, not {{'batchItemFailures': [...]}}") from None
    if reported != [ids[bad]]:
        raise CheckFailed(f"for two good orders and one with quantity 0 the handler reported "
                          f"{reported or 'no failures'}, not [{ids[bad]!r}]")
    reserved = reservations(sb)
    missing = [o for o in good if o not in reserved]
    if missing:
        raise CheckFailed(f"the warehouse did not reserve the good orders {missing}: call "
                          "warehouse.reserve(order) for each (and include warehouse.py in the package)")
    if bad in reserved:
        raise CheckFailed("the order with quantity 0 was reserved at the warehouse")


@check("mapping", step="consumer",
       title="partial batch failures, visibility and batch sized", points=2,
       passed="The mapping reports batch item failures, the visibility timeout covers 6 x the timeout + "
              "the window, and a batch fits in the timeout.",
       failed="The mapping ignores batchItemFailures, or the visibility timeout or batch is mis-sized.",
       hint="FunctionResponseTypes=['ReportBatchItemFailures']; VisibilityTimeout >= 6 x Timeout + "
            "MaximumBatchingWindowInSeconds; BatchSize x 0.5 s <= Timeout.")
def check_mapping(sb: Any) -> None:
    mapping = _mapping(sb)
    if "ReportBatchItemFailures" not in (mapping.get("FunctionResponseTypes") or []):
        raise CheckFailed("the mapping has no FunctionResponseTypes ['ReportBatchItemFailures']: "
                          "Lambda ignores the batchItemFailures, and good orders share the bad ones' fate")
    timeout = int(_config(sb).get("Timeout") or 3)
    window = int(mapping.get("MaximumBatchingWindowInSeconds") or 0)
    visibility = int(queue(sb, QUEUE).visibility_timeout)
    if visibility < 6 * timeout + window:
        raise CheckFailed(f"{QUEUE}'s visibility timeout is {visibility} s, below 6 x the function "
                          f"timeout ({timeout} s) + the batching window ({window} s) = "
                          f"{6 * timeout + window} s")
    batch = int(mapping.get("BatchSize") or 10)
    if batch * CALL_SECONDS > timeout:
        raise CheckFailed(f"a batch of {batch} orders takes {batch * CALL_SECONDS:g} s at the "
                          f"warehouse, longer than the function's timeout of {timeout} s")


def consumer_cap(sb: Any) -> tuple[int | None, int | None]:
    """(the mapping's MaximumConcurrency, the function's reserved concurrency)."""
    mapping = _mapping(sb)
    maximum = (mapping.get("ScalingConfig") or {}).get("MaximumConcurrency")
    return (int(maximum) if maximum else None), _reserved(sb)


@check("cap", step="consumer",
       title="the consumer never runs more than the warehouse takes", points=2,
       passed="At most 2 executions at once: 4 orders a second, the warehouse's rate.",
       failed="The consumer may run more executions at once than the warehouse can serve.",
       hint="ScalingConfig={'MaximumConcurrency': 2} on the mapping (and reserved concurrency 2 on the "
            "function, so no other function takes its share).")
def check_cap(sb: Any) -> None:
    maximum, reserved = consumer_cap(sb)
    caps = [c for c in (maximum, reserved) if c is not None]
    if not caps:
        raise CheckFailed("neither the mapping's ScalingConfig.MaximumConcurrency nor the "
                          "function's reserved concurrency is set: Lambda scales the pollers up "
                          "to 1,000 and the warehouse gets every order at once")
    cap = min(caps)
    if cap < 1:
        raise CheckFailed("reserved concurrency 0 throttles every invocation: nothing is processed")
    if cap > MAX_AT_ONCE:
        raise CheckFailed(f"the consumer may run {cap} at once (MaximumConcurrency {maximum}, "
                          f"reserved {reserved}); each reserves {1 / CALL_SECONDS:g} orders a "
                          f"second, so {cap / CALL_SECONDS:g}/s reach a warehouse that takes "
                          f"{WAREHOUSE_RATE:g}/s")


# -- step 3: alarms -----------------------------------------------------------------------
def _alarm(sb: Any, name: str) -> dict[str, Any]:
    found = sb.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
    if not found:
        raise CheckFailed(f"there is no metric alarm named '{name}'")
    return found[0]


def _topic_arn(sb: Any) -> str:
    for topic in sb.client("sns").list_topics()["Topics"]:
        if topic["TopicArn"].rsplit(":", 1)[-1] == TOPIC:
            return topic["TopicArn"]
    raise CheckFailed(f"there is no SNS topic named '{TOPIC}'")


@check("age-alarm", step="alarms", title="alarm on the age of the oldest order", points=2,
       passed="orders-age-alarm fires when the oldest order has waited over 60 s and tells ops-alerts "
              "when it fires and when it recovers.",
       failed="The age alarm is missing or watches the wrong metric, queue, threshold or actions.",
       hint="put_metric_alarm(AlarmName='orders-age-alarm', Namespace='AWS/SQS', MetricName="
            "'ApproximateAgeOfOldestMessage', Dimensions=[{'Name': 'QueueName', 'Value': 'orders-queue'}], "
            "Statistic='Maximum', Period=60, EvaluationPeriods=1, Threshold=60, ComparisonOperator="
            "'GreaterThanThreshold', AlarmActions=[topic_arn], OKActions=[topic_arn]).")
def check_age_alarm(sb: Any) -> None:
    alarm = _alarm(sb, AGE_ALARM)
    wrong = []
    if (alarm.get("Namespace"), alarm.get("MetricName")) != ("AWS/SQS", "ApproximateAgeOfOldestMessage"):
        wrong.append(f"it watches {alarm.get('Namespace')} {alarm.get('MetricName')}, not AWS/SQS "
                     "ApproximateAgeOfOldestMessage")
    dims = {d["Name"]: d["Value"] for d in alarm.get("Dimensions") or []}
    if dims != {"QueueName": QUEUE}:
        wrong.append(f"its dimensions are {dims} (expected QueueName = {QUEUE})")
    if alarm.get("Statistic") != "Maximum" or int(alarm.get("Period") or 0) != 60:
        wrong.append(f"it reads the {alarm.get('Statistic')} over {alarm.get('Period')} s, not the "
                     "Maximum over 60 s")
    op, threshold = alarm.get("ComparisonOperator"), float(alarm.get("Threshold", -1))
    if op not in ("GreaterThanThreshold", "GreaterThanOrEqualToThreshold") or not 0 < threshold <= AGE_LIMIT:
        wrong.append(f"{op} {threshold:g} does not fire when the oldest order has waited "
                     f"more than {AGE_LIMIT} s")
    topic = _topic_arn(sb)
    for key in ("AlarmActions", "OKActions"):
        if topic not in (alarm.get(key) or []):
            wrong.append(f"its {key} do not include {TOPIC}")
    if wrong:
        raise CheckFailed("the age alarm: " + "; ".join(wrong))


# -- step 4: the prediction ------------------------------------------------------------------
@check("dlq-alarm", step="alarms", title="alarm on orders-dlq depth -> ops-alerts", points=1,
       passed="orders-dlq-alarm fires on one message in orders-dlq and notifies ops-alerts.",
       failed="The DLQ alarm is missing or watches the wrong metric, queue, threshold or action.",
       hint="As in lab 5: ApproximateNumberOfMessagesVisible of orders-dlq, Maximum, 60 s, "
            "GreaterThanThreshold 0, AlarmActions=[topic_arn].")
def check_dlq_alarm(sb: Any) -> None:
    """Lab 5's DLQ alarm, asked again here: the same alarm on the same queue name."""
    check_alarm(sb)


@check("prediction", step="predict", title="the predicted drain time is recorded", points=1,
       passed="orders-queue carries the tag PredictedDrainSeconds.",
       failed="The prediction is not recorded on the queue.",
       hint="sqs.tag_queue(QueueUrl=queue_url, Tags={'PredictedDrainSeconds': str(PREDICTED_DRAIN_S)}).")
def check_prediction(sb: Any) -> None:
    _prediction(sb)


# -- step 5: the learner's own burst -----------------------------------------------------------
@check("rehearsal", step="burst", title="your burst drained", points=1,
       passed="Every order of your burst left the queue (reserved, or dead-lettered).",
       failed="Your burst did not run, or its orders did not all leave the queue.",
       hint="Run the burst cell after the consumer exists; then advance the clock until the queue is empty.")
def check_rehearsal(sb: Any) -> None:
    """The learner's burst ran and drained: each of its orders left the queue, reserved at
    the warehouse or dead-lettered (the outcome checks grade which, on their own burst)."""
    wanted = BURST_RATE * BURST_SECONDS
    done = {o for o in reservations(sb) if o.startswith("ord-")}
    dead = {o for o in _ids_in(queue_bodies(sb, DLQ)) if o.startswith("ord-")}
    if len(done | dead) < wanted:
        raise CheckFailed(f"{len(done)} orders of your burst (ord-...) were reserved and "
                          f"{len(dead)} dead-lettered: fewer than the {wanted} it sends")


# -- step 6: the checks' own burst --------------------------------------------------------------
@dataclass
class Outcome:
    """What the checks' burst did."""

    good: list[str] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)
    refused: int = 0                     # requests the API did not answer 2xx
    start: float = 0.0                   # virtual epoch seconds
    burst_end: float = 0.0
    drained: float | None = None         # seconds after the burst when its last good order was reserved
    reserved: dict[str, list[float]] = field(default_factory=dict)
    dlq: set[str] = field(default_factory=set)
    in_queue: set[str] = field(default_factory=set)
    age_states: list[tuple[float, str]] = field(default_factory=list)   # (s since start, state)
    dlq_states: list[tuple[float, str]] = field(default_factory=list)
    dlq_left: int = 0                    # messages in the DLQ once the check took its own out
    predicted: float | None = None
    problem: str = ""                    # why the burst could not run


def _states(sb: Any, name: str, since: float) -> list[tuple[float, str]]:
    try:
        items = sb.client("cloudwatch").describe_alarm_history(
            AlarmName=name, HistoryItemType="StateUpdate",
            StartDate=datetime.fromtimestamp(since, UTC))["AlarmHistoryItems"]
    except Exception:
        return []
    out = []
    for item in items:
        state = json.loads(item.get("HistoryData") or "{}").get("newState", {}).get("stateValue")
        if state:
            out.append((item["Timestamp"].timestamp() - since, state))
    return sorted(out)


def _waiting(sb: Any, url: str) -> int:
    """Messages in the queue, visible or in flight."""
    attributes = sb.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                      "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return sum(int(v) for v in attributes.values())


def _settled(value: Any) -> Any:
    """A configuration read without what changes as messages flow (counters, states)."""
    if isinstance(value, dict):
        value = {k: v for k, v in value.items() if not k.startswith(("Approximate", "Last", "State"))
                 and k != "ResponseMetadata"}
    if isinstance(value, list):
        value = [{k: v for k, v in a.items() if not k.startswith("State")} for a in value]
    return value


def outcome(sb: Any) -> Outcome:
    """The checks' burst, run once for the step's checks (and again after a change)."""
    return W.once_per_key(sb, "_lab07_outcome", [
        lambda: _mapping(sb), lambda: _config(sb), lambda: _reserved(sb),
        lambda: sb.client("sqs").get_queue_attributes(QueueUrl=queue_url(sb, QUEUE),
                                                       AttributeNames=["All"])["Attributes"],
        lambda: sb.client("cloudwatch").describe_alarms(AlarmNames=[AGE_ALARM, DLQ_ALARM])["MetricAlarms"],
    ], _burst, _settled)


def _burst(sb: Any) -> Outcome:
    out = Outcome()
    try:
        api_id = _stage(sb)
        _mapping(sb)
        url, dlq_url = queue_url(sb, QUEUE), queue_url(sb, DLQ)
    except CheckFailed as exc:
        out.problem = str(exc)
        return out
    try:
        out.predicted = _prediction(sb)
    except CheckFailed:
        out.predicted = None
    clock = sb.clock
    clock.advance(minutes=30)                     # earlier work finishes: a quiet queue
    clock.advance(seconds=60 - clock.time() % 60)  # start on a minute, as the metrics do
    out.start = clock.time()
    apigw = sb.service("apigateway")

    def send(i: int) -> None:
        order_id = probe_id("probe")
        quantity = 0 if i % BAD_EVERY == BAD_EVERY // 2 else 1
        (out.bad if quantity == 0 else out.good).append(order_id)
        status, _, _ = apigw.invoke(api_id, "prod", "POST", "/orders",
                                    headers={"Content-Type": "application/json"},
                                    body=json.dumps({"orderId": order_id, "sku": "SKU-42",
                                                     "quantity": quantity}))
        if not 200 <= status < 300:
            out.refused += 1

    sb.load(rate=BURST_RATE, seconds=BURST_SECONDS, send=send, drain=False, progress=False)
    out.burst_end = clock.time()
    good = set(out.good)
    while True:
        reserved = reservations(sb)
        if good <= set(reserved) or not _waiting(sb, url) or clock.time() - out.burst_end > MAX_WAIT:
            break
        clock.advance(seconds=SAMPLE_EVERY)
    if good <= set(reserved):     # drained: the last good order reached the warehouse
        out.drained = max(min(reserved[o]) for o in good) - out.burst_end
    bad = set(out.bad)
    while clock.time() - out.burst_end < MAX_WAIT and not bad <= _ids_in(queue_bodies(sb, DLQ)):
        clock.advance(minutes=1)
    clock.advance(minutes=3)                      # the alarms see the last minutes
    out.reserved = {o: t for o, t in reservations(sb).items() if o.startswith("probe-")}
    out.dlq = _ids_in(queue_bodies(sb, DLQ))
    out.in_queue = _ids_in(queue_bodies(sb, QUEUE))
    # the probes' dead letters leave the DLQ (an operator dealt with them): its alarm recovers
    sqs = sb.client("sqs")
    for _ in range(50):
        messages = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10,
                                       VisibilityTimeout=30).get("Messages", [])
        if not messages:
            break
        for m in messages:
            if m["Body"] and any(o in m["Body"] for o in bad):
                sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=m["ReceiptHandle"])
            else:
                sqs.change_message_visibility(QueueUrl=dlq_url, ReceiptHandle=m["ReceiptHandle"],
                                              VisibilityTimeout=0)
        if not bad & _ids_in(queue_bodies(sb, DLQ)):
            break
    out.dlq_left = len(queue_bodies(sb, DLQ))
    clock.advance(minutes=3)
    out.age_states = _states(sb, AGE_ALARM, out.start)
    out.dlq_states = _states(sb, DLQ_ALARM, out.start)
    return out


def _ran(sb: Any) -> Outcome:
    out = outcome(sb)
    if out.problem:
        raise CheckFailed(f"the checks' burst could not run: {out.problem}")
    return out


@check("no-loss", step="outcomes", title="no order of the checks' burst lost", points=2,
       passed="Every good order of the checks' burst reached the warehouse.",
       failed="Good orders of the checks' burst never reached the warehouse.",
       hint="Partial batch failures, a visibility timeout that covers the function, and a consumer "
            "that is capped without being throttled.")
def check_no_loss(sb: Any) -> None:
    out = _ran(sb)
    if out.refused:
        raise CheckFailed(f"the API refused {out.refused} of the burst's {len(out.good) + len(out.bad)} orders")
    lost = [o for o in out.good if o not in out.reserved]
    if lost:
        where = (f"{len(set(lost) & out.dlq)} in {DLQ}, {len(set(lost) & out.in_queue)} still in "
                 f"{QUEUE}, {len(set(lost) - out.dlq - out.in_queue)} gone")
        raise CheckFailed(f"{len(lost)} of the burst's {len(out.good)} good orders never reached "
                          f"the warehouse ({where})")


def peak_rate(times: list[float], window: float = RATE_WINDOW) -> tuple[int, float]:
    """(the most reservations in any ``window`` seconds, when that window began)."""
    times = sorted(times)
    best, at, j = 0, times[0] if times else 0.0, 0
    for i, t in enumerate(times):
        while times[j] <= t - window:
            j += 1
        if i - j + 1 > best:
            best, at = i - j + 1, times[j]
    return best, at


@check("backend-rate", step="outcomes",
       title="the warehouse never over 4 orders a second", points=2,
       passed="In every 10 s of the burst the warehouse got at most 4 orders a second.",
       failed="The warehouse got more than it takes.",
       hint="Cap the consumer: MaximumConcurrency (or reserved concurrency) x 2 orders a second per "
            "execution <= 4.")
def check_backend_rate(sb: Any) -> None:
    out = _ran(sb)
    times = [t for ts in out.reserved.values() for t in ts]
    if not times:
        raise CheckFailed("the warehouse reserved none of the burst's orders")
    peak, at = peak_rate(times)
    allowed = WAREHOUSE_RATE * RATE_WINDOW * RATE_SLACK
    if peak > allowed:
        raise CheckFailed(f"the warehouse got {peak} orders in the {RATE_WINDOW:g} s from "
                          f"{at - out.start:.0f} s into the burst ({peak / RATE_WINDOW:g}/s); it "
                          f"takes {WAREHOUSE_RATE:g}/s")


@check("drain", step="outcomes",
       title="drained within the predicted time (+/- 15 % or 10 s)", points=2,
       passed="The backlog drained within 15 % (or 10 s) of your prediction.",
       failed="The backlog did not drain when you predicted.",
       hint="Backlog at the burst's end = (arrival rate - drain rate) x burst length; drain time = "
            "backlog / drain rate, with the drain rate = executions x 2 orders a second.")
def check_drain(sb: Any) -> None:
    out = _ran(sb)
    if out.predicted is None:
        raise CheckFailed(f"there is no prediction to compare with ({QUEUE}'s tag {DRAIN_TAG})")
    if out.drained is None:
        lost = [o for o in out.good if o not in out.reserved]
        raise CheckFailed(f"the backlog never drained: {len(lost)} good orders of the burst never "
                          "reached the warehouse")
    slack = tolerance(out.predicted)
    if abs(out.drained - out.predicted) > slack:
        raise CheckFailed(f"the backlog drained {out.drained:.0f} s after the burst ended; you "
                          f"predicted {out.predicted:g} s (allowed: +/- {slack:.0f} s)")


def _changes(states: list[tuple[float, str]]) -> str:
    return ", ".join(f"{state} at {t:.0f} s" for t, state in states) or "none"


@check("alarms-fired", step="outcomes",
       title="the alarms fired during the burst and recovered", points=2,
       passed="orders-age-alarm went to ALARM while the backlog was there and back to OK after it; "
              "orders-dlq-alarm fired for the bad orders and recovered when the DLQ was emptied.",
       failed="An alarm did not fire during the burst, or did not recover.",
       hint="Age alarm: Maximum of ApproximateAgeOfOldestMessage > 60 over 60 s; DLQ alarm: "
            "ApproximateNumberOfMessagesVisible of orders-dlq > 0; both with one evaluation period.")
def check_alarms_fired(sb: Any) -> None:
    out = _ran(sb)
    if out.drained is None:           # never drained: any ALARM was during the backlog
        drained = float("inf")
    else:
        drained = (out.burst_end - out.start) + out.drained
    fired = [t for t, s in out.age_states if s == "ALARM" and t <= drained + 60]
    problems = []
    if not fired:
        problems.append(f"{AGE_ALARM} did not go to ALARM while the backlog was there (by a "
                        f"minute after it drained, {drained:.0f} s after the burst began); its "
                        f"changes since then: {_changes(out.age_states)}")
    elif not any(s == "OK" for t, s in out.age_states if t > fired[0]):
        problems.append(f"{AGE_ALARM} did not go back to OK after the backlog drained")
    dlq_fired = [t for t, s in out.dlq_states if s == "ALARM"]
    if not dlq_fired:
        problems.append(f"{DLQ_ALARM} never went to ALARM when the bad orders reached {DLQ}")
    elif not any(s == "OK" for t, s in out.dlq_states if t > dlq_fired[0]):
        problems.append(f"{DLQ_ALARM} did not go back to OK after the check took its bad orders "
                        f"out of {DLQ} ({out.dlq_left} other messages are still there)")
    if problems:
        raise CheckFailed("; ".join(problems))


@check("dlq-clean", step="outcomes", title="only the bad orders in the DLQ", points=2,
       passed="The orders with quantity 0 reached orders-dlq, and no good order did.",
       failed="Good orders ended in orders-dlq, or bad ones did not.",
       hint="maxReceiveCount >= 5, MaximumConcurrency instead of throttling, and ReportBatchItemFailures.")
def check_dlq_clean(sb: Any) -> None:
    out = _ran(sb)
    good_dead = [o for o in out.good if o in out.dlq]
    if good_dead:
        raise CheckFailed(f"{len(good_dead)} good orders of the burst are in {DLQ} (batches that were "
                          "throttled, timed out or failed as a whole came back too often)")
    missing = [o for o in out.bad if o not in out.dlq]
    if missing:
        raise CheckFailed(f"{len(missing)} of the {len(out.bad)} orders with quantity 0 did not reach {DLQ}")


# -- step 7: workers scaled on the backlog per task (autograder/labs/lab07_workers.py) ----------
@check("scalable-target", step="workers",
       title="the workers are a scalable target within the warehouse's rate", points=2,
       passed="order-workers scales between at least 1 task and no more than the warehouse takes.",
       failed="order-workers is not registered, may scale to zero, or may scale past the warehouse's rate.",
       hint="register_scalable_target(ServiceNamespace='ecs', ResourceId='service/orders/order-workers', "
            "ScalableDimension='ecs:service:DesiredCount', MinCapacity=1, MaxCapacity=WAREHOUSE_RATE / "
            "WORKER_RATE).")
def check_scalable_target(sb: Any) -> None:
    target = W.scalable_target(sb)
    low, high = int(target.get("MinCapacity") or 0), int(target.get("MaxCapacity") or 0)
    if low < 1:
        raise CheckFailed(f"MinCapacity is {low}: with no task running, nothing takes the first "
                          "orders and a backlog per task has no task to divide by; keep at least 1")
    if high * W.WORKER_RATE > WAREHOUSE_RATE:
        raise CheckFailed(f"MaxCapacity {high} x {W.WORKER_RATE:g} orders a second per task = "
                          f"{high * W.WORKER_RATE:g}/s, more than the warehouse's {WAREHOUSE_RATE:g}/s: "
                          "the cap still applies, as the maximum number of tasks")
    if high <= low:
        raise CheckFailed(f"MaxCapacity {high} leaves no room above MinCapacity {low} to scale out")


@check("backlog-policy", step="workers",
       title="target tracking on the backlog per task, at the acceptable backlog", points=2,
       passed="The policy tracks the workers' BacklogPerTask metric with a target no higher than one "
              "task's rate x the acceptable latency.",
       failed="The policy tracks another metric, or its target is too high to keep orders within a minute.",
       hint="TargetTrackingScaling with CustomizedMetricSpecification = the BacklogPerTask metric the "
            "workers publish, TargetValue = WORKER_RATE x ACCEPTABLE_LATENCY (30).")
def check_backlog_policy(sb: Any) -> None:
    policies = W.tracking_policies(sb)
    workers = W.workers_of(sb)
    wanted = ((workers.backlog_metric or {}).get("Namespace"), (workers.backlog_metric or {}).get("MetricName"))
    mine = [p for p in policies if W.tracked_metric(p) == wanted]
    if not mine:
        seen = ", ".join("/".join(W.tracked_metric(p)) for p in policies)
        raise CheckFailed(f"the target-tracking policy follows {seen}, not the backlog per task "
                          f"({'/'.join(map(str, wanted))}): a total queue depth does not fall as tasks "
                          "are added, so it cannot say how many tasks the backlog needs")
    limit = W.acceptable_backlog()
    for policy in mine:
        value = float(policy["TargetTrackingScalingPolicyConfiguration"]["TargetValue"])
        if not 0 < value <= limit:
            raise CheckFailed(f"the target value is {value:g} orders a task; a task takes "
                              f"{W.WORKER_RATE:g} a second, so within {W.ACCEPTABLE_LATENCY} s it takes "
                              f"{limit:g}: the acceptable backlog per task")


@check("scaled-out-in", step="scaling", title="tasks scaled out for the burst and back in after", points=2,
       passed="During the checks' burst the workers scaled out, and back to their minimum once it was gone.",
       failed="The workers did not scale out for the checks' burst, or did not scale back in.",
       hint="Target tracking with scale-in enabled (no DisableScaleIn) and a target the burst exceeds.")
def check_scaled_out_in(sb: Any) -> None:
    out = W.ran(sb)
    counts = [n for _, n in out.tasks]
    if max(counts) <= counts[0]:
        raise CheckFailed(f"the workers stayed at {counts[0]} task(s) through a burst of {out.orders} "
                          f"orders (tasks: {W.describe_tasks(out)})")
    if counts[-1] != out.minimum:
        raise CheckFailed(f"{W.WATCH_MINUTES} minutes after the burst began the workers were still "
                          f"{counts[-1]} tasks, not back at MinCapacity {out.minimum} (tasks: "
                          f"{W.describe_tasks(out)})")


@check("workers-ready", step="scaling", title="a worker took orders as the burst began", points=1,
       passed="A task was running when the checks' burst began and took its first orders at once.",
       failed="No task took an order in the burst's first seconds.",
       hint="MinCapacity 1: a service scaled in to zero waits for three minutes of alarm before the first order.")
def check_workers_ready(sb: Any) -> None:
    out = W.ran(sb)
    early = max((n for t, n in out.taken if t <= W.FIRST_SECONDS), default=0)
    if not early:
        raise CheckFailed(f"no order was taken in the burst's first {W.FIRST_SECONDS} s: the service "
                          f"had {out.tasks[0][1]} tasks running when it began")


@check("workers-drain", step="scaling", title="every order taken within 10 minutes", points=2,
       passed="The workers took every order of the checks' burst within 10 minutes of its end.",
       failed="Orders of the checks' burst waited more than 10 minutes, or were never taken.",
       hint="Scale on the backlog per task with a target the burst exceeds, so tasks are added while it lasts.")
def check_workers_drain(sb: Any) -> None:
    out = W.ran(sb)
    taken = out.taken[-1][1]
    if taken < out.orders:
        raise CheckFailed(f"the workers took {taken} of the burst's {out.orders} orders")
    if out.drained is None or out.drained > W.DRAIN_LIMIT:
        when = "never" if out.drained is None else f"{out.drained:.0f} s after the burst ended"
        raise CheckFailed(f"the queue was empty {when}, not within "
                          f"{W.DRAIN_LIMIT:.0f} s (tasks: {W.describe_tasks(out)})")


@check("workers-rate", step="scaling", title="the workers never over the warehouse's rate", points=1,
       passed="Scaled out, the workers took at most 4 orders a second.",
       failed="Scaled out, the workers took more than the warehouse's 4 orders a second.",
       hint="MaxCapacity x WORKER_RATE <= WAREHOUSE_RATE: the cap moves from concurrency to the task count.")
def check_workers_rate(sb: Any) -> None:
    out = W.ran(sb)
    peak = out.peak_rate(RATE_WINDOW)
    if peak > WAREHOUSE_RATE * RATE_SLACK:
        raise CheckFailed(f"the workers took {peak:g} orders a second at their peak (tasks: "
                          f"{W.describe_tasks(out)}); the warehouse takes {WAREHOUSE_RATE:g}/s")


CHECKS = declared_checks(globals())   # the @check functions above, in the order they are defined
