"""Firehose -> S3 -> Athena in the sandbox, beside DuckDB reading the same files directly.

    python benchmarks/bench_firehose_athena.py [--records 100000]

Puts small JSON records through Firehose (PutRecordBatch, 500 a call, GZIP, newline
delimiter), then runs an Athena ``count(*)`` and a per-device-per-minute ``GROUP BY`` over
them; the baseline is DuckDB on the same objects written to a temp dir, in the same run.
Prints times and the overhead ratio of the query part, StartQueryExecution to SUCCEEDED
(target: at most 1.5x), and the ratio including paging every row through GetQueryResults
(1,000 rows a call through botocore's parser, which dominates for large results).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eventlab.sandbox import Sandbox  # noqa: E402

COUNT = "SELECT count(*) FROM telemetry"
GROUP = ("SELECT device, date_trunc('minute', from_unixtime(ts)) AS minute, count(*) AS n, avg(temp) AS t "
         "FROM telemetry GROUP BY 1, 2 ORDER BY 1, 2")
DIRECT_GROUP = GROUP.replace("from_unixtime(ts)", "make_timestamp(CAST(ts * 1000000 AS BIGINT))")


def athena_query(sb: Sandbox, sql: str) -> tuple[float, float, int]:
    """(seconds from StartQueryExecution to SUCCEEDED, seconds paging GetQueryResults, rows)."""
    athena = sb.client("athena")
    start = time.perf_counter()
    qid = athena.start_query_execution(QueryString=sql, QueryExecutionContext={"Database": "lab"},
                                       ResultConfiguration={"OutputLocation": "s3://results/"})["QueryExecutionId"]
    state = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]
    assert state["State"] == "SUCCEEDED", state
    ran = time.perf_counter()
    rows = 0
    for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=qid):
        rows += len(page["ResultSet"]["Rows"])
    return ran - start, time.perf_counter() - ran, rows - 1


def direct_query(files: list[str], sql: str) -> tuple[float, int]:
    import duckdb

    start = time.perf_counter()
    con = duckdb.connect()
    listing = "[" + ", ".join(f"'{f}'" for f in files) + "]"
    con.execute("CREATE VIEW telemetry AS SELECT * FROM read_json(" + listing + ", format='newline_delimited', "
                "columns={'device': 'VARCHAR', 'ts': 'BIGINT', 'temp': 'INTEGER'})")
    rows = con.execute(sql).fetchall()
    con.close()
    return time.perf_counter() - start, len(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    base = 1_700_000_000
    with Sandbox(background=False) as sb, tempfile.TemporaryDirectory() as tmp:
        s3 = sb.client("s3")
        s3.create_bucket(Bucket="lake")
        s3.create_bucket(Bucket="results")
        firehose = sb.client("firehose")
        firehose.create_delivery_stream(DeliveryStreamName="telemetry", ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::123456789012:role/fh", "BucketARN": "arn:aws:s3:::lake",
            "Prefix": "telemetry/", "CompressionFormat": "GZIP",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60},
            "ProcessingConfiguration": {"Enabled": True, "Processors": [
                {"Type": "AppendDelimiterToRecord", "Parameters": []}]}})
        start = time.perf_counter()
        for first in range(0, args.records, 500):
            batch = [{"Data": json.dumps({"device": f"dev{i % 50}", "ts": base + i // 20, "temp": i % 40}).encode()}
                     for i in range(first, min(first + 500, args.records))]
            firehose.put_record_batch(DeliveryStreamName="telemetry", Records=batch)
        sb.clock.advance(seconds=60)
        put_time = time.perf_counter() - start
        objects = [o for o in s3.list_objects_v2(Bucket="lake", Prefix="telemetry/")["Contents"]]
        print(f"firehose: {args.records} records in {put_time:.2f}s "
              f"({args.records / put_time:,.0f}/s) -> {len(objects)} GZIP objects")
        files = []
        for i, o in enumerate(objects):
            path = Path(tmp) / f"part-{i}.json.gz"
            path.write_bytes(s3.get_object(Bucket="lake", Key=o["Key"])["Body"].read())
            files.append(str(path))
        athena = sb.client("athena")
        for ddl in ("CREATE DATABASE lab", "CREATE EXTERNAL TABLE telemetry (device string, ts bigint, temp int) "
                    "ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' LOCATION 's3://lake/telemetry/'"):
            athena.start_query_execution(QueryString=ddl, QueryExecutionContext={"Database": "lab"},
                                         ResultConfiguration={"OutputLocation": "s3://results/"})
        first_run = athena_query(sb, COUNT)
        print(f"athena first count(*) (copies the objects once): {first_run[0] * 1000:.1f} ms")
        for label, sql, direct_sql in (("count(*)", COUNT, COUNT), ("group by", GROUP, DIRECT_GROUP)):
            a = [athena_query(sb, sql) for _ in range(args.runs)]
            d = [direct_query(files, direct_sql) for _ in range(args.runs)]
            assert a[0][2] == d[0][1], (a[0], d[0])
            query, fetch = statistics.median(x[0] for x in a), statistics.median(x[1] for x in a)
            direct = statistics.median(x[0] for x in d)
            print(f"{label:9s} athena query {query * 1000:6.1f} ms (+ GetQueryResults {fetch * 1000:6.1f} ms)  "
                  f"duckdb direct {direct * 1000:6.1f} ms  query ratio {query / direct:.2f}x  "
                  f"with results {(query + fetch) / direct:.2f}x  ({a[0][2]} rows)")


if __name__ == "__main__":
    main()
