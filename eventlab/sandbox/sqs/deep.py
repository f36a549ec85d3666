"""Deep queues: moto's SQS without a walk of the whole queue per message.

A burst leaves hundreds of thousands of messages in a queue (Pattern 5: 10,000 a second
for a minute against consumers taking 1,000).  moto walks every message of the queue on
each ``ReceiveMessage`` (``Queue.messages`` builds the list of all visible ones, of which
the receive takes ten) and twice on each ``DeleteMessage`` (and rebuilds the list), so a
run costs the square of its depth.  The same answers, found from the front:

* ``Queue.messages`` is a lazy view: iterating it yields the visible, undelayed messages
  in order (a receive stops after ``count``); ``len()`` and truth count them all, as
  before;
* ``Queue.delete_message`` finds the message by its current or an earlier receipt
  handle in one pass and removes it in place;
* a receipt handle (185 random lowercase letters, as moto makes them) is drawn in one
  call instead of 185.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


class VisibleMessages:
    """The visible, undelayed messages of a queue, computed as they are iterated."""

    __slots__ = ("_queue",)

    def __init__(self, queue: Any) -> None:
        self._queue = queue

    def __iter__(self) -> Iterator[Any]:
        for message in self._queue._messages:
            if message.visible and not message.delayed:
                yield message

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __bool__(self) -> bool:
        return next(iter(self), None) is not None


class DeepQueuesService:
    name = "sqs-deep-queues"

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox

    def install(self, patches: Any) -> None:
        import string

        from moto.moto_api._internal import mock_random
        from moto.sqs import models
        from moto.sqs.exceptions import ReceiptHandleIsInvalid
        from moto.sqs.models import Queue

        def receipt_handle() -> str:
            return "".join(mock_random.choices(string.ascii_lowercase, k=185))

        patches.replace(models, "generate_receipt_handle", receipt_handle,
                        "receipt handles drawn in one call (a receive makes one per message)")

        patches.replace(Queue, "messages", property(VisibleMessages),
                        "a receive takes the first visible messages without listing them all")

        def delete_message(queue: Any, receipt_handle: str) -> None:
            if receipt_handle in queue.deleted_messages:
                return   # already deleted: AWS accepts it again
            messages = queue._messages
            for index, message in enumerate(messages):
                if message.receipt_handle == receipt_handle or receipt_handle in message._old_receipt_handles:
                    del messages[index]
                    queue.pending_messages.discard(message)
                    queue.deleted_messages.update(message.all_receipt_handles)
                    return
            raise ReceiptHandleIsInvalid()

        patches.replace(Queue, "delete_message", delete_message,
                        "DeleteMessage finds its message in one pass instead of rebuilding the queue")
