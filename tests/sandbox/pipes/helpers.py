"""Helpers of the EventBridge Pipes tests: a role, a pipe that is already RUNNING."""

from __future__ import annotations

import json
from typing import Any

from eventlab.sandbox import Sandbox
from eventlab.sandbox.pipes.service import TRANSITION_SECONDS


def role(sb: Sandbox, name: str = "pipe-role") -> str:
    iam = sb.client("iam")
    try:
        return iam.get_role(RoleName=name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                         "Principal": {"Service": "pipes.amazonaws.com"}}]}
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


def running_pipe(sb: Sandbox, name: str, source: str, target: str, **spec: Any) -> str:
    """Create a pipe and let it reach RUNNING; returns its ARN."""
    arn = sb.client("pipes").create_pipe(Name=name, Source=source, Target=target, RoleArn=role(sb),
                                         **spec)["Arn"]
    sb.clock.advance(seconds=TRANSITION_SECONDS)
    assert sb.client("pipes").describe_pipe(Name=name)["CurrentState"] == "RUNNING"
    return arn


def state(sb: Sandbox, name: str) -> str:
    return str(sb.client("pipes").describe_pipe(Name=name)["CurrentState"])


def stream(sb: Sandbox, name: str, shards: int = 1) -> str:
    kinesis = sb.client("kinesis")
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    return str(kinesis.describe_stream(StreamName=name)["StreamDescription"]["StreamARN"])
