"""SNS Publish quotas on the virtual clock: the account's messages per second, a FIFO
topic's and a message group's (https://docs.aws.amazon.com/general/latest/gr/sns.html)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.sandbox.helpers import api_client, depth, outcomes


def sns(sandbox, over="in-process"):
    return api_client(sandbox, "sns", over)


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
