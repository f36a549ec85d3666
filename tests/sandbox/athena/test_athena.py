"""Athena in the sandbox: DDL on Glue, SQL on DuckDB over S3, states, results, paging."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest

from eventlab.sandbox import Sandbox

OUT = "s3://results/athena/"


def _query(sb: Sandbox, sql: str, database: str = "lab") -> dict[str, Any]:
    athena = sb.client("athena")
    qid = athena.start_query_execution(QueryString=sql, QueryExecutionContext={"Database": database},
                                       ResultConfiguration={"OutputLocation": OUT})["QueryExecutionId"]
    return athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]


def _rows(sb: Sandbox, qid: str) -> list[list[str | None]]:
    pages = sb.client("athena").get_paginator("get_query_results").paginate(QueryExecutionId=qid)
    return [[d.get("VarCharValue") for d in row["Data"]] for page in pages for row in page["ResultSet"]["Rows"]]


@pytest.fixture
def lake(sandbox: Sandbox) -> Sandbox:
    s3 = sandbox.client("s3")
    s3.create_bucket(Bucket="lake")
    s3.create_bucket(Bucket="results")
    for day in (1, 2):
        lines = b"".join(json.dumps({"device": f"d{i % 2}", "temp": 20 + i, "ok": i % 3 != 0}).encode() + b"\n"
                         for i in range(5))
        s3.put_object(Bucket="lake", Key=f"readings/dt=2024-01-0{day}/part-0.json.gz", Body=gzip.compress(lines))
    s3.put_object(Bucket="lake", Key="readings/_SUCCESS", Body=b"")
    assert _query(sandbox, "CREATE DATABASE lab", "default")["Status"]["State"] == "SUCCEEDED"
    ddl = _query(sandbox, """
        CREATE EXTERNAL TABLE IF NOT EXISTS readings (device string, temp int, ok boolean)
        PARTITIONED BY (dt string)
        ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
        LOCATION 's3://lake/readings/'""")
    assert ddl["Status"]["State"] == "SUCCEEDED" and ddl["StatementType"] == "DDL"
    return sandbox


def test_ddl_lands_in_the_glue_catalog(lake: Sandbox) -> None:
    table = lake.client("glue").get_table(DatabaseName="lab", Name="readings")["Table"]
    assert [c["Name"] for c in table["StorageDescriptor"]["Columns"]] == ["device", "temp", "ok"]
    assert table["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
    assert table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    assert _query(lake, "MSCK REPAIR TABLE readings")["Status"]["State"] == "SUCCEEDED"
    parts = lake.client("glue").get_partitions(DatabaseName="lab", TableName="readings")["Partitions"]
    assert sorted(p["Values"][0] for p in parts) == ["2024-01-01", "2024-01-02"]


def test_rows_column_info_and_csv(lake: Sandbox) -> None:
    _query(lake, "MSCK REPAIR TABLE readings")
    execution = _query(lake, "SELECT dt, count(*) AS n, avg(temp) AS mean, bool_and(ok) AS all_ok "
                             "FROM readings GROUP BY dt ORDER BY dt")
    assert execution["Status"]["State"] == "SUCCEEDED"
    assert execution["Statistics"]["DataScannedInBytes"] > 0
    assert execution["ResultConfiguration"]["OutputLocation"] == f"{OUT}{execution['QueryExecutionId']}.csv"
    qid = execution["QueryExecutionId"]
    assert _rows(lake, qid) == [["dt", "n", "mean", "all_ok"], ["2024-01-01", "5", "22.0", "false"],
                                ["2024-01-02", "5", "22.0", "false"]]
    info = lake.client("athena").get_query_results(QueryExecutionId=qid)["ResultSet"]["ResultSetMetadata"]
    assert [(c["Name"], c["Type"]) for c in info["ColumnInfo"]] == [
        ("dt", "varchar"), ("n", "bigint"), ("mean", "double"), ("all_ok", "boolean")]
    body = lake.client("s3").get_object(Bucket="results", Key=f"athena/{qid}.csv")["Body"].read().decode()
    assert body.splitlines()[:2] == ['"dt","n","mean","all_ok"', '"2024-01-01","5","22.0","false"']


def test_add_partition_and_pagination(lake: Sandbox) -> None:
    added = _query(lake, "ALTER TABLE readings ADD PARTITION (dt='2024-01-02') "
                         "LOCATION 's3://lake/readings/dt=2024-01-02/'")
    assert added["Status"]["State"] == "SUCCEEDED"
    qid = _query(lake, "SELECT temp FROM readings ORDER BY temp")["QueryExecutionId"]
    athena = lake.client("athena")
    first = athena.get_query_results(QueryExecutionId=qid, MaxResults=2)
    assert [r["Data"][0]["VarCharValue"] for r in first["ResultSet"]["Rows"]] == ["temp", "20"]
    second = athena.get_query_results(QueryExecutionId=qid, MaxResults=2, NextToken=first["NextToken"])
    assert [r["Data"][0]["VarCharValue"] for r in second["ResultSet"]["Rows"]] == ["21", "22"]
    assert len(_rows(lake, qid)) == 6  # header + the one partition's 5 rows


def test_syntax_error_fails_with_a_reason(lake: Sandbox) -> None:
    execution = _query(lake, "SELEC device FROM readings")
    status = execution["Status"]
    assert status["State"] == "FAILED"
    assert "SYNTAX_ERROR" in status["StateChangeReason"] and "SELEC" in status["StateChangeReason"]
    assert status["AthenaError"]["ErrorCategory"] == 2
    athena = lake.client("athena")
    with pytest.raises(athena.exceptions.InvalidRequestException):
        athena.get_query_results(QueryExecutionId=execution["QueryExecutionId"])
    missing = _query(lake, "SELECT * FROM nowhere")["Status"]
    assert missing["State"] == "FAILED" and missing["StateChangeReason"].startswith("TABLE_NOT_FOUND")


def test_glue_table_stored_as_parquet(lake: Sandbox) -> None:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    out = io.BytesIO()
    pq.write_table(pa.table({"device": ["a", "b", "a"], "v": [1.5, 2.0, 3.0]}), out)
    lake.client("s3").put_object(Bucket="lake", Key="pq/part.parquet", Body=out.getvalue())
    _query(lake, "CREATE EXTERNAL TABLE metrics (device string, v double, missing int) "
                 "STORED AS PARQUET LOCATION 's3://lake/pq/'")
    qid = _query(lake, "SELECT device, sum(v) AS total, count(missing) AS m FROM metrics "
                       "GROUP BY device ORDER BY device")["QueryExecutionId"]
    assert _rows(lake, qid) == [["device", "total", "m"], ["a", "4.5", "0"], ["b", "2.0", "0"]]


def test_firehose_to_s3_to_athena_per_device_per_minute(sandbox: Sandbox) -> None:
    s3 = sandbox.client("s3")
    s3.create_bucket(Bucket="lake")
    s3.create_bucket(Bucket="results")
    sandbox.client("firehose").create_delivery_stream(
        DeliveryStreamName="telemetry", ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::123456789012:role/fh", "BucketARN": "arn:aws:s3:::lake",
            "Prefix": "telemetry/", "CompressionFormat": "GZIP",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60},
            "ProcessingConfiguration": {"Enabled": True, "Processors": [
                {"Type": "AppendDelimiterToRecord", "Parameters": []}]}})
    base = 1_700_000_040  # a whole minute
    readings = [{"device": f"dev{i % 3}", "ts": base + i * 7, "temp": i} for i in range(30)]
    sandbox.client("firehose").put_record_batch(
        DeliveryStreamName="telemetry", Records=[{"Data": json.dumps(r).encode()} for r in readings])
    sandbox.clock.advance(seconds=60)
    _query(sandbox, "CREATE DATABASE lab", "default")
    _query(sandbox, "CREATE EXTERNAL TABLE telemetry (device string, ts bigint, temp int) "
                    "ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' LOCATION 's3://lake/telemetry/'")
    execution = _query(sandbox, "SELECT device, date_trunc('minute', from_unixtime(ts)) AS minute, "
                                "count(*) AS n FROM telemetry GROUP BY 1, 2 ORDER BY 1, 2")
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    expected: dict[tuple[str, int], int] = {}
    for r in readings:
        key = (r["device"], (r["ts"] // 60) * 60)
        expected[key] = expected.get(key, 0) + 1
    from datetime import UTC, datetime

    want = [[d, datetime.fromtimestamp(m, UTC).strftime("%Y-%m-%d %H:%M:%S.000"), str(n)]
            for (d, m), n in sorted(expected.items())]
    assert _rows(sandbox, execution["QueryExecutionId"]) == [["device", "minute", "n"], *want]


@pytest.mark.parametrize("query, reason", [
    ("SELECT * FROM nowhere", "TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.lab.nowhere' does not exist"),
    ("SELECT *\nFROM  otherdb.t", "SCHEMA_NOT_FOUND: line 2:7: Schema 'otherdb' does not exist"),
    ("SELECT nofunc(1)", "FUNCTION_NOT_FOUND: line 1:8: Function 'nofunc' not registered"),
])
def test_catalog_errors_read_as_athena_writes_them(lake: Sandbox, query: str, reason: str) -> None:
    status = _query(lake, query)["Status"]
    assert status["State"] == "FAILED"
    assert status["StateChangeReason"] == reason   # no DuckDB "Did you mean" guess at its own tables
