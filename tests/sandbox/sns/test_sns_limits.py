"""SNS Publish quotas on the virtual clock: the account's messages per second, a FIFO
topic's and a message group's (https://docs.aws.amazon.com/general/latest/gr/sns.html)."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.sandbox.helpers import NO_RETRY, api_client, depth, outcomes


def sns(sandbox, over="in-process"):
    return api_client(sandbox, "sns", over)


def sns_in(sandbox, region, over="in-process"):
    """An SNS client of another region than the sandbox's (us-east-1)."""
    endpoint = {"endpoint_url": sandbox.endpoint_url} if over == "http" else {}
    return boto3.client("sns", region_name=region, config=NO_RETRY, **endpoint)


def fifo_topic(client, name, **attributes):
    return client.create_topic(Name=name, Attributes={
        "FifoTopic": "true", "ContentBasedDeduplication": "true", **attributes})["TopicArn"]


def queue_on(sandbox, topic, name, fifo=False):
    sqs = sandbox.client("sqs")
    attrs = {"FifoQueue": "true", "ContentBasedDeduplication": "true"} if fifo else {}
    url = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sandbox.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                                    Attributes={"RawMessageDelivery": "true"})
    return url


@pytest.mark.parametrize("over", ["in-process", "http"])
def test_the_account_publish_quota_throttles_and_refills_each_virtual_second(sandbox, over):
    sandbox.quotas.set("sns.publish.messages", 5)
    client = sns(sandbox, over)
    topic = client.create_topic(Name="alerts")["TopicArn"]
    url = queue_on(sandbox, topic, "alerts-copy")
    publish = lambda i: client.publish(TopicArn=topic, Message=f"m{i}")  # noqa: E731
    with sandbox.clock.held():
        assert outcomes(publish, 6) == ["ok"] * 5 + ["ThrottlingException"]
        with pytest.raises(ClientError) as raised:
            client.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
                {"Id": "a", "Message": "x"}])
        sandbox.clock.advance(seconds=1)
        # a batch spends one per entry, all or nothing
        result = client.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
            {"Id": str(i), "Message": f"b{i}"} for i in range(5)])
        assert len(result["Successful"]) == 5
        assert outcomes(publish, 1) == ["ThrottlingException"]
    error = raised.value.response
    assert (error["Error"]["Code"], error["Error"]["Message"]) == ("ThrottlingException", "Rate exceeded")
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert depth(sandbox, url) == 10                    # what was refused was never delivered


def test_a_fifo_topic_limits_each_message_group_and_the_whole_topic(sandbox):
    # AWS: 300 messages/s per group, 3,000 per topic (scaled down: moto's FIFO publish is slow)
    assert (sandbox.quotas["sns.fifo.group-messages"], sandbox.quotas["sns.fifo-topic.messages"]) == (300, 3000)
    sandbox.quotas.set("sns.fifo.group-messages", 3)
    sandbox.quotas.set("sns.fifo-topic.messages", 10)
    client = sns(sandbox)
    topic = client.create_topic(Name="orders.fifo", Attributes={
        "FifoTopic": "true", "ContentBasedDeduplication": "true"})["TopicArn"]
    with sandbox.clock.held():
        hot = outcomes(lambda i: client.publish(TopicArn=topic, Message=f"h{i}", MessageGroupId="hot"), 4)
        assert hot == ["ok"] * 3 + ["ThrottlingException"]
        sandbox.clock.advance(seconds=1)
        spread = outcomes(lambda i: client.publish(TopicArn=topic, Message=f"s{i}", MessageGroupId=f"g{i}"), 11)
        assert spread == ["ok"] * 10 + ["ThrottlingException"]


def test_high_throughput_fifo_topics_drop_the_topic_quota_but_keep_the_group_one(sandbox):
    sandbox.quotas.set("sns.fifo-topic.messages", 2)
    sandbox.quotas.set("sns.fifo.group-messages", 3)
    client = sns(sandbox)
    topic = client.create_topic(Name="fast.fifo", Attributes={
        "FifoTopic": "true", "ContentBasedDeduplication": "true", "FifoThroughputScope": "MessageGroup"})["TopicArn"]
    with sandbox.clock.held():
        spread = outcomes(lambda i: client.publish(TopicArn=topic, Message=f"s{i}", MessageGroupId=f"g{i}"), 10)
        assert spread == ["ok"] * 10
        same = outcomes(lambda i: client.publish(TopicArn=topic, Message=f"h{i}", MessageGroupId="hot"), 4)
        assert same == ["ok"] * 3 + ["ThrottlingException"]


def test_normal_publishing_is_unaffected(sandbox):
    client = sns(sandbox)
    topic = client.create_topic(Name="plain")["TopicArn"]
    url = queue_on(sandbox, topic, "plain-copy")
    with sandbox.clock.held():
        assert outcomes(lambda i: client.publish(TopicArn=topic, Message=f"m{i}"), 100) == ["ok"] * 100
    assert depth(sandbox, url) == 100


@pytest.mark.parametrize("over", ["in-process", "http"])
def test_a_region_with_a_lower_publish_quota_throttles_at_its_own_figure(sandbox, over):
    # AWS: standard topics take 300 messages/s in ca-central-1, 30,000 in us-east-1
    canada, virginia = sns_in(sandbox, "ca-central-1", over), sns_in(sandbox, "us-east-1", over)
    topics = {client: client.create_topic(Name="alerts")["TopicArn"] for client in (canada, virginia)}

    def batch_of_ten(client):
        return lambda i: client.publish_batch(TopicArn=topics[client], PublishBatchRequestEntries=[
            {"Id": str(n), "Message": f"m{i}-{n}"} for n in range(10)])

    with sandbox.clock.held():
        assert outcomes(batch_of_ten(canada), 31) == ["ok"] * 30 + ["ThrottlingException"]
        assert outcomes(batch_of_ten(virginia), 31) == ["ok"] * 31   # each region its own bucket
        sandbox.clock.advance(seconds=1)
        assert outcomes(batch_of_ten(canada), 1) == ["ok"]


def test_fifo_topics_spend_the_account_fifo_quota_not_the_standard_one(sandbox):
    # AWS tables the account's Publish quota per region for standard and FIFO topics apart
    assert (sandbox.quotas["sns.fifo.publish.messages"], sandbox.quotas.get("sns.fifo.publish.messages", "ca-central-1")) == (30_000, 3_000)
    sandbox.quotas.set("sns.publish.messages", 0)
    sandbox.quotas.set("sns.fifo.publish.messages", 2)
    client = sns(sandbox)
    topic = fifo_topic(client, "orders.fifo")
    plain = client.create_topic(Name="plain")["TopicArn"]
    with sandbox.clock.held():
        assert outcomes(lambda i: client.publish(TopicArn=plain, Message="x"), 1) == ["ThrottlingException"]
        fifo = outcomes(lambda i: client.publish(TopicArn=topic, Message=f"m{i}", MessageGroupId=f"g{i}"), 3)
        assert fifo == ["ok", "ok", "ThrottlingException"]


def test_a_fifo_topic_takes_20_mb_a_second_in_topic_scope_only(sandbox):
    assert sandbox.quotas["sns.fifo-topic.bytes"] == 20_000_000     # AWS: 20 MB/s per topic
    sandbox.quotas.set("sns.fifo-topic.bytes", 1_000)               # scaled down
    client = sns(sandbox)
    scoped = fifo_topic(client, "scoped.fifo")
    fast = fifo_topic(client, "fast.fifo", FifoThroughputScope="MessageGroup")
    url = queue_on(sandbox, scoped, "scoped-copy.fifo", fifo=True)
    body = lambda i: f"{i:03d}" + "x" * 397   # noqa: E731 - 400 bytes, each distinct
    with sandbox.clock.held():
        big = outcomes(lambda i: client.publish(TopicArn=scoped, Message=body(i), MessageGroupId=f"g{i}"), 3)
        assert big == ["ok", "ok", "ThrottlingException"]
        with pytest.raises(ClientError) as raised:   # a batch is refused whole
            client.publish_batch(TopicArn=scoped, PublishBatchRequestEntries=[
                {"Id": "a", "Message": "tiny", "MessageGroupId": "g"}, {"Id": "b", "Message": body(9), "MessageGroupId": "g"}])
        unscoped = outcomes(lambda i: client.publish(TopicArn=fast, Message=body(i), MessageGroupId=f"g{i}"), 5)
        assert unscoped == ["ok"] * 5
        sandbox.clock.advance(seconds=1)
        assert outcomes(lambda i: client.publish(TopicArn=scoped, Message=body(5), MessageGroupId="g5"), 1) == ["ok"]
    assert raised.value.response["Error"]["Code"] == "ThrottlingException"
    assert depth(sandbox, url) == 3
