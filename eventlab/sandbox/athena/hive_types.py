"""Glue/Hive column types (``string``, ``bigint``, ``array<struct<a:int>>``...), parsed once
and rendered for DuckDB (Athena) and pyarrow (Firehose's Parquet conversion)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from eventlab.errors import InputError

_SIMPLE_DUCKDB = {
    "string": "VARCHAR", "varchar": "VARCHAR", "char": "VARCHAR", "int": "INTEGER",
    "integer": "INTEGER", "bigint": "BIGINT", "smallint": "SMALLINT", "tinyint": "TINYINT",
    "double": "DOUBLE", "float": "FLOAT", "real": "FLOAT", "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMP", "date": "DATE", "binary": "BLOB",
}


class HiveTypeError(InputError, ValueError):
    pass


@dataclass
class HiveType:
    name: str  # lower-case base name: string, bigint, decimal, array, map, struct...
    params: list[str] = field(default_factory=list)  # decimal(p, s), varchar(n)
    children: list[HiveType] = field(default_factory=list)  # array/map element types
    fields: list[tuple[str, HiveType]] = field(default_factory=list)  # struct fields


def parse(text: str) -> HiveType:
    hive_type, rest = _parse(text.strip())
    if rest.strip():
        raise HiveTypeError(f"unexpected {rest!r} after the type in {text!r}")
    return hive_type


def _parse(text: str) -> tuple[HiveType, str]:
    match = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)", text)
    if not match:
        raise HiveTypeError(f"cannot read a column type from {text!r}")
    name, rest = match.group(1).lower(), text[match.end():]
    result = HiveType(name)
    if rest.lstrip().startswith("(") and name in ("decimal", "varchar", "char"):
        inner, _, rest = rest.lstrip()[1:].partition(")")
        result.params = [p.strip() for p in inner.split(",")]
    elif rest.lstrip().startswith("<"):
        rest = rest.lstrip()[1:]
        while True:
            if name == "struct":
                fmatch = re.match(r"\s*`?([^`:\s]+)`?\s*:", rest)
                if not fmatch:
                    raise HiveTypeError(f"expected field:type in struct, got {rest!r}")
                child, rest = _parse(rest[fmatch.end():])
                result.fields.append((fmatch.group(1), child))
            else:
                child, rest = _parse(rest)
                result.children.append(child)
            rest = rest.lstrip()
            if rest.startswith(","):
                rest = rest[1:]
                continue
            if rest.startswith(">"):
                rest = rest[1:]
                break
            raise HiveTypeError(f"expected , or > in type, got {rest!r}")
    elif name not in _SIMPLE_DUCKDB and name != "decimal":
        raise HiveTypeError(f"unsupported column type {name!r}")
    return result, rest


def to_duckdb(t: HiveType) -> str:
    if t.name in _SIMPLE_DUCKDB:
        return _SIMPLE_DUCKDB[t.name]
    if t.name == "decimal":
        return f"DECIMAL({','.join(t.params or ['10', '0'])})"
    if t.name == "array":
        return f"{to_duckdb(t.children[0])}[]"
    if t.name == "map":
        return f"MAP({to_duckdb(t.children[0])}, {to_duckdb(t.children[1])})"
    if t.name == "struct":
        return "STRUCT(" + ", ".join(f'"{n}" {to_duckdb(c)}' for n, c in t.fields) + ")"
    raise HiveTypeError(f"unsupported column type {t.name!r}")


def to_arrow(t: HiveType) -> Any:
    import pyarrow as pa

    simple = {
        "string": pa.string(), "varchar": pa.string(), "char": pa.string(), "int": pa.int32(),
        "integer": pa.int32(), "bigint": pa.int64(), "smallint": pa.int16(), "tinyint": pa.int8(),
        "double": pa.float64(), "float": pa.float32(), "real": pa.float32(),
        "boolean": pa.bool_(), "timestamp": pa.timestamp("ms"), "date": pa.date32(),
        "binary": pa.binary(),
    }
    if t.name in simple:
        return simple[t.name]
    if t.name == "decimal":
        precision, scale = (t.params + ["0"])[:2] if t.params else ("10", "0")
        return pa.decimal128(int(precision), int(scale))
    if t.name == "array":
        return pa.list_(to_arrow(t.children[0]))
    if t.name == "map":
        return pa.map_(to_arrow(t.children[0]), to_arrow(t.children[1]))
    if t.name == "struct":
        return pa.struct([(n, to_arrow(c)) for n, c in t.fields])
    raise HiveTypeError(f"unsupported column type {t.name!r}")


def coerce(value: Any, t: HiveType) -> Any:
    """A JSON value converted to ``t`` as Firehose's deserializer would; ValueError if not."""
    from datetime import UTC, date, datetime
    from decimal import Decimal

    if value is None:
        return None
    name = t.name
    if name in ("string", "varchar", "char"):
        if isinstance(value, (dict, list)):
            raise ValueError(f"expected a string, got {type(value).__name__}")
        return value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)
    if name in ("int", "integer", "bigint", "smallint", "tinyint"):
        if isinstance(value, bool) or isinstance(value, (dict, list)):
            raise ValueError(f"expected an integer, got {value!r}")
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"expected an integer, got {value!r}")
        return int(value)
    if name in ("double", "float", "real"):
        if isinstance(value, (bool, dict, list)):
            raise ValueError(f"expected a number, got {value!r}")
        return float(value)
    if name == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueError(f"expected a boolean, got {value!r}")
    if name == "decimal":
        return Decimal(str(value))
    if name == "timestamp":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC).replace(tzinfo=None)
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).replace(tzinfo=None)
    if name == "date":
        return date.fromisoformat(str(value))
    if name == "array":
        if not isinstance(value, list):
            raise ValueError(f"expected an array, got {value!r}")
        return [coerce(v, t.children[0]) for v in value]
    if name == "map":
        if not isinstance(value, dict):
            raise ValueError(f"expected an object, got {value!r}")
        return [(coerce(k, t.children[0]), coerce(v, t.children[1])) for k, v in value.items()]
    if name == "struct":
        if not isinstance(value, dict):
            raise ValueError(f"expected an object, got {value!r}")
        return {n: coerce(value.get(n), c) for n, c in t.fields}
    if name == "binary":
        return str(value).encode()
    raise ValueError(f"unsupported type {name}")
