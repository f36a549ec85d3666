"""Athena DDL on the Glue Data Catalog (as on AWS, Athena's tables are Glue tables).

Handled: ``CREATE DATABASE|SCHEMA``, ``DROP DATABASE``, ``CREATE EXTERNAL TABLE ... (cols)
[PARTITIONED BY (...)] [ROW FORMAT SERDE '...' [WITH SERDEPROPERTIES (...)] | ROW FORMAT
DELIMITED [FIELDS TERMINATED BY '.' [ESCAPED BY '.']] [COLLECTION ITEMS TERMINATED BY '.']
[MAP KEYS TERMINATED BY '.'] [LINES TERMINATED BY '.']] [STORED AS
PARQUET|TEXTFILE|JSON|INPUTFORMAT ...] LOCATION 's3://...' [TBLPROPERTIES (...)]``, ``DROP TABLE``, ``MSCK REPAIR TABLE`` (finds
Hive-style ``key=value/`` folders under the location), ``ALTER TABLE ... ADD|DROP
PARTITION``, ``SHOW DATABASES``, ``SHOW TABLES``.  Anything else is not DDL and goes to
the SQL engine.

String values (SerDe names, properties, LOCATION) may be in single or double quotes, as in
Athena's own examples.  The DELIMITED clauses set the LazySimpleSerDe properties they stand
for (``field.delim``, ``escape.delim``, ``collection.delim``, ``mapkey.delim``,
``line.delim``; https://docs.aws.amazon.com/athena/latest/ug/serde-create-a-table.html).
A column whose type Athena does not know is a ``DDLError`` naming the column and the type.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from eventlab.errors import InputError
from eventlab.sandbox.athena import hive_types

if TYPE_CHECKING:
    from eventlab.sandbox.core.sandbox import Sandbox

PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
LAZY_SERDE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
JSON_SERDE = "org.openx.data.jsonserde.JsonSerDe"
FORMATS = {
    "PARQUET": (PARQUET_SERDE, "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"),
    "TEXTFILE": (LAZY_SERDE, "org.apache.hadoop.mapred.TextInputFormat",
                 "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"),
    "JSON": (JSON_SERDE, "org.apache.hadoop.mapred.TextInputFormat",
             "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"),
}
NAME = r"`?([A-Za-z0-9_]+)`?(?:\.`?([A-Za-z0-9_]+)`?)?"
QUOTED = r"""(?:'([^']*)'|"([^"]*)")"""  # a string in either quote: one of two groups is set
DELIMITERS = (("FIELDS TERMINATED BY", "field.delim"), ("ESCAPED BY", "escape.delim"),
              ("COLLECTION ITEMS TERMINATED BY", "collection.delim"),
              ("MAP KEYS TERMINATED BY", "mapkey.delim"), ("LINES TERMINATED BY", "line.delim"))


class DDLError(InputError):
    """A DDL statement Athena would reject; ``code`` is Athena's error prefix."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")


def _quoted(match: re.Match[str], group: int) -> str:
    """The string a :data:`QUOTED` pattern starting at ``group`` matched."""
    single = match.group(group)
    return single if single is not None else match.group(group + 1)


def _split_name(match: re.Match[str], default_db: str) -> tuple[str, str]:
    first, second = match.group(1), match.group(2)
    return ((first, second) if second else (default_db, first))


def _balanced(text: str, start: int) -> tuple[str, int]:
    """The text inside the parenthesis at ``start`` and the index after its close."""
    depth, quoted = 0, None
    for i in range(start, len(text)):
        ch = text[i]
        if quoted:
            if ch == quoted:
                quoted = None
        elif ch in "'\"`":
            quoted = ch
        elif ch in "(<":
            depth += 1
        elif ch in ")>":
            depth -= 1
            if depth == 0:
                return text[start + 1:i], i + 1
    raise DDLError("SYNTAX_ERROR", "unbalanced parentheses")


def _columns(body: str) -> list[dict[str, str]]:
    columns, depth, start = [], 0, 0
    parts = []
    for i, ch in enumerate(body):
        if ch in "(<":
            depth += 1
        elif ch in ")>":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(body[start:i])
            start = i + 1
    parts.append(body[start:])
    for part in parts:
        part = re.sub(r"\s+COMMENT\s+'[^']*'\s*$", "", part.strip(), flags=re.I)
        match = re.match(r"`?([A-Za-z0-9_]+)`?\s+(.+)$", part, re.S)
        if not match:
            raise DDLError("SYNTAX_ERROR", f"cannot read column definition {part!r}")
        try:
            hive_types.parse(match.group(2))
        except hive_types.HiveTypeError as exc:
            raise DDLError("SYNTAX_ERROR", f"column {match.group(1)!r} has type "
                                           f"{match.group(2).strip()!r}: {exc}") from exc
        columns.append({"Name": match.group(1).lower(), "Type": re.sub(r"\s+", "", match.group(2)).lower()})
    return columns


def _properties(text: str) -> dict[str, str]:
    pairs = re.finditer(QUOTED + r"\s*=\s*" + QUOTED, text)
    return {_quoted(m, 1): _quoted(m, 3) for m in pairs}


def handle(sandbox: Sandbox, query: str, database: str) -> tuple[list[tuple[str, str]], list[list[Any]]] | None:
    """Run ``query`` if it is DDL: returns (columns, rows); None when it is not DDL."""
    glue = sandbox.backend("glue")
    if "default" not in glue.databases:  # AWS's catalog always has it
        glue.create_database("default", {"Name": "default"})
    q = query.strip().rstrip(";").strip()
    m = re.match(r"CREATE\s+(?:DATABASE|SCHEMA)\s+(IF\s+NOT\s+EXISTS\s+)?`?([A-Za-z0-9_]+)`?(.*)$", q, re.I | re.S)
    if m:
        name = m.group(2).lower()
        if name in glue.databases:
            if not m.group(1):
                raise DDLError("FAILED", f"AlreadyExistsException: Database {name} already exists")
        else:
            location = re.search(r"LOCATION\s+" + QUOTED, m.group(3), re.I)
            glue.create_database(name, {"Name": name, **({"LocationUri": _quoted(location, 1)}
                                                         if location else {})})
        return [], []
    m = re.match(r"DROP\s+(?:DATABASE|SCHEMA)\s+(IF\s+EXISTS\s+)?`?([A-Za-z0-9_]+)`?", q, re.I)
    if m:
        name = m.group(2).lower()
        if name in glue.databases:
            glue.delete_database(name)
        elif not m.group(1):
            raise DDLError("FAILED", f"NoSuchObjectException: Database {name} not found")
        return [], []
    m = re.match(r"CREATE\s+EXTERNAL\s+TABLE\s+(IF\s+NOT\s+EXISTS\s+)?" + NAME + r"\s*\(", q, re.I)
    if m:
        return _create_table(glue, q, m, database)
    m = re.match(r"DROP\s+TABLE\s+(IF\s+EXISTS\s+)?" + NAME + r"\s*$", q, re.I)
    if m:
        db, table = (m.group(2), m.group(3)) if m.group(3) else (database, m.group(2))
        tables = glue.databases.get(db.lower())
        if tables is not None and table.lower() in tables.tables:
            glue.delete_table(db.lower(), table.lower())
        elif not m.group(1):
            raise DDLError("FAILED", f"SemanticException [Error 10001]: Table not found {db}.{table}")
        return [], []
    m = re.match(r"MSCK\s+REPAIR\s+TABLE\s+" + NAME + r"\s*$", q, re.I)
    if m:
        db, table = _split_name(m, database)
        return _repair(sandbox, glue, db.lower(), table.lower())
    m = re.match(r"ALTER\s+TABLE\s+" + NAME + r"\s+(ADD|DROP)\s+(IF\s+(?:NOT\s+)?EXISTS\s+)?(PARTITION.*)$", q, re.I | re.S)
    if m:
        db, table = _split_name(m, database)
        return _alter_partitions(glue, db.lower(), table.lower(), m.group(3).upper(), bool(m.group(4)), m.group(5))
    if re.match(r"SHOW\s+(DATABASES|SCHEMAS)\b", q, re.I):
        return [("database_name", "varchar")], [[name] for name in sorted(glue.databases)]
    m = re.match(r"SHOW\s+TABLES(?:\s+IN\s+`?([A-Za-z0-9_]+)`?)?", q, re.I)
    if m:
        db = (m.group(1) or database).lower()
        tables = glue.databases[db].tables if db in glue.databases else {}
        return [("tab_name", "varchar")], [[name] for name in sorted(tables)]
    return None


def _create_table(glue: Any, q: str, m: re.Match[str], database: str) -> tuple[list[Any], list[Any]]:
    db, table = (m.group(2), m.group(3)) if m.group(3) else (database, m.group(2))
    db, table = db.lower(), table.lower()
    body, pos = _balanced(q, m.end() - 1)
    rest = q[pos:]
    columns = _columns(body)
    partition_keys: list[dict[str, str]] = []
    pm = re.search(r"PARTITIONED\s+BY\s*\(", rest, re.I)
    if pm:
        pbody, _ = _balanced(rest, pm.end() - 1)
        partition_keys = _columns(pbody)
    serde, informat, outformat = FORMATS["TEXTFILE"]
    serde_props: dict[str, str] = {}
    sm = re.search(r"ROW\s+FORMAT\s+SERDE\s+" + QUOTED, rest, re.I)
    if sm:
        serde = _quoted(sm, 1)
        if "json" in serde.lower():
            informat, outformat = FORMATS["JSON"][1:]
    dm = re.search(r"ROW\s+FORMAT\s+DELIMITED(.*?)(?=STORED|LOCATION|TBLPROPERTIES|$)", rest, re.I | re.S)
    if dm:
        for clause, prop in DELIMITERS:
            found = re.search(clause.replace(" ", r"\s+") + r"\s+" + QUOTED, dm.group(1), re.I)
            if found:
                serde_props[prop] = _quoted(found, 1).encode().decode("unicode_escape")
    wm = re.search(r"WITH\s+SERDEPROPERTIES\s*\(", rest, re.I)
    if wm:
        serde_props.update(_properties(_balanced(rest, wm.end() - 1)[0]))
    stored = re.search(r"STORED\s+AS\s+(INPUTFORMAT\s+" + QUOTED + r"\s+OUTPUTFORMAT\s+" + QUOTED
                       + r"|[A-Za-z]+)", rest, re.I)
    if stored:
        if stored.group(1).upper().startswith("INPUTFORMAT"):
            informat, outformat = _quoted(stored, 2), _quoted(stored, 4)
            if "parquet" in informat.lower():
                serde = PARQUET_SERDE if not sm else serde
        else:
            kind = stored.group(1).upper()
            if kind not in FORMATS:
                raise DDLError("FAILED", f"the sandbox supports STORED AS PARQUET, TEXTFILE or JSON, not {kind}")
            if kind != "TEXTFILE" or not sm:
                serde = FORMATS[kind][0] if not (kind == "TEXTFILE" and sm) else serde
            informat, outformat = FORMATS[kind][1:]
    location = re.search(r"LOCATION\s+" + QUOTED, rest, re.I)
    if not location or not _quoted(location, 1):
        raise DDLError("FAILED", "an external table needs LOCATION 's3://bucket/path/'")
    tm = re.search(r"TBLPROPERTIES\s*\(", rest, re.I)
    table_props = _properties(_balanced(rest, tm.end() - 1)[0]) if tm else {}
    if db not in glue.databases:
        raise DDLError("SCHEMA_NOT_FOUND", f"Schema '{db}' does not exist")
    if table in glue.databases[db].tables:
        if m.group(1):
            return [], []
        raise DDLError("FAILED", f"AlreadyExistsException: Table {table} already exists")
    glue.create_table(db, table, {
        "Name": table, "TableType": "EXTERNAL_TABLE", "PartitionKeys": partition_keys,
        "Parameters": {"EXTERNAL": "TRUE", **table_props},
        "StorageDescriptor": {
            "Columns": columns, "Location": _quoted(location, 1), "InputFormat": informat,
            "OutputFormat": outformat,
            "SerdeInfo": {"SerializationLibrary": serde, "Parameters": serde_props},
        },
    })
    return [], []


def _partition_input(table: dict[str, Any], values: list[str], location: str) -> dict[str, Any]:
    descriptor = dict(table["StorageDescriptor"])
    descriptor["Location"] = location
    return {"Values": values, "StorageDescriptor": descriptor}


def _alter_partitions(glue: Any, db: str, name: str, action: str, conditional: bool,
                      text: str) -> tuple[list[Any], list[Any]]:
    table = glue.get_table(db, name)
    described = table.as_dict()
    keys = [k["Name"] for k in described.get("PartitionKeys", [])]
    base = described["StorageDescriptor"]["Location"].rstrip("/") + "/"
    for spec in re.finditer(r"PARTITION\s*\(([^)]*)\)(?:\s*LOCATION\s+" + QUOTED + ")?", text, re.I):
        given = {k.strip().strip("`").lower(): v for k, v in
                 re.findall(r"`?([A-Za-z0-9_]+)`?\s*=\s*'?([^',]*)'?", spec.group(1))}
        if set(given) != set(keys):
            raise DDLError("FAILED", f"partition spec {given} does not name the partition keys {keys}")
        values = [given[k] for k in keys]
        exists = str(values) in table.partitions
        if action == "ADD":
            if exists:
                if conditional:
                    continue
                raise DDLError("FAILED", f"AlreadyExistsException: Partition already exists {given}")
            location = spec.group(2) or spec.group(3) or base + "/".join(f"{k}={given[k]}" for k in keys) + "/"
            glue.create_partition(db, name, _partition_input(described, values, location))
        elif exists:
            table.delete_partition(values)
        elif not conditional:
            raise DDLError("FAILED", f"Partition not found {given}")
    return [], []


def _repair(sandbox: Sandbox, glue: Any, db: str, name: str) -> tuple[list[Any], list[Any]]:
    from eventlab.sandbox.athena.data import list_objects, split_s3

    table = glue.get_table(db, name)
    described = table.as_dict()
    keys = [k["Name"] for k in described.get("PartitionKeys", [])]
    location = described["StorageDescriptor"]["Location"]
    bucket, prefix = split_s3(location)
    pattern = re.compile("/".join(f"{re.escape(k)}=([^/]+)" for k in keys) + "/", re.I)
    for key, _ in list_objects(sandbox, bucket, prefix):
        found = pattern.match(key[len(prefix):]) if keys else None
        if not found:
            continue
        values = [unquote(v) for v in found.groups()]
        if str(values) in table.partitions:
            continue
        part_location = f"s3://{bucket}/{prefix}{found.group(0)}"
        glue.create_partition(db, name, _partition_input(described, values, part_location))
    return [], []
