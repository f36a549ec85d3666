"""SNS Publish quotas on the virtual clock (https://docs.aws.amazon.com/general/latest/gr/sns.html).

* The account publishes to standard topics at most 30,000 messages per second in
  us-east-1, 9,000 in us-west-2 and eu-west-1, 1,500 in eight more regions and 300 in the
  others (``sns.publish.messages``); to FIFO topics 30,000, 9,000 and 3,000
  (``sns.fifo.publish.messages``).  Each ``Publish`` and each ``PublishBatch`` entry counts;
  the figure is the one of the call's region.
* A FIFO topic whose ``FifoThroughputScope`` is ``Topic`` (the default) takes 3,000
  messages/s (``sns.fifo-topic.messages``) or 20 MB/s of message bodies
  (``sns.fifo-topic.bytes``), whichever comes first; with ``MessageGroup`` (high-throughput
  mode) only the account's FIFO quota applies to the topic.  Each message group of a FIFO
  topic takes 300 messages/s (``sns.fifo.group-messages``).

Past a limit the call fails, as a whole, with ``ThrottlingException`` ("Rate exceeded",
HTTP 400) and nothing of it is published.  Every caller counts, the sandbox's own
deliveries too (an EventBridge target, a Step Functions task): they retry as AWS's do.
SNS publishes no metric of throttled calls.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from eventlab.sandbox.core.capacity import Buckets, install_throttling_code, throttled


class SNSThroughputService:
    name = "sns-throughput"

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self.buckets = Buckets(sandbox)

    def install(self, patches: Any) -> None:
        install_throttling_code(patches)
        patches.after_import("moto.sns.responses", lambda: self._install(patches))

    def _install(self, patches: Any) -> None:
        from moto.sns.responses import SNSResponse

        service = self

        def make_publish(original: Callable[..., Any]) -> Callable[..., Any]:
            def publish(handler: Any) -> Any:
                arn = handler._get_param("TopicArn") or handler._get_param("TargetArn")
                service.admit(handler, arn, [(handler._get_param("MessageGroupId"),
                                              handler._get_param("Message"))])
                return original(handler)
            return publish

        def make_publish_batch(original: Callable[..., Any]) -> Callable[..., Any]:
            def publish_batch(handler: Any) -> Any:
                entries = handler._get_param("PublishBatchRequestEntries", []) or []
                service.admit(handler, handler._get_param("TopicArn"),
                              [(e.get("MessageGroupId"), e.get("Message")) for e in entries])
                return original(handler)
            return publish_batch

        patches.wrap(SNSResponse, "publish", make_publish,
                     "Publish is throttled past the account's, a FIFO topic's and a message group's rate")
        patches.wrap(SNSResponse, "publish_batch", make_publish_batch,
                     "PublishBatch is throttled past the account's, a FIFO topic's and a message group's rate")

    def admit(self, handler: Any, arn: str | None, messages: list[tuple[str | None, str | None]]) -> None:
        """Spend the quotas of publishing ``messages`` ((group id, body) each) to ``arn``, or
        refuse the whole call with ThrottlingException."""
        count = float(len(messages))
        if not count:
            return   # moto refuses an empty batch with its own error
        account, region = handler.current_account, handler.region
        topic = handler.backend.topics.get(arn) if arn else None
        wanted: list[tuple[str, tuple[Any, ...], float]]
        if topic is not None and topic.fifo_topic:
            wanted = [("sns.fifo.publish.messages", (account,), count)]
            if str(getattr(topic, "fifo_throughput_scope", "Topic")) != "MessageGroup":
                size = float(sum(len((body or "").encode()) for _, body in messages))
                wanted += [("sns.fifo-topic.messages", (arn,), count), ("sns.fifo-topic.bytes", (arn,), size)]
            wanted += [("sns.fifo.group-messages", (arn, group), float(n))
                       for group, n in Counter(group for group, _ in messages).items() if group]
        else:
            wanted = [("sns.publish.messages", (account,), count)]
        if not self.buckets.take_all(wanted, region=region):
            raise throttled()
