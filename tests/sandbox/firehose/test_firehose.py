"""Firehose -> S3 in the sandbox: buffering, keys, bytes, processors, partitions, Parquet."""

from __future__ import annotations

import base64
import gzip
import io
import json
import re
from collections.abc import Callable
from typing import Any

from eventlab.sandbox import Sandbox

ROLE = "arn:aws:iam::123456789012:role/firehose"
SUFFIX = r"clicks-1-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d-[0-9a-f-]{36}"


def _stream(sb: Sandbox, name: str = "clicks", **config: Any) -> str:
    s3 = sb.client("s3")
    if "lake" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket="lake")
    destination = {"RoleARN": ROLE, "BucketARN": "arn:aws:s3:::lake", **config}
    return sb.client("firehose").create_delivery_stream(
        DeliveryStreamName=name, ExtendedS3DestinationConfiguration=destination)["DeliveryStreamARN"]


def _objects(sb: Sandbox) -> dict[str, bytes]:
    s3 = sb.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="lake").get("Contents", [])]
    return {k: s3.get_object(Bucket="lake", Key=k)["Body"].read() for k in keys}


def _put(sb: Sandbox, records: list[bytes], name: str = "clicks") -> None:
    sb.client("firehose").put_record_batch(DeliveryStreamName=name, Records=[{"Data": r} for r in records])


def test_gzip_object_after_the_interval_with_default_prefix(sandbox: Sandbox) -> None:
    _stream(sandbox, CompressionFormat="GZIP", BufferingHints={"SizeInMBs": 5, "IntervalInSeconds": 60})
    records = [json.dumps({"n": i}).encode() for i in range(3)]
    arrived = sandbox.clock.now()
    _put(sandbox, records)
    assert _objects(sandbox) == {}  # buffered
    sandbox.clock.advance(seconds=59)
    assert _objects(sandbox) == {}
    sandbox.clock.advance(seconds=1)
    [(key, body)] = _objects(sandbox).items()
    assert re.fullmatch(rf"\d{{4}}/\d\d/\d\d/\d\d/{SUFFIX}\.gz", key)
    assert key.startswith(arrived.strftime("%Y/%m/%d/%H/"))  # the oldest record's arrival, UTC
    assert gzip.decompress(body) == b"".join(records)  # concatenated, no delimiter added


def test_size_hint_delivers_without_waiting(sandbox: Sandbox) -> None:
    _stream(sandbox, Prefix="raw/", BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 900})
    chunk = b"x" * (256 * 1024)
    _put(sandbox, [chunk] * 4)  # 1 MiB: the size hint
    _put(sandbox, [b"tail"])
    objects = _objects(sandbox)
    assert len(objects) == 1
    [(key, body)] = objects.items()
    assert key.startswith("raw/") and body == chunk * 4
    sandbox.clock.advance(seconds=900)
    bodies = sorted(_objects(sandbox).values(), key=len)
    assert bodies[0] == b"tail"


def test_flush_and_custom_prefix_expressions(sandbox: Sandbox) -> None:
    _stream(sandbox, Prefix="year=!{timestamp:yyyy}/day=!{timestamp:yyyy'-'MM'-'dd}/hm=!{timestamp:HH}!{timestamp:mm}/"
                            "r=!{firehose:random-string}/",
            ErrorOutputPrefix="errors/!{firehose:error-output-type}/")
    _put(sandbox, [b"a", b"b"])
    assert sandbox.service("firehose").flush("clicks") == 1
    [(key, body)] = _objects(sandbox).items()
    now = sandbox.clock.now()
    match = re.fullmatch(rf"year=(\d{{4}})/day=(\d{{4}}-\d\d-\d\d)/hm=(\d{{4}})/r=([a-z0-9]{{11}})/{SUFFIX}", key)
    assert match, key
    assert match.group(1) == now.strftime("%Y") and body == b"ab"


def test_dynamic_partitioning_from_a_jq_query(sandbox: Sandbox) -> None:
    _stream(sandbox, Prefix="device=!{partitionKeyFromQuery:device}/site=!{partitionKeyFromQuery:site}/",
            ErrorOutputPrefix="errors/!{firehose:error-output-type}/",
            DynamicPartitioningConfiguration={"Enabled": True},
            ProcessingConfiguration={"Enabled": True, "Processors": [
                {"Type": "MetadataExtraction", "Parameters": [
                    {"ParameterName": "MetadataExtractionQuery", "ParameterValue": "{device: .device, site: .meta.site}"},
                    {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}]},
                {"Type": "AppendDelimiterToRecord", "Parameters": []}]})
    rows = [{"device": "d1", "meta": {"site": "a"}}, {"device": "d2", "meta": {"site": "a"}},
            {"device": "d1", "meta": {"site": "a"}}, {"device": "d3"}]
    _put(sandbox, [json.dumps(r).encode() for r in rows])
    sandbox.service("firehose").flush()
    objects = _objects(sandbox)
    by_prefix = {k.rsplit("/", 1)[0]: v for k, v in objects.items()}
    assert by_prefix["device=d1/site=a"] == (json.dumps(rows[0]) + "\n" + json.dumps(rows[2]) + "\n").encode()
    assert by_prefix["device=d2/site=a"] == (json.dumps(rows[1]) + "\n").encode()
    [error] = [json.loads(v) for k, v in objects.items() if k.startswith("errors/processing-failed/")]
    assert base64.b64decode(error["rawData"]) == json.dumps(rows[3]).encode()


PROCESSOR = '''
import base64, json
def handler(event, context):
    out = []
    for r in event["records"]:
        body = json.loads(base64.b64decode(r["data"]))
        result = body["want"]
        data = base64.b64encode((json.dumps({"seen": body["n"]}) + "\\n").encode()).decode()
        out.append({"recordId": r["recordId"], "result": result, "data": data,
                    "metadata": {"partitionKeys": {"kind": body.get("kind", "x")}}})
    return {"records": out}
'''


def _processor_stream(sandbox: Sandbox, make_function: Callable[..., str], source: str, **extra: Any) -> str:
    make_function("transform", source)
    arn = sandbox.client("lambda").get_function(FunctionName="transform")["Configuration"]["FunctionArn"]
    _stream(sandbox, ErrorOutputPrefix="failed/!{firehose:error-output-type}/", CompressionFormat="GZIP",
            ProcessingConfiguration={"Enabled": True, "Processors": [{"Type": "Lambda", "Parameters": [
                {"ParameterName": "LambdaArn", "ParameterValue": arn}]}]}, **extra)
    return arn


def test_lambda_processor_ok_dropped_and_failed(sandbox: Sandbox, make_function: Callable[..., str]) -> None:
    arn = _processor_stream(sandbox, make_function, PROCESSOR, Prefix="kind=!{partitionKeyFromLambda:kind}/",
                            DynamicPartitioningConfiguration={"Enabled": True})
    sent = [{"n": 1, "want": "Ok", "kind": "a"}, {"n": 2, "want": "Dropped"},
            {"n": 3, "want": "ProcessingFailed"}, {"n": 4, "want": "Ok", "kind": "a"}]
    _put(sandbox, [json.dumps(s).encode() for s in sent])
    sandbox.clock.advance(seconds=300)
    objects = {k: gzip.decompress(v) for k, v in _objects(sandbox).items()}
    [good] = [v for k, v in objects.items() if k.startswith("kind=a/")]
    assert good == b'{"seen": 1}\n{"seen": 4}\n'
    [failed] = [v for k, v in objects.items() if k.startswith("failed/processing-failed/")]
    error = json.loads(failed)
    assert set(error) == {"attemptsMade", "arrivalTimestamp", "errorCode", "errorMessage",
                          "attemptEndingTimestamp", "rawData", "lambdaArn"}
    assert json.loads(base64.b64decode(error["rawData"])) == sent[2]
    assert error["lambdaArn"] == arn and error["attemptsMade"] == 1


def test_processor_event_shape(sandbox: Sandbox, make_function: Callable[..., str]) -> None:
    from tests.sandbox.helpers import drain, make_queue

    url, _ = make_queue(sandbox, "seen")
    source = f'''
import base64, boto3, json
def handler(event, context):
    boto3.client("sqs").send_message(QueueUrl="{url}", MessageBody=json.dumps(event))
    return {{"records": [{{"recordId": r["recordId"], "result": "Ok", "data": r["data"]}} for r in event["records"]]}}
'''
    _processor_stream(sandbox, make_function, source)
    _put(sandbox, [b"hello"])
    sandbox.service("firehose").flush()
    [event] = drain(sandbox, url)
    assert set(event) == {"invocationId", "deliveryStreamArn", "region", "records"}
    assert event["deliveryStreamArn"].endswith(":deliverystream/clicks") and event["region"] == "us-east-1"
    [record] = event["records"]
    assert set(record) == {"recordId", "approximateArrivalTimestamp", "data"}
    assert base64.b64decode(record["data"]) == b"hello"
    assert abs(record["approximateArrivalTimestamp"] - sandbox.clock.time() * 1000) < 5000
    [body] = _objects(sandbox).values()
    assert gzip.decompress(body) == b"hello"


def test_garbage_from_the_processor_goes_to_the_error_prefix(sandbox: Sandbox,
                                                            make_function: Callable[..., str]) -> None:
    _processor_stream(sandbox, make_function, "def handler(event, context):\n    return 'not records'\n")
    _put(sandbox, [b"one", b"two"])
    sandbox.service("firehose").flush()
    objects = _objects(sandbox)
    [key] = objects
    assert key.startswith("failed/processing-failed/")
    lines = gzip.decompress(objects[key]).decode().splitlines()
    assert [base64.b64decode(json.loads(line)["rawData"]) for line in lines] == [b"one", b"two"]
    assert sandbox.pump.errors == []
    _stream(sandbox, "plain", Prefix="plain/")  # the sandbox keeps working
    _put(sandbox, [b"ok"], name="plain")
    sandbox.service("firehose").flush("plain")
    assert any(k.startswith("plain/") for k in _objects(sandbox))


def test_kinesis_stream_as_source(sandbox: Sandbox) -> None:
    kinesis = sandbox.client("kinesis")
    kinesis.create_stream(StreamName="clicks-in", ShardCount=1)
    stream_arn = kinesis.describe_stream(StreamName="clicks-in")["StreamDescription"]["StreamARN"]
    kinesis.put_record(StreamName="clicks-in", Data=b"before", PartitionKey="k")
    sandbox.client("s3").create_bucket(Bucket="lake")
    firehose = sandbox.client("firehose")
    firehose.create_delivery_stream(
        DeliveryStreamName="clicks", DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={"KinesisStreamARN": stream_arn, "RoleARN": ROLE},
        ExtendedS3DestinationConfiguration={"RoleARN": ROLE, "BucketARN": "arn:aws:s3:::lake",
                                            "BufferingHints": {"IntervalInSeconds": 60, "SizeInMBs": 1}})
    for body in (b"r1,", b"r2,", b"r3"):
        kinesis.put_record(StreamName="clicks-in", Data=body, PartitionKey="k")
    assert _objects(sandbox) == {}
    sandbox.clock.advance(seconds=60)
    assert list(_objects(sandbox).values()) == [b"r1,r2,r3"]  # from LATEST: "before" is not read
    try:
        firehose.put_record(DeliveryStreamName="clicks", Record={"Data": b"x"})
        raise AssertionError("PutRecord on a Kinesis-sourced stream must fail")
    except firehose.exceptions.InvalidArgumentException:
        pass


def _glue_table(sandbox: Sandbox) -> None:
    glue = sandbox.client("glue")
    glue.create_database(DatabaseInput={"Name": "lab"})
    glue.create_table(DatabaseName="lab", TableInput={"Name": "clicks", "StorageDescriptor": {
        "Columns": [{"Name": "device", "Type": "string"}, {"Name": "n", "Type": "int"},
                    {"Name": "ts", "Type": "timestamp"}],
        "Location": "s3://lake/parquet/"}})


def test_parquet_conversion_and_a_schema_mismatch(sandbox: Sandbox) -> None:
    import pyarrow.parquet as pq

    _glue_table(sandbox)
    _stream(sandbox, Prefix="parquet/", ErrorOutputPrefix="bad/!{firehose:error-output-type}/",
            DataFormatConversionConfiguration={
                "Enabled": True,
                "SchemaConfiguration": {"DatabaseName": "lab", "TableName": "clicks", "RoleARN": ROLE},
                "InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {}}},
                "OutputFormatConfiguration": {"Serializer": {"ParquetSerDe": {}}}})
    _put(sandbox, [b'{"device": "d1", "n": 1, "ts": "2024-01-01T10:00:00", "extra": true}',
                   b'{"device": "d2", "n": "many"}', b'{"device": "d3"}'])
    sandbox.service("firehose").flush()
    objects = _objects(sandbox)
    [(key, body)] = [(k, v) for k, v in objects.items() if k.startswith("parquet/")]
    assert key.endswith(".parquet")
    table = pq.read_table(io.BytesIO(body))
    assert table.column_names == ["device", "n", "ts"]
    assert table.to_pydict()["device"] == ["d1", "d3"] and table.to_pydict()["n"] == [1, None]
    [(bad_key, bad)] = [(k, v) for k, v in objects.items() if k.startswith("bad/")]
    assert bad_key.startswith("bad/format-conversion-failed/")
    error = json.loads(bad)
    assert error["lastErrorCode"] == "DataFormatConversion.ParseError"
    assert base64.b64decode(error["rawData"]) == b'{"device": "d2", "n": "many"}'
    assert error["dataCatalogTable"]["tableName"] == "clicks"
