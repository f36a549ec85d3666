"""Firehose -> S3 as AWS delivers it: buffered, processed, partitioned, compressed.

moto writes one S3 object per ``PutRecord`` at once, with prefixes unexpanded.  Here
(following https://docs.aws.amazon.com/firehose/latest/dev/basic-deliver.html and the
pages linked from the helper modules):

* records wait in a buffer per delivery stream until ``BufferingHints.SizeInMBs``
  (default 5) of data has arrived or ``IntervalInSeconds`` (default 300) of virtual time
  has passed since the oldest one; ``sb.service("firehose").flush(name=None)`` delivers
  now.  Records are concatenated as sent (no delimiter is added) unless the
  ``AppendDelimiterToRecord`` processor is configured;
* the ``Lambda`` processor gets ``{invocationId, deliveryStreamArn, region, records:
  [{recordId, approximateArrivalTimestamp, data}]}`` (plus ``sourceKinesisStreamArn`` and
  ``kinesisRecordMetadata`` for a Kinesis source) and must answer ``{records: [{recordId,
  result, data, metadata.partitionKeys}]}``; ``ProcessingFailed`` records, and every record
  of a failed invocation (after ``NumberOfRetries``, default 3) or a malformed answer, go
  to the error prefix as ``processing-failed`` JSON records;
* dynamic partitioning (``MetadataExtraction`` JQ queries and Lambda partition keys), key
  prefixes (:mod:`eventlab.sandbox.firehose.prefix`), ``CompressionFormat`` and Parquet
  conversion (:mod:`eventlab.sandbox.firehose.convert`);
* a ``KinesisStreamAsSource`` delivery stream reads its data stream from the position it
  was created at (LATEST); ``PutRecord`` on it fails as on AWS.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from eventlab.sandbox.firehose import convert
from eventlab.sandbox.firehose import prefix as prefixes
from eventlab.sandbox.firehose.processor import Failure, Rec, param, record_id, run_lambda

if TYPE_CHECKING:
    from eventlab.sandbox.core.patches import PatchSet
    from eventlab.sandbox.core.sandbox import Sandbox

MB = 1024 * 1024


@dataclass
class Buffer:
    records: list[Rec] = field(default_factory=list)
    size: int = 0
    scheduled: float | None = None

    @property
    def opened(self) -> float | None:
        return self.records[0].arrival if self.records else None


def s3_config(stream: Any) -> dict[str, Any] | None:
    destination = stream.destinations[0]
    return destination.get("ExtendedS3") or destination.get("S3")


def _processors(config: dict[str, Any]) -> list[dict[str, Any]]:
    processing = config.get("ProcessingConfiguration") or {}
    if not processing.get("Enabled", False):
        return []
    return list(processing.get("Processors") or [])


class FirehoseService:
    name = "firehose"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._buffers: dict[str, Buffer] = {}
        self._lock = threading.RLock()
        self._cursors: dict[tuple[str, str], int] = {}
        self.deliveries: list[dict[str, Any]] = []  # every object written: bucket, key, records

    # -- installation --------------------------------------------------------------
    def install(self, patches: PatchSet) -> None:
        from moto.firehose.exceptions import InvalidArgumentException
        from moto.firehose.models import FirehoseBackend

        service = self

        def make_put_s3(original: Any) -> Any:
            def put_s3_records(backend: Any, name: str, version: str, destination: dict[str, Any],
                               records: list[dict[str, bytes]]) -> list[dict[str, str]]:
                stream = backend.delivery_streams.get(name)
                if stream is None:
                    return original(backend, name, version, destination, records)
                return service._enqueue(stream, records)
            return put_s3_records

        patches.wrap(FirehoseBackend, "put_s3_records", make_put_s3,
                     "Firehose buffers records and delivers them as AWS does (size/interval, processors, prefixes)")

        def make_put_batch(original: Any) -> Any:
            def put_record_batch(backend: Any, name: str, records: list[dict[str, bytes]]) -> Any:
                stream = backend.delivery_streams.get(name)
                if stream is not None and stream.delivery_stream_type == "KinesisStreamAsSource":
                    raise InvalidArgumentException(
                        "This operation is not permitted on KinesisStreamAsSource delivery stream "
                        "type. Put records to the source Kinesis data stream instead.")
                return original(backend, name, records)
            return put_record_batch

        patches.wrap(FirehoseBackend, "put_record_batch", make_put_batch,
                     "PutRecord(Batch) is refused on a delivery stream whose source is a Kinesis stream")

        def make_create(original: Any) -> Any:
            def create_delivery_stream(backend: Any, region: str, name: str, *args: Any, **kwargs: Any) -> str:
                arn = original(backend, region, name, *args, **kwargs)
                stream = backend.delivery_streams[name]
                stream.eventlab_created = service.sandbox.clock.time()
                config = s3_config(stream) or {}
                fmt = (config.get("CompressionFormat") or "UNCOMPRESSED").upper()
                if fmt not in convert.SUPPORTED_COMPRESSION:
                    backend.delivery_streams.pop(name, None)
                    raise InvalidArgumentException(
                        f"CompressionFormat {fmt} is not supported by the eventlab sandbox; use "
                        "GZIP, ZIP or UNCOMPRESSED (see docs/differences.md)")
                return arn
            return create_delivery_stream

        patches.wrap(FirehoseBackend, "create_delivery_stream", make_create,
                     "remember when a delivery stream was created (its Kinesis source starts at LATEST)")

    # -- intake ----------------------------------------------------------------------
    def _enqueue(self, stream: Any, records: list[dict[str, bytes]]) -> list[dict[str, str]]:
        now = self.sandbox.clock.time()
        out = []
        with self._lock:
            buffer = self._buffers.setdefault(stream.delivery_stream_arn, Buffer())
            for record in records:
                data = record["Data"]
                if isinstance(data, str):
                    data = data.encode()
                rec = Rec(bytes(data), now, record_id())
                buffer.records.append(rec)
                buffer.size += len(rec.data)
                out.append({"RecordId": rec.record_id})
        self.sandbox.pump.mark_dirty()
        return out

    def _streams(self) -> list[tuple[Any, Any]]:
        found = []
        for backend in self.sandbox.backends("firehose"):     # every account's
            for stream in list(backend.delivery_streams.values()):
                found.append((backend, stream))
        return found

    def _read_kinesis(self, stream: Any) -> bool:
        source = stream.source or {}
        arn = source.get("KinesisStreamARN")
        if not arn:
            return False
        kinesis = self.sandbox.backend_for("kinesis", arn)
        data_stream = next((s for s in kinesis.streams.values() if s.arn == arn), None)
        if data_stream is None:
            return False
        created = getattr(stream, "eventlab_created", 0.0)
        fresh: list[Rec] = []
        for shard_id, shard in list(data_stream.shards.items()):
            key = (stream.delivery_stream_arn, shard_id)
            if key not in self._cursors:
                later = [r.sequence_number for r in shard.records.values() if r.created_at >= created]
                self._cursors[key] = min(later) if later else (max(shard.records, default=-1) + 1)
            start = self._cursors[key]
            for seq, r in list(shard.records.items()):
                if seq < start:
                    continue
                metadata = {"shardId": shard_id, "partitionKey": r.partition_key,
                            "approximateArrivalTimestamp": int(r.created_at * 1000),
                            "sequenceNumber": str(seq), "subsequenceNumber": 0}
                fresh.append(Rec(base64.b64decode(r.data), r.created_at, record_id(), metadata))
                self._cursors[key] = seq + 1
        if not fresh:
            return False
        with self._lock:
            buffer = self._buffers.setdefault(stream.delivery_stream_arn, Buffer())
            buffer.records.extend(sorted(fresh, key=lambda r: r.arrival))
            buffer.size += sum(len(r.data) for r in fresh)
        return True

    # -- the pump ------------------------------------------------------------------
    def poll(self) -> bool:
        worked = False
        now = self.sandbox.clock.time()
        for backend, stream in self._streams():
            config = s3_config(stream)
            if config is None:
                continue
            if stream.delivery_stream_type == "KinesisStreamAsSource":
                worked = self._read_kinesis(stream) or worked
            hints = config.get("BufferingHints") or {}
            limit = float(hints.get("SizeInMBs", 5)) * MB
            interval = float(hints.get("IntervalInSeconds", 300))
            while True:
                batch = self._take(stream.delivery_stream_arn, limit, interval, now)
                if not batch:
                    break
                self._deliver(backend, stream, config, batch)
                worked = True
        return worked

    def _take(self, arn: str, limit: float, interval: float, now: float) -> list[Rec]:
        with self._lock:
            buffer = self._buffers.get(arn)
            if buffer is None or not buffer.records:
                return []
            if buffer.size >= limit:
                taken, size = [], 0
                while buffer.records and size < limit:
                    rec = buffer.records.pop(0)
                    taken.append(rec)
                    size += len(rec.data)
                buffer.size -= size
                buffer.scheduled = None
                return taken
            due = (buffer.opened or now) + interval
            if now >= due:
                taken = buffer.records
                self._buffers[arn] = Buffer()
                return taken
            if buffer.scheduled != due:
                buffer.scheduled = due
                self.sandbox.clock.call_at(due, lambda: None)
            return []

    def flush(self, name: str | None = None) -> int:
        """Deliver what is buffered now (one stream, or all); returns the objects written."""
        before = len(self.deliveries)
        for backend, stream in self._streams():
            if name is not None and stream.delivery_stream_name != name:
                continue
            config = s3_config(stream)
            if config is None:
                continue
            if stream.delivery_stream_type == "KinesisStreamAsSource":
                self._read_kinesis(stream)
            with self._lock:
                batch = self._buffers.pop(stream.delivery_stream_arn, Buffer()).records
            if batch:
                self._deliver(backend, stream, config, batch)
        return len(self.deliveries) - before

    # -- delivery ----------------------------------------------------------------------
    def _deliver(self, backend: Any, stream: Any, config: dict[str, Any], batch: list[Rec]) -> None:
        failures: list[Failure] = []
        records = [(rec, rec.data) for rec in batch]
        processors = _processors(config)
        for processor in processors:
            if processor.get("Type") == "Lambda":
                records = run_lambda(self.sandbox, stream, processor, records, failures)
        query_keys: dict[str, dict[str, str]] = {}
        dynamic = (config.get("DynamicPartitioningConfiguration") or {}).get("Enabled", False)
        extraction = next((p for p in processors if p.get("Type") == "MetadataExtraction"), None)
        if dynamic and extraction is not None:
            compiled = prefixes.compile_jq(param(extraction, "MetadataExtractionQuery", ".") or ".")
            kept = []
            for rec, data in records:
                try:
                    query_keys[rec.record_id] = prefixes.run_jq(compiled, json.loads(data))
                    kept.append((rec, data))
                except (ValueError, prefixes.JQError) as exc:
                    failures.append(Failure(rec, "processing-failed", "DynamicPartitioning.MetadataExtractionFailed",
                                            f"Partition keys could not be extracted: {exc}"))
            records = kept
        delimiter = next((p for p in processors if p.get("Type") == "AppendDelimiterToRecord"), None)
        if delimiter is not None:
            text = (param(delimiter, "Delimiter", "\\n") or "\\n").encode().decode("unicode_escape").encode()
            records = [(rec, data + text) for rec, data in records]
        groups: dict[tuple[tuple[str, str], ...], list[tuple[Rec, bytes]]] = {}
        for rec, data in records:
            keys = {**(rec.lambda_keys or {}), **query_keys.get(rec.record_id, {})}
            groups.setdefault(tuple(sorted(keys.items())), []).append((rec, data))
        for _, group in groups.items():
            self._write_group(stream, config, group, query_keys, failures)
        self._write_failures(stream, config, failures)

    def _when(self, config: dict[str, Any], epoch: float) -> datetime:
        when = prefixes.utc(epoch)
        zone = config.get("CustomTimeZone")
        if zone and zone != "UTC":
            from zoneinfo import ZoneInfo

            when = when.astimezone(ZoneInfo(zone))
        return when

    def _write_group(self, stream: Any, config: dict[str, Any], group: list[tuple[Rec, bytes]],
                     query_keys: dict[str, dict[str, str]], failures: list[Failure]) -> None:
        first = group[0][0]
        when = self._when(config, min(rec.arrival for rec, _ in group))
        conversion = convert.conversion_config(config)
        if conversion is not None:
            try:
                columns, catalog = convert.table_columns(self.sandbox, conversion)
                body, bad = convert.to_parquet([data for _, data in group], columns, conversion)
            except Exception as exc:  # no table, bad schema: every record fails conversion
                body, bad, catalog = None, [(i, str(exc)) for i in range(len(group))], {}
            for index, message in bad:
                failures.append(Failure(group[index][0], "format-conversion-failed",
                                        "DataFormatConversion.ParseError", message,
                                        extra={"dataCatalogTable": catalog}))
            extension = ".parquet"
            if body is None:
                return
        else:
            body = b"".join(data for _, data in group)
            fmt = config.get("CompressionFormat")
            extension = convert.EXTENSIONS.get((fmt or "").upper(), "")
            body = convert.compress(body, fmt, stream.delivery_stream_name)
        extension = config.get("FileExtension") or extension
        try:
            prefix = prefixes.object_prefix(config, when, query_keys=query_keys.get(first.record_id),
                                            lambda_keys=first.lambda_keys)
        except KeyError as exc:
            for rec, _ in group:
                failures.append(Failure(rec, "processing-failed", "DynamicPartitioning.MissingPartitionKey",
                                        f"The prefix uses {exc.args[0]}, which the record does not have"))
            return
        key = prefix + prefixes.object_suffix(stream.delivery_stream_name, stream.version_id, when, extension)
        self._put(stream, config, key, body, len(group))

    def _write_failures(self, stream: Any, config: dict[str, Any], failures: list[Failure]) -> None:
        by_type: dict[str, list[Failure]] = {}
        for failure in failures:
            by_type.setdefault(failure.error_type, []).append(failure)
        end = int(self.sandbox.clock.time() * 1000)
        for error_type, group in by_type.items():
            lines = []
            for f in group:
                if error_type == "format-conversion-failed":
                    record = {"attemptsMade": f.attempts, "arrivalTimestamp": int(f.rec.arrival * 1000),
                              "lastErrorCode": f.code, "lastErrorMessage": f.message,
                              "attemptEndingTimestamp": end,
                              "rawData": base64.b64encode(f.rec.data).decode(),
                              "sequenceNumber": (f.rec.kinesis or {}).get("sequenceNumber", ""),
                              "subSequenceNumber": 0, **f.extra}
                else:
                    record = {"attemptsMade": f.attempts, "arrivalTimestamp": int(f.rec.arrival * 1000),
                              "errorCode": f.code, "errorMessage": f.message,
                              "attemptEndingTimestamp": end,
                              "rawData": base64.b64encode(f.rec.data).decode(), **f.extra}
                lines.append(convert.error_line(record))
            when = self._when(config, min(f.rec.arrival for f in group))
            fmt = config.get("CompressionFormat")
            body = convert.compress(b"".join(lines), fmt, stream.delivery_stream_name)
            key = prefixes.error_prefix(config, when, error_type) + prefixes.object_suffix(
                stream.delivery_stream_name, stream.version_id, when,
                convert.EXTENSIONS.get((fmt or "").upper(), ""))
            self._put(stream, config, key, body, len(group), error_type=error_type)

    def _put(self, stream: Any, config: dict[str, Any], key: str, body: bytes, count: int,
             error_type: str | None = None) -> None:
        from moto.s3.models import s3_backends

        bucket = config["BucketARN"].split(":")[-1]
        s3_backends[stream.delivery_stream_arn.split(":")[4]]["aws"].put_object(bucket, key, body)
        self.deliveries.append({"bucket": bucket, "key": key, "records": count, "bytes": len(body),
                                "error_type": error_type})
