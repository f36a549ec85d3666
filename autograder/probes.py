"""Small look-ups and probes shared by the labs' checks (all read the sandbox, never
the learner's variables)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from autograder.checks import CheckFailed
from eventlab.errors import FunctionNotFound


def probe_id(prefix: str = "probe") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def queue(sb: Any, name: str) -> Any:
    q = sb.backend("sqs").queues.get(name)
    if q is None:
        raise CheckFailed(f"there is no SQS queue named '{name}'")
    return q


def queue_url(sb: Any, name: str) -> str:
    queue(sb, name)
    return sb.client("sqs").get_queue_url(QueueName=name)["QueueUrl"]


def topic(sb: Any, name: str) -> Any:
    for t in sb.backend("sns").topics.values():
        if t.name == name:
            return t
    raise CheckFailed(f"there is no SNS topic named '{name}'")


def subscription(sb: Any, topic_name: str, queue_name: str) -> Any:
    t = topic(sb, topic_name)
    q = queue(sb, queue_name)
    for sub in sb.backend("sns").subscriptions.values():
        if sub.topic.arn == t.arn and sub.protocol == "sqs" and sub.endpoint == q.queue_arn:
            return sub
    raise CheckFailed(f"no sqs subscription connects topic '{topic_name}' to queue '{queue_name}'")


def function(sb: Any, name: str) -> Any:
    try:
        return sb.service("lambda").function(name)
    except FunctionNotFound:
        raise CheckFailed(f"there is no Lambda function named '{name}'") from None


def log_text(sb: Any, function_name: str) -> str:
    """Everything the function has written to CloudWatch Logs so far."""
    logs = sb.backend("logs")
    group = logs.groups.get(f"/aws/lambda/{function_name}")
    if group is None:
        return ""
    return "\n".join(e.message for stream in group.streams.values() for e in stream.events)


def queue_bodies(sb: Any, name: str) -> list[str]:
    """Bodies of the messages in a queue (visible or in flight), without receiving them."""
    return [m.body for m in queue(sb, name)._messages]


def statements(policy: Any) -> list[dict[str, Any]]:
    if not policy:
        return []
    doc = json.loads(policy) if isinstance(policy, str) else policy
    st = doc.get("Statement", [])
    return st if isinstance(st, list) else [st]


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
