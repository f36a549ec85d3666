"""Lab 2: a Kinesis real-time pipeline for IoT telemetry.

Names the lab asks for: data stream ``telemetry`` (on demand, partition key = device id);
topic ``telemetry-alerts`` with queue ``alert-inbox`` subscribed; functions
``threshold-alerter`` (Kinesis consumer) and ``telemetry-transform`` (Firehose
processor); bucket ``telemetry-lake``; delivery stream ``telemetry-to-s3``; Glue
database ``telemetry`` with table ``readings``; Athena named query ``per-device-minute``;
alarm ``telemetry-consumer-lag``; dashboard ``telemetry``.  Probe readings come from
devices named ``probe-...`` and are left out of the learner's own numbers.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections import Counter
from typing import Any

from autograder.checks import CheckFailed, check, declared_checks
from autograder.lab import ServiceRole
from autograder.probes import function, probe_id, queue, queue_bodies, refused_note, trust_problem
from eventlab.sandbox import inspect

STREAM = "telemetry"
TOPIC = "telemetry-alerts"
INBOX = "alert-inbox"
ALERTER = "threshold-alerter"
TRANSFORM = "telemetry-transform"
BUCKET = "telemetry-lake"
DELIVERY = "telemetry-to-s3"
DATABASE = "telemetry"
TABLE = "readings"
QUERY = "per-device-minute"
ALARM = "telemetry-consumer-lag"
DASHBOARD = "telemetry"
THRESHOLD = 80.0


def _firehose_policy(region: str, account: str) -> dict[str, Any]:
    """What Firehose needs to read the stream, call the processor and write the bucket
    (https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html)."""
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["kinesis:DescribeStream", "kinesis:GetShardIterator",
                                       "kinesis:GetRecords", "kinesis:ListShards"],
         "Resource": f"arn:aws:kinesis:{region}:{account}:stream/{STREAM}"},
        {"Effect": "Allow", "Action": ["s3:AbortMultipartUpload", "s3:GetBucketLocation",
                                       "s3:GetObject", "s3:ListBucket",
                                       "s3:ListBucketMultipartUploads", "s3:PutObject"],
         "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]},
        {"Effect": "Allow", "Action": ["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"],
         "Resource": f"arn:aws:lambda:{region}:{account}:function:{TRANSFORM}:*"},
    ]}


# FIREHOSE_ROLE_ARN in the notebook: a role only Firehose may assume (ROLE_ARN is Lambda's).
# The lab's stream gets a small share of AWS's on-demand capacity (4,000 records/s for a
# new stream; 1,000/s per shard, which one partition key never exceeds), so that the
# producer step's 120 readings really throttle and its retry code really runs.
QUOTAS = {"kinesis.on-demand.write-records": 100, "kinesis.shard.write-records": 20}
SEND_COUNT = 120

ROLES = {"FIREHOSE_ROLE_ARN": ServiceRole("eventlab-firehose-role", "firehose.amazonaws.com",
                                          _firehose_policy)}


# -- look-ups ------------------------------------------------------------------------
def _stream(sb: Any) -> inspect.Stream:
    stream = inspect.stream(sb, STREAM)
    if stream is None:
        raise CheckFailed(f"there is no Kinesis data stream named '{STREAM}'")
    return stream


def _reading(data: Any) -> dict[str, Any] | None:
    try:
        raw = base64.b64decode(data) if isinstance(data, str) else data
        value = json.loads(raw)
    except (ValueError, TypeError):
        return None
    return value if isinstance(value, dict) else None


def _learner_records(sb: Any) -> list[tuple[str, str, dict[str, Any]]]:
    """(shard id, partition key, reading) for every reading the learner put."""
    out = []
    for shard_id, shard in _stream(sb).shards.items():
        for record in shard.records:
            reading = _reading(record.data)
            if reading is None or str(reading.get("device_id", "")).startswith("probe-"):
                continue
            out.append((shard_id, record.partition_key, reading))
    return out


def _put(sb: Any, readings: list[dict[str, Any]]) -> None:
    sb.clock.advance(seconds=1)   # a second of capacity: the learner's writes may have used it
    response = sb.client("kinesis").put_records(StreamName=STREAM, Records=[
        {"Data": json.dumps(r).encode(), "PartitionKey": r["device_id"]} for r in readings])
    if response["FailedRecordCount"]:
        raise CheckFailed(f"the check's PutRecords failed: {response['Records']}")
    sb.settle()


def _probe_reading(temperature: float, device: str | None = None, ts: int | None = None) -> dict[str, Any]:
    return {"device_id": device or probe_id("probe"), "temperature": temperature,
            "humidity": 41.0, "ts": ts if ts is not None else 0}


def _now(sb: Any) -> int:
    return int(sb.clock.time())


# -- step 1: the stream -----------------------------------------------------------------
@check("stream", step="stream", title="Kinesis data stream telemetry", points=1,
       passed="The data stream telemetry is ACTIVE.",
       failed="The data stream telemetry is missing.",
       hint="kinesis.create_stream(StreamName='telemetry', StreamModeDetails=...).")
def check_stream(sb: Any) -> None:
    stream = _stream(sb)
    if stream.status != "ACTIVE":
        raise CheckFailed(f"the stream is {stream.status}")


@check("on-demand", step="stream", title="on-demand capacity mode", points=1,
       passed="telemetry runs in on-demand mode: no shards to size.",
       failed="The stream is not in on-demand mode.",
       hint="StreamModeDetails={'StreamMode': 'ON_DEMAND'} (and no ShardCount).")
def check_on_demand(sb: Any) -> None:
    mode = (_stream(sb).stream_mode or {}).get("StreamMode", "PROVISIONED")
    if mode != "ON_DEMAND":
        raise CheckFailed(f"the stream's capacity mode is {mode} (expected ON_DEMAND)")


# -- step 2: the producer ----------------------------------------------------------------
def _sent_readings(n: int = SEND_COUNT, seed: int = 2026) -> Counter[tuple[str, float, float]]:
    """(device, temperature, humidity) of each reading ``make_readings(n, seed)`` makes (the
    notebook's helper; its timestamps depend on when it runs, its values do not)."""
    import random

    rng = random.Random(seed)
    devices = [f"sensor-{k:02d}" for k in range(12)]
    out: Counter[tuple[str, float, float]] = Counter()
    for i in range(n):
        temperature = round(rng.uniform(55.0, 75.0), 1)
        humidity = round(rng.uniform(40.0, 55.0), 1)
        out[(devices[i % len(devices)], temperature, humidity)] += 1
    return out


@check("put-records", step="producer",
       title="every reading on the stream, throttled ones resent", points=1,
       passed="All 120 readings reached the stream, once each: the entries PutRecords throttled were resent.",
       failed="Readings are missing from the stream.",
       hint="Send the 120 readings of make_readings(120) with kinesis.put_records (up to 500 per call) "
            "and resend every entry whose result has an ErrorCode, with a back-off (sb.clock.advance).")
def check_put_records(sb: Any) -> None:
    """Every reading of ``send(make_readings(120))`` is on the stream, exactly once: the
    stream's capacity in this lab is 100 records a second, so the first PutRecords answers
    some entries with ProvisionedThroughputExceededException and only a producer that
    resends them gets all 120 through."""
    records = _learner_records(sb)
    on_stream = Counter((r.get("device_id"), r.get("temperature"), r.get("humidity"))
                        for _, _, r in records)
    wanted = _sent_readings()
    found = sum(min(on_stream[k], n) for k, n in wanted.items())
    extra = sum(max(0, on_stream[k] - n) for k, n in wanted.items())
    if found == SEND_COUNT and not extra:
        return
    if found == 0:
        raise CheckFailed(f"none of the {SEND_COUNT} readings of send(make_readings({SEND_COUNT})) is on "
                          f"the stream (it holds {len(records)} other readings)")
    if found < SEND_COUNT:
        raise CheckFailed(
            f"{SEND_COUNT - found} of the {SEND_COUNT} readings of send(make_readings({SEND_COUNT})) never "
            f"reached the stream ({_throttled_writes(sb)} writes were throttled with "
            "ProvisionedThroughputExceededException)",
            hint="PutRecords is not atomic: resend the entries whose result has an ErrorCode, after a "
                 "back-off on the virtual clock (sb.clock.advance), until none fail.")
    raise CheckFailed(f"{extra} readings of send(make_readings({SEND_COUNT})) are on the stream more than "
                      "once: resend only the entries that failed")


def _throttled_writes(sb: Any) -> int:
    from datetime import timedelta

    now = sb.clock.now()
    points = sb.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/Kinesis", MetricName="WriteProvisionedThroughputExceeded",
        Dimensions=[{"Name": "StreamName", "Value": STREAM}], StartTime=now - timedelta(days=1),
        EndTime=now + timedelta(minutes=1), Period=86400 + 60, Statistics=["Sum"])["Datapoints"]
    return int(sum(p["Sum"] for p in points))


def _shard_counts(sb: Any, records: list[tuple[str, str, dict[str, Any]]]) -> str:
    counts = Counter(shard for shard, _, _ in records)
    return ", ".join(f"{shard}: {counts.get(shard, 0)}" for shard in sorted(_stream(sb).shards))


@check("partition-key", step="producer",
       title="partition key = device id, spread over the shards", points=2,
       passed="Each reading's partition key is its device id and the readings spread over the shards.",
       failed="The readings are not partitioned by device: a hot shard.",
       hint="PartitionKey=reading['device_id']: the key's MD5 hash picks the shard, so one constant "
            "key sends everything to one shard (1 MB/s, 1,000 records/s of writes at most).")
def check_partition_key(sb: Any) -> None:
    records = _learner_records(sb)
    if not records:
        raise CheckFailed("the stream holds no readings")
    wrong = [(key, r.get("device_id")) for _, key, r in records if key != r.get("device_id")]
    counts = _shard_counts(sb, records)
    if wrong:
        keys = sorted({k for k, _ in wrong})[:3]
        raise CheckFailed(f"{len(wrong)} of {len(records)} readings have a partition key that is not "
                          f"their device_id (keys {', '.join(map(repr, keys))}); readings per shard: "
                          f"{counts}")
    used = {shard for shard, _, _ in records}
    if len(used) < min(3, len(_stream(sb).shards)):
        raise CheckFailed(f"the readings landed on {len(used)} shard(s) only: {counts}")


# -- step 3: the alerting consumer --------------------------------------------------------
def _mapping(sb: Any) -> inspect.Mapping:
    arn = _stream(sb).arn
    fn = function(sb, ALERTER)
    for esm in inspect.mappings(sb, source_arn=arn):
        if esm.function_arn.split(":")[6] == fn.function_name:
            return esm
    raise CheckFailed(f"no event source mapping from the stream '{STREAM}' to '{ALERTER}'")


@check("mapping", step="alerts", title="threshold-alerter consumes the stream", points=1,
       passed="An enabled event source mapping feeds the stream to threshold-alerter.",
       failed="No enabled event source mapping from telemetry to threshold-alerter.",
       hint="lam.create_event_source_mapping(EventSourceArn=stream_arn, FunctionName='threshold-alerter', "
            "StartingPosition='LATEST', BatchSize=100).")
def check_mapping(sb: Any) -> None:
    esm = _mapping(sb)
    if not esm.enabled:
        raise CheckFailed("the mapping is disabled")
    # LATEST, TRIM_HORIZON and AT_TIMESTAMP (with StartingPositionTimestamp) are the three
    # positions AWS accepts for a Kinesis source; the alert probe shows whether it reads.
    if esm.starting_position not in ("LATEST", "TRIM_HORIZON", "AT_TIMESTAMP"):
        raise CheckFailed(f"StartingPosition is {esm.starting_position}")


def _alerts_for(sb: Any, device: str) -> list[str]:
    return [b for b in queue_bodies(sb, INBOX) if device in b]


def _send_probe(sb: Any, temperature: float) -> str:
    _mapping(sb)
    queue(sb, INBOX)
    reading = _probe_reading(temperature, ts=_now(sb))
    _put(sb, [reading])
    sb.clock.advance(seconds=10)   # past any batching window the mapping may have
    return reading["device_id"]


@check("alert-probe", step="alerts", title="a hot reading raises an alert", points=2,
       passed="Probe: a reading of 95.5 reached alert-inbox through telemetry-alerts.",
       failed="A reading above 80 did not produce an alert.",
       hint="For each record: json.loads(base64.b64decode(record['kinesis']['data'])); if temperature > 80, "
            "sns.publish to telemetry-alerts with the device_id in the message. Subscribe alert-inbox "
            "to the topic.")
def check_alert(sb: Any) -> None:
    device = _send_probe(sb, 95.5)
    if not _alerts_for(sb, device):
        raise CheckFailed(f"a reading of 95.5 from {device} put on the stream produced no message "
                          f"in {INBOX} ten seconds later" + refused_note(sb, INBOX))


@check("no-false-alert", step="alerts", title="a normal reading raises no alert", points=1,
       passed="Probe: a reading of 21.0 raised no alert.",
       failed="A normal reading produced an alert.",
       hint="Alert only when temperature > 80 (check the THRESHOLD you pass in the environment).", hidden=True)
def check_no_false_alert(sb: Any) -> None:
    device = _send_probe(sb, 21.0)
    if _alerts_for(sb, device):
        raise CheckFailed(f"a normal reading of 21.0 from {device} produced an alert")


# -- step 4: Firehose to S3 ---------------------------------------------------------------
def _delivery(sb: Any) -> inspect.DeliveryStream:
    stream = inspect.delivery_stream(sb, DELIVERY)
    if stream is not None:
        return stream
    raise CheckFailed(f"there is no Firehose stream named '{DELIVERY}'")


def _s3(sb: Any) -> dict[str, Any]:
    config = _delivery(sb).s3
    if config is None:
        raise CheckFailed(f"'{DELIVERY}' has no S3 destination")
    if config.get("BucketARN", "").split(":")[-1] != BUCKET:
        raise CheckFailed(f"'{DELIVERY}' delivers to {config.get('BucketARN')}, not {BUCKET}")
    return config


@check("firehose-source", step="firehose",
       title="Firehose reads the stream, writes telemetry-lake", points=1,
       passed="telemetry-to-s3 reads telemetry and writes to telemetry-lake, with a role Firehose may assume.",
       failed="telemetry-to-s3 does not read the data stream or does not write to the bucket.",
       hint="DeliveryStreamType='KinesisStreamAsSource', KinesisStreamSourceConfiguration={'KinesisStreamARN': "
            "stream_arn, 'RoleARN': FIREHOSE_ROLE_ARN}, ExtendedS3DestinationConfiguration={'BucketARN': "
            "'arn:aws:s3:::telemetry-lake', 'RoleARN': FIREHOSE_ROLE_ARN, ...}.")
def check_firehose_source(sb: Any) -> None:
    stream = _delivery(sb)
    arn = (stream.source or {}).get("KinesisStreamARN")
    if stream.delivery_stream_type != "KinesisStreamAsSource" or arn != _stream(sb).arn:
        raise CheckFailed(f"'{DELIVERY}' is a {stream.delivery_stream_type} stream reading "
                          f"{arn or 'no data stream'}")
    config = _s3(sb)
    for where, role in (("KinesisStreamSourceConfiguration", (stream.source or {}).get("RoleARN")),
                        ("ExtendedS3DestinationConfiguration", config.get("RoleARN"))):
        problem = trust_problem(sb, role, "firehose.amazonaws.com")
        if problem:
            raise CheckFailed(f"{where}.RoleARN: {problem}", hint=(
                "Firehose assumes the role you give it, so its trust policy must name "
                "firehose.amazonaws.com: pass FIREHOSE_ROLE_ARN (ROLE_ARN is Lambda's role)."))


@check("date-prefix", step="firehose", title="date-partitioned prefix", points=1,
       passed="Objects land under readings/year=.../month=.../day=...: Athena can prune by date.",
       failed="The S3 prefix has no date partitions.",
       hint="Prefix='readings/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/' and an "
            "ErrorOutputPrefix such as 'errors/!{firehose:error-output-type}/!{timestamp:yyyy}/'.")
def check_date_prefix(sb: Any) -> None:
    """The prefix, evaluated as Firehose evaluates it, puts a reading under the folders the
    table loads as partitions: any expressions that yield readings/year=/month=/day=/ do
    (one ``!{timestamp:...}`` per field, or one pattern with 'quoted' literals)."""
    from datetime import UTC, datetime

    from eventlab.sandbox.firehose.prefix import PrefixError, object_prefix

    config = _s3(sb)
    prefix = config.get("Prefix") or ""
    if "!{timestamp:" not in prefix:
        raise CheckFailed(f"the prefix is {prefix!r}, without !{{timestamp:yyyy}}, "
                          "!{timestamp:MM}, !{timestamp:dd} (Firehose then adds yyyy/MM/dd/HH/ "
                          "itself, folders Athena cannot load as year=/month=/day= partitions)")
    when = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    wanted = "readings/year=2026/month=03/day=04/"
    try:
        got = object_prefix(config, when)
    except (PrefixError, KeyError) as exc:
        raise CheckFailed(f"the prefix {prefix!r} cannot be evaluated: {exc}") from None
    if not got.startswith(wanted):
        raise CheckFailed(f"the prefix {prefix!r} puts a reading of 2026-03-04 under {got!r}, "
                          f"not under {wanted!r} (the folders the table loads as year=/month=/"
                          "day= partitions)")
    if not config.get("ErrorOutputPrefix"):
        raise CheckFailed("a prefix with expressions needs an ErrorOutputPrefix")


@check("gzip", step="firehose", title="GZIP compression", points=1,
       passed="Objects are GZIP-compressed: less storage and fewer bytes scanned by Athena.",
       failed="The delivery stream does not compress.",
       hint="CompressionFormat='GZIP' in ExtendedS3DestinationConfiguration.")
def check_gzip(sb: Any) -> None:
    fmt = _s3(sb).get("CompressionFormat") or "UNCOMPRESSED"
    if fmt != "GZIP":
        raise CheckFailed(f"CompressionFormat is {fmt} (objects stored as sent, more bytes to "
                          "keep and to scan)")


@check("processor", step="firehose", title="a Lambda transformation processor", points=1,
       passed="telemetry-transform processes every buffer before delivery.",
       failed="There is no Lambda processor telemetry-transform.",
       hint="ProcessingConfiguration={'Enabled': True, 'Processors': [{'Type': 'Lambda', 'Parameters': "
            "[{'ParameterName': 'LambdaArn', 'ParameterValue': transform_arn}]}]}.")
def check_processor(sb: Any) -> None:
    config = _s3(sb)
    processing = config.get("ProcessingConfiguration") or {}
    arn = function(sb, TRANSFORM).function_arn
    lambdas = [p for p in processing.get("Processors", []) if p.get("Type") == "Lambda"]
    arns = [q.get("ParameterValue", "") for p in lambdas for q in p.get("Parameters", [])
            if q.get("ParameterName") == "LambdaArn"]
    if processing.get("Enabled") not in (True, "true", "True") or not lambdas:
        raise CheckFailed("the S3 destination has no enabled Lambda processor")
    if not any(a.split(":")[:7] == arn.split(":")[:7] for a in arns):
        raise CheckFailed(f"the Lambda processor is {arns}, not {TRANSFORM}")


def _lines(body: bytes) -> list[bytes]:
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    return body.splitlines()


@check("delivery-probe", step="firehose", title="every reading reaches S3 as a JSON line", points=2,
       passed="Probe: five readings went stream -> Firehose -> processor -> S3, one JSON object per line.",
       failed="Readings put on the stream did not all reach S3 as JSON lines.",
       hint="The processor must answer every recordId with result 'Ok' and data = base64 of the JSON "
            "followed by '\\n' ('Dropped' discards a record for good).")
def check_delivery(sb: Any) -> None:
    _s3(sb)
    service = sb.service("firehose")
    before = len(inspect.firehose_deliveries(sb))
    readings = [_probe_reading(20.0 + i, ts=_now(sb)) for i in range(5)]
    _put(sb, readings)
    service.flush(DELIVERY)
    sb.settle()
    new = [d for d in inspect.firehose_deliveries(sb)[before:] if d["bucket"] == BUCKET]
    s3 = sb.client("s3")
    wanted = {r["device_id"] for r in readings}
    whole, glued, failed = set(), set(), set()
    for d in new:
        body = s3.get_object(Bucket=BUCKET, Key=d["key"])["Body"].read()
        for line in _lines(body):
            text = line.decode("utf-8", "replace")
            hits = {w for w in wanted if w in text}
            if d["error_type"]:
                try:
                    raw = base64.b64decode(json.loads(text).get("rawData", "")).decode("utf-8", "replace")
                except (ValueError, AttributeError):
                    raw = ""
                failed |= {w for w in wanted if w in raw or w in text}
                continue
            try:
                value = json.loads(text)
            except ValueError:
                glued |= hits
                continue
            if isinstance(value, dict) and value.get("device_id") in wanted:
                whole.add(value["device_id"])
    if whole == wanted:
        return
    detail = f"{len(whole)} of 5 probe readings put on the stream reached s3://{BUCKET} as JSON lines"
    if glued:
        detail += "; some records were glued together on one line (no newline after each record)"
    if failed:
        detail += f"; {len(failed)} went to the error output (processing-failed)"
    if not new:
        detail += "; nothing at all was delivered when the buffer was flushed"
    raise CheckFailed(detail)


# -- step 5: Athena ------------------------------------------------------------------
def _table(sb: Any) -> dict[str, Any]:
    try:
        return sb.client("glue").get_table(DatabaseName=DATABASE, Name=TABLE)["Table"]
    except Exception:
        raise CheckFailed(f"there is no table {DATABASE}.{TABLE} in the Glue catalog") from None


@check("athena-table", step="athena", title="table telemetry.readings over the lake", points=1,
       passed="telemetry.readings reads s3://telemetry-lake/readings/.",
       failed="The Athena table telemetry.readings is missing or points elsewhere.",
       hint="CREATE EXTERNAL TABLE readings (device_id string, temperature double, humidity double, ts "
            "bigint) PARTITIONED BY (year string, month string, day string) ROW FORMAT SERDE "
            "'org.openx.data.jsonserde.JsonSerDe' LOCATION 's3://telemetry-lake/readings/'.")
def check_table(sb: Any) -> None:
    table = _table(sb)
    location = table.get("StorageDescriptor", {}).get("Location", "").rstrip("/")
    if location != f"s3://{BUCKET}/readings":
        raise CheckFailed(f"the table's LOCATION is {location!r}, not 's3://{BUCKET}/readings/'")
    columns = {c["Name"].lower() for c in table["StorageDescriptor"].get("Columns", [])}
    missing = {"device_id", "temperature", "ts"} - columns
    if missing:
        raise CheckFailed("the table has no column(s) " + ", ".join(sorted(missing)))


def _number(row: list[str | None], header: list[str], column: str) -> float:
    value = row[header.index(column)]
    if value is None:
        raise CheckFailed(f"the query returned no {column} (NULL) for the probe device")
    return float(value)


def _athena(sb: Any, sql: str, database: str) -> list[list[str | None]]:
    athena = sb.client("athena")
    qid = athena.start_query_execution(
        QueryString=sql, QueryExecutionContext={"Database": database},
        ResultConfiguration={"OutputLocation": f"s3://{BUCKET}/athena-results/"})["QueryExecutionId"]
    sb.settle()
    status = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]
    if status["State"] != "SUCCEEDED":
        raise CheckFailed(f"the query {status['State']}: {status.get('StateChangeReason', '')}")
    rows = athena.get_query_results(QueryExecutionId=qid)["ResultSet"]["Rows"]
    return [[d.get("VarCharValue") for d in r["Data"]] for r in rows]


def _named_query(sb: Any) -> dict[str, Any]:
    athena = sb.client("athena")
    for qid in athena.list_named_queries()["NamedQueryIds"]:
        query = athena.get_named_query(NamedQueryId=qid)["NamedQuery"]
        if query["Name"] == QUERY:
            return query
    raise CheckFailed(f"there is no Athena named query '{QUERY}'")


@check("athena-query", step="athena", title="per-device, per-minute min/avg/max", points=2,
       passed="Probe: the named query gave one row per device and minute with the right numbers.",
       failed="The named query per-device-minute does not give min/avg/max per device per minute.",
       hint="GROUP BY device_id AND the minute (date_trunc('minute', from_unixtime(ts))), with columns "
            "named min_temp, avg_temp, max_temp; save it with athena.create_named_query.")
def check_query(sb: Any) -> None:
    from datetime import UTC, datetime

    table = _table(sb)
    query = _named_query(sb)
    device = probe_id("probe")
    minute = (_now(sb) // 60 - 5) * 60
    temps = [(minute + 5, 20.0), (minute + 20, 22.0), (minute + 50, 27.0),
             (minute + 65, 30.0), (minute + 110, 31.0)]
    body = "".join(json.dumps(_probe_reading(t, device, ts)) + "\n" for ts, t in temps)
    day = datetime.fromtimestamp(minute, UTC)
    folder = "readings/"
    keys = [k["Name"].lower() for k in table.get("PartitionKeys", [])]
    if keys:
        parts = {"year": f"{day:%Y}", "month": f"{day:%m}", "day": f"{day:%d}",
                 "dt": f"{day:%Y-%m-%d}", "date": f"{day:%Y-%m-%d}", "hour": f"{day:%H}"}
        folder += "".join(f"{k}={parts.get(k, 'x')}/" for k in keys)
    sb.client("s3").put_object(Bucket=BUCKET, Key=f"{folder}{device}.json.gz",
                               Body=gzip.compress(body.encode()))
    if keys:
        _athena(sb, f"MSCK REPAIR TABLE {TABLE}", DATABASE)
    rows = _athena(sb, query["QueryString"], query.get("Database") or DATABASE)
    if not rows:
        raise CheckFailed("the query returned nothing")
    header = [str(h).lower() for h in rows[0]]
    needed = ["device_id", "min_temp", "avg_temp", "max_temp"]
    if any(n not in header for n in needed):
        raise CheckFailed(f"the query's columns are {header}; expected {needed} among them")
    got = sorted((_number(r, header, "min_temp"), _number(r, header, "avg_temp"),
                  _number(r, header, "max_temp"))
                 for r in rows[1:] if r[header.index("device_id")] == device)
    expected = [(20.0, 23.0, 27.0), (30.0, 30.5, 31.0)]
    ok = len(got) == 2 and all(abs(a - b) < 0.011 for g, e in zip(got, expected, strict=True)
                                   for a, b in zip(g, e, strict=True))
    if not ok:
        raise CheckFailed(f"for a probe device with readings 20, 22, 27 in one minute and 30, 31 in the "
                          f"next, the query returned {len(got)} row(s) {got} (expected one row per "
                          f"minute: {expected})")


# -- step 6: CloudWatch ------------------------------------------------------------------
@check("lag-alarm", step="metrics", title="an alarm on the consumer's iterator age", points=2,
       passed="telemetry-consumer-lag fires when threshold-alerter falls minutes behind.",
       failed="The iterator-age alarm is missing or watches the wrong thing.",
       hint="put_metric_alarm(AlarmName='telemetry-consumer-lag', Namespace='AWS/Lambda', "
            "MetricName='IteratorAge', Dimensions=[{'Name': 'FunctionName', 'Value': "
            "'threshold-alerter'}], Statistic='Maximum', Period=60, Threshold=60000, ...).")
def check_alarm(sb: Any) -> None:
    alarm = inspect.alarm(sb, ALARM)
    if alarm is None:
        raise CheckFailed(f"there is no alarm named '{ALARM}'")
    dims = alarm.dimensions
    if (alarm.namespace, alarm.metric_name) != ("AWS/Lambda", "IteratorAge"):
        raise CheckFailed(f"the alarm watches {alarm.namespace} {alarm.metric_name}, not AWS/Lambda "
                          "IteratorAge")
    if dims != {"FunctionName": ALERTER}:
        raise CheckFailed(f"the alarm's dimensions are {dims}, not FunctionName={ALERTER}")
    if alarm.statistic != "Maximum":
        raise CheckFailed(f"the alarm's statistic is {alarm.statistic}: an average hides the one "
                          "shard that falls behind; use Maximum")
    if alarm.comparison_operator not in ("GreaterThanThreshold", "GreaterThanOrEqualToThreshold"):
        raise CheckFailed(f"the alarm's comparison is {alarm.comparison_operator}")
    if not 0 < float(alarm.threshold) <= 300_000:
        raise CheckFailed(f"the threshold is {alarm.threshold} ms (expected at most 300000 ms, "
                          "five minutes)")


@check("dashboard", step="metrics", title="a dashboard of throughput and lag", points=1,
       passed="The dashboard telemetry graphs IncomingRecords and IteratorAge.",
       failed="The dashboard telemetry is missing a graph.",
       hint="put_dashboard(DashboardName='telemetry', DashboardBody=json.dumps({'widgets': [...]})) with "
            "metrics ['AWS/Kinesis', 'IncomingRecords', 'StreamName', 'telemetry'] and ['AWS/Lambda', "
            "'IteratorAge', 'FunctionName', 'threshold-alerter'].")
def check_dashboard(sb: Any) -> None:
    try:
        body = sb.client("cloudwatch").get_dashboard(DashboardName=DASHBOARD)["DashboardBody"]
    except Exception:
        raise CheckFailed(f"there is no dashboard named '{DASHBOARD}'") from None
    metrics = []
    for widget in json.loads(body).get("widgets", []):
        metrics += [m for m in (widget.get("properties") or {}).get("metrics", []) if isinstance(m, list)]
    wanted = {"IncomingRecords": ("AWS/Kinesis", STREAM), "IteratorAge": ("AWS/Lambda", ALERTER)}
    missing = [name for name, (ns, dim) in wanted.items()
               if not any(name in m and ns in m and dim in m for m in metrics)]
    if missing:
        raise CheckFailed("the dashboard has no graph of " + " or ".join(missing))


CHECKS = declared_checks(globals())   # the @check functions above, in the order they are defined
