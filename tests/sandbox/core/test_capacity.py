"""Quotas (AWS's defaults, changed per sandbox) and the token buckets that spend them on
the virtual clock."""

from __future__ import annotations

import pytest

from eventlab.sandbox import Sandbox
from eventlab.sandbox.core.capacity import QUOTAS, Buckets, QuotaError, Quotas, TokenBucket


def test_defaults_are_aws_published_quotas_with_their_sources():
    q = Quotas()
    assert q["kinesis.shard.write-records"] == 1000
    assert q["kinesis.shard.write-bytes"] == 1_048_576
    assert q["lambda.concurrent-executions"] == 1000
    assert all(quota.source.startswith("https://docs.aws.amazon.com/") for quota in QUOTAS.values())


def test_overrides_and_reset():
    q = Quotas({"kinesis.shard.write-records": 10})
    assert q["kinesis.shard.write-records"] == 10
    q.set("kinesis.shard.write-records", 20)
    assert q.changed() == {"kinesis.shard.write-records": 20}
    q.reset()
    assert q["kinesis.shard.write-records"] == 1000


@pytest.mark.parametrize("name,value,message", [
    ("kinesis.shard.writes", 1, "no quota named 'kinesis.shard.writes'; the sandbox's quotas are: "),
    ("kinesis.shard.write-records", "lots", "'lots' is not a number"),
    ("kinesis.shard.write-records", -1, "must be a number >= 0"),
])
def test_bad_quotas_are_refused_naming_what(name, value, message):
    with pytest.raises(QuotaError, match=message):
        Quotas({name: value})


def test_the_quota_option_parses_name_equals_value():
    assert Quotas.parse(["kinesis.shard.write-records=10", "lambda.concurrent-executions=50"]) == {
        "kinesis.shard.write-records": 10.0, "lambda.concurrent-executions": 50.0}
    with pytest.raises(QuotaError, match="write NAME=VALUE"):
        Quotas.parse(["kinesis.shard.write-records"])


def test_a_bucket_starts_full_refills_at_its_rate_and_caps_at_its_capacity():
    bucket = TokenBucket(rate=10, now=100.0)
    assert bucket.take(10, 100.0) and not bucket.take(1, 100.0)
    assert bucket.take(5, 100.5) and not bucket.take(1, 100.5)
    assert bucket.available(200.0) == 10


def test_the_held_clock_stands_still_until_advanced():
    with Sandbox(background=False) as sb:
        with sb.clock.held():
            start = sb.clock.time()
            sum(range(200_000))               # real time passes
            assert sb.clock.time() == start
            sb.clock.advance(seconds=2)
            assert sb.clock.time() == start + 2
        assert sb.clock.time() >= start + 2   # and flows on from there


def test_quotas_over_http_list_and_change(sandbox):
    import json
    import urllib.request

    base = sandbox.endpoint_url
    listed = json.loads(urllib.request.urlopen(f"{base}/_eventlab/quotas").read())["quotas"]
    assert listed["kinesis.shard.write-records"]["value"] == 1000
    assert listed["kinesis.shard.write-records"]["source"].startswith("https://docs.aws.amazon.com/")
    request = urllib.request.Request(f"{base}/_eventlab/quotas", method="POST",
                                     data=json.dumps({"kinesis.shard.write-records": 2}).encode())
    changed = json.loads(urllib.request.urlopen(request).read())["quotas"]
    assert changed["kinesis.shard.write-records"]["value"] == 2 == sandbox.quotas["kinesis.shard.write-records"]
    bad = urllib.request.Request(f"{base}/_eventlab/quotas", method="POST", data=b'{"nope": 1}')
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(bad)
    assert raised.value.code == 400 and b"no quota named 'nope'" in raised.value.read()


def test_serve_refuses_an_unknown_quota_naming_it():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "eventlab", "serve", "--port", "0", "--quota",
                             "kinesis.shard.writes=1"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "no quota named 'kinesis.shard.writes'" in result.stderr


def test_a_reservation_runs_into_debt_and_says_how_long_to_wait():
    bucket = TokenBucket(rate=10, now=0.0)
    assert [bucket.reserve(1, 0.0) for _ in range(10)] == [0.0] * 10
    assert bucket.reserve(1, 0.0) == pytest.approx(0.1)   # the 11th waits its turn
    assert bucket.reserve(1, 0.0) == pytest.approx(0.2)
    assert bucket.reserve(1, 1.0) == 0.0                   # a second later the debt of 2 is paid

def test_buckets_spend_from_several_at_once_or_from_none():
    with Sandbox(background=False, quotas={"sns.publish.messages": 5, "sns.fifo.group-messages": 2}) as sb:
        buckets = Buckets(sb)
        both = [("sns.publish.messages", ("acct",), 1.0), ("sns.fifo.group-messages", ("topic", "g"), 1.0)]
        assert [buckets.take_all(both) for _ in range(3)] == [True, True, False]
        # the refused call spent nothing: the account bucket still has 3
        assert [buckets.take("sns.publish.messages", "acct") for _ in range(4)] == [True, True, True, False]
        sb.quotas.set("sns.publish.messages", 1)            # a new size: the buckets start full again
        assert buckets.take("sns.publish.messages", "acct") and not buckets.take("sns.publish.messages", "acct")


# -- regional defaults ----------------------------------------------------------------------
# Figures from AWS's quota pages (each quota's ``source``), as AWS groups the regions.
@pytest.mark.parametrize("name,region,expected", [
    ("sns.publish.messages", "us-east-1", 30_000),
    ("sns.publish.messages", "eu-west-1", 9_000),
    ("sns.publish.messages", "ap-northeast-1", 1_500),
    ("sns.publish.messages", "ca-central-1", 300),
    ("sns.fifo.publish.messages", "us-west-2", 9_000),
    ("sns.fifo.publish.messages", "ca-central-1", 3_000),
    ("events.put-events", "us-west-2", 10_000),
    ("events.put-events", "eu-central-1", 2_400),
    ("events.put-events", "eu-west-2", 1_200),
    ("events.put-events", "sa-east-1", 600),
    ("events.put-events", "af-south-1", 400),
    ("events.invocations", "us-east-2", 4_500),
    ("events.invocations", "me-south-1", 750),
    ("stepfunctions.standard.start-burst", "eu-west-1", 1_300),
    ("stepfunctions.standard.start-burst", "ap-south-1", 800),
    ("stepfunctions.standard.start-rate", "ap-south-1", 150),
    ("stepfunctions.express.start-rate", "ap-south-1", 6_000),
    ("apigateway.account.rate", "sa-east-1", 10_000),
    ("apigateway.account.rate", "mx-central-1", 2_500),
    ("apigateway.account.burst", "eu-south-1", 1_250),
    ("kinesis.shard.write-records", "eu-south-1", 1_000),   # the same everywhere
])
def test_a_quota_defaults_to_aws_figure_for_the_region(name, region, expected):
    assert Quotas(region=region)[name] == expected
    assert Quotas().get(name, region) == expected == QUOTAS[name].default_in(region)


def test_a_changed_quota_wins_in_every_region():
    q = Quotas({"sns.publish.messages": 7}, region="ca-central-1")
    assert q["sns.publish.messages"] == q.get("sns.publish.messages", "us-east-1") == 7
    q.reset("sns.publish.messages")
    assert (q["sns.publish.messages"], q.get("sns.publish.messages", "us-east-1")) == (300, 30_000)


def test_buckets_of_one_quota_are_sized_per_region():
    with Sandbox(background=False) as sb:
        buckets = Buckets(sb)
        with sb.clock.held():
            assert buckets.take("apigateway.account.rate", "acct", amount=2_500, region="eu-south-2")
            assert not buckets.take("apigateway.account.rate", "acct", region="eu-south-2")
            assert buckets.take("apigateway.account.rate", "acct", amount=10_000, region="us-east-1")
            assert buckets.take("apigateway.account.rate", "acct", amount=10_000)   # the sandbox's region
            sb.clock.advance(seconds=1)
            assert buckets.take("apigateway.account.rate", "acct", amount=2_500, region="eu-south-2")


def test_the_quotas_route_reports_the_values_in_force_in_a_region(sandbox):
    import json
    import urllib.request

    def listed(query=""):
        return json.loads(urllib.request.urlopen(f"{sandbox.endpoint_url}/_eventlab/quotas{query}").read())

    here = listed()
    assert here["region"] == sandbox.region == "us-east-1"
    assert here["quotas"]["events.put-events"]["value"] == 10_000
    there = listed("?region=eu-south-1")
    put_events = there["quotas"]["events.put-events"]
    assert there["region"] == "eu-south-1"
    assert (put_events["value"], put_events["default"]) == (400, 400)
    assert put_events["regional"]["elsewhere"] == 400
    assert {"regions": ["us-east-1", "us-west-2", "eu-west-1"], "value": 10_000} in put_events["regional"]["regions"]
    assert put_events["source"] == "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html"
    sandbox.quotas.set("events.put-events", 5)
    assert listed("?region=eu-south-1")["quotas"]["events.put-events"]["value"] == 5
    assert listed("?region=eu-south-1")["quotas"]["events.put-events"]["default"] == 400
