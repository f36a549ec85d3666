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


def _counts(sqs, url):
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
             "ApproximateNumberOfMessagesDelayed"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return tuple(int(attributes[name]) for name in names)


def test_delays_visibility_changes_and_purge_keep_the_counts_and_the_order(sandbox):
    url, _ = make_queue(sandbox, "counted", VisibilityTimeout="30")
    sqs = sandbox.client("sqs")
    for i in range(3000):   # enough removals for the store to compact itself
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
    sqs.send_message(QueueUrl=url, MessageBody="late", DelaySeconds=60)
    assert _counts(sqs, url) == (3000, 0, 1)
    for _ in range(150):                                    # 1,500 received and deleted, from the front
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                                                        for n, m in enumerate(batch)])
    held = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in held] == [f"m{i}" for i in range(1500, 1510)]
    assert _counts(sqs, url) == (1490, 10, 1)
    # a shortened visibility timeout shows the message again at once, in its place
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=held[3]["ReceiptHandle"], VisibilityTimeout=0)
    assert _counts(sqs, url) == (1491, 9, 1)
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2)["Messages"]
    assert [m["Body"] for m in again] == ["m1503", "m1510"]
    sandbox.clock.advance(seconds=61)                       # the delay and the timeouts end
    assert _counts(sqs, url) == (1501, 0, 0)
    sqs.purge_queue(QueueUrl=url)
    assert _counts(sqs, url) == (0, 0, 0)
    sqs.send_message(QueueUrl=url, MessageBody="after purge")
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == ["after purge"]


def test_fifo_groups_stay_in_order_behind_an_in_flight_message(sandbox):
    url, _ = make_queue(sandbox, "ordered.fifo", FifoQueue="true", ContentBasedDeduplication="true",
                        VisibilityTimeout="30")
    sqs = sandbox.client("sqs")
    for i in range(6):
        sqs.send_message(QueueUrl=url, MessageBody=f"{'ab'[i % 2]}{i}", MessageGroupId="ab"[i % 2])
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
    assert [m["Body"] for m in first] == ["a0"]
    # group a is blocked while a0 is in flight: only group b is served
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]] == [
        "b1", "b3", "b5"]
    sandbox.clock.advance(seconds=31)                       # both groups' messages come back
    back = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in back if m["Body"].startswith("a")] == ["a0"]   # a0 again, a2 waits
    for m in back:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    rest = [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]]
    assert [b for b in rest if b.startswith("a")][:1] == ["a2"]
