"""Lab 3's last step: an EventBridge pipe from the storefront's queue onto the bus.

The storefront writes every change of an order (``DRAFT``, ``PLACED``, ``CANCELLED``...) to
the SQS queue ``storefront-orders`` as JSON, naming the customer by id only.  The pipe
``storefront-orders`` keeps the ``PLACED`` ones (its filter reads the message under
``body``: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-event-filtering.html),
enriches them with the customer's email and tier (a Lambda function that gets the batch
as a JSON array and returns the new one:
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-enrichment.html) and puts
them on the bus ``orders`` as ``OrderPlaced`` from ``com.shop.orders``, where the rules of
step 3 route them.  The execution role needs what
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-permissions.html lists.

The checks' probes are raw storefront messages (ids ``ord-probe-...``) sent to the queue;
what became of them is read from the sandbox: the functions' invocations, the queue.
"""

from __future__ import annotations

import json
from typing import Any

from autograder.checks import CheckFailed
from autograder.probes import last_error, permission_problem, queue, queue_url, trust_problem
from eventlab.sandbox import inspect
from eventlab.sandbox.sqs.queues import discard_messages

PIPE = "storefront-orders"
QUEUE = "storefront-orders"
EVENT_SOURCE = "com.shop.orders"
DETAIL_TYPE = "OrderPlaced"
PASSES = "PLACED"
# the customer service's records, as the notebook gives them to the enrichment function
CUSTOMERS = {"c-1": {"email": "ana@example.com", "tier": "gold"},
             "c-2": {"email": "bo@example.com", "tier": "standard"},
             "c-3": {"email": "cy@example.com", "tier": "silver"}}
# what the execution role must be allowed (eb-pipes-permissions.html)
SOURCE_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
SETTLING = ("CREATING", "STARTING", "UPDATING", "STOPPING")
RUN_SECONDS = 10.0   # after the batching window: the enrichment's run and the deletes


def raw(order_id: str, status: str, customer_id: str | None, total: float = 59.9) -> str:
    """A message as the storefront writes it (a draft's customer is not known yet)."""
    return json.dumps({"orderId": order_id, "status": status, "total": total, "currency": "EUR",
                       "fulfillment": "physical", "customerId": customer_id})


def pipe(sb: Any) -> inspect.Pipe:
    """The pipe, once a state change it was in has had time to end (a second on the clock)."""
    for _ in range(2):
        found = [p for p in inspect.pipes(sb) if p.name == PIPE]
        if not found:
            raise CheckFailed(f"there is no pipe named '{PIPE}'")
        if found[0].current_state not in SETTLING:
            break
        sb.clock.advance(seconds=5)
        sb.settle()
    return found[0]


def queue_arn(sb: Any) -> str:
    return queue(sb, QUEUE).queue_arn


def running(sb: Any, bus_arn: str) -> inspect.Pipe:
    """The pipe, RUNNING from the storefront's queue to the bus (else what differs)."""
    p = pipe(sb)
    wrong = []
    if p.current_state != "RUNNING":
        why = f" ({p.state_reason})" if p.state_reason else ""
        wrong.append(f"it is {p.current_state}{why}, not RUNNING"
                     + (" (DesiredState STOPPED: start_pipe starts it)" if p.desired_state == "STOPPED" else ""))
    source = queue_arn(sb)
    if p.source != source:
        wrong.append(f"its Source is {p.source}, not the queue {QUEUE} ({source})")
    if p.target != bus_arn:
        named = " (a pipe's Target is an ARN, not a name)" if p.target in ("orders", bus_arn.split("/")[-1]) else ""
        wrong.append(f"its Target is {p.target}, not the bus's ARN {bus_arn}{named}")
    if wrong:
        raise CheckFailed(f"the pipe {PIPE}: " + "; ".join(wrong))
    return p


def role_problems(sb: Any, p: inspect.Pipe) -> list[str]:
    """What the pipe's execution role lacks: trust by pipes.amazonaws.com, reading and
    deleting from the queue, invoking a Lambda enrichment, putting on the target bus."""
    trust = trust_problem(sb, p.role_arn, "pipes.amazonaws.com")
    if trust:
        return [trust]
    needs = [(action, p.source) for action in SOURCE_ACTIONS]
    if p.enrichment and p.enrichment.split(":")[2] == "lambda":
        needs.append(("lambda:InvokeFunction", p.enrichment))
    if p.target.split(":")[2:3] == ["events"]:
        needs.append(("events:PutEvents", p.target))
    return [problem for action, resource in needs
            if (problem := permission_problem(sb, p.role_arn, action, resource))]


def send(sb: Any, bodies: list[str]) -> None:
    """The storefront's messages, in one SendMessageBatch (so one batch of the pipe's)."""
    response = sb.client("sqs").send_message_batch(QueueUrl=queue_url(sb, QUEUE), Entries=[
        {"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies)])
    if response.get("Failed"):
        raise CheckFailed(f"SendMessageBatch to {QUEUE} failed: {response['Failed']}")


def run(sb: Any, p: inspect.Pipe) -> None:
    """Let the pipe read what was sent: its batching window and the enrichment's run."""
    params = p.source_parameters.get("SqsQueueParameters") or {}
    sb.clock.advance(seconds=float(params.get("MaximumBatchingWindowInSeconds") or 0) + RUN_SECONDS)
    sb.settle()


def enrichment_function(p: inspect.Pipe) -> str | None:
    """The name of the pipe's Lambda enrichment (None without one)."""
    if not p.enrichment or p.enrichment.split(":")[2] != "lambda":
        return None
    return p.enrichment.split(":")[6]


def saw(sb: Any, function_name: str | None, order_id: str) -> bool:
    """Whether the function was invoked with an event naming the order (a batch holding it)."""
    return bool(function_name) and any(order_id in json.dumps(e.get("event"), default=str)
                                       for e in inspect.invocations(sb, function_name))


def in_queue(sb: Any, order_id: str) -> bool:
    """Whether the order's message is still in the queue (visible or in flight)."""
    return any(order_id in m.body for m in inspect.messages(sb, QUEUE))


def discard(sb: Any, order_ids: list[str]) -> None:
    """Take the checks' probes out of the queue, so one the pipe keeps failing on does not
    sit in the batches of the next checks."""
    for order_id in order_ids:
        discard_messages(sb, QUEUE, containing=order_id)


def filter_note(p: inspect.Pipe) -> str:
    """Why a filter may let nothing through: a pattern that does not look under ``body``."""
    filters = ((p.source_parameters.get("FilterCriteria") or {}).get("Filters")) or []
    for f in filters:
        try:
            pattern = json.loads(f.get("Pattern") or "{}")
        except ValueError:
            continue
        if isinstance(pattern, dict) and "body" not in pattern:
            return (f" (the pattern {f.get('Pattern')} names no 'body': for an SQS source the "
                    "message's JSON is under 'body', as in {\"body\": {\"status\": [\"PLACED\"]}})")
    return ""


def why_missing(sb: Any, p: inspect.Pipe, order_id: str) -> str:
    """What the sandbox shows about a PLACED order that did not reach a function."""
    if in_queue(sb, order_id):
        lookup = enrichment_function(p)
        error = last_error(sb, lookup, order_id) if lookup else None
        failed = [b for b in inspect.pipe_batches(sb, PIPE) if not b.get("ok")]
        reason = error or (failed[-1].get("error") if failed else None)
        return f"its message is still in {QUEUE}" + (f": the pipe failed ({reason})" if reason else "")
    bus = p.target_parameters.get("EventBridgeEventBusParameters") or {}
    source, detail_type = bus.get("Source"), bus.get("DetailType")
    if source != EVENT_SOURCE or detail_type != DETAIL_TYPE:
        return (f"the pipe puts its events with source {source or 'Pipe ' + PIPE!r} and detail-type "
                f"{detail_type or 'Event from aws:sqs'!r}, which the rules do not match "
                f"(EventBridgeEventBusParameters Source {EVENT_SOURCE!r}, DetailType {DETAIL_TYPE!r})")
    lookup = enrichment_function(p)
    if lookup and not saw(sb, lookup, order_id):
        return (f"the pipe consumed it without passing it to {lookup}: its filter dropped it"
                + filter_note(p))
    return ("its message left the queue, but the event did not match the rules: the order's "
            "fields (orderId, total...) must be at the top of the event's detail"
            + (f", as {lookup} returns them" if lookup else ""))
