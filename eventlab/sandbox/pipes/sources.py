"""A pipe's sources: an SQS queue, a Kinesis stream and a DynamoDB stream, read on the
virtual clock (Kafka topics: :mod:`eventlab.sandbox.pipes.kafka`, a :class:`StreamSource`).

SQS (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-sqs.html):

* batches of ``SqsQueueParameters.BatchSize`` (default 10) messages; with
  ``MaximumBatchingWindowInSeconds`` the pipe waits (virtual time) for a full batch
  until the window has passed since it first saw a message;
* the records are those an event source mapping gets (``messageId``, ``receiptHandle``,
  ``body``, ``attributes``, ``messageAttributes``, ``md5OfBody``, ``eventSource``,
  ``eventSourceARN``, ``awsRegion``), as a JSON array;
* messages that are delivered (when the target's run ends, in virtual time), or that no
  filter matched, are deleted; a failed batch
  (or the items a target reported failed) stays in flight and comes back after the
  queue's visibility timeout, so the queue's redrive policy moves it to its dead-letter
  queue after ``maxReceiveCount`` receives.

Kinesis (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-kinesis.html):

* each shard is read in order, one batch at a time (the next waits until the target's run
  ends), from ``StartingPosition`` (``TRIM_HORIZON``, ``LATEST``:
  records put after the pipe was created, ``AT_TIMESTAMP``), in batches of
  ``BatchSize`` (default 100: AWS does not publish the default) with
  ``MaximumBatchingWindowInSeconds``;
* a record is the event source mapping's with the ``kinesis`` fields moved up
  (``kinesisSchemaVersion``, ``partitionKey``, ``sequenceNumber``, ``data``,
  ``approximateArrivalTimestamp``, then ``eventSource``... ``invokeIdentityArn`` = the
  pipe's role);
* a failed batch blocks its shard and is retried from its first failed record, after
  1, 2, 4... seconds (at most 60 s apart; AWS's back-off is not published), until
  ``MaximumRetryAttempts`` or ``MaximumRecordAgeInSeconds`` (default -1: forever) is
  reached (a delivery the pipe's role is refused too: a customer error); an error no
  retry can mend (``NO_RESOURCE``: the function is gone; ``INVALID_PARAMETER``) skips the
  batch at once, with that code as the DLQ record's ``condition``.  With
  ``OnPartialBatchItemFailure: AUTOMATIC_BISECT`` a failing batch (from its first failed
  record) is split in two and each half tried on its own, without using up an attempt,
  so that one bad record ends up alone.  Then the
  records are skipped and, with ``DeadLetterConfig.Arn`` (an SQS queue or SNS topic),
  a message describing them is sent there by the pipe's role.

DynamoDB streams (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-dynamodb.html)
are read the same way (``DynamoDBStreamParameters``; ``TRIM_HORIZON`` or ``LATEST``), from
the stream records moto keeps for the table; the DLQ message has ``DDBStreamBatchInfo``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eventlab.sandbox.awslambda.esm.kinesis import (
    MAX_BACKOFF,
    bisect,
    kinesis_batch_info,
    kinesis_record,
    split_batch,
    start_sequence,
)
from eventlab.sandbox.awslambda.esm.sqs import sqs_record
from eventlab.sandbox.awslambda.service import deliver_to_arn
from eventlab.sandbox.core.pump import window_closed
from eventlab.sandbox.events.input import epoch, iso_time
from eventlab.sandbox.pipes.permissions import may_call
from eventlab.sandbox.sqs.queues import DeleteWhenDone, visibility_timeout

if TYPE_CHECKING:
    from eventlab.sandbox.pipes.service import PipesService

RECEIVE_MAX = 10   # SQS ReceiveMessage returns at most 10 messages a call


def _wake(service: PipesService, when: float) -> None:
    service.sandbox.clock.call_at(when, lambda: None)   # clock.advance() stops there


class SQSSource:
    def __init__(self, service: PipesService) -> None:
        self.service = service
        self._window_started: dict[str, float] = {}
        self.finishing = DeleteWhenDone(service.sandbox.clock)

    def poll(self, pipe: Any) -> bool:
        sb = self.service.sandbox
        sqs = sb.backend_for("sqs", pipe.source)
        queue = next((q for q in sqs.queues.values() if q.queue_arn == pipe.source), None)
        if queue is None:
            return False
        params = (pipe.source_parameters or {}).get("SqsQueueParameters") or {}
        batch_size = int(params.get("BatchSize") or 10)
        window = float(params.get("MaximumBatchingWindowInSeconds") or 0)
        now = sb.clock.time()
        visible = 0
        for m in queue._messages:
            if m.visible_at < now * 1000 and m.delayed_until <= now * 1000:
                visible += 1
                if visible >= batch_size:
                    break
        if visible == 0:
            self._window_started.pop(pipe.arn, None)
            return False
        ready, started = window_closed(sb.clock, self._window_started.get(pipe.arn), visible, batch_size, window)
        if not ready:
            self._window_started[pipe.arn] = started   # type: ignore[assignment]  # open: a time
            return False
        self._window_started.pop(pipe.arn, None)
        messages: list[Any] = []
        while len(messages) < batch_size:
            got = sqs.receive_message(queue.name, min(RECEIVE_MAX, batch_size - len(messages)), 0,
                                      visibility_timeout(queue), message_attribute_names=["All"])
            if not got:
                break
            messages.extend(got)
        if not messages:
            return False
        region = pipe.source.split(":")[3]
        records = [sqs_record(m, queue, region) for m in messages]
        outcome = self.service.process(pipe, records, [r["messageId"] for r in records])
        done = [m for i, m in enumerate(messages) if i not in outcome.failed]   # or filtered out: consumed
        # deleted when the target's run ends: until then in flight, as on AWS
        self.finishing.add(outcome.ended, sqs, queue.name, done)
        return True


@dataclass
class Cursor:
    next_sequence: int
    attempts: int = 0
    retry_at: float = 0.0
    window_started: float | None = None
    busy_until: float = 0.0          # the batch in flight ends then (virtual time)
    splits: list[tuple[int, int]] = field(default_factory=list)   # bisected ranges still to try


@dataclass
class Entry:
    """A stream record as the stream sources read it (a DynamoDB stream record wrapped)."""

    sequence_number: int
    created_at: float
    item: Any


@dataclass
class Shard:
    shard_id: str
    records: dict[int, Any]      # sequence number -> record with .sequence_number, .created_at


class StreamSource:
    """A source read shard by shard, in order, with retries and a dead-letter queue."""

    parameters = "KinesisStreamParameters"
    batch_info = "KinesisBatchInfo"
    retries_whole_batch = False    # True: a failed batch is retried from its first record
    gives_up = True                # False: no retry limit, no DLQ (a refused batch is retried too)

    def __init__(self, service: PipesService) -> None:
        self.service = service
        self._cursors: dict[tuple[str, str], Cursor] = {}

    def shards(self, pipe: Any) -> list[Shard]:
        raise NotImplementedError

    def record(self, pipe: Any, shard: Shard, entry: Any) -> dict[str, Any]:
        raise NotImplementedError

    def poll(self, pipe: Any) -> bool:
        params = (pipe.source_parameters or {}).get(self.parameters) or {}
        worked = False
        for shard in self.shards(pipe):
            cursor = self._cursors.get((pipe.arn, shard.shard_id))
            if cursor is None:
                cursor = self._cursors[(pipe.arn, shard.shard_id)] = Cursor(self.start(pipe, params, shard))
            worked = self._poll_shard(pipe, params, shard, cursor) or worked
        return worked

    def start(self, pipe: Any, params: dict[str, Any], shard: Shard) -> int:
        """The first sequence number the pipe reads from ``shard`` (``StartingPosition``)."""
        return start_sequence(shard, params.get("StartingPosition"), pipe.__dict__.get("_eventlab_created", 0.0),
                              params.get("StartingPositionTimestamp"))

    def _poll_shard(self, pipe: Any, params: dict[str, Any], shard: Shard, cursor: Cursor) -> bool:
        now = self.service.sandbox.clock.time()
        if cursor.retry_at > now or cursor.busy_until > now:
            return False
        pending = [r for seq, r in shard.records.items() if seq >= cursor.next_sequence]
        batch = split_batch(cursor.splits, pending)
        if batch == []:                 # the range was trimmed away meanwhile
            return True
        if batch is None:
            if not pending:
                cursor.window_started = None
                return False
            batch_size = int(params.get("BatchSize") or 100)
            ready, cursor.window_started = window_closed(
                self.service.sandbox.clock, cursor.window_started, len(pending), batch_size,
                float(params.get("MaximumBatchingWindowInSeconds") or 0))
            if not ready:
                return False
            batch = pending[:batch_size]
        records = [self.record(pipe, shard, r) for r in batch]
        outcome = self.service.process(pipe, records, [str(r.sequence_number) for r in batch])
        failed, error = outcome.failed, outcome.error
        if outcome.ended > now:      # one batch per shard: the next waits for this one's target
            cursor.busy_until = outcome.ended
            _wake(self.service, outcome.ended)
        if not failed:
            self._past(pipe, shard, cursor, batch)
            return True
        first = 0 if self.retries_whole_batch else min(failed)
        cursor.next_sequence = batch[first].sequence_number
        failing = batch[first:]
        if params.get("OnPartialBatchItemFailure") == "AUTOMATIC_BISECT" and len(failing) > 1:
            bisect(cursor.splits, failing)
            cursor.attempts = 0          # splitting uses up no retry attempt
            return True
        cursor.attempts += 1
        max_attempts = int(params.get("MaximumRetryAttempts", -1))
        max_age = int(params.get("MaximumRecordAgeInSeconds", -1))
        too_many = 0 <= max_attempts < cursor.attempts
        too_old = max_age >= 0 and now - batch[first].created_at > max_age
        # an error no retry can mend (a target or enrichment that does not exist, a parameter
        # the target refuses) skips the batch at once, named by its error code
        hopeless = error is not None and not error.retriable
        if self.gives_up and (too_many or too_old or hopeless):
            condition = ("RetryAttemptsExhausted" if too_many else "RecordAgeExceeded" if too_old
                         else error.code if error is not None else "")
            self._dead_letter(pipe, params, shard, failing, cursor.attempts, condition, error)
            self._past(pipe, shard, cursor, batch)
            return True
        cursor.retry_at = now + min(MAX_BACKOFF, 2.0 ** (cursor.attempts - 1))
        _wake(self.service, cursor.retry_at)
        return True

    def _past(self, pipe: Any, shard: Shard, cursor: Cursor, batch: list[Any]) -> None:
        """The batch is behind the shard (delivered or given up): read on after it."""
        cursor.next_sequence, cursor.attempts = batch[-1].sequence_number + 1, 0
        if cursor.splits:
            cursor.splits.pop(0)

    def _dead_letter(self, pipe: Any, params: dict[str, Any], shard: Shard, skipped: list[Any],
                     attempts: int, condition: str, error: Any) -> None:
        dlq = (params.get("DeadLetterConfig") or {}).get("Arn")
        sb = self.service.sandbox
        record: dict[str, Any] = {
            "context": {"requestId": str(uuid.uuid4()), "partnerResourceArn": pipe.arn,
                        "condition": condition, "approximateInvokeCount": attempts,
                        "errorMessage": f"{error.code}: {error.message}" if error is not None else ""},
            "version": "1.0",
            "timestamp": iso_time(sb.clock.time(), millis=True),
            self.batch_info: kinesis_batch_info(pipe.source, shard.shard_id, skipped),
        }
        entry = {"pipe": pipe.name, "dlq": dlq, "record": record}
        if dlq:
            try:
                may_call(sb, pipe, dlq)
                deliver_to_arn(sb, dlq, json.dumps(record))
            except Exception as exc:   # the records are lost, as on AWS
                entry["dlq_error"] = repr(exc)
        self.service.dead_lettered.append(entry)


class KinesisSource(StreamSource):
    def shards(self, pipe: Any) -> list[Shard]:
        kinesis = self.service.sandbox.backend_for("kinesis", pipe.source)
        stream = next((s for s in kinesis.streams.values() if s.arn == pipe.source), None)
        if stream is None:
            return []
        return [Shard(shard_id, shard.records) for shard_id, shard in list(stream.shards.items())]

    def record(self, pipe: Any, shard: Shard, entry: Any) -> dict[str, Any]:
        region = pipe.source.split(":")[3]
        return _flat(kinesis_record(entry, shard.shard_id, pipe.source, region, pipe.role_arn))


class DynamoDBSource(StreamSource):
    """A DynamoDB stream (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-dynamodb.html):
    the records moto keeps for the table, with ``eventSourceARN`` and the pipe's region."""

    parameters = "DynamoDBStreamParameters"
    batch_info = "DDBStreamBatchInfo"

    def shards(self, pipe: Any) -> list[Shard]:
        # arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL
        name = pipe.source.split(":", 5)[5].split("/")[1]
        table = self.service.sandbox.backend_for("dynamodb", pipe.source).tables.get(name)
        stream = getattr(table, "stream_shard", None)
        if stream is None:
            return []
        entries = {}
        for item in list(stream.items):
            seq = int(item.record["dynamodb"]["SequenceNumber"])
            entries[seq] = Entry(seq, epoch(item.record["dynamodb"].get("ApproximateCreationDateTime")), item)
        return [Shard(stream.id, entries)]

    def record(self, pipe: Any, shard: Shard, entry: Any) -> dict[str, Any]:
        record = json.loads(json.dumps(entry.item.record, default=str))
        record["dynamodb"]["ApproximateCreationDateTime"] = round(entry.created_at, 3)
        record["awsRegion"] = pipe.source.split(":")[3]
        record["eventSourceARN"] = pipe.source
        return record


def _flat(record: dict[str, Any]) -> dict[str, Any]:
    """A Pipes Kinesis record: the ESM record with its ``kinesis`` fields first, at the top."""
    return {**record["kinesis"], **{k: v for k, v in record.items() if k != "kinesis"}}
