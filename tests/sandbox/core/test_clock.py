"""The virtual clock: advances that stop at timers, sleeps it wakes, long polling on it."""

from __future__ import annotations

import threading
import time

from eventlab.sandbox.core.clock import VirtualClock


def test_advance_moves_time_and_runs_timers_in_order():
    clock = VirtualClock()
    fired: list[tuple[str, float]] = []
    start = clock.time()
    clock.call_later(120, lambda: fired.append(("b", clock.time() - start)))
    clock.call_later(60, lambda: fired.append(("a", clock.time() - start)))
    clock.advance(seconds=59)
    assert fired == []
    clock.advance(minutes=2)
    assert [name for name, _ in fired] == ["a", "b"]
    assert 60 <= fired[0][1] < 61 and 120 <= fired[1][1] < 121
    assert 179 <= clock.time() - start < 180


def test_sleep_wakes_on_advance_without_real_waiting():
    clock = VirtualClock()
    woke = threading.Event()

    def sleeper():
        with clock.busy():
            clock.sleep(3600)
        woke.set()

    thread = threading.Thread(target=sleeper)
    real_start = time.perf_counter()
    thread.start()
    assert clock.wait_idle(timeout=5)  # the sleeper counts as idle
    assert not woke.is_set()
    clock.advance(hours=1)
    assert woke.wait(timeout=5)
    thread.join()
    assert time.perf_counter() - real_start < 1.0


def test_advance_refuses_to_go_back():
    clock = VirtualClock()
    try:
        clock.advance(-1)
    except ValueError as exc:
        assert "forward" in str(exc)
    else:
        raise AssertionError("advance(-1) must fail")


def test_long_poll_waits_in_virtual_time(sandbox):
    sqs = sandbox.client("sqs")
    url = sqs.create_queue(QueueName="slow")["QueueUrl"]
    start_virtual, start_real = sandbox.clock.time(), time.perf_counter()
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=15)
    messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)["Messages"]
    assert [m["Body"] for m in messages] == ["later"]
    assert 15 <= sandbox.clock.time() - start_virtual < 17  # returned when it became visible
    empty = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20, VisibilityTimeout=60)
    assert "Messages" not in empty
    assert 35 <= sandbox.clock.time() - start_virtual < 37  # waited the whole 20 s
    assert time.perf_counter() - start_real < 1.0


def test_moto_timestamps_follow_the_clock(sandbox):
    sqs = sandbox.client("sqs")
    url = sqs.create_queue(QueueName="stamps")["QueueUrl"]
    sandbox.clock.advance(days=2)
    sqs.send_message(QueueUrl=url, MessageBody="x")
    [message] = sqs.receive_message(QueueUrl=url, AttributeNames=["SentTimestamp"])["Messages"]
    sent = int(message["Attributes"]["SentTimestamp"]) / 1000
    assert abs(sent - sandbox.clock.time()) < 5
    assert sent - time.time() > 2 * 86400 - 5


def test_retention_period_expires_messages(sandbox):
    sqs = sandbox.client("sqs")
    url = sqs.create_queue(QueueName="short", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")
    sandbox.clock.advance(seconds=61)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
