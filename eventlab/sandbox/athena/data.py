"""Glue tables as DuckDB views over the objects in the sandbox's S3.

Each object under a table's (or partition's) ``LOCATION`` is copied once (per ETag) from
moto's S3 into the sandbox's work directory, compressed as stored (DuckDB reads GZIP), and
the table becomes a view: ``read_json`` (OpenX/Hive JSON SerDe), ``read_parquet``
(Parquet) or ``read_csv`` (OpenCSVSerde, LazySimpleSerDe with ``field.delim``) with the
table's declared columns, plus one constant column per partition key.  As in Athena,
objects whose name starts with ``_`` or ``.`` are skipped and sub-folders are read.

A JSON SerDe reads one record per line: a line holding several JSON objects back to back
(Firehose's default output, without the newline delimiter) yields only its first object,
as on Athena.

Partition projection (``projection.enabled``) discovers partitions from the objects
present: ``storage.location.template`` (or Hive-style ``key=value/`` folders) is matched
against the keys, and ``enum`` projections filter the values.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eventlab.sandbox.athena import hive_types

if TYPE_CHECKING:
    from eventlab.sandbox.core.sandbox import Sandbox


def split_s3(url: str) -> tuple[str, str]:
    if not url.startswith("s3://"):
        raise ValueError(f"not an s3:// location: {url!r}")
    bucket, _, prefix = url[5:].partition("/")
    return bucket, prefix


def list_objects(sandbox: Sandbox, bucket: str, prefix: str) -> list[tuple[str, Any]]:
    from moto.s3.models import s3_backends

    backend = s3_backends[sandbox.account_id]["aws"]
    try:
        found = backend.get_bucket(bucket)
    except Exception:
        return []
    out = []
    for key, obj in sorted(found.keys.items()):
        if not key.startswith(prefix) or key.endswith("/") or not hasattr(obj, "value"):
            continue
        name = key.rsplit("/", 1)[-1]
        if name.startswith(("_", ".")) or name.endswith("$folder$"):
            continue
        out.append((key, obj))
    return out


def _first_values_per_line(data: bytes) -> bytes:
    decoder = json.JSONDecoder()
    lines = []
    for line in data.decode("utf-8", errors="replace").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            value, _ = decoder.raw_decode(line)
        except ValueError:
            continue
        lines.append(json.dumps(value))
    return ("\n".join(lines) + "\n").encode()


class TableFiles:
    """Copies S3 objects into a local cache; remembers them by bucket, key and ETag."""

    def __init__(self, sandbox: Sandbox, cache: Path) -> None:
        self.sandbox = sandbox
        self.cache = cache
        self.cache.mkdir(parents=True, exist_ok=True)
        self._known: dict[tuple[str, str, str, str], str] = {}
        self.scanned = 0

    def local(self, bucket: str, key: str, obj: Any, kind: str) -> str:
        ident = (bucket, key, str(obj.etag), kind)
        path = self._known.get(ident)
        if path is None:
            raw = obj.value
            gz = raw[:2] == b"\x1f\x8b"
            if kind == "json" and b"}{" in (gzip.decompress(raw) if gz else raw):
                raw, gz = _first_values_per_line(gzip.decompress(raw) if gz else raw), False
            ext = {"json": ".json", "csv": ".csv", "parquet": ".parquet"}[kind] + (".gz" if gz else "")
            name = hashlib.sha1(repr(ident).encode()).hexdigest() + ext
            (self.cache / name).write_bytes(raw)
            path = str(self.cache / name)
            self._known[ident] = path
        self.scanned += int(obj.size)
        return path


def _kind(descriptor: dict[str, Any]) -> str:
    serde = ((descriptor.get("SerdeInfo") or {}).get("SerializationLibrary") or "").lower()
    informat = (descriptor.get("InputFormat") or "").lower()
    if "parquet" in serde or "parquet" in informat:
        return "parquet"
    if "json" in serde:
        return "json"
    return "csv"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _reader(kind: str, files: list[str], columns: list[tuple[str, str]], descriptor: dict[str, Any],
            table_props: dict[str, str], con: Any) -> str:
    listing = "[" + ", ".join(_quote(f) for f in files) + "]"
    typed = "{" + ", ".join(f"{_quote(n)}: {_quote(t)}" for n, t in columns) + "}"
    if kind == "json":
        return (f"SELECT * FROM read_json({listing}, format='newline_delimited', columns={typed}, "
                "ignore_errors=true)")
    if kind == "parquet":
        present = {row[0].lower() for row in con.execute(
            f"DESCRIBE SELECT * FROM read_parquet({listing}, union_by_name=true)").fetchall()}
        select = ", ".join(f'CAST("{n}" AS {t}) AS "{n}"' if n in present else f'CAST(NULL AS {t}) AS "{n}"'
                           for n, t in columns)
        return f"SELECT {select} FROM read_parquet({listing}, union_by_name=true)"
    props = (descriptor.get("SerdeInfo") or {}).get("Parameters") or {}
    serde = ((descriptor.get("SerdeInfo") or {}).get("SerializationLibrary") or "").lower()
    if "opencsv" in serde:
        delim, quote, escape = props.get("separatorChar", ","), props.get("quoteChar", '"'), props.get("escapeChar", "\\")
    else:
        delim = props.get("field.delim") or props.get("serialization.format") or "\x01"
        if delim.isdigit():
            delim = chr(int(delim))
        quote, escape = "", ""
    skip = int(table_props.get("skip.header.line.count", "0") or 0)
    return (f"SELECT * FROM read_csv({listing}, delim={_quote(delim)}, quote={_quote(quote)}, "
            f"escape={_quote(escape)}, header=false, skip={skip}, columns={typed}, auto_detect=false, "
            "null_padding=true)")


def _projected_partitions(sandbox: Sandbox, table: dict[str, Any], keys: list[str]) -> list[tuple[list[str], str]]:
    props = table.get("Parameters") or {}
    location = table["StorageDescriptor"]["Location"].rstrip("/") + "/"
    template = props.get("storage.location.template") or location + "/".join(f"{k}=${{{k}}}" for k in keys) + "/"
    bucket, prefix = split_s3(template.split("${", 1)[0])
    regex = re.escape(template.split(f"s3://{bucket}/", 1)[1])
    for k in keys:
        regex = regex.replace(re.escape("${" + k + "}"), f"(?P<{k}>[^/]+)")
    pattern = re.compile(regex)
    found: dict[tuple[str, ...], str] = {}
    for key, _ in list_objects(sandbox, bucket, prefix):
        match = pattern.match(key)
        if not match:
            continue
        values = tuple(match.group(k) for k in keys)
        if all(props.get(f"projection.{k}.type") != "enum" or
               v in props.get(f"projection.{k}.values", "").split(",") for k, v in zip(keys, values, strict=True)):
            found.setdefault(values, f"s3://{bucket}/{key[:match.end()]}")
    return [(list(v), loc) for v, loc in sorted(found.items())]


def view_sql(sandbox: Sandbox, files: TableFiles, table: dict[str, Any], con: Any) -> str:
    """A SELECT that reads the table's current objects."""
    descriptor = table["StorageDescriptor"]
    columns = [(c["Name"].lower(), hive_types.to_duckdb(hive_types.parse(c["Type"])))
               for c in descriptor.get("Columns", [])]
    part_cols = [(c["Name"].lower(), hive_types.to_duckdb(hive_types.parse(c["Type"])))
                 for c in table.get("PartitionKeys", [])]
    props = table.get("Parameters") or {}
    kind = _kind(descriptor)
    groups: list[tuple[list[str], str]]
    if not part_cols:
        groups = [([], descriptor["Location"])]
    elif props.get("projection.enabled", "").lower() == "true":
        groups = _projected_partitions(sandbox, table, [n for n, _ in part_cols])
    else:
        groups = [(p["Values"], p["StorageDescriptor"]["Location"]) for p in table.get("_partitions", [])]
    selects = []
    for values, location in groups:
        bucket, prefix = split_s3(location)
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        paths = [files.local(bucket, key, obj, kind) for key, obj in list_objects(sandbox, bucket, prefix)]
        if not paths:
            continue
        extra = "".join(f", CAST({_quote(v)} AS {t}) AS \"{n}\""
                        for (n, t), v in zip(part_cols, values, strict=True))
        inner = _reader(kind, paths, columns, descriptor, props, con)
        names = ", ".join(f'"{n}"' for n, _ in columns)
        selects.append(f"SELECT {names}{extra} FROM ({inner})")
    if not selects:
        empty = ", ".join(f'CAST(NULL AS {t}) AS "{n}"' for n, t in columns + part_cols)
        return f"SELECT {empty} WHERE false"
    return " UNION ALL ".join(selects)
