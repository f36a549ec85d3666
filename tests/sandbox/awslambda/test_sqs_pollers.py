"""The SQS event source mapping's pollers on the virtual clock: 5 to start, up to 300 more
a minute, capped by MaximumConcurrency; throttled batches come back after the visibility
timeout (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html)."""

from __future__ import annotations

import json

from tests.sandbox.helpers import make_queue

SLOW = """
import time
def handler(event, context):
    time.sleep(float(__import__("os").environ.get("SECONDS", "1")))
    return {}
"""


def setup(sandbox, make_function, *, seconds=1.0, reserved=None, max_concurrency=None,
          max_receive=None, batch=10, timeout=60, visibility=360):
    dlq_url, dlq_arn = make_queue(sandbox, "orders-dlq")
    attributes = {"VisibilityTimeout": str(visibility)}
    if max_receive:
        attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": dlq_arn,
                                                  "maxReceiveCount": str(max_receive)})
    url, arn = make_queue(sandbox, "orders", **attributes)
    make_function("worker", SLOW, env={"SECONDS": str(seconds)}, timeout=timeout)
    lam = sandbox.client("lambda")
    if reserved is not None:
        lam.put_function_concurrency(FunctionName="worker", ReservedConcurrentExecutions=reserved)
    spec = {"EventSourceArn": arn, "FunctionName": "worker", "BatchSize": batch}
    if max_concurrency:
        spec["ScalingConfig"] = {"MaximumConcurrency": max_concurrency}
    esm = lam.create_event_source_mapping(**spec)["UUID"]
    return url, dlq_url, esm


def send(sandbox, url, n):
    sqs = sandbox.client("sqs")
    for start in range(0, n, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "MessageBody": json.dumps({"order": i})} for i in range(start, min(n, start + 10))])


def depth(sandbox, url):
    attributes = sandbox.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def processed(sandbox):
    return sum(b["size"] for b in sandbox.service("sqs").batches if b["ok"])


def test_five_pollers_each_wait_for_their_batch(sandbox, make_function):
    with sandbox.clock.held():
        url, _, _ = setup(sandbox, make_function, seconds=1.0)
        send(sandbox, url, 200)
        assert processed(sandbox) == 50                 # 5 pollers x 10 messages, busy for 1 s
        sandbox.clock.advance(seconds=1)
        assert processed(sandbox) == 150                # 10 pollers by now (5 + 300/min x 1 s)
        sandbox.clock.advance(seconds=1)
        assert processed(sandbox) == 200 and depth(sandbox, url) == 50   # the last 5 batches in flight
        sandbox.clock.advance(seconds=0.999)
        assert depth(sandbox, url) == 50                # deleted only when their invocations end
        sandbox.clock.advance(seconds=0.001)
        assert depth(sandbox, url) == 0


def test_pollers_scale_up_by_300_a_minute_up_to_maximum_concurrency(sandbox, make_function):
    with sandbox.clock.held():
        url, _, esm = setup(sandbox, make_function, seconds=10.0, max_concurrency=50, batch=1)
        send(sandbox, url, 2000)
        assert sandbox.service("sqs").pollers(esm) == 5
        sandbox.clock.advance(seconds=6)                # 5 + 300 * 6/60 = 35 pollers
        assert sandbox.service("sqs").pollers(esm) == 35
        sandbox.clock.advance(seconds=60)
        assert sandbox.service("sqs").pollers(esm) == 50    # capped
        assert sandbox.service("lambda").concurrency.in_flight(
            sandbox.backend("lambda"), sandbox.clock.time()) == 50


def test_reserved_concurrency_below_the_pollers_sends_good_messages_to_the_dlq(sandbox, make_function):
    """Five pollers, a function reserved to 2: three batches in four are throttled each
    round, come back after the visibility timeout, and after maxReceiveCount receives go
    to the DLQ although nothing is wrong with them."""
    with sandbox.clock.held():
        url, dlq, _ = setup(sandbox, make_function, seconds=5.0, reserved=2, max_receive=2,
                            timeout=30, visibility=30)
        send(sandbox, url, 100)
        for _ in range(10):
            sandbox.clock.advance(seconds=10)
    throttled = [b for b in sandbox.service("sqs").batches if b.get("throttled")]
    assert throttled and throttled[0]["throttled"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert depth(sandbox, dlq) > 0
    assert processed(sandbox) + depth(sandbox, dlq) == 100


def test_maximum_concurrency_at_the_reservation_throttles_nothing(sandbox, make_function):
    with sandbox.clock.held():
        url, dlq, _ = setup(sandbox, make_function, seconds=5.0, reserved=2, max_concurrency=2,
                            max_receive=2, timeout=30, visibility=30)
        send(sandbox, url, 100)
        for _ in range(30):
            sandbox.clock.advance(seconds=10)
    assert not [b for b in sandbox.service("sqs").batches if b.get("throttled")]
    assert depth(sandbox, dlq) == 0 and processed(sandbox) == 100
