"""Unit tests for Firehose's S3 key builder and JQ subset (eventlab/sandbox/firehose/prefix.py),
called directly with no Sandbox. Expected keys come from AWS's custom-prefix documentation
(https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html: the ``timestamp``,
``firehose`` and ``partitionKeyFromQuery`` namespaces, its semantic rules and its example table,
all evaluated "at 10:30 AM UTC on Aug 27, 2018"), the object-name format of
https://docs.aws.amazon.com/firehose/latest/dev/s3-object-name.html, Java's DateTimeFormatter
pattern letters that the ``timestamp`` namespace uses, and the dynamic-partitioning JQ
examples of https://docs.aws.amazon.com/firehose/latest/dev/dynamic-partitioning.html.
Malformed prefixes and queries must raise the module's own error with a message naming the
bad part; where the module departs from AWS's documented behaviour the test is kept and
marked ``xfail(strict=True)`` with the precise difference.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from eventlab.sandbox.firehose.prefix import (
    ERROR_TYPES,
    JQError,
    PrefixError,
    compile_jq,
    error_prefix,
    java_datetime_format,
    object_prefix,
    object_suffix,
    run_jq,
    utc,
)

# AWS's example instant: 10:30 AM UTC on Aug 27, 2018 (a Monday, day 239 of the year).
WHEN = datetime(2018, 8, 27, 10, 30, 15, 123456, tzinfo=UTC)


# -- timestamp namespace: Java DateTimeFormatter patterns --------------------------------------

@pytest.mark.parametrize(("pattern", "expected"), [
    ("yyyy", "2018"),                                  # AWS: "!{timestamp:yyyy} evaluates to 2018"
    ("yyyy/MM/dd/HH", "2018/08/27/10"),                # the default prefix
    ("uuuu", "2018"),
    ("yy", "18"),
    ("MM", "08"),
    ("M", "8"),                                        # single letters are not zero-padded
    ("d", "27"),
    ("H", "10"),
    ("mm", "30"),
    ("ss", "15"),
    ("SSS", "123"),
    ("DDD", "239"),                                    # day of year (AWS's YYYY/MM/DDD/HH rule)
    ("MMM", "Aug"),
    ("EEE", "Mon"),
    ("a", "AM"),
    # "any string escaped with single quotes in the value field is taken literally"
    ("yyyy'-'MM'-'dd", "2018-08-27"),
    ("yyyy-MM-dd'T'HH:mm:ss.SSS", "2018-08-27T10:30:15.123"),
    ("'year='yyyy", "year=2018"),
    ("''", "'"),                                       # two quotes are one literal quote
])
def test_java_datetime_format(pattern: str, expected: str) -> None:
    assert java_datetime_format(pattern, WHEN) == expected


def test_doubled_quote_inside_a_literal() -> None:
    assert java_datetime_format("'o''clock'", WHEN) == "o'clock"
    assert java_datetime_format("HH 'o''clock' ''yy", WHEN) == "10 o'clock '18"


@pytest.mark.parametrize(("pattern", "message"), [
    ("'abc", "unterminated quote in timestamp pattern \"'abc\""),
    ("hh", "timestamp pattern letter run 'hh' in 'hh' is not supported by the sandbox"),
    ("yyyy-VV", "timestamp pattern letter run 'VV' in 'yyyy-VV' is not supported"),
])
def test_bad_timestamp_patterns(pattern: str, message: str) -> None:
    with pytest.raises(PrefixError, match=re.escape(message)):
        java_datetime_format(pattern, WHEN)


def test_every_timestamp_in_a_prefix_is_the_same_instant() -> None:
    """"If you use the timestamp namespace more than once in the same prefix expression,
    every instance evaluates to the same instant in time" (AWS's fourth example row)."""
    config = {"Prefix": "myPrefix/year=!{timestamp:yyyy}/month=!{timestamp:MM}/"
                        "day=!{timestamp:dd}/hour=!{timestamp:HH}/"}
    assert object_prefix(config, WHEN) == "myPrefix/year=2018/month=08/day=27/hour=10/"


# -- Prefix: AWS's example table and semantic rules --------------------------------------------

@pytest.mark.parametrize(("prefix", "expected"), [
    # Prefix unspecified -> the default yyyy/MM/dd/HH/ (AWS's first example row).
    (None, "2018/08/27/10/"),
    ("", "2018/08/27/10/"),
    # A prefix with no timestamp expression gets !{timestamp:yyyy/MM/dd/HH/} appended.
    ("myPrefix/", "myPrefix/2018/08/27/10/"),
    # A prefix with a timestamp expression is used as written (no default appended).
    ("!{timestamp:yyyy/MM/dd}", "2018/08/27"),
    ("dt=!{timestamp:yyyy'-'MM'-'dd}/h=!{timestamp:HH}/", "dt=2018-08-27/h=10/"),
])
def test_object_prefix(prefix: str | None, expected: str) -> None:
    assert object_prefix({"Prefix": prefix}, WHEN) == expected


def test_random_string_is_eleven_characters_and_new_each_time() -> None:
    """"Evaluates to a random string of 11 characters. If you use it more than once in the
    same expression, every instance evaluates to a new random string." (AWS's third row.)"""
    key = object_prefix({"Prefix": "myFirehose/DeliveredYear=!{timestamp:yyyy}/anyMonth/"
                                   "rand=!{firehose:random-string}/!{firehose:random-string}"}, WHEN)
    match = re.fullmatch(r"myFirehose/DeliveredYear=2018/anyMonth/rand=(.{11})/(.{11})", key)
    assert match is not None, key
    assert match.group(1) != match.group(2)
    assert "/" not in match.group(1) + match.group(2)


def test_default_time_is_appended_when_only_random_string_is_used() -> None:
    key = object_prefix({"Prefix": "myPrefix/!{firehose:random-string}/"}, WHEN)
    assert re.fullmatch(r"myPrefix/.{11}/2018/08/27/10/", key), key


def test_partition_keys_from_query_and_lambda() -> None:
    # AWS's dynamic-partitioning example prefix.
    config = {"Prefix": "customer_id=!{partitionKeyFromQuery:customer_id}/"
                        "device=!{partitionKeyFromLambda:device}/!{timestamp:yyyy}/"}
    key = object_prefix(config, WHEN, query_keys={"customer_id": "1234567890"},
                        lambda_keys={"device": "mobile"})
    assert key == "customer_id=1234567890/device=mobile/2018/"


@pytest.mark.parametrize(("prefix", "error", "message"), [
    # "Prefix can't contain !{firehose:error-output-type}"
    ("x/!{firehose:error-output-type}/", PrefixError,
     "!{firehose:error-output-type} may only be used in ErrorOutputPrefix"),
    ("x/!{firehose:bogus}/", PrefixError, "unknown firehose namespace value 'bogus'"),
    ("x/!{foo:bar}/", PrefixError, "unknown prefix namespace 'foo'"),
    ("x/!{timestamp:hh}/", PrefixError, "timestamp pattern letter run 'hh'"),
    # A key the query did not produce: KeyError naming namespace and key (the record then
    # goes to the error prefix).
    ("x/!{partitionKeyFromQuery:region}/", KeyError, "partitionKeyFromQuery:region"),
    ("x/!{partitionKeyFromLambda:region}/", KeyError, "partitionKeyFromLambda:region"),
])
def test_bad_prefix_expressions(prefix: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=re.escape(message)):
        object_prefix({"Prefix": prefix}, WHEN, query_keys={"customer_id": "1"}, lambda_keys={})


# -- ErrorOutputPrefix --------------------------------------------------------------------------

@pytest.mark.parametrize(("error_output_prefix", "expected"), [
    # AWS's first example row.
    ("myFirehoseFailures/!{firehose:error-output-type}/", "myFirehoseFailures/processing-failed/"),
    # AWS's fourth example row.
    ("myErrorPrefix/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/"
     "hour=!{timestamp:HH}/!{firehose:error-output-type}",
     "myErrorPrefix/year=2018/month=08/day=27/hour=10/processing-failed"),
    # The firehose-namespace table's example input.
    ("myPrefix/result=!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}",
     "myPrefix/result=processing-failed/2018/08/27"),
    # "every instance evaluates to the same error string"
    ("!{firehose:error-output-type}/x/!{firehose:error-output-type}/",
     "processing-failed/x/processing-failed/"),
])
def test_error_prefix(error_output_prefix: str, expected: str) -> None:
    assert error_prefix({"ErrorOutputPrefix": error_output_prefix}, WHEN,
                        "processing-failed") == expected


@pytest.mark.parametrize("error_type", ERROR_TYPES)
def test_each_documented_error_output_type(error_type: str) -> None:
    assert error_prefix({"ErrorOutputPrefix": "e/!{firehose:error-output-type}/"}, WHEN,
                        error_type) == f"e/{error_type}/"


def test_partition_keys_are_empty_in_the_error_prefix() -> None:
    # A failed record has no partition keys: the expression evaluates to nothing.
    config = {"ErrorOutputPrefix": "err/!{partitionKeyFromQuery:k}/!{firehose:error-output-type}/"}
    assert error_prefix(config, WHEN, "processing-failed") == "err//processing-failed/"


def test_null_error_prefix_derives_from_prefix() -> None:
    key = error_prefix({"Prefix": "myFirehosePrefix/"}, WHEN, "processing-failed")
    assert key == "myFirehosePrefix/processing-failed/2018/08/27/10/"
    # Neither set: the error type, then the default time.
    assert error_prefix({}, WHEN, "processing-failed") == "processing-failed/2018/08/27/10/"


def test_dynamic_partitioning_prefix_is_used_as_written() -> None:
    # The sandbox's reading of AWS's dynamic-partitioning examples, whose delivered keys have
    # no time appended after the partition keys.
    config = {"Prefix": "customer_id=!{partitionKeyFromQuery:customer_id}/"}
    assert object_prefix(config, WHEN, query_keys={"customer_id": "42"}) == "customer_id=42/"


# -- object names -------------------------------------------------------------------------------

def test_object_suffix_format() -> None:
    """<stream name>-<stream version>-<year>-<month>-<day>-<hour>-<minute>-<second>-<uuid><ext>"""
    suffix = object_suffix("my-stream", "1", WHEN, ".gz")
    assert re.fullmatch(r"my-stream-1-2018-08-27-10-30-15-"
                        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.gz", suffix)
    assert object_suffix("s", "2", WHEN) != object_suffix("s", "2", WHEN)  # a fresh uuid each time


def test_utc_from_epoch_seconds() -> None:
    assert utc(1535365815.5) == datetime(2018, 8, 27, 10, 30, 15, 500000, tzinfo=UTC)


# -- the JQ subset for MetadataExtractionQuery --------------------------------------------------

RECORD = {"type": {"device": "mobile", "event": "user_clicked_submit_button"},
          "customer_id": "1234567890", "event_timestamp": 1630444800, "region": "sample_value",
          "active": True, "meta": {"zone name": "eu 1"}}


@pytest.mark.parametrize(("query", "expected"), [
    # AWS's dynamic-partitioning examples.
    ("{customer_id:.customer_id}", {"customer_id": "1234567890"}),
    ("{device: .type.device, event: .type.event}",
     {"device": "mobile", "event": "user_clicked_submit_button"}),
    # Quoted keys and bracketed member names.
    ('{"customer": .customer_id}', {"customer": "1234567890"}),
    ('{zone: .meta["zone name"]}', {"zone": "eu 1"}),
    ('{zone: .meta.["zone name"]}', {"zone": "eu 1"}),
    # Non-string scalars become their JSON text.
    ("{ts: .event_timestamp, on: .active}", {"ts": "1630444800", "on": "true"}),
    # One path that selects an object: its members are the keys.
    (".type", {"device": "mobile", "event": "user_clicked_submit_button"}),
])
def test_jq_queries(query: str, expected: dict[str, str]) -> None:
    assert run_jq(compile_jq(query), RECORD) == expected


@pytest.mark.parametrize(("query", "message"), [
    ("{bad}", "expected key: .path in '{bad}'"),
    (".a | .b", "cannot read '.a | .b'"),
    ("{k: .a[0]}", "cannot read '.a[0]'"),
    ("{k: .a, j: map(.x)}", "cannot read 'map(.x)'"),
])
def test_jq_queries_the_sandbox_cannot_read(query: str, message: str) -> None:
    with pytest.raises(JQError, match=re.escape(message)):
        compile_jq(query)


@pytest.mark.parametrize(("query", "record", "message"), [
    ("{c: .customer_id}", {}, "path .customer_id not found in the record"),
    ("{c: .type.device}", {"type": "flat"}, "path .type.device not found in the record"),
    (".customer_id", RECORD, "the query must produce an object of partition keys"),
])
def test_jq_records_without_the_keys(query: str, record: dict[str, object], message: str) -> None:
    with pytest.raises(JQError, match=re.escape(message)):
        run_jq(compile_jq(query), record)


def test_null_partition_key_is_an_error() -> None:
    with pytest.raises(JQError):
        run_jq(compile_jq("{c: .customer_id}"), {"customer_id": None})


def test_null_partition_key_error_names_the_key() -> None:
    with pytest.raises(JQError, match="customer_id"):
        run_jq(compile_jq("{c: .customer_id}"), {"customer_id": None})
