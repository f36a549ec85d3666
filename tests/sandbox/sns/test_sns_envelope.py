"""SNS envelopes name the real subscription and the sandbox; FIFO sequence numbers; a
missing topic's error."""

from __future__ import annotations

import base64
import json
import urllib.request

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from tests.sandbox.helpers import make_queue


def test_envelope_links_name_the_subscription_and_work_locally(sandbox):
    sns, sqs = sandbox.client("sns"), sandbox.client("sqs")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    url, arn = make_queue(sandbox, "orders-copy")
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)["SubscriptionArn"]
    message_id = sns.publish(TopicArn=topic, Message="hello")["MessageId"]
    envelope = json.loads(sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"])
    assert envelope["UnsubscribeURL"] == f"{sandbox.endpoint_url}/?Action=Unsubscribe&SubscriptionArn={sub}"
    assert envelope["SigningCertURL"].startswith(f"{sandbox.endpoint_url}/SimpleNotificationService-")
    assert "amazonaws.com" not in envelope["SigningCertURL"] + envelope["UnsubscribeURL"]

    # the certificate verifies the signature, over the fields AWS documents
    pem = urllib.request.urlopen(envelope["SigningCertURL"], timeout=10).read()
    cert = x509.load_pem_x509_certificate(pem)
    signed = "".join(f"{k}\n{envelope[k]}\n" for k in ("Message", "MessageId", "Timestamp", "TopicArn", "Type"))
    cert.public_key().verify(base64.b64decode(envelope["Signature"]), signed.encode(),
                             padding.PKCS1v15(), hashes.SHA256())
    assert envelope["MessageId"] == message_id

    # a GET of the UnsubscribeURL unsubscribes that subscription, as on AWS
    urllib.request.urlopen(envelope["UnsubscribeURL"], timeout=10).read()
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []


def test_fifo_queue_messages_carry_increasing_sequence_numbers(sandbox):
    sqs = sandbox.client("sqs")
    url, _ = make_queue(sandbox, "orders.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    sent = [sqs.send_message(QueueUrl=url, MessageBody=f"m{i}", MessageGroupId="g")["SequenceNumber"]
            for i in range(3)]
    assert all(len(s) == 20 and s.isdigit() for s in sent)
    assert [int(s) for s in sent] == sorted(int(s) for s in sent) and len(set(sent)) == 3
    batch = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "a", "MessageBody": "b1", "MessageGroupId": "g"}])["Successful"][0]
    assert int(batch["SequenceNumber"]) > int(sent[-1])
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert [m["Attributes"]["SequenceNumber"] for m in received] == sent + [batch["SequenceNumber"]]
    standard, _ = make_queue(sandbox, "plain")
    assert "SequenceNumber" not in sqs.send_message(QueueUrl=standard, MessageBody="x")


def test_fifo_topic_publish_answers_a_sequence_number(sandbox):
    sns = sandbox.client("sns")
    topic = sns.create_topic(Name="orders.fifo", Attributes={"FifoTopic": "true",
                                                              "ContentBasedDeduplication": "true"})["TopicArn"]
    first = sns.publish(TopicArn=topic, Message="a", MessageGroupId="g")["SequenceNumber"]
    second = sns.publish(TopicArn=topic, Message="b", MessageGroupId="g")["SequenceNumber"]
    assert int(second) > int(first)
    plain = sns.create_topic(Name="plain")["TopicArn"]
    assert "SequenceNumber" not in sns.publish(TopicArn=plain, Message="a")


def test_publish_to_a_missing_topic_is_topic_not_found(sandbox):
    sns = sandbox.client("sns")
    with pytest.raises(sns.exceptions.NotFoundException, match="Topic does not exist"):
        sns.publish(TopicArn="arn:aws:sns:us-east-1:123456789012:nope", Message="x")
