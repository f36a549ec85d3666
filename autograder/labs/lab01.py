"""Lab 1: SNS -> SQS fan-out for a video platform.

Names the lab asks for: topic ``video-uploads``; queues ``thumbnails``, ``transcoding``,
``analytics``; dead-letter queue ``video-dlq``; functions ``thumbnailer``, ``transcoder``,
``analytics-recorder``.  Every check reads the sandbox; probes use their own ids.
"""

from __future__ import annotations

import json
from typing import Any

from autograder.checks import Check, CheckFailed
from autograder.probes import (
    as_list,
    function,
    log_text,
    probe_id,
    queue,
    queue_bodies,
    queue_url,
    statements,
    subscription,
    topic,
)

TOPIC = "video-uploads"
QUEUES = ("thumbnails", "transcoding", "analytics")
DLQ = "video-dlq"
FUNCTIONS = {"thumbnails": "thumbnailer", "transcoding": "transcoder",
             "analytics": "analytics-recorder"}
# queue -> (lowest, highest) visibility timeout in seconds the lab accepts
VISIBILITY = {"thumbnails": (180, 900), "transcoding": (3600, 43200), "analytics": (60, 900)}


def _visibility(sb: Any, name: str) -> int:
    return int(queue(sb, name).visibility_timeout)


def check_topic(sb: Any) -> None:
    t = topic(sb, TOPIC)
    if t.fifo_topic:
        raise CheckFailed(f"'{TOPIC}' is a FIFO topic")


def check_queues(sb: Any) -> None:
    missing = [q for q in QUEUES if q not in sb.backend("sqs").queues]
    if missing:
        raise CheckFailed("missing queue(s): " + ", ".join(missing))


def check_visibility(sb: Any) -> None:
    wrong = []
    for name, (low, high) in VISIBILITY.items():
        v = _visibility(sb, name)
        if not low <= v <= high:
            wrong.append(f"{name} has {v} s (expected {low}-{high} s)")
    if wrong:
        raise CheckFailed("; ".join(wrong))


def check_dlq(sb: Any) -> None:
    dlq = queue(sb, DLQ)
    wrong = []
    for name in QUEUES:
        policy = queue(sb, name).redrive_policy or {}
        if policy.get("deadLetterTargetArn") != dlq.queue_arn:
            wrong.append(f"{name} has no RedrivePolicy to {DLQ}")
        elif int(policy.get("maxReceiveCount", 0)) != 3:
            wrong.append(f"{name} has maxReceiveCount {policy.get('maxReceiveCount')}")
    if wrong:
        raise CheckFailed("; ".join(wrong))


def _statement_ok(st: dict[str, Any], topic_arn: str) -> str | None:
    principal = st.get("Principal")
    services = as_list(principal.get("Service")) if isinstance(principal, dict) else []
    if principal == "*" or (isinstance(principal, dict) and principal.get("AWS") in ("*", ["*"])):
        return "Principal is everyone ('*')"
    if services != ["sns.amazonaws.com"]:
        return f"Principal is {json.dumps(principal)}, not the SNS service"
    actions = {a.lower() for a in as_list(st.get("Action"))}
    if not actions & {"sqs:sendmessage", "sqs:*"}:
        return "the statement does not allow sqs:SendMessage"
    condition = st.get("Condition") or {}
    arns = []
    for op in ("ArnEquals", "ArnLike", "StringEquals"):
        arns += as_list((condition.get(op) or {}).get("aws:SourceArn"))
    if arns != [topic_arn]:
        return f"no aws:SourceArn condition equal to {topic_arn}"
    return None


def check_queue_policy(sb: Any) -> None:
    topic_arn = topic(sb, TOPIC).arn
    wrong = []
    for name in QUEUES:
        allows = [s for s in statements(queue(sb, name).policy) if s.get("Effect") == "Allow"]
        if not allows:
            wrong.append(f"{name} has no policy allowing the topic to send")
            continue
        problems = [p for p in (_statement_ok(s, topic_arn) for s in allows) if p]
        if problems:
            wrong.append(f"{name}: {problems[0]}")
    if wrong:
        raise CheckFailed("; ".join(wrong))


def check_subscriptions(sb: Any) -> None:
    missing = []
    for name in QUEUES:
        try:
            subscription(sb, TOPIC, name)
        except CheckFailed:
            missing.append(name)
    if missing:
        raise CheckFailed("no subscription for: " + ", ".join(missing))


def _raw(sub: Any) -> bool:
    return str(sub.attributes.get("RawMessageDelivery", "false")).lower() == "true"


def check_raw(sb: Any) -> None:
    if not _raw(subscription(sb, TOPIC, "analytics")):
        raise CheckFailed("the analytics subscription has RawMessageDelivery off")
    for name in ("thumbnails", "transcoding"):
        if _raw(subscription(sb, TOPIC, name)):
            raise CheckFailed(f"the {name} subscription has RawMessageDelivery on")


def _publish(sb: Any, body: dict[str, Any], event_type: str | None) -> str:
    attrs = {"event_type": {"DataType": "String", "StringValue": event_type}} if event_type else {}
    response = sb.client("sns").publish(TopicArn=topic(sb, TOPIC).arn, Message=json.dumps(body),
                                        MessageAttributes=attrs)
    return response["MessageId"]


def _delivered(sb: Any, queue_name: str, message_id: str) -> bool:
    from autograder.lab import session

    sub = subscription(sb, TOPIC, queue_name)
    return message_id in session().traffic.delivered_to_subscription(sub.arn)


def _expect(sb: Any, queue_name: str, cases: list[tuple[str, dict[str, Any], str | None, bool]]) -> None:
    subscription(sb, TOPIC, queue_name)
    wrong = []
    for label, body, event_type, should in cases:
        got = _delivered(sb, queue_name, _publish(sb, body, event_type))
        if got != should:
            wrong.append(f"{label} {'was not' if should else 'was'} delivered to {queue_name}")
    if wrong:
        raise CheckFailed("; ".join(wrong))


def _upload(duration: int = 620, status: str = "uploaded") -> dict[str, Any]:
    return {"video_id": probe_id("vid"), "status": status, "duration_s": duration}


def check_thumbnail_filter(sb: Any) -> None:
    _expect(sb, "thumbnails", [
        ("a VideoUploaded message", _upload(), "VideoUploaded", True),
        ("a ViewRecorded message", _upload(), "ViewRecorded", False),
        ("a VideoDeleted message", _upload(status="deleted"), "VideoDeleted", False),
    ])


def check_transcoding_filter(sb: Any) -> None:
    sub = subscription(sb, TOPIC, "transcoding")
    if sub.attributes.get("FilterPolicyScope") != "MessageBody":
        raise CheckFailed("the transcoding subscription's FilterPolicyScope is not MessageBody")
    _expect(sb, "transcoding", [
        ("an upload with status 'uploaded' and duration 620 s", _upload(), "VideoUploaded", True),
        ("a message with status 'deleted'", _upload(status="deleted"), "VideoDeleted", False),
    ])


def check_filter_edges(sb: Any) -> None:
    _expect(sb, "transcoding", [("an upload of duration 0 s", _upload(duration=0), "VideoUploaded", False)])
    _expect(sb, "thumbnails", [("a message without an event_type attribute", _upload(), None, False)])


def _mapping(sb: Any, queue_name: str) -> Any:
    q = queue(sb, queue_name)
    fn = function(sb, FUNCTIONS[queue_name])
    for esm in sb.backend("lambda")._event_source_mappings.values():
        if esm.event_source_arn == q.queue_arn and esm.function_arn.split(":")[6] == fn.function_name:
            return esm
    raise CheckFailed(f"no event source mapping from {queue_name} to {FUNCTIONS[queue_name]}")


def check_mappings(sb: Any) -> None:
    wrong = []
    for name in QUEUES:
        try:
            esm = _mapping(sb, name)
        except CheckFailed as exc:
            wrong.append(str(exc))
            continue
        if not esm.enabled:
            wrong.append(f"the mapping for {name} is disabled")
        elif int(esm.batch_size or 10) > 10:
            wrong.append(f"the mapping for {name} has BatchSize {esm.batch_size} (use at most 10)")
    if wrong:
        raise CheckFailed("; ".join(wrong))


def check_timeouts(sb: Any) -> None:
    wrong = []
    for name in QUEUES:
        fn = function(sb, FUNCTIONS[name])
        v, t = _visibility(sb, name), int(fn.timeout or 3)
        if v < 6 * t:
            wrong.append(f"{name}: visibility {v} s < 6 x {FUNCTIONS[name]} timeout {t} s")
    if wrong:
        raise CheckFailed("; ".join(wrong))


def _send_direct(sb: Any, queue_name: str, bodies: list[str]) -> None:
    url = queue_url(sb, queue_name)
    entries = [{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies)]
    sb.client("sqs").send_message_batch(QueueUrl=url, Entries=entries)
    sb.settle()


def check_processing(sb: Any) -> None:
    missing = []
    for name in QUEUES:
        _mapping(sb, name)
        vid = probe_id("vid")
        _send_direct(sb, name, [json.dumps({"video_id": vid, "status": "uploaded", "duration_s": 5})])
        if f"processed {vid}" not in log_text(sb, FUNCTIONS[name]):
            missing.append(FUNCTIONS[name])
    if missing:
        raise CheckFailed("no 'processed <video_id>' log line for a probe sent to "
                          + ", ".join(missing))


def check_batch(sb: Any) -> None:
    _mapping(sb, "thumbnails")
    ids = [probe_id("vid") for _ in range(5)]
    _send_direct(sb, "thumbnails", [json.dumps({"video_id": v, "status": "uploaded",
                                                "duration_s": 5}) for v in ids])
    text = log_text(sb, "thumbnailer")
    lost = [v for v in ids if f"processed {v}" not in text]
    if lost:
        raise CheckFailed(f"{len(lost)} of 5 messages sent in one batch were never processed")


def check_poison(sb: Any) -> None:
    queue(sb, DLQ)
    _mapping(sb, "thumbnails")
    body = "not json " + probe_id("poison")
    _send_direct(sb, "thumbnails", [body])
    for _ in range(4):
        sb.clock.advance(seconds=_visibility(sb, "thumbnails") + 1)
    if body not in queue_bodies(sb, DLQ):
        raise CheckFailed(f"a poison message sent to thumbnails is not in {DLQ} after four "
                          "visibility timeouts")


def check_fifo(sb: Any) -> None:
    t = topic(sb, "video-edits.fifo")
    q = queue(sb, "video-edits.fifo")
    if not t.fifo_topic or not q.fifo_queue:
        raise CheckFailed("the topic and the queue must both be FIFO")
    subscription(sb, "video-edits.fifo", "video-edits.fifo")


# Check(id, step, title, points, run, passed, failed, hint, hidden=False), kept short in the table.
_c = Check


CHECKS = [
    _c("topic", "queues", "SNS topic video-uploads", 1, check_topic,
       "The standard topic video-uploads exists.",
       "The topic video-uploads is missing or wrong.",
       "sns.create_topic(Name='video-uploads') returns the TopicArn you need later."),
    _c("queues", "queues", "queues thumbnails, transcoding, analytics", 1, check_queues,
       "All three work queues exist.",
       "Not every work queue exists.",
       "Create each queue with sqs.create_queue(QueueName=...)."),
    _c("visibility", "queues", "visibility timeouts sized to processing time", 2, check_visibility,
       "Each queue hides a message for as long as its work can take.",
       "A visibility timeout does not fit its processing time: too short and a second worker "
       "picks up a message still being processed.",
       "Set Attributes={'VisibilityTimeout': '...'} (seconds, as a string): thumbnails a few "
       "minutes (180-900), transcoding an hour or more (3600), analytics 60-900."),
    _c("dlq", "dlq", "dead-letter queue video-dlq, maxReceiveCount 3", 2, check_dlq,
       "Every work queue hands a message to video-dlq after 3 failed receives.",
       "A work queue has no redrive policy to video-dlq with maxReceiveCount 3.",
       "Create video-dlq first, then set RedrivePolicy to json.dumps({'deadLetterTargetArn': "
       "dlq_arn, 'maxReceiveCount': '3'}) on each work queue."),
    _c("queue-policy", "policies", "queue policies allow only this topic", 2, check_queue_policy,
       "Only sns.amazonaws.com, for video-uploads, may send to the queues.",
       "A queue policy is missing or lets more than the topic send (moto does not enforce "
       "policies, so this check reads the document; AWS would).",
       "Each Allow statement: Principal {'Service': 'sns.amazonaws.com'}, Action "
       "'sqs:SendMessage', Resource the queue ARN, Condition {'ArnEquals': {'aws:SourceArn': "
       "topic_arn}}. Never Principal '*' without a condition."),
    _c("subscriptions", "subscriptions", "each queue subscribed to the topic", 2,
       check_subscriptions,
       "The topic fans out to all three queues.",
       "A queue is not subscribed to video-uploads.",
       "sns.subscribe(TopicArn=topic_arn, Protocol='sqs', Endpoint=queue_arn) for each queue "
       "(the endpoint is the queue ARN, not its URL)."),
    _c("raw-delivery", "subscriptions", "raw message delivery for analytics only", 1, check_raw,
       "analytics receives the bare message; the others keep the SNS envelope.",
       "Raw message delivery is not set as the lab asks.",
       "Pass Attributes={'RawMessageDelivery': 'true'} to subscribe for analytics (or call "
       "set_subscription_attributes)."),
    _c("thumbnail-filter", "filters", "thumbnails gets only VideoUploaded", 2,
       check_thumbnail_filter,
       "Probes: VideoUploaded reached thumbnails; ViewRecorded and VideoDeleted did not.",
       "The thumbnails subscription's attribute filter lets the wrong messages through.",
       "FilterPolicy json.dumps({'event_type': ['VideoUploaded']}) on the thumbnails "
       "subscription (the default scope, MessageAttributes)."),
    _c("transcoding-filter", "filters", "transcoding filters on the body", 2,
       check_transcoding_filter,
       "Probes: uploads reached transcoding, deletions did not, filtered on the body.",
       "The transcoding subscription does not filter on the message body as asked.",
       "FilterPolicyScope 'MessageBody' and FilterPolicy json.dumps({'status': ['uploaded'], "
       "'duration_s': [{'numeric': ['>', 0]}]})."),
    _c("filter-edges", "filters", "filter edge cases", 1, check_filter_edges,
       "Zero-length uploads and messages without event_type are filtered out.",
       "A filter lets an edge case through.",
       "A numeric condition ['>', 0] excludes duration 0; an attribute filter drops messages "
       "that lack the attribute.", hidden=True),
    _c("mappings", "consumers", "a Lambda consumes each queue", 2, check_mappings,
       "Each queue has an enabled event source mapping to its function.",
       "A queue has no enabled event source mapping to its function.",
       "lambda.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=..., "
       "BatchSize=10) for thumbnailer, transcoder and analytics-recorder."),
    _c("timeouts", "consumers", "visibility >= 6 x function timeout", 1, check_timeouts,
       "Each queue's visibility timeout is at least six times its function's timeout.",
       "A queue's visibility timeout is shorter than six times its function's timeout, so a "
       "message can come back while the function still works on it.",
       "AWS recommends a visibility timeout of at least 6x the function timeout: 30 s -> 180 s, "
       "600 s -> 3600 s, 10 s -> 60 s."),
    _c("processing", "consumers", "the handlers process probe messages", 2, check_processing,
       "A probe sent to each queue was processed (its 'processed <video_id>' line is logged).",
       "A function did not log 'processed <video_id>' for a probe message.",
       "The handler should loop over event['Records'], unwrap the SNS envelope when the body "
       "has 'Message', and print('processed', video_id)."),
    _c("batch", "consumers", "no message of a batch is dropped", 1, check_batch,
       "All five messages of a batch were processed.",
       "The handler dropped messages of a batch.",
       "Process every record in event['Records'], not just the first.", hidden=True),
    _c("poison", "poison", "a poison message ends in the DLQ", 2, check_poison,
       "A message the handler cannot parse failed 3 times and moved to video-dlq.",
       "A poison message did not reach video-dlq.",
       "Let the handler raise on a body it cannot parse (do not catch and ignore), and make "
       "sure thumbnails has its RedrivePolicy."),
    _c("fifo", "fifo", "optional: FIFO topic and queue", 0, check_fifo,
       "video-edits.fifo (topic and queue) keep order and drop duplicates.",
       "The optional FIFO step is not done.",
       "create_topic(Name='video-edits.fifo', Attributes={'FifoTopic': 'true', "
       "'ContentBasedDeduplication': 'true'}) and a FIFO queue of the same name."),
]
