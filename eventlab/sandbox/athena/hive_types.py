"""Glue/Hive column types (``string``, ``bigint``, ``array<struct<a:int>>``...), parsed once
and rendered for DuckDB (Athena) and pyarrow (Firehose's Parquet conversion).

Athena's DDL types (https://docs.aws.amazon.com/athena/latest/ug/data-types.html):
``ARRAY<data_type>`` takes one element type, ``MAP<primitive_type, data_type>`` a primitive
key and a value type, ``STRUCT<col_name : data_type [COMMENT col_comment], ...>`` named
fields (a field's comment is accepted and not kept), ``DECIMAL(precision[, scale])`` at
most 38 for each (scale defaults to 0 and cannot exceed precision), ``CHAR(1-255)``."""

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


_GENERIC = {"array": "array<string>", "map": "map<string,int>", "struct": "struct<a:int>"}
_COMMENT = re.compile(r"\s+COMMENT\s+'(?:[^'\\]|\\.)*'", re.IGNORECASE)


def _parse(text: str) -> tuple[HiveType, str]:
    match = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)", text)
    if not match:
        raise HiveTypeError(f"cannot read a column type from {text!r}")
    name, rest = match.group(1).lower(), text[match.end():]
    result = HiveType(name)
    if name not in _SIMPLE_DUCKDB and name != "decimal" and name not in _GENERIC:
        raise HiveTypeError(f"unsupported column type {name!r}")
    if rest.lstrip().startswith("(") and name in ("decimal", "varchar", "char"):
        inner, _, rest = rest.lstrip()[1:].partition(")")
        result.params = [p.strip() for p in inner.split(",")]
        _check_params(result)
    elif name in _GENERIC:
        if not rest.lstrip().startswith("<"):
            raise HiveTypeError(f"{name} needs its element types in <...>, as in {_GENERIC[name]}")
        rest = rest.lstrip()[1:]
        while True:
            if name == "struct":
                fmatch = re.match(r"\s*`?([^`:\s]+)`?\s*:", rest)
                if not fmatch:
                    raise HiveTypeError(f"expected field:type in struct, got {rest!r}")
                child, rest = _parse(rest[fmatch.end():])
                comment = _COMMENT.match(rest)
                if comment:
                    rest = rest[comment.end():]
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
        _check_arity(result)
    return result, rest


def _check_arity(t: HiveType) -> None:
    wanted = {"array": 1, "map": 2}.get(t.name)
    if wanted is not None and len(t.children) != wanted:
        what = "one element type" if t.name == "array" else "a key type and a value type"
        raise HiveTypeError(f"{t.name} takes {what}, as in {_GENERIC[t.name]}; "
                            f"got {len(t.children)} type(s)")
    if t.name == "map" and t.children[0].name in _GENERIC:
        raise HiveTypeError(f"a map key must be a primitive type, not {t.children[0].name}")


def _check_params(t: HiveType) -> None:
    shown = f"{t.name}({', '.join(t.params)})"
    if not all(p.isdigit() for p in t.params):
        raise HiveTypeError(f"{shown}: the parameters must be whole numbers")
    numbers = [int(p) for p in t.params]
    if t.name == "decimal":
        if len(numbers) > 2:
            raise HiveTypeError(f"{shown}: decimal takes a precision and an optional scale")
        precision, scale = numbers[0], (numbers[1] if len(numbers) > 1 else 0)
        if not 1 <= precision <= 38 or scale > 38:
            raise HiveTypeError(f"{shown}: precision is 1-38 and scale at most 38")
        if scale > precision:
            raise HiveTypeError(f"{shown}: the scale cannot exceed the precision")
    elif len(numbers) != 1:
        raise HiveTypeError(f"{shown}: {t.name} takes one length")
    elif t.name == "char" and not 1 <= numbers[0] <= 255:
        raise HiveTypeError(f"{shown}: a char length is 1-255")


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
