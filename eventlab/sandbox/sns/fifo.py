"""SNS FIFO topics: the deduplication id travels with the message, as on AWS.

With ``ContentBasedDeduplication`` on a FIFO topic, SNS derives each message's
deduplication id from its body (SHA-256 of the message, not of its attributes) and hands
that id to every FIFO queue it delivers to, so the queue needs no content-based
deduplication of its own (https://docs.aws.amazon.com/sns/latest/dg/fifo-message-dedup.html).
moto passes only an explicit ``MessageDeduplicationId`` on, so a publish to such a topic
with a FIFO queue subscribed that has no content-based deduplication failed with the
queue's "should either have ContentBasedDeduplication enabled or MessageDeduplicationId
provided explicitly".

moto also stores ``ContentBasedDeduplication="false"`` given at ``CreateTopic`` as the
string ``"false"``, which it then treats as on.  Here the attribute is read as AWS reads
it, and a publish without an id to a topic without content-based deduplication is
refused with AWS's error.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eventlab.sandbox.core.patches import PatchSet
    from eventlab.sandbox.core.sandbox import Sandbox


def content_based(topic: Any) -> bool:
    value = getattr(topic, "content_based_deduplication", False)
    return value is True or str(value).lower() == "true"


def dedup_id_for(topic: Any, message: str, explicit: str | None) -> str | None:
    """The deduplication id SNS hands on: the publisher's, else (content-based) the body's
    SHA-256."""
    if explicit or not getattr(topic, "fifo_topic", False) or not content_based(topic):
        return explicit
    return hashlib.sha256(message.encode("utf-8")).hexdigest()


class SNSFifoService:
    name = "sns-fifo"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def install(self, patches: PatchSet) -> None:
        # moto.sns.models loads cryptography's signer (~20 ms of every start-up): the
        # patches wait for its first import (hooks run in install order)
        patches.after_import("moto.sns.models", lambda: self._install(patches))

    def _install(self, patches: PatchSet) -> None:
        from moto.sns.exceptions import InvalidParameterValue
        from moto.sns.models import SNSBackend, Topic

        def make_topic_publish(original: Any) -> Any:
            def publish(topic: Any, message: str, subject: str | None = None,
                        message_attributes: dict[str, Any] | None = None, group_id: str | None = None,
                        deduplication_id: str | None = None, message_structure: str | None = None) -> str:
                return original(topic, message, subject=subject, message_attributes=message_attributes,
                                group_id=group_id,
                                deduplication_id=dedup_id_for(topic, message, deduplication_id),
                                message_structure=message_structure)
            return publish

        patches.wrap(Topic, "publish", make_topic_publish,
                     "a FIFO topic's content-based deduplication id reaches its FIFO queues")

        def make_backend_publish(original: Any) -> Any:
            def publish(backend: Any, message: str, arn: str | None = None, *args: Any, **kwargs: Any) -> str:
                topic = backend.topics.get(arn) if arn else None
                if (topic is not None and getattr(topic, "fifo_topic", False) and not content_based(topic)
                        and not kwargs.get("deduplication_id")):
                    raise InvalidParameterValue(
                        "The topic should either have ContentBasedDeduplication enabled or "
                        "MessageDeduplicationId provided explicitly")
                return original(backend, message, arn, *args, **kwargs)
            return publish

        patches.wrap(SNSBackend, "publish", make_backend_publish,
                     "ContentBasedDeduplication='false' on a FIFO topic means off, as on AWS")
