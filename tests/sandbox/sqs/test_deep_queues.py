"""Deep queues: receives and deletes answer as moto's did, without walking the whole queue."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.sandbox.helpers import make_queue


def test_receive_and_delete_in_a_deep_queue_keep_sqs_semantics(sandbox):
    url, _ = make_queue(sandbox, "deep", VisibilityTimeout="30")
    sqs = sandbox.client("sqs")
    for start in range(0, 500, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(start + i)}
                                                      for i in range(10)])
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in first] == [str(i) for i in range(10)]        # from the front, in order
    second = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in second] == [str(i) for i in range(10, 20)]   # in-flight ones skipped
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (attributes["ApproximateNumberOfMessages"], attributes["ApproximateNumberOfMessagesNotVisible"]) == (
        "480", "20")
    for m in first:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])   # twice: accepted
    sandbox.clock.advance(seconds=31)                                           # the second ten return
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in again] == [str(i) for i in range(10, 20)]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=second[0]["ReceiptHandle"])  # an earlier handle
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (attributes["ApproximateNumberOfMessages"], attributes["ApproximateNumberOfMessagesNotVisible"]) == (
        "480", "9")
    with pytest.raises(ClientError) as raised:
        sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-handle")
    assert raised.value.response["Error"]["Code"] == "ReceiptHandleIsInvalid"
