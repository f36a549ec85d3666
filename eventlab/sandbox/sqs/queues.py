"""Two things about moto's queues that its types do not say.

``visibility_timeout``: moto sets a queue's attributes with ``setattr`` from their API
names, so the queue's own visibility timeout is not a declared field.

``discard_messages``: a check that puts a probe on a queue (lab 5 puts one on its dead-letter queue to fire an
alarm) removes it afterwards, so that the learner's queue holds what the learner put
there.  Receiving and deleting through the API would count a receive on every other
message and hide them for a visibility timeout; this takes out only the matching
messages and leaves the others exactly as they were.

``DeleteWhenDone``: a poller (an event source mapping, a pipe) deletes a batch when its
consumer's run ends, in virtual time; until then the messages are in flight.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from moto.sqs.models import Queue

    from eventlab.sandbox.core.sandbox import Sandbox


def visibility_timeout(queue: Queue) -> int:
    """The queue's VisibilityTimeout in seconds (moto keeps it as an int)."""
    return int(vars(queue)["visibility_timeout"])


def discard_messages(sb: Sandbox, queue_name: str, containing: str) -> int:
    """Remove every message of ``queue_name`` whose body contains ``containing`` (visible
    or in flight); return how many went.  A queue that does not exist holds none."""
    queue = sb.backend("sqs").queues.get(queue_name)
    if queue is None:
        return 0
    with queue._messages_lock:
        kept = [m for m in queue._messages if containing not in m.body]
        removed = len(queue._messages) - len(kept)
        queue._messages = kept
    return removed


class DeleteWhenDone:
    """Received messages to delete once their consumer's run has ended (virtual time)."""

    def __init__(self, clock: Any) -> None:
        self._clock = clock
        self._pending: list[tuple[float, Any, str, list[Any]]] = []   # (ends, backend, queue, done)

    def add(self, ends: float, backend: Any, queue_name: str, messages: list[Any]) -> None:
        self._pending.append((ends, backend, queue_name, messages))
        if ends > self._clock.time():
            self._clock.call_at(ends, lambda: None)   # clock.advance() stops there
        self.delete_due()

    def delete_due(self) -> bool:
        """Delete the batches whose run has ended; whether there were any."""
        now = self._clock.time()
        due = [p for p in self._pending if p[0] <= now]
        if not due:
            return False
        self._pending = [p for p in self._pending if p[0] > now]
        for _, backend, queue_name, messages in due:
            for message in messages:
                if message.receipt_handle is None:
                    continue
                try:
                    backend.delete_message(queue_name, message.receipt_handle)
                except Exception:   # the queue is gone, or the message came back and was
                    pass            # received again (a stale handle): AWS's at-least-once
        return True
