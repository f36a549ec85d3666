"""Taking a grader's own probe messages back out of a queue.

A check that puts a probe on a queue (lab 5 puts one on its dead-letter queue to fire an
alarm) removes it afterwards, so that the learner's queue holds what the learner put
there.  Receiving and deleting through the API would count a receive on every other
message and hide them for a visibility timeout; this takes out only the matching
messages and leaves the others exactly as they were.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eventlab.sandbox.core.sandbox import Sandbox


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
