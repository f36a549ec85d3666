"""SQS API limits on the virtual clock: FIFO calls per second per action (and in
high-throughput mode per message group), the in-flight ceilings, as AWS documents them
(https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/troubleshooting-fifo-throttling-issues.html,
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-queues.html)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.sandbox.helpers import api_client, outcomes

FIFO = {"FifoQueue": "true", "ContentBasedDeduplication": "true"}


def sqs(sandbox, over="in-process"):
    return api_client(sandbox, "sqs", over)


@pytest.mark.parametrize("over", ["in-process", "http"])
def test_a_fifo_queue_takes_300_calls_a_second_per_action_then_throttles(sandbox, over):
    client = sqs(sandbox, over)
    url = client.create_queue(QueueName=f"orders-{over[:2]}.fifo", Attributes=FIFO)["QueueUrl"]
    sent = iter(range(10_000))
    send = lambda i: client.send_message(QueueUrl=url, MessageBody=f"m{next(sent)}", MessageGroupId="g")  # noqa: E731
    with sandbox.clock.held():
        results = outcomes(send, 301)
        assert results[:300] == ["ok"] * 300 and results[300] == "ThrottlingException"
        # another action has its own 300
        assert client.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        with pytest.raises(ClientError) as raised:
            send(0)
        sandbox.clock.advance(seconds=1)               # the next virtual second: 300 more
        assert outcomes(send, 300) == ["ok"] * 300
    error = raised.value.response
    assert error["Error"]["Code"] == "ThrottlingException"
    assert error["Error"]["Message"] == "Rate exceeded"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    counts = client.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    assert sum(int(v) for v in counts.values()) == 600      # every accepted send, none of the refused


def test_a_batch_is_one_call_so_batching_carries_ten_times_the_messages(sandbox):
    sandbox.quotas.set("sqs.fifo.calls", 3)
    client = sqs(sandbox)
    url = client.create_queue(QueueName="batched.fifo", Attributes=FIFO)["QueueUrl"]
    batch = lambda i: client.send_message_batch(QueueUrl=url, Entries=[  # noqa: E731
        {"Id": str(n), "MessageBody": f"{i}-{n}", "MessageGroupId": "g"} for n in range(10)])
    with sandbox.clock.held():
        assert outcomes(batch, 4) == ["ok", "ok", "ok", "ThrottlingException"]
        # SendMessage and SendMessageBatch are one action: no single send left either
        assert outcomes(lambda i: client.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g"), 1) \
            == ["ThrottlingException"]
    assert sandbox.backend("sqs").get_queue("batched.fifo").approximate_number_of_messages == 30


def test_high_throughput_mode_limits_each_message_group_and_the_queue(sandbox):
    sandbox.quotas.set("sqs.fifo-high-throughput.group-calls", 2)
    sandbox.quotas.set("sqs.fifo-high-throughput.calls", 5)
    client = sqs(sandbox)
    url = client.create_queue(QueueName="fast.fifo", Attributes={
        **FIFO, "DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"})["QueueUrl"]
    send = lambda group: client.send_message(QueueUrl=url, MessageBody="x", MessageGroupId=group)  # noqa: E731
    with sandbox.clock.held():
        assert outcomes(lambda i: send("hot"), 3) == ["ok", "ok", "ThrottlingException"]
        assert outcomes(lambda i: send(f"cool-{i}"), 4) == ["ok", "ok", "ok", "ThrottlingException"]
        sandbox.clock.advance(seconds=1)
        assert outcomes(lambda i: send("hot"), 1) == ["ok"]


def test_standard_queues_are_not_rate_limited(sandbox):
    sandbox.quotas.set("sqs.fifo.calls", 1)
    client = sqs(sandbox)
    url = client.create_queue(QueueName="plain")["QueueUrl"]
    with sandbox.clock.held():
        assert outcomes(lambda i: client.send_message(QueueUrl=url, MessageBody="x"), 50) == ["ok"] * 50


def test_a_standard_queue_at_its_in_flight_ceiling_answers_overlimit_to_short_polls(sandbox):
    sandbox.quotas.set("sqs.standard.in-flight", 15)
    client = sqs(sandbox)
    url = client.create_queue(QueueName="busy")["QueueUrl"]
    for n in range(3):
        client.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"{n}-{i}"} for i in range(10)])
    first = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    second = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert (len(first), len(second)) == (10, 5)              # only what still fits
    with pytest.raises(ClientError) as raised:
        client.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    assert raised.value.response["Error"]["Code"] == "OverLimit"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403   # as SQS's model says
    # long polling answers nothing instead of an error
    assert client.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []) == []
    # deleting makes room again
    client.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])
    assert len(client.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]) == 1


def test_a_fifo_queue_at_its_in_flight_ceiling_answers_nothing_without_an_error(sandbox):
    sandbox.quotas.set("sqs.fifo.in-flight", 2)
    client = sqs(sandbox)
    url = client.create_queue(QueueName="ceiling.fifo", Attributes=FIFO)["QueueUrl"]
    for i in range(4):
        client.send_message(QueueUrl=url, MessageBody=f"m{i}", MessageGroupId=f"g{i}")
    assert len(client.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]) == 2
    assert client.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []) == []


def test_under_the_default_quotas_the_normal_path_is_unchanged(sandbox):
    client = sqs(sandbox)
    url = client.create_queue(QueueName="normal.fifo", Attributes=FIFO)["QueueUrl"]
    for i in range(20):
        client.send_message(QueueUrl=url, MessageBody=f"m{i}", MessageGroupId="g")
    got = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in got] == [f"m{i}" for i in range(10)]


def test_a_load_above_the_fifo_rate_is_throttled_second_by_second(sandbox):
    client = sqs(sandbox)
    url = client.create_queue(QueueName="load.fifo", Attributes=FIFO)["QueueUrl"]
    result = sandbox.load(400, 2, lambda i: client.send_message(
        QueueUrl=url, MessageBody=f"m{i}", MessageGroupId=f"g{i % 8}"), drain=False)
    assert (result.sent, result.accepted, result.throttled) == (800, 600, 200)
