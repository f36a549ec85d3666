"""SQS API limits on the virtual clock, as AWS documents them.

moto answers every call however fast it comes.  Here (quotas in
:mod:`eventlab.sandbox.core.capacity`, all changeable per sandbox):

* **FIFO queues**: 300 calls per second per queue and per action (``sqs.fifo.calls``;
  SendMessage, ReceiveMessage, DeleteMessage, ChangeMessageVisibility, a batch counting
  as one call of its action, so batches of 10 carry 3,000 messages/s).  Past it the call
  fails with ``ThrottlingException`` ("Rate exceeded", HTTP 400)
  (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/troubleshooting-fifo-throttling-issues.html).
  In **high-throughput mode** (``FifoThroughputLimit`` ``perMessageGroupId``) the queue takes
  70,000 calls/s per action (us-east-1) and each message group 300 (a group lives on one
  partition); a send is judged by its groups
  (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html).
* **In-flight ceilings**: a standard queue holds about 120,000 messages received and not
  yet deleted; then a short-polling ``ReceiveMessage`` fails with ``OverLimit`` and a
  long-polling one answers no messages
  (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-queues.html).
  A FIFO queue's ceiling is 120,000 too, with no error: receives answer nothing
  (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-fifo.html).
  A receive near the ceiling gets only the messages that still fit.

Only API calls count (from any client, in-process or over ``eventlab serve``); the
sandbox's own Lambda pollers are not throttled by these limits.  The in-flight count is
taken only when the queue holds at least as many messages as the ceiling, so the normal
path costs a dictionary lookup.  SQS publishes no metric of throttled calls.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from eventlab.sandbox.core.capacity import Buckets, install_throttling_code, throttled

# moto's SQSResponse method -> the API action whose rate it spends (a batch is its action)
ACTIONS = {"send_message": "SendMessage", "send_message_batch": "SendMessage",
           "receive_message": "ReceiveMessage", "delete_message": "DeleteMessage",
           "delete_message_batch": "DeleteMessage", "change_message_visibility": "ChangeMessageVisibility",
           "change_message_visibility_batch": "ChangeMessageVisibility"}


class SQSThroughputService:
    name = "sqs-throughput"

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self.buckets = Buckets(sandbox)
        self._cap = threading.local()   # messages a receive may still take (None: no cap)

    def install(self, patches: Any) -> None:
        install_throttling_code(patches)
        patches.after_import("moto.sqs.responses", lambda: self._install(patches))

    def _install(self, patches: Any) -> None:
        from moto.sqs.models import SQSBackend
        from moto.sqs.responses import SQSResponse

        for method, action in ACTIONS.items():
            patches.wrap(SQSResponse, method, functools.partial(self._limited, action),
                         "FIFO queues take 300 calls/s per action (70,000 in high-throughput mode); "
                         "receives stop at the in-flight ceiling")

        cap = self._cap

        def make_receive(original: Callable[..., Any]) -> Callable[..., Any]:
            def receive_message(backend: Any, queue_name: str, count: int, *args: Any, **kwargs: Any) -> Any:
                room = getattr(cap, "room", None)
                if room is not None:
                    if room <= 0:
                        return []
                    count = min(count, room)
                return original(backend, queue_name, count, *args, **kwargs)
            return receive_message

        patches.wrap(SQSBackend, "receive_message", make_receive,
                     "a ReceiveMessage near the in-flight ceiling takes only what still fits")

    def _limited(self, action: str, original: Callable[..., Any]) -> Callable[..., Any]:
        service = self

        def limited(handler: Any) -> Any:
            try:
                queue = handler.sqs_backend.get_queue(handler._get_queue_name())
            except Exception:  # moto answers its own error for a missing queue
                return original(handler)
            if queue.fifo_queue:
                service._admit_fifo(handler, queue, action)
            if action == "ReceiveMessage":
                return service._receive(handler, queue, original)
            return original(handler)
        return limited

    def _admit_fifo(self, handler: Any, queue: Any, action: str) -> None:
        scope = (handler.current_account, handler.region, queue.name, action)
        if queue.fifo_throughput_limit == "perMessageGroupId":
            wanted: list[tuple[str, tuple[Any, ...], float]] = [
                ("sqs.fifo-high-throughput.calls", scope, 1.0)]
            wanted += [("sqs.fifo-high-throughput.group-calls", (*scope, group), 1.0)
                       for group in _groups(handler, action)]
        else:
            wanted = [("sqs.fifo.calls", scope, 1.0)]
        if not self.buckets.take_all(wanted):
            raise throttled()

    def _receive(self, handler: Any, queue: Any, original: Callable[..., Any]) -> Any:
        quota = "sqs.fifo.in-flight" if queue.fifo_queue else "sqs.standard.in-flight"
        ceiling = self.sandbox.quotas[quota]
        messages = queue._messages
        if len(messages) < ceiling:
            return original(handler)
        now_ms = self.sandbox.clock.time() * 1000
        in_flight = sum(1 for m in list(messages) if m.visible_at > now_ms)
        room = int(ceiling - in_flight)
        if room <= 0 and not queue.fifo_queue and not _long_polling(handler, queue):
            raise throttled("OverLimit", f"The queue has reached its limit of {ceiling:,.0f} in-flight "
                                         f"messages (received and not yet deleted; quota {quota}).")
        if room >= 10:
            return original(handler)
        self._cap.room = room
        try:
            return original(handler)
        finally:
            self._cap.room = None


def _groups(handler: Any, action: str) -> set[str]:
    """The message groups a send writes to (other actions name none)."""
    if action != "SendMessage":
        return set()
    group = handler._get_param("MessageGroupId")
    if group:
        return {group}
    return {e.get("MessageGroupId") for e in handler._get_param("Entries", []) or [] if e.get("MessageGroupId")}


def _long_polling(handler: Any, queue: Any) -> bool:
    wait = handler._get_param("WaitTimeSeconds")
    if wait is None:
        wait = queue.receive_message_wait_time_seconds
    try:
        return float(wait or 0) > 0
    except (TypeError, ValueError):
        return False
