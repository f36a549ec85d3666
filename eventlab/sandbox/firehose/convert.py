"""Firehose output encoding: compression and record format conversion to Parquet.

* ``CompressionFormat``: ``UNCOMPRESSED``, ``GZIP`` (``.gz``) and ``ZIP`` (``.zip``, one
  entry) are written; ``Snappy``/``HADOOP_SNAPPY`` are refused when the stream is created
  (the sandbox has no framed-Snappy writer).
* ``DataFormatConversionConfiguration`` with ``OpenXJsonSerDe``/``HiveJsonSerDe`` input and
  ``ParquetSerDe`` output: each record is one JSON document, read against the columns of
  the Glue table in ``SchemaConfiguration`` (partition keys excluded; missing fields are
  null, extra fields ignored) and written with pyarrow (``Compression``: ``SNAPPY`` by
  default, ``GZIP``, ``UNCOMPRESSED``).  A record that is not JSON, or whose value does not
  fit its column's type, fails with ``format-conversion-failed``.
"""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from typing import TYPE_CHECKING, Any

from eventlab.sandbox.athena import hive_types

if TYPE_CHECKING:
    from eventlab.sandbox.core.sandbox import Sandbox

EXTENSIONS = {"GZIP": ".gz", "ZIP": ".zip"}
SUPPORTED_COMPRESSION = ("UNCOMPRESSED", "GZIP", "ZIP")


def compress(data: bytes, fmt: str | None, entry_name: str = "data") -> bytes:
    fmt = (fmt or "UNCOMPRESSED").upper()
    if fmt == "GZIP":
        return gzip.compress(data, compresslevel=6)
    if fmt == "ZIP":
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(entry_name, data)
        return out.getvalue()
    return data


def conversion_config(config: dict[str, Any]) -> dict[str, Any] | None:
    conversion = config.get("DataFormatConversionConfiguration") or {}
    if conversion.get("Enabled", True) is False or not conversion:
        return None
    return conversion


def table_columns(sandbox: Sandbox, conversion: dict[str, Any]) -> tuple[list[tuple[str, Any]], dict[str, Any]]:
    """The Glue table's (name, HiveType) columns and the ``dataCatalogTable`` error field."""
    schema = conversion.get("SchemaConfiguration") or {}
    region = schema.get("Region") or sandbox.region
    glue = sandbox.backend("glue", region)
    table = glue.get_table(schema.get("DatabaseName"), schema.get("TableName"))
    version = schema.get("VersionId") or "LATEST"
    described = table.as_dict(None if version == "LATEST" else version)
    columns = [(c["Name"], hive_types.parse(c["Type"]))
               for c in described.get("StorageDescriptor", {}).get("Columns", [])]
    catalog = {
        "catalogId": schema.get("CatalogId") or sandbox.account_id,
        "databaseName": schema.get("DatabaseName"), "tableName": schema.get("TableName"),
        "region": region, "versionId": version,
        "catalogArn": f"arn:aws:glue:{region}:{sandbox.account_id}:catalog",
    }
    return columns, catalog


def to_parquet(rows: list[bytes], columns: list[tuple[str, Any]], conversion: dict[str, Any]
               ) -> tuple[bytes | None, list[tuple[int, str]]]:
    """Parquet bytes for the rows that convert, and (index, message) for those that do not."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    serializer = ((conversion.get("OutputFormatConfiguration") or {}).get("Serializer") or {})
    if "ParquetSerDe" not in serializer:
        raise ValueError("the sandbox converts to Parquet only (OutputFormatConfiguration."
                         "Serializer.ParquetSerDe); ORC is not supported")
    codec = (serializer["ParquetSerDe"] or {}).get("Compression", "SNAPPY").upper()
    good: list[dict[str, Any]] = []
    failures: list[tuple[int, str]] = []
    for index, raw in enumerate(rows):
        try:
            document = json.loads(raw)
            if not isinstance(document, dict):
                raise ValueError("the record is not a JSON object")
            lowered = {k.lower(): v for k, v in document.items()}
            good.append({name: hive_types.coerce(lowered.get(name.lower()), hive_type)
                         for name, hive_type in columns})
        except (ValueError, TypeError, ArithmeticError) as exc:
            failures.append((index, f"The record does not match the table schema: {exc}"))
    if not good:
        return None, failures
    schema = pa.schema([(name, hive_types.to_arrow(t)) for name, t in columns])
    table = pa.Table.from_pylist(good, schema=schema)
    out = io.BytesIO()
    pq.write_table(table, out, compression=None if codec == "UNCOMPRESSED" else codec.lower())
    return out.getvalue(), failures


def error_line(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, separators=(",", ":")) + "\n").encode()
