"""Lab 3: EventBridge routing for an e-commerce order service.

Names the lab asks for: bus ``orders``; source ``com.shop.orders``; functions
``inventory``, ``payment``, ``shipping``, ``notification``; rules ``reserve-inventory``,
``take-payment``, ``ship-order``, ``notify-customer``; queue ``payment-dlq``; archive
``orders-archive``; queue ``storefront-orders`` piped onto the bus by the pipe
``storefront-orders`` (autograder/labs/lab03_pipe.py).  Probes put their own events (ids
``ord-probe-...``) on the bus, or their own raw messages on the storefront's queue.
"""

from __future__ import annotations

import json
from typing import Any

from autograder.checks import CheckFailed, check, declared_checks
from autograder.labs import lab03_pipe as P
from autograder.probes import function, last_error, probe_id, queue
from eventlab.sandbox import inspect
from eventlab.sandbox.events.input import epoch, iso_time

BUS = "orders"
SOURCE = "com.shop.orders"
RULES = {"reserve-inventory": "inventory", "take-payment": "payment",
         "ship-order": "shipping", "notify-customer": "notification"}
DLQ = "payment-dlq"
ARCHIVE = "orders-archive"


def _bus(sb: Any) -> inspect.Bus:
    bus = inspect.bus(sb, BUS)
    if bus is None:
        raise CheckFailed(f"there is no event bus named '{BUS}'")
    return bus


def _rule(sb: Any, name: str) -> inspect.Rule:
    rule = _bus(sb).rules.get(name)
    if rule is None:
        raise CheckFailed(f"there is no rule '{name}' on the bus '{BUS}'")
    return rule


def _target(sb: Any, rule_name: str) -> dict[str, Any]:
    fn = function(sb, RULES[rule_name])
    for target in _rule(sb, rule_name).targets:
        if target["Arn"].split(":")[:7] == fn.function_arn.split(":")[:7]:
            return target
    raise CheckFailed(f"the rule '{rule_name}' does not target the function '{RULES[rule_name]}'")


@check("bus", step="bus", title="custom event bus 'orders'", points=1,
       passed="The custom bus 'orders' exists.",
       failed="The custom bus 'orders' is missing.",
       hint="events.create_event_bus(Name='orders').")
def check_bus(sb: Any) -> None:
    _bus(sb)


@check("rules", step="rules", title="four rules, each targeting its function", points=2,
       passed="Each rule on 'orders' targets its Lambda function.",
       failed="A rule is missing or does not target its function.",
       hint="put_rule(Name=..., EventBusName='orders', EventPattern=json.dumps(...)) then "
            "put_targets(Rule=..., EventBusName='orders', Targets=[{'Id': ..., 'Arn': function_arn}]).")
def check_rules(sb: Any) -> None:
    wrong = []
    for rule in RULES:
        try:
            _target(sb, rule)
        except CheckFailed as exc:
            wrong.append(str(exc))
    if wrong:
        raise CheckFailed("; ".join(wrong))


def _order(order_id: str, **detail: Any) -> dict[str, Any]:
    base = {"orderId": order_id, "total": 59.9, "currency": "EUR", "fulfillment": "physical",
            "customer": {"id": "c-1", "email": "ana@example.com"}}
    base.update(detail)
    return base


def _put(sb: Any, detail_type: str, detail: dict[str, Any], source: str = SOURCE) -> None:
    response = sb.client("events").put_events(Entries=[{
        "EventBusName": BUS, "Source": source, "DetailType": detail_type,
        "Detail": json.dumps(detail)}])
    if response.get("FailedEntryCount"):
        raise CheckFailed(f"PutEvents failed: {response['Entries']}")
    sb.settle()


def received(sb: Any, fn_name: str, order_id: str) -> list[dict[str, Any]]:
    """Events (as the handler got them) that carry ``order_id``, from successful runs."""
    out = []
    for entry in inspect.invocations(sb):
        event = entry.get("event")
        if entry["function"] != fn_name or not entry.get("ok") or not isinstance(event, dict):
            continue
        ids = {event.get("orderId"), (event.get("detail") or {}).get("orderId")
               if isinstance(event.get("detail"), dict) else None}
        if order_id in ids:
            out.append(event)
    return out


def _expect(sb: Any, rule: str, cases: list[tuple[str, str, dict[str, Any], bool]]) -> None:
    _target(sb, rule)
    fn = RULES[rule]
    wrong = []
    for label, detail_type, detail, should in cases:
        _put(sb, detail_type, detail)
        got = bool(received(sb, fn, detail["orderId"]))
        if got != should:
            wrong.append(f"{label} {'did not reach' if should else 'reached'} {fn}")
    if wrong:
        raise CheckFailed("; ".join(wrong))


def pid(prefix: str = "ord") -> str:
    return probe_id(prefix)


@check("inventory-pattern", step="rules",
       title="reserve-inventory: OrderPlaced, orderId prefix 'ord-'", points=1,
       passed="Probes: only OrderPlaced events with real order ids reached inventory.",
       failed="The reserve-inventory rule matches too much or too little.",
       hint="detail-type ['OrderPlaced'] and detail {'orderId': [{'prefix': 'ord-'}]}: test orders "
            "(test-...) must not reserve stock.")
def check_inventory(sb: Any) -> None:
    _expect(sb, "reserve-inventory", [
        ("an OrderPlaced with id ord-...", "OrderPlaced", _order(pid("ord")), True),
        ("an OrderPlaced with id test-...", "OrderPlaced", _order(pid("test")), False),
        ("an OrderConfirmed", "OrderConfirmed", _order(pid("ord")), False),
    ])


@check("payment-pattern", step="rules", title="take-payment: OrderPlaced with total > 0", points=1,
       passed="Probes: paid orders reached payment; free ones did not.",
       failed="The take-payment rule matches too much or too little.",
       hint="A numeric matcher: detail {'total': [{'numeric': ['>', 0]}]} on OrderPlaced.")
def check_payment(sb: Any) -> None:
    _expect(sb, "take-payment", [
        ("an OrderPlaced of 25.00", "OrderPlaced", _order(pid(), total=25.0), True),
        ("an OrderPlaced of 0 (free)", "OrderPlaced", _order(pid(), total=0), False),
        ("an OrderConfirmed of 25.00", "OrderConfirmed", _order(pid(), total=25.0), False),
    ])


@check("shipping-pattern", step="rules", title="ship-order: OrderConfirmed, not digital", points=1,
       passed="Probes: confirmed physical and pickup orders reached shipping; digital ones did not.",
       failed="The ship-order rule matches too much or too little.",
       hint="anything-but: detail {'fulfillment': [{'anything-but': ['digital']}]} on OrderConfirmed "
            "(a list of allowed values would miss new kinds such as 'pickup').")
def check_shipping(sb: Any) -> None:
    _expect(sb, "ship-order", [
        ("a physical OrderConfirmed", "OrderConfirmed", _order(pid()), True),
        ("a digital OrderConfirmed", "OrderConfirmed", _order(pid(), fulfillment="digital"), False),
        ("an OrderConfirmed marked 'pickup'", "OrderConfirmed", _order(pid(), fulfillment="pickup"), True),
        ("a physical OrderPlaced", "OrderPlaced", _order(pid()), False),
    ])


@check("notify-pattern", step="rules",
       title="notify-customer: OrderConfirmed with an email", points=1,
       passed="Probes: only confirmed orders with customer.email reached notification.",
       failed="The notify-customer rule matches too much or too little.",
       hint="exists: detail {'customer': {'email': [{'exists': True}]}} on OrderConfirmed.")
def check_notify(sb: Any) -> None:
    no_email = _order(pid())
    no_email["customer"] = {"id": "c-2"}
    _expect(sb, "notify-customer", [
        ("an OrderConfirmed with customer.email", "OrderConfirmed", _order(pid()), True),
        ("an OrderConfirmed without customer.email", "OrderConfirmed", no_email, False),
    ])


@check("source-only", step="rules", title="rules match only the order service", points=1,
       passed="Events from another source reached no function.",
       failed="A rule matches events from sources other than com.shop.orders.",
       hint="Every pattern starts with 'source': ['com.shop.orders'].", hidden=True)
def check_source(sb: Any) -> None:
    for rule in RULES:
        _target(sb, rule)
    order = pid()
    for detail_type in ("OrderPlaced", "OrderConfirmed"):
        _put(sb, detail_type, _order(order), source="com.shop.test-harness")
    reached = [fn for fn in RULES.values() if received(sb, fn, order)]
    if reached:
        raise CheckFailed("events from another source (com.shop.test-harness) reached "
                          + ", ".join(reached))


@check("transformer", step="transform", title="input transformer for notifications", points=2,
       passed="notification got {to, subject, orderId} built by the input transformer.",
       failed="The notification target does not receive the transformed input.",
       hint="InputTransformer={'InputPathsMap': {'order': '$.detail.orderId', 'email': "
            "'$.detail.customer.email'}, 'InputTemplate': '{\"to\": <email>, \"subject\": \"Order "
            "<order> confirmed\", \"orderId\": <order>}'}.")
def check_transformer(sb: Any) -> None:
    target = _target(sb, "notify-customer")
    if not target.get("InputTransformer"):
        raise CheckFailed("the notification target has no InputTransformer")
    order = pid()
    _put(sb, "OrderConfirmed", _order(order, customer={"id": "c-9", "email": "bo@example.com"}))
    got = received(sb, "notification", order)
    expected = {"to": "bo@example.com", "subject": f"Order {order} confirmed", "orderId": order}
    if not got:
        raise CheckFailed("the notification function received nothing for a confirmed order")
    if got[-1] != expected:
        raise CheckFailed(f"notification received {json.dumps(got[-1])[:200]} where "
                          f"{json.dumps(expected)} was expected")


@check("dlq-config", step="dlq", title="payment target: DLQ and retry policy", points=2,
       passed="The payment target retries for at most an hour, then dead-letters to payment-dlq.",
       failed="The payment target lacks its dead-letter queue or a bounded retry policy.",
       hint="In put_targets: 'DeadLetterConfig': {'Arn': dlq_arn}, 'RetryPolicy': "
            "{'MaximumRetryAttempts': 2, 'MaximumEventAgeInSeconds': 3600}.")
def check_dlq_config(sb: Any) -> None:
    target = _target(sb, "take-payment")
    dlq = queue(sb, DLQ)
    if (target.get("DeadLetterConfig") or {}).get("Arn") != dlq.queue_arn:
        raise CheckFailed(f"the payment target has no DeadLetterConfig pointing to {DLQ}")
    retry = target.get("RetryPolicy") or {}
    attempts = retry.get("MaximumRetryAttempts")
    age = retry.get("MaximumEventAgeInSeconds")
    if attempts is None or not 0 <= int(attempts) <= 10:
        raise CheckFailed(f"RetryPolicy.MaximumRetryAttempts is {attempts} (expected 0-10)")
    if age is None or not 60 <= int(age) <= 3600:
        raise CheckFailed(f"RetryPolicy.MaximumEventAgeInSeconds is {age} (expected 60-3600)")


@check("dlq-probe", step="dlq", title="a failing payment target dead-letters the event", points=2,
       passed="With payment failing, the event ended in payment-dlq with ERROR_CODE.",
       failed="An event the payment target kept failing on did not reach payment-dlq.",
       hint="Give the payment target DeadLetterConfig (an SQS queue) and a RetryPolicy.")
def check_dlq_probe(sb: Any) -> None:
    target = _target(sb, "take-payment")
    queue(sb, DLQ)
    service = sb.service("events-targets")
    order = pid()
    service.inject_failure(target["Arn"], code="THROTTLING")
    try:
        _put(sb, "OrderPlaced", _order(order, total=10.0))
        sb.clock.advance(hours=2)
    finally:
        service.clear_failure(target["Arn"])
    found = [m for m in inspect.messages(sb, DLQ) if order in m.body]
    if not found:
        raise CheckFailed(f"an OrderPlaced that the payment target kept failing on is not in "
                          f"{DLQ} after two hours")
    attrs = found[0].message_attributes or {}
    if "ERROR_CODE" not in attrs:
        raise CheckFailed("the dead-lettered event has no ERROR_CODE attribute")


def _archive(sb: Any) -> inspect.Archive:
    archive = inspect.archive(sb, ARCHIVE)
    if archive is None:
        raise CheckFailed(f"there is no archive named '{ARCHIVE}'")
    return archive


@check("archive", step="archive", title="archive orders-archive on the bus", points=1,
       passed="orders-archive keeps the bus's events for a limited time.",
       failed="The archive is missing, on another bus or without retention.",
       hint="create_archive(ArchiveName='orders-archive', EventSourceArn=bus_arn, "
            "EventPattern=json.dumps({'source': ['com.shop.orders']}), RetentionDays=30) before "
            "putting events.")
def check_archive(sb: Any) -> None:
    archive = _archive(sb)
    if archive.source_arn != _bus(sb).arn:
        raise CheckFailed(f"{ARCHIVE} archives {archive.source_arn}, not the bus '{BUS}'")
    if not int(archive.retention or 0) > 0:
        raise CheckFailed(f"{ARCHIVE} keeps events forever (RetentionDays 0): set a retention")


@check("replay", step="replay", title="a completed replay to the bus", points=1,
       passed="A replay of orders-archive into 'orders' completed over a window that holds its events.",
       failed="The archive holds no events, or no replay of its events into the bus completed.",
       hint="start_replay(ReplayName=..., EventSourceArn=archive_arn, EventStartTime=LAB_START, "
            "EventEndTime=sb.clock.now(), Destination={'Arn': bus_arn}).")
def check_replay(sb: Any) -> None:
    archive = _archive(sb)
    if not archive.events:
        raise CheckFailed(f"{ARCHIVE} holds no events: was it created before the events were put?")
    replays = [r for r in inspect.replays(sb) if r.source_arn == archive.arn]
    if not replays:
        raise CheckFailed(f"no replay of {ARCHIVE} was started")
    done = [r for r in replays if r.state == "COMPLETED"]
    if not done:
        raise CheckFailed(f"the replay of {ARCHIVE} is {replays[-1].state}, not COMPLETED")
    if done[-1].destination.get("Arn") != _bus(sb).arn:
        raise CheckFailed(f"the replay's destination is {done[-1].destination}, not the bus '{BUS}'")
    times = [epoch(e.get("time")) for e in archive.events]
    covering = [r for r in done
                if any(epoch(r.event_start_time) <= t <= epoch(r.event_end_time) for t in times)]
    if not covering:
        r = done[-1]
        raise CheckFailed(
            f"the replay {r.name} covered {iso_time(epoch(r.event_start_time))} to "
            f"{iso_time(epoch(r.event_end_time))}, which holds none of the {len(times)} archived "
            f"events ({iso_time(min(times))} to {iso_time(max(times))}), so it replayed nothing",
            hint="Start a new replay (a new ReplayName) with EventStartTime=LAB_START (when the "
                 "lab started) and EventEndTime=sb.clock.now(): the sandbox's clock is ahead of "
                 "your computer's, so datetime.now() is not 'now' here.")


# -- step 7: the storefront's queue piped onto the bus (autograder/labs/lab03_pipe.py) ----------
@check("pipe", step="pipe", title="pipe storefront-orders: RUNNING, from the queue to the bus", points=1,
       passed="The pipe storefront-orders is RUNNING from the queue storefront-orders to the bus 'orders'.",
       failed="The pipe is missing, not running, or does not read the storefront's queue into the bus.",
       hint="pipes.create_pipe(Name='storefront-orders', RoleArn=..., Source=queue_arn, Target=bus_arn, "
            "...) (Source and Target are ARNs); it is CREATING for a moment: sb.clock.advance(seconds=5).")
def check_pipe(sb: Any) -> None:
    P.running(sb, _bus(sb).arn)


@check("pipe-role", step="pipe", title="the pipe's role: trusted by Pipes, may read the queue and put events",
       points=1,
       passed="pipes.amazonaws.com may assume the pipe's role, which may read and delete from the queue, "
              "invoke the enrichment and put events on the bus.",
       failed="The pipe's execution role cannot do all the pipe does.",
       hint="A role trusted by pipes.amazonaws.com, allowed sqs:ReceiveMessage, sqs:DeleteMessage and "
            "sqs:GetQueueAttributes on the queue, lambda:InvokeFunction on customer-lookup and "
            "events:PutEvents on the bus.")
def check_pipe_role(sb: Any) -> None:
    problems = P.role_problems(sb, P.pipe(sb))
    if problems:
        raise CheckFailed("; ".join(problems))


@check("pipe-filter", step="pipe", title="the pipe's filter keeps PLACED orders and consumes the rest",
       points=1,
       passed="Probes: a PLACED message went on; a DRAFT and a CANCELLED one were dropped before the "
              "enrichment and deleted from the queue.",
       failed="The pipe's filter lets other orders through, or keeps PLACED ones out.",
       hint="SourceParameters={'FilterCriteria': {'Filters': [{'Pattern': json.dumps({'body': {'status': "
            "['PLACED']}})}]}}: an SQS message's JSON is under 'body'.")
def check_pipe_filter(sb: Any) -> None:
    p = P.running(sb, _bus(sb).arn)
    placed, draft, cancelled = pid(), pid(), pid()
    P.send(sb, [P.raw(placed, "PLACED", "c-1"), P.raw(draft, "DRAFT", None),
                P.raw(cancelled, "CANCELLED", "c-2")])
    try:
        P.run(sb, p)
        lookup = P.enrichment_function(p)
        wrong = []
        for label, order in (("a DRAFT", draft), ("a CANCELLED", cancelled)):
            reached: list[str] = [lookup] if lookup and P.saw(sb, lookup, order) else []
            reached += [fn for fn in ("inventory", "payment") if received(sb, fn, order)]
            if reached:
                error = last_error(sb, lookup, order) if lookup in reached else None
                wrong.append(f"{label} message reached {', '.join(reached)}"
                             + (f" (which failed: {error})" if error else ""))
            if P.in_queue(sb, order):
                wrong.append(f"{label} message is still in {P.QUEUE}")
        if not (P.saw(sb, lookup, placed) or received(sb, "inventory", placed)):
            wrong.append("a PLACED message did not get past the filter" + P.filter_note(p))
        if wrong:
            raise CheckFailed("; ".join(wrong))
    finally:
        P.discard(sb, [placed, draft, cancelled])


@check("pipe-enrich", step="pipe", title="the enrichment adds the customer's email and tier", points=1,
       passed="Probes: PLACED orders reached inventory with the customer's id, email and tier.",
       failed="The events the pipe puts on the bus lack the customer the enrichment should add.",
       hint="Enrichment=customer-lookup's ARN: it gets the batch (SQS records) and returns one order per "
            "record, the body's fields with 'customer': {'id', 'email', 'tier'} from CUSTOMERS.")
def check_pipe_enrich(sb: Any) -> None:
    p = P.running(sb, _bus(sb).arn)
    if not p.enrichment:
        raise CheckFailed(f"the pipe {P.PIPE} has no Enrichment")
    orders = {pid(): "c-1", pid(): "c-2"}
    try:
        for order, customer in orders.items():   # one at a time: pipe-flow probes whole batches
            P.send(sb, [P.raw(order, "PLACED", customer)])
            P.run(sb, p)
            got = received(sb, "inventory", order)
            if not got:
                raise CheckFailed(f"a PLACED order of {customer} did not reach inventory: "
                                  + P.why_missing(sb, p, order))
            found = (got[-1].get("detail") or {}).get("customer")
            want = {"id": customer, **P.CUSTOMERS[customer]}
            if not isinstance(found, dict) or any(found.get(k) != v for k, v in want.items()):
                raise CheckFailed(f"the event of a PLACED order of {customer} reached inventory with "
                                  f"customer {json.dumps(found)}, not {json.dumps(want)}")
    finally:
        P.discard(sb, list(orders))


@check("pipe-flow", step="pipe", title="storefront orders reach inventory and payment through the bus",
       points=2,
       passed="Probes: three PLACED orders sent together each reached inventory and payment as OrderPlaced "
              "from com.shop.orders, and left the queue.",
       failed="PLACED orders from the storefront's queue do not all reach the teams through the bus.",
       hint="TargetParameters={'EventBridgeEventBusParameters': {'Source': 'com.shop.orders', 'DetailType': "
            "'OrderPlaced'}}; the enrichment returns one order (the fields at the top) for each record.")
def check_pipe_flow(sb: Any) -> None:
    p = P.running(sb, _bus(sb).arn)
    orders = {pid(): total for total in (12.5, 80.0, 230.0)}
    P.send(sb, [P.raw(order, "PLACED", "c-3", total=total) for order, total in orders.items()])
    try:
        P.run(sb, p)
        short: dict[tuple[int, str], list[str]] = {}   # (how many arrived, why not all) -> functions
        for fn in ("inventory", "payment"):
            missing = [order for order in orders if not received(sb, fn, order)]
            if missing:
                arrived = len(orders) - len(missing)
                why = ("the enrichment must return one order for each record of the batch" if arrived
                       else P.why_missing(sb, p, missing[0]))
                short.setdefault((arrived, why), []).append(fn)
        if short:
            raise CheckFailed("; ".join(f"{arrived} of {len(orders)} PLACED orders sent together reached "
                                        f"{' and '.join(fns)}: {why}" for (arrived, why), fns in short.items()))
        for order, total in orders.items():
            event = received(sb, "payment", order)[-1]
            detail = event.get("detail") or {}
            if (event.get("source"), event.get("detail-type")) != (P.EVENT_SOURCE, P.DETAIL_TYPE) \
                    or detail.get("total") != total:
                raise CheckFailed(f"payment received {json.dumps(event)[:200]} for an order of {total}")
        left = [order for order in orders if P.in_queue(sb, order)]
        if left:
            raise CheckFailed(f"{len(left)} delivered orders are still in {P.QUEUE}")
    finally:
        P.discard(sb, list(orders))


CHECKS = declared_checks(globals())   # the @check functions above, in the order they are defined
