"""EventBridge quotas on the virtual clock: PutEvents requests per second (throttled with
ThrottlingException) and target invocations per second (delayed, never dropped), with
ThrottledRules, IngestionToInvocationStartLatency and FailedInvocations
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html)."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.sandbox.helpers import NO_RETRY, api_client, depth, outcomes
from tests.sandbox.helpers import metric as any_metric

ENTRY = {"Source": "shop.orders", "DetailType": "OrderPlaced", "Detail": json.dumps({"id": 1})}


def events(sandbox, over="in-process"):
    return api_client(sandbox, "events", over)


def rule_to_queue(sandbox, name="orders", bus="default"):
    sqs = sandbox.client("sqs")
    url = sqs.create_queue(QueueName=f"{name}-target")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    eb = sandbox.client("events")
    eb.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps({"source": ["shop.orders"]}))
    eb.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    return url


def metric(sandbox, name, dimensions, stat="Sum"):
    return any_metric(sandbox, "AWS/Events", name, dimensions, stat)


@pytest.mark.parametrize("over", ["in-process", "http"])
def test_put_events_past_the_account_quota_is_throttled(sandbox, over):
    sandbox.quotas.set("events.put-events", 3)
    client = events(sandbox, over)
    url = rule_to_queue(sandbox)
    with sandbox.clock.held():
        for _ in range(3):
            assert client.put_events(Entries=[ENTRY, ENTRY])["FailedEntryCount"] == 0
        with pytest.raises(ClientError) as raised:
            client.put_events(Entries=[ENTRY])
        sandbox.clock.advance(seconds=1)
        client.put_events(Entries=[ENTRY])
    error = raised.value.response
    assert (error["Error"]["Code"], error["Error"]["Message"]) == ("ThrottlingException", "Rate exceeded")
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert depth(sandbox, url) == 7                      # 3 requests of 2, then 1: the throttled one put nothing


def test_invocations_past_the_quota_are_delayed_never_dropped(sandbox):
    sandbox.quotas.set("events.invocations", 10)
    url = rule_to_queue(sandbox)
    with sandbox.clock.held():
        for _ in range(3):
            sandbox.client("events").put_events(Entries=[ENTRY] * 10)
        assert depth(sandbox, url) == 10                 # one virtual second's worth
        sandbox.clock.advance(seconds=1)
        assert depth(sandbox, url) == 20
        sandbox.clock.advance(seconds=1)
        assert depth(sandbox, url) == 30                 # every event arrived, two seconds late at most
    assert metric(sandbox, "ThrottledRules", {"RuleName": "orders"}) == 20
    assert metric(sandbox, "IngestionToInvocationStartLatency", {"RuleName": "orders"}, "Maximum") == pytest.approx(2000)
    assert metric(sandbox, "IngestionToInvocationStartLatency", {}, "Maximum") == pytest.approx(2000)


def test_a_custom_bus_rule_is_measured_with_its_bus_name_and_failures_count(sandbox):
    eb = sandbox.client("events")
    eb.create_event_bus(Name="shop")
    eb.put_rule(Name="broken", EventBusName="shop", EventPattern=json.dumps({"source": ["shop.orders"]}))
    eb.put_targets(Rule="broken", EventBusName="shop", Targets=[
        {"Id": "gone", "Arn": "arn:aws:sqs:us-east-1:123456789012:no-such-queue"}])
    eb.put_events(Entries=[{**ENTRY, "EventBusName": "shop"}])
    dims = {"EventBusName": "shop", "RuleName": "broken"}
    assert metric(sandbox, "FailedInvocations", dims) == 1
    assert metric(sandbox, "IngestionToInvocationStartLatency", dims, "SampleCount") == 1
    assert metric(sandbox, "ThrottledRules", dims) == 0


def test_under_default_quotas_every_event_is_delivered_at_once(sandbox):
    url = rule_to_queue(sandbox)
    with sandbox.clock.held():
        for _ in range(10):
            sandbox.client("events").put_events(Entries=[ENTRY] * 10)
        assert depth(sandbox, url) == 100
    assert metric(sandbox, "ThrottledRules", {"RuleName": "orders"}) == 0
    assert metric(sandbox, "IngestionToInvocationStartLatency", {"RuleName": "orders"}, "Maximum") == 0



def test_put_events_in_a_smaller_region_is_throttled_at_that_regions_quota(sandbox):
    # AWS: 10,000 PutEvents requests/s in us-east-1, 400 in the regions its table does not list
    cape_town = boto3.client("events", region_name="af-south-1", config=NO_RETRY)
    virginia = events(sandbox)
    with sandbox.clock.held():
        assert outcomes(lambda i: cape_town.put_events(Entries=[ENTRY]), 401) == ["ok"] * 400 + ["ThrottlingException"]
        assert outcomes(lambda i: virginia.put_events(Entries=[ENTRY]), 401) == ["ok"] * 401
