"""Property tests of the virtual clock (hypothesis): whatever sizes an advance is cut
into, timers fire in the order of their due times, each at exactly its time, and timers
that schedule followers (retries, redeliveries, back-off) see the same times too; and an
SQS message comes back after its visibility timeout and reaches its DLQ at the same
virtual moments however the clock is moved."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventlab.sandbox.core.clock import VirtualClock

DELAYS = st.lists(st.floats(min_value=0, max_value=1000, allow_nan=False), max_size=25)
STEPS = st.lists(st.floats(min_value=0.001, max_value=700, allow_nan=False), min_size=1, max_size=15)
FOLLOW = st.lists(st.floats(min_value=0.5, max_value=300, allow_nan=False), max_size=25)


def _run(delays: list[float], follow: list[float], steps: list[float]) -> list[tuple[str, float, float]]:
    clock = VirtualClock()
    fired: list[tuple[str, float, float]] = []
    with clock.held():
        start = clock.time()

        def timer(name: str, due: float, then: float | None) -> None:
            fired.append((name, due, clock.time() - start))
            if then is not None:       # a retry: schedules its follower when it fires
                clock.call_at(start + due + then, lambda: timer(name + "+", due + then, None))

        for i, due in enumerate(delays):
            then = follow[i] if i < len(follow) else None
            clock.call_at(start + due, lambda i=i, due=due, then=then: timer(f"t{i}", due, then))
        for step in steps:
            clock.advance(step)
        clock.advance(2000)            # whatever is left
    return fired


@settings(max_examples=200, deadline=None)
@given(delays=DELAYS, follow=FOLLOW, steps=STEPS)
def test_timers_fire_in_order_at_their_time_whatever_the_advance_sizes(delays, follow, steps):
    fired = _run(delays, follow, steps)
    assert len(fired) == len(delays) + min(len(delays), len(follow))
    for _, due, at in fired:
        assert abs(at - due) < 1e-5                       # exactly when due, never later
    times = [at for _, _, at in fired]
    assert times == sorted(times)                         # in order of due time
    assert fired == _run(delays, follow, [1e6])           # as one single advance


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.integers(min_value=1, max_value=8), min_size=1, max_size=4))
def test_redelivery_and_the_dlq_happen_at_their_own_times(sandbox, steps):
    sqs = sandbox.client("sqs")
    name = f"work-{len(sqs.list_queues().get('QueueUrls', []))}"
    dlq = sqs.create_queue(QueueName=name + "-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "10", "RedrivePolicy":
                           json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})})["QueueUrl"]
    with sandbox.clock.held():
        sqs.send_message(QueueUrl=url, MessageBody="poison")
        assert sqs.receive_message(QueueUrl=url)["Messages"]          # receive 1, hidden 10 s
        sandbox.clock.advance(0.5)       # (off the whole seconds: no receive falls on a boundary)
        for step in steps:                                            # 1 to 32 s, in pieces
            sandbox.clock.advance(step)
        back = sqs.receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount"])
        if sum(steps) + 0.5 < 10:
            assert "Messages" not in back                             # not back before 10 s
            return
        assert back["Messages"][0]["Attributes"]["ApproximateReceiveCount"] == "2"
        sandbox.clock.advance(9)
        assert "Messages" not in sqs.receive_message(QueueUrl=url)    # hidden again
        sandbox.clock.advance(1.5)
        assert "Messages" not in sqs.receive_message(QueueUrl=url)    # the 3rd receive moves it
        assert sqs.receive_message(QueueUrl=dlq)["Messages"][0]["Body"] == "poison"
