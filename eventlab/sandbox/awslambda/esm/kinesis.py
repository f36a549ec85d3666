"""Kinesis -> Lambda: the event source mapping as Lambda's stream pollers run it.

Following https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html:

* each shard is read in order from ``StartingPosition`` (``TRIM_HORIZON``: the oldest
  record; ``LATEST``: records put after the mapping was created; ``AT_TIMESTAMP``:
  ``StartingPositionTimestamp``), in batches of up to ``BatchSize`` (default 100), with
  ``MaximumBatchingWindowInSeconds`` waiting (virtual time) for a fuller batch;
* records carry ``kinesis.{kinesisSchemaVersion, partitionKey, sequenceNumber, data
  (base64), approximateArrivalTimestamp}``, ``eventSource``, ``eventVersion``,
  ``eventID`` (``shardId:sequenceNumber``), ``eventName``, ``invokeIdentityArn``,
  ``awsRegion`` and ``eventSourceARN``;
* a failed batch blocks its shard and is retried (back-off on the virtual clock:
  1 s, 2 s, 4 s ... up to 60 s) until it succeeds, ``MaximumRetryAttempts`` is used up
  or its oldest record is older than ``MaximumRecordAgeInSeconds``; then the batch is
  skipped and, with ``DestinationConfig.OnFailure``, a record describing it (the
  ``KinesisBatchInfo`` shape) is sent there;
* with ``FunctionResponseTypes: ["ReportBatchItemFailures"]`` the shard resumes from
  the first reported ``itemIdentifier`` (a sequence number); an empty list is success;
* each shard has one batch in flight at a time: the next one starts when the invocation
  ends in virtual time; with ``ParallelizationFactor`` N (1-10) a shard has N batches in
  flight, each record going to one of N lanes by its partition key, so records of one
  key stay in order and a failing batch holds only its own lane
  (https://docs.aws.amazon.com/lambda/latest/dg/kinesis-parallelization.html).  Which
  lane a key goes to is not documented: the sandbox uses the MD5 of the key;
* with ``BisectBatchOnFunctionError`` a failing batch (from its first reported failure,
  with ``ReportBatchItemFailures``) is split in two and each half retried, first half
  first; splitting does not use up a retry attempt, so a single bad record ends up
  alone, is retried as above, and only it goes to the on-failure destination
  (https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from eventlab.errors import FunctionNotFound
from eventlab.sandbox.awslambda.concurrency import Throttled
from eventlab.sandbox.awslambda.service import deliver_to_arn, enabled_mappings
from eventlab.sandbox.core.pump import window_closed

if TYPE_CHECKING:
    from eventlab.sandbox.core.patches import PatchSet
    from eventlab.sandbox.core.sandbox import Sandbox

MAX_BACKOFF = 60.0


@dataclass
class ShardCursor:
    """One lane of a shard (a shard has ``ParallelizationFactor`` lanes)."""

    next_sequence: int | None = None  # next sequence number to read; None: not started
    attempts: int = 0
    retry_at: float = 0.0
    window_started: float | None = None
    busy_until: float = 0.0           # the lane's batch in flight ends then (virtual time)
    splits: list[tuple[int, int]] = field(default_factory=list)  # bisected ranges still to retry


@dataclass
class MappingState:
    lanes: dict[str, list[ShardCursor]] = field(default_factory=dict)


def parallelization_factor(esm: Any) -> int:
    return max(1, min(10, int(esm.parallelization_factor or 1)))


def lane_of(partition_key: str, lanes: int) -> int:
    """The lane (0..lanes-1) of a partition key: the same key, the same lane."""
    if lanes == 1:
        return 0
    return int(hashlib.md5(partition_key.encode()).hexdigest(), 16) % lanes


class KinesisService:
    name = "kinesis"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._states: dict[str, MappingState] = {}
        self.batches: list[dict[str, Any]] = []

    def install(self, patches: PatchSet) -> None:
        """Shard iterators as AWS hands them out and checks them (moto's inline trigger is
        removed when the mapping is created)."""
        patches.after_import("moto.kinesis.models", lambda: _install_iterators(patches))

    def poll(self) -> bool:
        worked = False
        for esm in enabled_mappings(self.sandbox, "kinesis"):
            worked = self._poll_mapping(esm) or worked
        return worked

    def _stream(self, arn: str) -> Any:
        kinesis = self.sandbox.backend_for("kinesis", arn)
        return next((s for s in kinesis.streams.values() if s.arn == arn), None)

    def _start(self, esm: Any, shard: Any) -> int:
        return start_sequence(shard, esm.starting_position, getattr(esm, "eventlab_created", 0.0),
                              esm.starting_position_timestamp)

    def _poll_mapping(self, esm: Any) -> bool:
        stream = self._stream(esm.event_source_arn)
        if stream is None:
            return False
        state = self._states.setdefault(esm.uuid, MappingState())
        factor = parallelization_factor(esm)
        worked = False
        for shard_id, shard in list(stream.shards.items()):
            lanes = state.lanes.get(shard_id)
            if lanes is None or len(lanes) != factor:
                # a new factor: the new lanes start where the slowest old one was
                # (at least once: records a faster lane had done may come again)
                started = [c.next_sequence for c in lanes or [] if c.next_sequence is not None]
                start = min(started) if started else self._start(esm, shard)
                lanes = state.lanes[shard_id] = [ShardCursor(start) for _ in range(factor)]
            for lane, cursor in enumerate(lanes):
                worked = self._poll_shard(esm, stream, shard, cursor, lane, factor) or worked
        return worked

    def _poll_shard(self, esm: Any, stream: Any, shard: Any, cursor: ShardCursor,
                    lane: int = 0, factor: int = 1) -> bool:
        now = self.sandbox.clock.time()
        if cursor.retry_at > now or cursor.busy_until > now:
            return False
        mine = [r for seq, r in shard.records.items() if seq >= (cursor.next_sequence or 0)
                and (factor == 1 or lane_of(r.partition_key, factor) == lane)]
        batch = split_batch(cursor.splits, mine)
        if batch == []:                 # the range was trimmed away meanwhile
            return True
        if batch is None:
            if not mine:
                cursor.window_started = None
                return False
            batch_size = int(esm.batch_size or 100)
            ready, cursor.window_started = window_closed(self.sandbox.clock, cursor.window_started, len(mine),
                                                         batch_size, float(esm.max_batch_window or 0))
            if not ready:
                return False
            batch = mine[:batch_size]
        region = esm.event_source_arn.split(":")[3]
        lam_service = self.sandbox.service("lambda")
        try:
            fn = lam_service.function(esm.function_arn)
        except FunctionNotFound:
            return False
        event = {"Records": [kinesis_record(r, shard.shard_id, esm.event_source_arn, region, fn.role) for r in batch]}
        try:
            result = lam_service.invoke(fn, event)
        except Throttled as exc:
            # throttled: the shard waits (its iterator age grows) and the batch is tried
            # again once the function has concurrency, without using up a retry attempt
            cursor.retry_at = lam_service.concurrency.retry_at(self.sandbox.backend_for("lambda", fn.function_arn), now)
            self.sandbox.clock.call_at(cursor.retry_at, lambda: None)
            self.batches.append({"mapping": esm.uuid, "shard": shard.shard_id, "size": len(batch),
                                 "ok": False, "throttled": exc.reason, "function": fn.function_name,
                                 "stream_arn": stream.arn, "time": now, "lane": lane})
            return True
        if result.ended > now:
            cursor.busy_until = result.ended
            self.sandbox.clock.call_at(result.ended, lambda: None)
        failed_from = _failure_point(esm, result, batch)
        self.batches.append({"mapping": esm.uuid, "shard": shard.shard_id, "size": len(batch),
                             "ok": failed_from is None,
                             "first": batch[0].sequence_number, "last": batch[-1].sequence_number,
                             "function": fn.function_name, "stream_arn": stream.arn,
                             "arrival": batch[-1].created_at, "time": now, "lane": lane})
        if failed_from is None:
            self._done(cursor, batch)
            return True
        cursor.next_sequence = failed_from
        failing = [r for r in batch if r.sequence_number >= failed_from]
        if esm.bisect_on_error in (True, "true", "True") and len(failing) > 1:
            bisect(cursor.splits, failing)
            cursor.attempts = 0        # splitting does not use up a retry attempt
            return True
        cursor.attempts += 1
        max_attempts = esm.max_retry_attempts
        max_age = esm.max_record_age
        too_many = max_attempts is not None and int(max_attempts) >= 0 and cursor.attempts > int(max_attempts)
        too_old = max_age is not None and int(max_age) >= 0 and now - failing[0].created_at > int(max_age)
        if too_many or too_old:
            self._on_failure(esm, stream, shard, batch, failed_from, cursor.attempts,
                             "RetryAttemptsExhausted" if too_many else "RecordAgeExceeded")
            self._done(cursor, batch)
            return True
        backoff = min(MAX_BACKOFF, 2.0 ** (cursor.attempts - 1))
        cursor.retry_at = now + backoff
        self.sandbox.clock.call_at(cursor.retry_at, lambda: None)
        return True

    @staticmethod
    def _done(cursor: ShardCursor, batch: list[Any]) -> None:
        """The batch is behind the lane (processed or skipped): read on after it."""
        cursor.next_sequence = batch[-1].sequence_number + 1
        cursor.attempts = 0
        if cursor.splits:
            cursor.splits.pop(0)

    def _on_failure(self, esm: Any, stream: Any, shard: Any, batch: list[Any], failed_from: int,
                    attempts: int, condition: str) -> None:
        target = ((esm.destination_config or {}).get("OnFailure") or {}).get("Destination")
        if not target:
            return
        skipped = [r for r in batch if r.sequence_number >= failed_from]
        now = datetime.fromtimestamp(self.sandbox.clock.time(), UTC)
        record = {
            "requestContext": {"requestId": esm.uuid, "functionArn": esm.function_arn,
                               "condition": condition, "approximateInvokeCount": attempts},
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                                "functionError": "Unhandled"},
            "version": "1.0",
            "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "KinesisBatchInfo": kinesis_batch_info(stream.arn, shard.shard_id, skipped),
        }
        deliver_to_arn(self.sandbox, target, json.dumps(record))


def bisect(splits: list[tuple[int, int]], failing: list[Any]) -> None:
    """Retry ``failing`` (two records or more) as two halves, first half first, in place of
    the range being retried (``splits[0]``, if any): ``BisectBatchOnFunctionError`` and Pipes'
    ``AUTOMATIC_BISECT``."""
    half = len(failing) // 2
    splits[:1 if splits else 0] = [(failing[0].sequence_number, failing[half - 1].sequence_number),
                                   (failing[half].sequence_number, failing[-1].sequence_number)]


def split_batch(splits: list[tuple[int, int]], records: list[Any]) -> list[Any] | None:
    """The records of the bisected range retried first (``splits[0]``), or None when no
    range waits; an empty range (trimmed away meanwhile) is dropped and gives ``[]``."""
    if not splits:
        return None
    first, last = splits[0]
    batch = [r for r in records if first <= r.sequence_number <= last]
    if not batch:
        splits.pop(0)
    return batch


def kinesis_batch_info(stream_arn: str, shard_id: str, skipped: list[Any]) -> dict[str, Any]:
    """The ``KinesisBatchInfo`` of records a reader skipped (on-failure destinations, DLQs)."""
    return {
        "shardId": shard_id,
        "startSequenceNumber": str(skipped[0].sequence_number),
        "endSequenceNumber": str(skipped[-1].sequence_number),
        "approximateArrivalOfFirstRecord": _iso(skipped[0].created_at),
        "approximateArrivalOfLastRecord": _iso(skipped[-1].created_at),
        "batchSize": len(skipped),
        "streamArn": stream_arn,
    }


def start_sequence(shard: Any, position: str | None, created: float, stamp: Any = None) -> int:
    """The first sequence number a reader of ``shard`` gets for ``StartingPosition``
    (``TRIM_HORIZON``: the oldest record; ``LATEST``: records put from ``created`` on;
    ``AT_TIMESTAMP``: records put from ``stamp`` on)."""
    position = (position or "TRIM_HORIZON").upper()
    if position in ("LATEST", "AT_TIMESTAMP"):
        if position == "AT_TIMESTAMP":
            created = stamp.timestamp() if isinstance(stamp, datetime) else float(stamp or 0)
        later = [r.sequence_number for r in shard.records.values() if r.created_at >= created]
        return min(later) if later else _last(shard) + 1
    return min(shard.records) if shard.records else 0


def kinesis_record(r: Any, shard_id: str, stream_arn: str, region: str, role: str) -> dict[str, Any]:
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": r.partition_key,
            "sequenceNumber": str(r.sequence_number),
            "data": r.data,
            "approximateArrivalTimestamp": round(r.created_at, 3),
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{r.sequence_number}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": role,
        "awsRegion": region,
        "eventSourceARN": stream_arn,
    }


def _failure_point(esm: Any, result: Any, batch: list[Any]) -> int | None:
    """The sequence number to resume from, or None when the whole batch succeeded."""
    if not result.ok:
        return batch[0].sequence_number
    if "ReportBatchItemFailures" not in (esm.function_response_types or []):
        return None
    try:
        response = json.loads(result.payload)
    except ValueError:
        return None
    if not isinstance(response, dict):
        return None
    failures = response.get("batchItemFailures") or []
    numbers = []
    valid = {r.sequence_number for r in batch}
    for failure in failures:
        ident = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        try:
            if not isinstance(ident, (str, int, float)):
                raise TypeError(ident)
            number = int(ident)
        except (TypeError, ValueError):
            return batch[0].sequence_number  # malformed: the whole batch failed
        if number not in valid:
            return batch[0].sequence_number
        numbers.append(number)
    return min(numbers) if numbers else None


def _last(shard: Any) -> int:
    return max(shard.records) if shard.records else -1


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"



def _install_iterators(patches: PatchSet) -> None:
    """moto encodes iterators with ``base64.encodebytes`` (a trailing newline, and one
    every 76 characters) and decodes them unchecked: a mistyped iterator escaped as
    ``binascii.Error``.  AWS: an opaque token without newlines, and
    ``InvalidArgumentException`` for one it did not issue."""
    import base64
    import binascii

    from moto.kinesis import models, utils
    from moto.kinesis.exceptions import InvalidArgumentError

    def decompose(shard_iterator: str) -> list[str]:
        try:
            parts = base64.b64decode(str(shard_iterator).encode("utf-8"), validate=True).decode("utf-8").split(":")
            int(parts[2])
        except (binascii.Error, UnicodeError, IndexError, ValueError):
            parts = []
        if len(parts) != 3:
            raise InvalidArgumentError(f"Invalid ShardIterator: {str(shard_iterator)[:64]!r} is not a "
                                       "shard iterator that GetShardIterator or GetRecords returned.")
        return parts

    patches.replace(utils, "encode_method", base64.b64encode, "shard iterators without newlines, as AWS's")
    for module in (utils, models):
        patches.replace(module, "decompose_shard_iterator", decompose,
                        "a mistyped shard iterator is InvalidArgumentException, not a crash")
