"""Unit tests for Glue/Hive column types (eventlab/sandbox/athena/hive_types.py), called directly
with no Sandbox. The accepted type names and their syntax come from Athena's DDL type table
(https://docs.aws.amazon.com/athena/latest/ug/data-types.html: BOOLEAN, TINYINT, SMALLINT,
INT/INTEGER, BIGINT, FLOAT, DOUBLE, DECIMAL(precision, scale) with scale optional and both at
most 38, CHAR, VARCHAR, STRING, BINARY, DATE, TIMESTAMP, ARRAY<data_type>,
MAP<primitive_type, data_type>, STRUCT<col_name : data_type [COMMENT col_comment], ...>).
Each parsed type is rendered for DuckDB (checked by DuckDB itself) and for pyarrow, and
``coerce`` converts JSON values the way the module documents for Firehose's Parquet
conversion. Malformed types raise ``HiveTypeError`` naming the bad text; where the parser
accepts what Athena rejects (or the reverse) the test is ``xfail(strict=True)``.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from eventlab.sandbox.athena.hive_types import (
    HiveType,
    HiveTypeError,
    coerce,
    parse,
    to_arrow,
    to_duckdb,
)


@pytest.mark.parametrize(("text", "duck", "arrow"), [
    ("boolean", "BOOLEAN", pa.bool_()),
    ("tinyint", "TINYINT", pa.int8()),
    ("smallint", "SMALLINT", pa.int16()),
    ("int", "INTEGER", pa.int32()),
    ("INTEGER", "INTEGER", pa.int32()),
    ("bigint", "BIGINT", pa.int64()),
    ("float", "FLOAT", pa.float32()),
    ("double", "DOUBLE", pa.float64()),
    ("decimal(11,5)", "DECIMAL(11,5)", pa.decimal128(11, 5)),   # Athena's examples
    ("decimal(15)", "DECIMAL(15)", pa.decimal128(15, 0)),       # "scale (optional) ... default 0"
    ("decimal(38,38)", "DECIMAL(38,38)", pa.decimal128(38, 38)),  # both maxima are 38
    ("decimal", "DECIMAL(10,0)", pa.decimal128(10, 0)),         # Hive's default
    ("char(10)", "VARCHAR", pa.string()),
    ("varchar(255)", "VARCHAR", pa.string()),
    ("string", "VARCHAR", pa.string()),
    ("binary", "BLOB", pa.binary()),
    ("date", "DATE", pa.date32()),
    ("timestamp", "TIMESTAMP", pa.timestamp("ms")),
    ("array<string>", "VARCHAR[]", pa.list_(pa.string())),
    ("ARRAY < STRING >", "VARCHAR[]", pa.list_(pa.string())),
    ("map<string,int>", "MAP(VARCHAR, INTEGER)", pa.map_(pa.string(), pa.int32())),
    ("map<string, array<bigint>>", "MAP(VARCHAR, BIGINT[])", pa.map_(pa.string(), pa.list_(pa.int64()))),
    ("struct<a:int,b:array<string>>", 'STRUCT("a" INTEGER, "b" VARCHAR[])',
     pa.struct([("a", pa.int32()), ("b", pa.list_(pa.string()))])),
    ("struct< `_device` : string , ts : timestamp >", 'STRUCT("_device" VARCHAR, "ts" TIMESTAMP)',
     pa.struct([("_device", pa.string()), ("ts", pa.timestamp("ms"))])),
    ("array<struct<x:string,y:map<string,double>>>", 'STRUCT("x" VARCHAR, "y" MAP(VARCHAR, DOUBLE))[]',
     pa.list_(pa.struct([("x", pa.string()), ("y", pa.map_(pa.string(), pa.float64()))]))),
])
def test_types_render_for_duckdb_and_arrow(text: str, duck: str, arrow: pa.DataType) -> None:
    parsed = parse(text)
    assert to_duckdb(parsed) == duck
    assert to_arrow(parsed) == arrow
    duckdb.sql(f"SELECT CAST(NULL AS {duck}) AS x").fetchall()  # DuckDB accepts the rendering


def test_parse_tree() -> None:
    assert parse("Struct<id:BIGINT, tags:array<varchar(20)>>") == HiveType(
        "struct", fields=[("id", HiveType("bigint")),
                          ("tags", HiveType("array", children=[HiveType("varchar", params=["20"])]))])
    assert parse("decimal( 10 , 2 )").params == ["10", "2"]


@pytest.mark.parametrize(("text", "message"), [
    ("", "cannot read a column type from ''"),
    ("strin", "unsupported column type 'strin'"),
    ("int extra", "unexpected ' extra' after the type in 'int extra'"),
    ("array<string", "expected , or > in type, got ''"),
    ("array<>", "cannot read a column type from '>'"),
    ("struct<a int>", "expected field:type in struct, got 'a int>'"),
    ("struct<a:int,>", "expected field:type in struct, got '>'"),
])
def test_malformed_types(text: str, message: str) -> None:
    with pytest.raises(HiveTypeError, match=re.escape(message)):
        parse(text)


@pytest.mark.parametrize("text", ["map<string>", "map<string,int,int>", "array<int,string>"])
def test_wrong_number_of_type_arguments(text: str) -> None:
    with pytest.raises(HiveTypeError):
        parse(text)


def test_unknown_generic_type_is_rejected_by_parse() -> None:
    with pytest.raises(HiveTypeError, match=re.escape("unsupported column type 'foo'")):
        parse("foo<int>")


def test_unknown_generic_type_is_rejected_when_rendered() -> None:
    with pytest.raises(HiveTypeError, match=re.escape("unsupported column type 'foo'")):
        to_duckdb(parse("array<foo<int>>"))


@pytest.mark.parametrize("text", ["decimal(39,0)", "decimal(10,39)", "decimal(a,b)"])
def test_decimal_bounds(text: str) -> None:
    with pytest.raises(HiveTypeError):
        parse(text)


def test_struct_field_comment() -> None:
    parsed = parse("struct<a:int COMMENT 'the a'>")
    assert parsed.fields == [("a", HiveType("int"))]


# -- coerce: JSON values to a column type -------------------------------------------------------

@pytest.mark.parametrize(("value", "text", "expected"), [
    (None, "int", None),
    ("x", "string", "x"),
    (5, "string", "5"),
    (True, "string", "true"),
    ("5", "int", 5),
    (7.0, "bigint", 7),
    (1, "double", 1.0),
    ("2.5", "float", 2.5),
    (True, "boolean", True),
    ("TRUE", "boolean", True),
    ("false", "boolean", False),
    ("1.10", "decimal(10,2)", Decimal("1.10")),
    ("2024-01-02", "date", date(2024, 1, 2)),
    (1700000000, "timestamp", datetime(2023, 11, 14, 22, 13, 20)),             # epoch seconds
    (1700000000123, "timestamp", datetime(2023, 11, 14, 22, 13, 20, 123000)),  # epoch millis
    ("2024-01-02T03:04:05Z", "timestamp", datetime(2024, 1, 2, 3, 4, 5)),
    ("abc", "binary", b"abc"),
    ([1, "2"], "array<int>", [1, 2]),
    ({"k": 1}, "map<string,int>", [("k", 1)]),
    ({"a": "1", "b": [1], "extra": 0}, "struct<a:int,b:array<string>,c:int>",
     {"a": 1, "b": ["1"], "c": None}),
])
def test_coerce(value: Any, text: str, expected: Any) -> None:
    assert coerce(value, parse(text)) == expected


@pytest.mark.parametrize(("value", "text", "message"), [
    (1.5, "int", "expected an integer, got 1.5"),
    (True, "int", "expected an integer, got True"),
    ({"a": 1}, "string", "expected a string, got dict"),
    ("x", "boolean", "expected a boolean, got 'x'"),
    ([1], "double", "expected a number, got [1]"),
    (1, "array<int>", "expected an array, got 1"),
    ([1], "map<string,int>", "expected an object, got [1]"),
    ("s", "struct<a:int>", "expected an object, got 's'"),
    ("2024-13-01", "date", "month must be in 1..12"),
])
def test_coerce_rejects(value: Any, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        coerce(value, parse(text))
