"""``SequenceNumber`` for FIFO queues and FIFO topics, as AWS gives it.

AWS: every message sent to a FIFO queue gets a ``SequenceNumber`` (a large,
non-consecutive number that keeps increasing), in ``SendMessage``'s answer and in the
``SequenceNumber`` attribute on receive; ``Publish`` to a FIFO topic answers one too.
moto sets a random one only when the sender gives a ``MessageDeduplicationId``: with
content-based deduplication there was none, and ``Publish`` never answered one.

Here each FIFO queue and topic counts up from a 20-digit start, in steps of a few
thousand (non-consecutive, as AWS's are).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eventlab.sandbox.core.patches import PatchSet
    from eventlab.sandbox.core.sandbox import Sandbox

_START = 18_900_000_000_000_000_000
_STEP = 4_096


def next_sequence(owner: Any) -> str:
    """The next sequence number of a FIFO queue or topic (kept on the moto object)."""
    counter = getattr(owner, "eventlab_sequence", None)
    if counter is None:
        counter = itertools.count(_START, _STEP)
        owner.eventlab_sequence = counter
    return str(next(counter))


class FifoSequenceService:
    name = "fifo-sequence"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def install(self, patches: PatchSet) -> None:
        patches.after_import("moto.sqs.models", lambda: self._install_sqs(patches))
        patches.after_import("moto.sns.responses", lambda: self._install_sns(patches))

    def _install_sqs(self, patches: PatchSet) -> None:
        from moto.sqs.models import SQSBackend

        def make_send(original: Any) -> Any:
            def send_message(backend: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
                message = original(backend, queue_name, *args, **kwargs)
                queue = backend.get_queue(queue_name)
                if queue.fifo_queue:
                    message.sequence_number = next_sequence(queue)
                return message
            return send_message

        patches.wrap(SQSBackend, "send_message", make_send,
                     "every FIFO message gets an increasing SequenceNumber (moto: only with an explicit dedup id)")

    def _install_sns(self, patches: PatchSet) -> None:
        from moto.sns.responses import SNSResponse

        def make_publish(original: Any) -> Any:
            def publish(handler: Any) -> Any:
                result = original(handler)
                arn = handler._get_param("TopicArn") or handler._get_param("TargetArn")
                topic = handler.backend.topics.get(arn) if arn else None
                body = getattr(result, "result", None)
                if topic is not None and topic.fifo_topic and isinstance(body, dict):
                    body["SequenceNumber"] = next_sequence(topic)
                return result
            return publish

        patches.wrap(SNSResponse, "publish", make_publish, "Publish to a FIFO topic answers its SequenceNumber")
