"""Firehose's Lambda transformation processor and the records it works on.

Following https://docs.aws.amazon.com/firehose/latest/dev/data-transformation.html,
data-transformation-status-model.html and data-transformation-failure-handling.html:
the function gets ``{invocationId, deliveryStreamArn, region, records}`` in chunks of
``BufferSizeInMBs`` (default 1 MB) and answers a ``recordId``, ``result`` (``Ok``,
``Dropped``, ``ProcessingFailed``) and base64 ``data`` (plus ``metadata.partitionKeys``)
per record.  A failed invocation is retried ``NumberOfRetries`` times (default 3, at
once); then, like a malformed answer, every record of the chunk fails.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eventlab.errors import FunctionNotFound
from eventlab.sandbox.awslambda.concurrency import Throttled

if TYPE_CHECKING:
    from eventlab.sandbox.core.sandbox import Sandbox

MB = 1024 * 1024


@dataclass
class Rec:
    data: bytes
    arrival: float
    record_id: str
    kinesis: dict[str, Any] | None = None
    lambda_keys: dict[str, str] | None = None


@dataclass
class Failure:
    rec: Rec
    error_type: str
    code: str
    message: str
    attempts: int = 1
    extra: dict[str, Any] = field(default_factory=dict)


def param(processor: dict[str, Any], name: str, default: str | None = None) -> str | None:
    for parameter in processor.get("Parameters") or []:
        if parameter.get("ParameterName") == name:
            return parameter.get("ParameterValue")
    return default


def run_lambda(sandbox: Sandbox, stream: Any, processor: dict[str, Any], records: list[tuple[Rec, bytes]],
               failures: list[Failure]) -> list[tuple[Rec, bytes]]:
    arn = param(processor, "LambdaArn") or ""
    retries = int(param(processor, "NumberOfRetries", "3") or 3)
    chunk_limit = float(param(processor, "BufferSizeInMBs", "1") or 1) * MB
    out: list[tuple[Rec, bytes]] = []
    chunk: list[tuple[Rec, bytes]] = []
    size = 0
    for item in [*records, None]:
        if item is not None:
            chunk.append(item)
            size += len(item[1])
        if chunk and (item is None or size >= chunk_limit):
            out.extend(_invoke_chunk(sandbox, stream, arn, retries, chunk, failures))
            chunk, size = [], 0
    return out

def _invoke_chunk(sandbox: Sandbox, stream: Any, arn: str, retries: int, chunk: list[tuple[Rec, bytes]],
                  failures: list[Failure]) -> list[tuple[Rec, bytes]]:
    lam = sandbox.service("lambda")
    region = stream.delivery_stream_arn.split(":")[3]
    event: dict[str, Any] = {"invocationId": str(uuid.uuid4()),
                             "deliveryStreamArn": stream.delivery_stream_arn, "region": region}
    source_arn = (stream.source or {}).get("KinesisStreamARN")
    if source_arn:
        event["sourceKinesisStreamArn"] = source_arn
    event["records"] = []
    for rec, data in chunk:
        entry: dict[str, Any] = {"recordId": rec.record_id,
                                 "approximateArrivalTimestamp": int(rec.arrival * 1000),
                                 "data": base64.b64encode(data).decode()}
        if rec.kinesis:
            entry["kinesisRecordMetadata"] = rec.kinesis
        event["records"].append(entry)

    def fail_all(code: str, message: str, attempts: int) -> list[tuple[Rec, bytes]]:
        for rec, _ in chunk:
            failures.append(Failure(rec, "processing-failed", code, message, attempts,
                                    {"lambdaArn": arn}))
        return []

    try:
        fn = lam.function(arn.split(":$LATEST")[0])
    except FunctionNotFound:
        return fail_all("Lambda.FunctionNotFound", f"Function not found: {arn}", 1)
    attempts, result = 0, None
    throttled = None
    while attempts <= retries:
        attempts += 1
        try:
            result = lam.invoke(fn, event)
        except Throttled as exc:
            throttled = exc
            continue
        if result.ok:
            break
    if result is None and throttled is not None:
        return fail_all("Lambda.TooManyRequestsException", f"Rate Exceeded. ({throttled.reason})", attempts)
    assert result is not None
    if not result.ok:
        error = result.error() or {}
        return fail_all("Lambda.FunctionError", str(error.get("errorMessage", "the function failed")), attempts)
    try:
        response = json.loads(result.payload)
        answered = {r["recordId"]: r for r in response["records"]}
    except (ValueError, TypeError, KeyError) as exc:
        return fail_all("Lambda.JsonProcessingException",
                        f"The Lambda response is not {{\"records\": [...]}} with a recordId per record: {exc}",
                        attempts)
    out: list[tuple[Rec, bytes]] = []
    for rec, _data in chunk:
        answer = answered.get(rec.record_id)
        result_name = answer.get("result") if isinstance(answer, dict) else None
        if answer is None:
            failures.append(Failure(rec, "processing-failed", "Lambda.MissingRecordId",
                                    "The Lambda response has no record with this recordId",
                                    attempts, {"lambdaArn": arn}))
        elif result_name == "Dropped":
            continue
        elif result_name == "Ok":
            try:
                new = base64.b64decode(answer.get("data") or "", validate=True)
            except ValueError:
                failures.append(Failure(rec, "processing-failed", "Lambda.InvalidData",
                                        "data is not base64", attempts, {"lambdaArn": arn}))
                continue
            keys = ((answer.get("metadata") or {}).get("partitionKeys") or None)
            rec.lambda_keys = {str(k): str(v) for k, v in keys.items()} if isinstance(keys, dict) else None
            out.append((rec, new))
        elif result_name == "ProcessingFailed":
            failures.append(Failure(rec, "processing-failed", "Lambda.ProcessingFailed",
                                    "The Lambda function returned result ProcessingFailed",
                                    attempts, {"lambdaArn": arn}))
        else:
            failures.append(Failure(rec, "processing-failed", "Lambda.InvalidResult",
                                    f"result must be Ok, Dropped or ProcessingFailed, got {result_name!r}",
                                    attempts, {"lambdaArn": arn}))
    return out


def record_id() -> str:
    return uuid.uuid4().hex + uuid.uuid4().hex
