"""SNS FIFO -> SQS FIFO: the topic's deduplication id reaches the queue, as on AWS
(https://docs.aws.amazon.com/sns/latest/dg/fifo-message-dedup.html)."""

from __future__ import annotations

import hashlib
import json

import pytest


def _fifo_pair(sandbox, *, topic_cbd: str | None, queue_cbd: bool, raw: bool, cbd_after_subscribe: bool):
    sns, sqs = sandbox.client("sns"), sandbox.client("sqs")
    attributes = {"FifoTopic": "true"}
    if topic_cbd is not None and not cbd_after_subscribe:
        attributes["ContentBasedDeduplication"] = topic_cbd
    topic = sns.create_topic(Name="orders.fifo", Attributes=attributes)["TopicArn"]
    queue_attributes = {"FifoQueue": "true"}
    if queue_cbd:
        queue_attributes["ContentBasedDeduplication"] = "true"
    url = sqs.create_queue(QueueName="orders.fifo", Attributes=queue_attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                  Attributes={"RawMessageDelivery": "true" if raw else "false"})
    if topic_cbd is not None and cbd_after_subscribe:
        sns.set_topic_attributes(TopicArn=topic, AttributeName="ContentBasedDeduplication",
                                 AttributeValue=topic_cbd)
    return sns, sqs, topic, url


def _received(sqs, url):
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                   MessageSystemAttributeNames=["All"]).get("Messages", [])
    return [(m["Body"], m["Attributes"]["MessageDeduplicationId"]) for m in messages]


@pytest.mark.parametrize("raw", [True, False], ids=["raw", "enveloped"])
@pytest.mark.parametrize("cbd_after_subscribe", [False, True], ids=["cbd-at-create", "cbd-set-later"])
def test_content_based_topic_into_a_queue_without_it(sandbox, raw, cbd_after_subscribe):
    sns, sqs, topic, url = _fifo_pair(sandbox, topic_cbd="true", queue_cbd=False, raw=raw,
                                      cbd_after_subscribe=cbd_after_subscribe)
    sns.publish(TopicArn=topic, Message='{"order": 1}', MessageGroupId="customer-7")
    sns.publish(TopicArn=topic, Message='{"order": 1}', MessageGroupId="customer-7")   # a retry
    sns.publish(TopicArn=topic, Message='{"order": 2}', MessageGroupId="customer-7")
    received = _received(sqs, url)
    bodies = [body if raw else json.loads(body)["Message"] for body, _ in received]
    assert bodies == ['{"order": 1}', '{"order": 2}']
    assert [dedup for _, dedup in received] == [
        hashlib.sha256(b'{"order": 1}').hexdigest(), hashlib.sha256(b'{"order": 2}').hexdigest()]


@pytest.mark.parametrize("raw", [True, False], ids=["raw", "enveloped"])
@pytest.mark.parametrize("topic_cbd", [None, "true"], ids=["topic-no-cbd", "topic-cbd"])
def test_an_explicit_id_wins_and_reaches_the_queue(sandbox, raw, topic_cbd):
    sns, sqs, topic, url = _fifo_pair(sandbox, topic_cbd=topic_cbd, queue_cbd=False, raw=raw,
                                      cbd_after_subscribe=False)
    sns.publish(TopicArn=topic, Message="a", MessageGroupId="g", MessageDeduplicationId="order-1")
    sns.publish(TopicArn=topic, Message="b", MessageGroupId="g", MessageDeduplicationId="order-1")
    sns.publish(TopicArn=topic, Message="a", MessageGroupId="g", MessageDeduplicationId="order-2")
    assert [dedup for _, dedup in _received(sqs, url)] == ["order-1", "order-2"]


def test_a_queue_with_its_own_content_based_deduplication_also_takes_the_topics_id(sandbox):
    sns, sqs, topic, url = _fifo_pair(sandbox, topic_cbd="true", queue_cbd=True, raw=True,
                                      cbd_after_subscribe=False)
    sns.publish(TopicArn=topic, Message="same", MessageGroupId="g")
    assert _received(sqs, url) == [("same", hashlib.sha256(b"same").hexdigest())]


@pytest.mark.parametrize("topic_cbd", [None, "false"], ids=["absent", "false"])
def test_without_content_based_deduplication_a_publish_needs_an_id(sandbox, topic_cbd):
    from botocore.exceptions import ClientError

    sns, sqs, topic, url = _fifo_pair(sandbox, topic_cbd=topic_cbd, queue_cbd=True, raw=True,
                                      cbd_after_subscribe=False)
    with pytest.raises(ClientError, match="ContentBasedDeduplication enabled or MessageDeduplicationId"):
        sns.publish(TopicArn=topic, Message="x", MessageGroupId="g")
    assert _received(sqs, url) == []


def test_publish_batch_passes_the_topics_ids_too(sandbox):
    sns, sqs, topic, url = _fifo_pair(sandbox, topic_cbd="true", queue_cbd=False, raw=True,
                                      cbd_after_subscribe=False)
    result = sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
        {"Id": "1", "Message": "x", "MessageGroupId": "g"},
        {"Id": "2", "Message": "y", "MessageGroupId": "g"}])
    assert not result.get("Failed")
    assert [body for body, _ in _received(sqs, url)] == ["x", "y"]
