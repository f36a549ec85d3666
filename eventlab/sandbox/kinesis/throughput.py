"""Kinesis Data Streams throughput, as AWS enforces it, on the virtual clock.

moto accepts any amount of data into any shard.  Here every write and read is spent from
per-shard buckets of the quotas in :mod:`eventlab.sandbox.core.capacity`
(https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html):

* **Writes**, per shard: 1 MiB/s and 1,000 records/s (the record's data plus its partition
  key count as its size).  ``PutRecord`` over the limit fails with
  ``ProvisionedThroughputExceededException`` ("Rate exceeded for shard shardId-... in
  stream ... under account ...").  ``PutRecords`` is judged record by record, in order:
  a throttled record comes back with that ``ErrorCode`` and ``ErrorMessage`` and counts
  in ``FailedRecordCount``; the others are written.  So a constant partition key (one
  hot shard) throttles while the stream's other shards sit idle.
* **On-demand streams** have a stream-wide write capacity: 4 MiB/s and 4,000 records/s
  for a new stream, then twice the highest per-second peak seen so far (AWS: in the
  previous 30 days) (https://docs.aws.amazon.com/streams/latest/dev/how-do-i-size-a-stream.html).
  AWS adds shards to follow it; the sandbox does not, and applies the per-shard limits
  per partition key instead (one key always lands on one shard).
* **Reads** (``GetRecords``), per shard: 5 calls/s, and 2 MiB/s.  One call may return
  more than the second's allowance (up to 10 MiB); the shard then refuses reads until
  the debt is paid back (AWS: "subsequent calls made within the next 5 seconds throw
  ProvisionedThroughputExceededException").
* **Metrics** (``AWS/Kinesis``, ``StreamName``): ``WriteProvisionedThroughputExceeded``
  (throttled records), ``ReadProvisionedThroughputExceeded`` (throttled ``GetRecords``),
  ``PutRecord.Success``, ``PutRecords.SuccessfulRecords``,
  ``PutRecords.ThrottledRecords``, ``PutRecords.TotalRecords``; ``IncomingBytes`` and
  ``IncomingRecords`` count only what was written.

Not modelled: the reads of Lambda event source mappings and Firehose (they read the
shard without ``GetRecords``), enhanced fan-out's 2 MiB/s per consumer, ``LimitExceeded``
on control-plane calls.
"""

from __future__ import annotations

import math
import threading
from base64 import b64decode
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eventlab.sandbox.core.capacity import TokenBucket

if TYPE_CHECKING:
    from eventlab.sandbox.core.patches import PatchSet
    from eventlab.sandbox.core.sandbox import Sandbox

MiB = 1_048_576


class KinesisThroughputService:
    name = "kinesis-throughput"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._lock = threading.Lock()
        self._buckets: dict[tuple[Any, ...], TokenBucket] = {}
        self._peaks: dict[tuple[Any, ...], _Peak] = {}   # on-demand stream -> its write peak
        sandbox.quotas.on_change(lambda _name: self._buckets.clear())

    # -- the buckets --------------------------------------------------------------------
    def _bucket(self, key: tuple[Any, ...], rate: float, capacity: float | None = None) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(rate, capacity, self.sandbox.clock.time())
        elif bucket.rate != rate:
            bucket.resize(rate, capacity)
        return bucket

    def admit_write(self, backend: Any, stream: Any, shard_id: str, size: int,
                    partition_key: str = "") -> bool:
        """Spend one record of ``size`` bytes from the shard (and an on-demand stream's
        capacity); False, spending nothing, when either has too little left.

        An on-demand stream adds shards as its traffic grows, which the sandbox does not
        do; there the per-shard limits apply per partition key (one key always lands on
        one shard, so a hot key still throttles at a shard's rate) and the stream-wide
        capacity bounds the rest."""
        q = self.sandbox.quotas
        now = self.sandbox.clock.time()
        base = (backend.account_id, backend.region_name, stream.stream_name)
        on_demand = (stream.stream_mode or {}).get("StreamMode") == "ON_DEMAND"
        unit = ("key", partition_key) if on_demand else (shard_id,)
        buckets = [(self._bucket(base + unit + ("wb",), q["kinesis.shard.write-bytes"]), size),
                   (self._bucket(base + unit + ("wr",), q["kinesis.shard.write-records"]), 1)]
        if on_demand:
            peak = self._peaks.setdefault(base, _Peak(math.floor(now)))
            rate_b = max(q["kinesis.on-demand.write-bytes"], 2 * peak.peak_bytes)
            rate_r = max(q["kinesis.on-demand.write-records"], 2 * peak.peak_records)
            buckets += [(self._bucket(base + ("stream", "wb"), rate_b), size),
                        (self._bucket(base + ("stream", "wr"), rate_r), 1)]
        with self._lock:
            if not all(b.available(now) + 1e-9 >= amount for b, amount in buckets):
                return False
            for b, amount in buckets:
                b.take(amount, now)
            if on_demand:
                self._peaks[base].add(now, size)
        return True

    def admit_read_call(self, backend: Any, stream_name: str, shard_id: str) -> bool:
        q = self.sandbox.quotas
        now = self.sandbox.clock.time()
        base = (backend.account_id, backend.region_name, stream_name, shard_id)
        calls = self._bucket(base + ("rc",), q["kinesis.shard.read-calls"])
        data = self._bucket(base + ("rb",), q["kinesis.shard.read-bytes"])
        with self._lock:
            if data.available(now) < 0 or not calls.take(1, now):
                return False
        return True

    def spend_read_bytes(self, backend: Any, stream_name: str, shard_id: str, size: int) -> None:
        """Reads may overdraw: the bucket goes negative and refuses reads until refilled."""
        base = (backend.account_id, backend.region_name, stream_name, shard_id)
        data = self._bucket(base + ("rb",), self.sandbox.quotas["kinesis.shard.read-bytes"])
        with self._lock:
            data.available(self.sandbox.clock.time())
            data.tokens -= size

    # -- installation -------------------------------------------------------------------
    def install(self, patches: PatchSet) -> None:
        from moto.kinesis.exceptions import (
            RecordSizeExceedsLimit,
            TooManyRecords,
            TotalRecordsSizeExceedsLimit,
        )
        from moto.kinesis.models import KinesisBackend
        from moto.kinesis.utils import decompose_shard_iterator

        service = self

        def make_put_record(original: Any) -> Any:
            def put_record(backend: Any, stream_arn: str, stream_name: str, partition_key: str,
                           explicit_hash_key: str, data: str) -> Any:
                stream = backend.describe_stream(stream_arn=stream_arn, stream_name=stream_name)
                shard = stream.get_shard_for_key(partition_key, explicit_hash_key)
                size = _size(partition_key, data)
                if not service.admit_write(backend, stream, shard.shard_id, size, partition_key):
                    service._metrics(backend, stream.stream_name, {"WriteProvisionedThroughputExceeded": 1,
                                                                   "PutRecord.Success": 0})
                    raise _throttled(backend, stream.stream_name, shard.shard_id)
                result = original(backend, stream_arn, stream_name, partition_key, explicit_hash_key, data)
                service._metrics(backend, stream.stream_name, {"WriteProvisionedThroughputExceeded": 0,
                                                               "PutRecord.Success": 1})
                return result
            return put_record

        patches.wrap(KinesisBackend, "put_record", make_put_record,
                     "PutRecord is refused past a shard's 1 MiB/s or 1,000 records/s")

        def put_records(backend: Any, stream_arn: str, stream_name: str,
                        records: list[dict[str, Any]]) -> dict[str, Any]:
            stream = backend.describe_stream(stream_arn=stream_arn, stream_name=stream_name)
            if len(records) > 500:
                raise TooManyRecords
            sizes = [_size(r.get("PartitionKey", ""), r.get("Data", "")) for r in records]
            if sum(sizes) > 5 * MiB:
                raise TotalRecordsSizeExceedsLimit
            over = next((i for i, s in enumerate(sizes) if s > MiB), None)
            if over is not None:
                raise RecordSizeExceedsLimit(position=over + 1)
            response: dict[str, Any] = {"FailedRecordCount": 0, "Records": []}
            written_bytes = 0
            for record, size in zip(records, sizes, strict=True):
                key, hash_key = record.get("PartitionKey"), record.get("ExplicitHashKey")
                shard = stream.get_shard_for_key(key, hash_key)
                if not service.admit_write(backend, stream, shard.shard_id, size, key or ""):
                    response["FailedRecordCount"] += 1
                    response["Records"].append({
                        "ErrorCode": "ProvisionedThroughputExceededException",
                        "ErrorMessage": _message(backend, stream.stream_name, shard.shard_id)})
                    continue
                sequence_number, shard_id = stream.put_record(key, hash_key, record.get("Data"))
                response["Records"].append({"SequenceNumber": sequence_number, "ShardId": shard_id})
                written_bytes += size
            failed = response["FailedRecordCount"]
            written = len(records) - failed
            if written:
                backend._send_stream_metrics(stream.stream_name, incoming_bytes=written_bytes,
                                             incoming_records=written)
            service._metrics(backend, stream.stream_name, {
                "WriteProvisionedThroughputExceeded": failed, "PutRecords.ThrottledRecords": failed,
                "PutRecords.SuccessfulRecords": written, "PutRecords.TotalRecords": len(records)})
            return response

        patches.replace(KinesisBackend, "put_records", put_records,
                        "PutRecords judges each record against its shard's limits (ErrorCode per record)")

        def make_get_records(original: Any) -> Any:
            def get_records(backend: Any, stream_arn: str | None, shard_iterator: str,
                            limit: int | None) -> Any:
                stream_name, shard_id, _ = decompose_shard_iterator(shard_iterator)
                if not service.admit_read_call(backend, stream_name, shard_id):
                    service._metrics(backend, stream_name, {"ReadProvisionedThroughputExceeded": 1})
                    raise _throttled(backend, stream_name, shard_id)
                result = original(backend, stream_arn, shard_iterator, limit)
                size = sum(_size(r.partition_key, r.data) for r in result[1])
                service.spend_read_bytes(backend, stream_name, shard_id, size)
                service._metrics(backend, stream_name, {"ReadProvisionedThroughputExceeded": 0})
                return result
            return get_records

        patches.wrap(KinesisBackend, "get_records", make_get_records,
                     "GetRecords is refused past a shard's 5 calls/s or 2 MiB/s")

    def _metrics(self, backend: Any, stream_name: str, values: dict[str, float]) -> None:
        from eventlab.sandbox.cloudwatch.metrics import emit

        for name, value in values.items():
            emit(self.sandbox, "AWS/Kinesis", name, value, dimensions={"StreamName": stream_name},
                 region=backend.region_name, unit="Count")


@dataclass
class _Peak:
    """An on-demand stream's writes in the current virtual second, and the highest second."""

    second: int
    bytes: float = 0.0
    records: float = 0.0
    peak_bytes: float = 0.0
    peak_records: float = 0.0

    def add(self, now: float, size: int) -> None:
        if math.floor(now) != self.second:
            self.second, self.bytes, self.records = math.floor(now), 0.0, 0.0
        self.bytes += size
        self.records += 1
        self.peak_bytes = max(self.peak_bytes, self.bytes)
        self.peak_records = max(self.peak_records, self.records)


def _size(partition_key: str | None, data: str | None) -> int:
    try:
        payload = len(b64decode(data or ""))
    except (ValueError, TypeError):
        payload = len(data or "")
    return payload + len((partition_key or "").encode("utf-8"))


def _message(backend: Any, stream_name: str, shard_id: str) -> str:
    return (f"Rate exceeded for shard {shard_id} in stream {stream_name} "
            f"under account {backend.account_id}.")


def _throttled(backend: Any, stream_name: str, shard_id: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError("ProvisionedThroughputExceededException", _message(backend, stream_name, shard_id))
