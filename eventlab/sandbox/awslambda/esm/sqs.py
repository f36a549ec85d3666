"""SQS in the sandbox: the Lambda event source mapping, and long polling on the clock.

The event source mapping polls as Lambda's SQS pollers do
(https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html):

* a batch is up to ``BatchSize`` messages (default 10); with
  ``MaximumBatchingWindowInSeconds`` the poller waits (virtual time) until the batch is
  full or the window has passed since the first message was seen;
* messages already in the queue when the mapping is created are processed;
* the event carries real ``attributes`` (ApproximateReceiveCount, SentTimestamp,
  SenderId, ApproximateFirstReceiveTimestamp, and for FIFO SequenceNumber,
  MessageGroupId, MessageDeduplicationId) and ``messageAttributes``;
* success deletes the batch when the invocation ends (in virtual time: a batch whose
  handler sleeps 5 s counts as in flight, ``ApproximateNumberOfMessagesNotVisible``,
  for those 5 s, as on AWS); an error leaves it in flight, so the messages come back
  after the queue's visibility timeout and the redrive policy moves them to the DLQ
  once ``maxReceiveCount`` is reached; with ``FunctionResponseTypes:
  ["ReportBatchItemFailures"]`` only the reported ``itemIdentifier`` s stay;
* FIFO queues keep each message group in order (a group with messages in flight is not
  polled);
* pollers (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html): a
  mapping starts with 5 pollers when messages are waiting and adds up to 300 a minute
  while they keep waiting, up to 1,000 or the mapping's ``ScalingConfig.MaximumConcurrency``
  (provisioned mode: ``ProvisionedPollerConfig.MaximumPollers``); each poller takes one
  batch and waits for its invocation to end (in virtual time) before the next;
* a batch whose invocation is throttled (no concurrency left for the function) is not
  processed: its messages stay in flight until the visibility timeout and come back with
  a higher receive count, so with a small ``maxReceiveCount`` good messages reach the
  dead-letter queue (AWS's documented trap; ``MaximumConcurrency`` is the cure).  The
  throttled poller waits until the function has concurrency again (at least 1 s);
* the moment a message of a mapped queue becomes visible again (its visibility timeout
  or its delay ends) is a stop for ``clock.advance``, so that a redelivery happens at
  its own virtual time whatever the size of one advance: a poison message behind a
  180 s timeout is received at 0, 180 and 360 s, in one ``advance(570)`` as in many
  small ones.

Long polling (``WaitTimeSeconds``) waits in *virtual* time: if a message becomes
visible within the wait (a delay or a visibility timeout ending), the clock moves to
that moment and the message is returned; if none does, the clock moves by the whole
wait and the answer is empty, at once.  Nothing blocks for real.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from eventlab.errors import FunctionNotFound
from eventlab.sandbox.awslambda.concurrency import Throttled
from eventlab.sandbox.awslambda.service import enabled_mappings
from eventlab.sandbox.core.pump import window_closed
from eventlab.sandbox.sqs.queues import DeleteWhenDone, visibility_timeout

if TYPE_CHECKING:
    from eventlab.sandbox.core.patches import PatchSet
    from eventlab.sandbox.core.sandbox import Sandbox


class SQSService:
    name = "sqs"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._window_started: dict[str, float] = {}
        self._wake_at: dict[str, float] = {}   # mapping uuid -> the clock stop registered
        self._scanned: dict[str, float] = {}   # mapping uuid -> when its queue was last scanned
        self._pollers: dict[str, Pollers] = {}
        self._finishing = DeleteWhenDone(sandbox.clock)
        self.batches: list[dict[str, Any]] = []

    def install(self, patches: PatchSet) -> None:
        from moto.sqs.models import SQSBackend

        clock = self.sandbox.clock

        def make_receive(original: Any) -> Any:
            def receive_message(backend: Any, queue_name: str, count: int, wait_seconds_timeout: int,
                                visibility_timeout: int, *args: Any, **kwargs: Any) -> Any:
                result = original(backend, queue_name, count, 0, visibility_timeout, *args, **kwargs)
                if result:
                    # the moment they become visible again is a stop of clock.advance
                    clock.call_at((max(m.visible_at for m in result) + 1) / 1000, lambda: None)
                if result or not wait_seconds_timeout:
                    return result
                queue = backend.get_queue(queue_name)
                now_ms = clock.time() * 1000
                end_ms = now_ms + float(wait_seconds_timeout) * 1000
                upcoming = [max(m.visible_at, m.delayed_until) for m in list(queue._messages)
                            if now_ms < max(m.visible_at, m.delayed_until) <= end_ms]
                wake_ms = min(upcoming) + 1 if upcoming else end_ms
                clock.advance((wake_ms - now_ms) / 1000)
                return original(backend, queue_name, count, 0, visibility_timeout, *args, **kwargs)
            return receive_message

        patches.wrap(SQSBackend, "receive_message", make_receive,
                     "long polling waits on the virtual clock instead of blocking for real")

        def message_within_retention(backend: Any, queue_name: str, message: Any) -> bool:
            queue = backend.get_queue(queue_name)
            period = int(queue.message_retention_period or 345600)
            return period + message.sent_timestamp / 1000 > clock.time()

        patches.replace(SQSBackend, "is_message_valid_based_on_retention_period",
                        message_within_retention,
                        "same retention check without recomputing every queue attribute per message")

        # moto's SendMessage reads single flags (ContentBasedDeduplication) from
        # Queue.attributes, which builds every attribute, three of them by walking every
        # message: O(queue depth) per send. While a send runs, the property answers a
        # key-by-key view instead (the full dict on iteration).
        from moto.sqs.models import Queue

        full_attributes = vars(Queue)["attributes"].fget   # the property object's getter
        sending = threading.local()

        def attributes(queue: Any) -> Any:
            if getattr(sending, "depth", 0):
                return _AttributeView(queue, full_attributes)
            return full_attributes(queue)

        patches.replace(Queue, "attributes", property(attributes),
                        "SendMessage reads one queue attribute without computing them all")

        def make_send(original: Any) -> Any:
            def send_message(backend: Any, *args: Any, **kwargs: Any) -> Any:
                sending.depth = getattr(sending, "depth", 0) + 1
                try:
                    return original(backend, *args, **kwargs)
                finally:
                    sending.depth -= 1
            return send_message

        patches.wrap(SQSBackend, "send_message", make_send,
                     "SendMessage reads one queue attribute without computing them all")

    # -- the event source mapping poller -------------------------------------------------
    def poll(self) -> bool:
        worked = self._finishing.delete_due()
        for esm in enabled_mappings(self.sandbox, "sqs"):
            worked = self._poll_mapping(esm) or worked
        return worked

    def _poll_mapping(self, esm: Any) -> bool:
        arn = esm.event_source_arn
        region = arn.split(":")[3]
        sqs = self.sandbox.backend_for("sqs", arn)
        queue = next((q for q in sqs.queues.values() if q.queue_arn == arn), None)
        if queue is None:
            return False
        batch_size = int(esm.batch_size or 10)
        window = float(esm.max_batch_window or 0)
        now_ms = self.sandbox.clock.time() * 1000
        if self._scanned.get(esm.uuid) != now_ms:
            # once per moment of virtual time (a receive registers its own stop)
            self._scanned[esm.uuid] = now_ms
            self._stop_when_visible(esm.uuid, list(queue._messages), now_ms)
        visible = 0   # counted up to a batch: all the window and the poller need to know
        for m in queue._messages:
            if m.visible_at < now_ms and m.delayed_until <= now_ms:
                visible += 1
                if visible >= batch_size:
                    break
        if visible == 0:
            self._window_started.pop(esm.uuid, None)
            if esm.uuid in self._pollers:
                self._pollers[esm.uuid].since = None   # nothing waiting: back to 5 next time
            return False
        now = self.sandbox.clock.time()
        pollers = self._pollers.setdefault(esm.uuid, Pollers())
        if pollers.since is None:
            pollers.since = now
        slot = pollers.free(now, _poller_cap(esm))
        if slot is None:
            self.sandbox.clock.call_at(pollers.next_free(), lambda: None)
            return False
        ready, started = window_closed(self.sandbox.clock, self._window_started.get(esm.uuid), visible,
                                       batch_size, window)
        if not ready:
            self._window_started[esm.uuid] = started   # type: ignore[assignment]  # open: a time
            return False
        self._window_started.pop(esm.uuid, None)
        messages = sqs.receive_message(queue.name, batch_size, 0, visibility_timeout(queue),
                                       message_attribute_names=["All"])
        if not messages:
            return False
        event = {"Records": [self._record(m, queue, region) for m in messages]}
        lam_service = self.sandbox.service("lambda")
        try:
            fn = lam_service.function(esm.function_arn)
        except FunctionNotFound:
            return False
        try:
            result = lam_service.invoke(fn, event)
        except Throttled as exc:
            # the batch stays in flight: back after the visibility timeout
            pollers.busy(slot, lam_service.concurrency.retry_at(self.sandbox.backend_for("lambda", fn.function_arn), now))
            self.sandbox.clock.call_at(pollers.until[slot], lambda: None)
            self.batches.append({"mapping": esm.uuid, "size": len(messages), "ok": False,
                                 "throttled": exc.reason, "failed": sorted(m.id for m in messages)})
            return True
        pollers.busy(slot, result.ended)
        if result.ended > now:
            self.sandbox.clock.call_at(result.ended, lambda: None)
        failed = self._failed_ids(esm, result, messages)
        self.batches.append({"mapping": esm.uuid, "size": len(messages), "ok": result.ok,
                             "failed": sorted(failed)})
        done = [m for m in messages if m.id not in failed and m.receipt_handle is not None]
        self._finishing.add(result.ended, sqs, queue.name, done)
        return True

    def _stop_when_visible(self, key: str, messages: list[Any], now_ms: float) -> None:
        """Make the next moment a hidden or delayed message becomes visible a stop of
        ``clock.advance`` (moto counts a message visible strictly after ``visible_at``)."""
        upcoming = [max(m.visible_at, m.delayed_until) for m in messages
                    if max(m.visible_at, m.delayed_until) >= now_ms]
        if not upcoming:
            return
        wake = (min(upcoming) + 1) / 1000
        if self._wake_at.get(key) != wake:
            self._wake_at[key] = wake
            self.sandbox.clock.call_at(wake, lambda: None)

    def pollers(self, esm_uuid: str) -> int:
        """How many pollers the mapping has now."""
        pool = self._pollers.get(esm_uuid)
        return len(pool.until) if pool else 0

    @staticmethod
    def _failed_ids(esm: Any, result: Any, messages: list[Any]) -> set[str]:
        every = {m.id for m in messages}
        if not result.ok:
            return every
        if "ReportBatchItemFailures" not in (esm.function_response_types or []):
            return set()
        try:
            response = json.loads(result.payload)
        except ValueError:
            return set()
        if not isinstance(response, dict) or "batchItemFailures" not in response:
            return set()
        failures = response.get("batchItemFailures") or []
        ids = set()
        for failure in failures:
            ident = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not ident or ident not in every:
                # AWS treats a malformed or unknown identifier as a failure of the whole batch.
                return every
            ids.add(ident)
        return ids

    @staticmethod
    def _record(message: Any, queue: Any, region: str) -> dict[str, Any]:
        attributes = {
            "ApproximateReceiveCount": str(message.approximate_receive_count),
            "SentTimestamp": str(message.sent_timestamp),
            "SenderId": message.sender_id,
            "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
        }
        if queue.fifo_queue:
            attributes["SequenceNumber"] = str(message.sequence_number)
            attributes["MessageGroupId"] = message.group_id
            attributes["MessageDeduplicationId"] = message.deduplication_id
        if message.system_attributes.get("AWSTraceHeader"):
            attributes["AWSTraceHeader"] = message.system_attributes["AWSTraceHeader"]
        record: dict[str, Any] = {
            "messageId": message.id,
            "receiptHandle": message.receipt_handle,
            "body": message.body,
            "attributes": attributes,
            "messageAttributes": {name: _attribute(value) for name, value in message.message_attributes.items()},
            "md5OfBody": message.body_md5,
            "eventSource": "aws:sqs",
            "eventSourceARN": queue.queue_arn,
            "awsRegion": region,
        }
        if message.message_attributes:
            record["md5OfMessageAttributes"] = message.attribute_md5
        return record


sqs_record = SQSService._record   # the record of one message, as pollers (ESM, Pipes) hand it on


class _AttributeView(Mapping):
    """Queue attributes computed one key at a time (the same values moto computes)."""

    def __init__(self, queue: Any, full: Any) -> None:
        self._queue = queue
        self._full_fn = full
        self._full: dict[str, Any] | None = None

    def _all(self) -> dict[str, Any]:
        if self._full is None:
            self._full = self._full_fn(self._queue)
        return self._full

    def __getitem__(self, key: str) -> Any:
        # Mirrors moto's Queue.attributes: which keys exist, and how values are rendered.
        queue = self._queue
        # moto writes these two last, over any base-attribute value of the same name.
        if key == "Policy" and queue.policy:
            return queue.policy
        if key == "RedrivePolicy" and queue.redrive_policy:
            return json.dumps(queue.redrive_policy)
        names = list(queue.BASE_ATTRIBUTES)
        if queue.fifo_queue:
            names += queue.FIFO_ATTRIBUTES
        if queue.kms_master_key_id:
            names += queue.KMS_ATTRIBUTES
        if key in names:
            from moto.core.utils import camelcase_to_underscores

            value = getattr(queue, camelcase_to_underscores(key))
            return str(value).lower() if isinstance(value, bool) else value
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


def _attribute(value: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": value.get("DataType")}
    if value.get("StringValue") is not None:
        out["stringValue"] = value["StringValue"]
    if value.get("BinaryValue") is not None:
        binary = value["BinaryValue"]
        out["binaryValue"] = binary if isinstance(binary, str) else base64.b64encode(binary).decode()
    return out


POLLERS_AT_START = 5
POLLERS_PER_MINUTE = 300
POLLERS_MAX = 1000


def _poller_cap(esm: Any) -> int:
    provisioned = (getattr(esm, "poller_config", None) or {}).get("MaximumPollers")
    if provisioned:
        return int(provisioned)
    maximum = (getattr(esm, "scaling_config", None) or {}).get("MaximumConcurrency")
    return int(maximum) if maximum else POLLERS_MAX


class Pollers:
    """A mapping's pollers while its queue has messages: how many there may be (5, then
    up to 300 more a minute) and until when each is busy with its batch."""

    def __init__(self) -> None:
        self.since: float | None = None    # when messages started waiting (None: none wait)
        self.until: list[float] = []

    def free(self, now: float, cap: int) -> int | None:
        since = now if self.since is None else self.since
        size = min(cap, POLLERS_AT_START + int(POLLERS_PER_MINUTE * (now - since) / 60))
        while len(self.until) < size:
            self.until.append(now)
        if len(self.until) > size:   # scaling down: keep the busy ones
            self.until = sorted(self.until, reverse=True)[:size]
        for i, until in enumerate(self.until):
            if until <= now:
                return i
        return None

    def busy(self, slot: int, until: float) -> None:
        self.until[slot] = until

    def next_free(self) -> float:
        return min(self.until)
