"""Pipe states on the virtual clock: CREATING -> RUNNING, StopPipe/StartPipe, DesiredState,
UpdatePipe (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-concepts.html)."""

from __future__ import annotations

from tests.sandbox.helpers import depth, drain, make_queue
from tests.sandbox.pipes.helpers import role, state


def test_a_new_pipe_is_creating_then_running_and_only_then_reads_its_source(sandbox):
    url, arn = make_queue(sandbox, "orders")
    out, out_arn = make_queue(sandbox, "out")
    pipes = sandbox.client("pipes")
    with sandbox.clock.held():
        created = pipes.create_pipe(Name="p", Source=arn, Target=out_arn, RoleArn=role(sandbox))
        assert created["CurrentState"] == "CREATING" and created["DesiredState"] == "RUNNING"
        sandbox.client("sqs").send_message(QueueUrl=url, MessageBody="early")
        assert state(sandbox, "p") == "CREATING" and depth(sandbox, url) == 1
        sandbox.clock.advance(seconds=1)
        assert state(sandbox, "p") == "RUNNING"
    assert [m["body"] for m in drain(sandbox, out)] == ["early"]


def test_stop_and_start_on_the_clock_and_nothing_flows_while_stopped(sandbox):
    url, arn = make_queue(sandbox, "orders")
    out, out_arn = make_queue(sandbox, "out")
    pipes = sandbox.client("pipes")
    sqs = sandbox.client("sqs")
    with sandbox.clock.held():
        pipes.create_pipe(Name="p", Source=arn, Target=out_arn, RoleArn=role(sandbox))
        sandbox.clock.advance(seconds=1)
        stopped = pipes.stop_pipe(Name="p")
        assert (stopped["CurrentState"], stopped["DesiredState"]) == ("STOPPING", "STOPPED")
        sandbox.clock.advance(seconds=1)
        assert state(sandbox, "p") == "STOPPED"
        sqs.send_message(QueueUrl=url, MessageBody="while stopped")
        sandbox.clock.advance(seconds=60)
        assert depth(sandbox, url) == 1 and drain(sandbox, out) == []
        assert pipes.list_pipes(CurrentState="STOPPED")["Pipes"][0]["Name"] == "p"
        started = pipes.start_pipe(Name="p")
        assert started["CurrentState"] == "STARTING"
        sandbox.clock.advance(seconds=1)
        assert state(sandbox, "p") == "RUNNING"
    assert [m["body"] for m in drain(sandbox, out)] == ["while stopped"]


def test_desired_state_stopped_at_creation_and_update_to_running(sandbox):
    url, arn = make_queue(sandbox, "orders")
    out, out_arn = make_queue(sandbox, "out")
    pipes = sandbox.client("pipes")
    with sandbox.clock.held():
        pipes.create_pipe(Name="p", Source=arn, Target=out_arn, RoleArn=role(sandbox), DesiredState="STOPPED")
        sandbox.client("sqs").send_message(QueueUrl=url, MessageBody="held")
        sandbox.clock.advance(seconds=5)
        assert state(sandbox, "p") == "STOPPED" and depth(sandbox, url) == 1
        updated = pipes.update_pipe(Name="p", RoleArn=role(sandbox), DesiredState="RUNNING")
        assert updated["CurrentState"] == "STARTING"
        sandbox.clock.advance(seconds=1)
    assert state(sandbox, "p") == "RUNNING"
    assert [m["body"] for m in drain(sandbox, out)] == ["held"]


def test_a_source_the_sandbox_cannot_read_fails_with_a_reason(sandbox):
    pipes = sandbox.client("pipes")
    pipes.create_pipe(Name="mq", Source="arn:aws:mq:us-east-1:123456789012:broker:b:b-1",
                      Target="arn:aws:sqs:us-east-1:123456789012:x", RoleArn=role(sandbox))
    described = pipes.describe_pipe(Name="mq")
    assert described["CurrentState"] == "CREATE_FAILED"
    assert "DynamoDB streams and Kafka topics" in described["StateReason"]


def test_the_inspection_layer_reads_pipes_and_their_batches(sandbox):
    from eventlab.sandbox import inspect

    url, arn = make_queue(sandbox, "orders")
    _, out_arn = make_queue(sandbox, "out")
    assert inspect.pipes(sandbox) == []
    sandbox.client("pipes").create_pipe(Name="p", Source=arn, Target=out_arn, RoleArn=role(sandbox))
    [pipe] = inspect.pipes(sandbox)
    assert (pipe.name, pipe.source, pipe.current_state) == ("p", arn, "CREATING")
    sandbox.clock.advance(seconds=1)
    sandbox.client("sqs").send_message(QueueUrl=url, MessageBody="x")
    [batch] = inspect.pipe_batches(sandbox, "p")
    assert batch["ok"] and batch["size"] == 1 and inspect.pipes(sandbox)[0].current_state == "RUNNING"
