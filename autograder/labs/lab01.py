"""Lab 1: SNS -> SQS fan-out for a video platform.

Names the lab asks for: topic ``video-uploads``; queues ``thumbnails``, ``transcoding``,
``analytics``; dead-letter queue ``video-dlq``; functions ``thumbnailer``, ``transcoder``,
``analytics-recorder``.  Every check reads the sandbox; probes use their own ids.
"""

from __future__ import annotations

import json
import re
from typing import Any

from autograder.checks import CheckFailed, check, declared_checks
from autograder.probes import (
    as_list,
    function,
    last_error,
    log_text,
    probe_id,
    queue,
    queue_bodies,
    queue_url,
    refused_note,
    sns_envelope,
    statements,
    subscription,
    topic,
)
from eventlab.sandbox import inspect

TOPIC = "video-uploads"
QUEUES = ("thumbnails", "transcoding", "analytics")
DLQ = "video-dlq"
FUNCTIONS = {"thumbnails": "thumbnailer", "transcoding": "transcoder",
             "analytics": "analytics-recorder"}
# queue -> (lowest, highest) visibility timeout in seconds the lab accepts
VISIBILITY = {"thumbnails": (180, 900), "transcoding": (3600, 43200), "analytics": (60, 900)}


def _visibility(sb: Any, name: str) -> int:
    return int(queue(sb, name).visibility_timeout)


@check("topic", step="queues", title="SNS topic video-uploads", points=1,
       passed="The standard topic video-uploads exists.",
       failed="The topic video-uploads is missing or wrong.",
       hint="sns.create_topic(Name='video-uploads') returns the TopicArn you need later.")
def check_topic(sb: Any) -> None:
    t = topic(sb, TOPIC)
    if t.fifo_topic:
        raise CheckFailed(f"'{TOPIC}' is a FIFO topic")


@check("queues", step="queues", title="queues thumbnails, transcoding, analytics", points=1,
       passed="All three work queues exist.",
       failed="Not every work queue exists.",
       hint="Create each queue with sqs.create_queue(QueueName=...).")
def check_queues(sb: Any) -> None:
    missing = [q for q in QUEUES if q not in inspect.queue_names(sb)]
    if missing:
        raise CheckFailed("missing queue(s): " + ", ".join(missing))


@check("visibility", step="queues", title="visibility timeouts sized to processing time", points=2,
       passed="Each queue hides a message for as long as its work can take.",
       failed="A visibility timeout does not fit its processing time: too short and a second worker "
              "picks up a message still being processed.",
       hint="Set Attributes={'VisibilityTimeout': '...'} (seconds, as a string): thumbnails a few "
            "minutes (180-900), transcoding an hour or more (3600), analytics 60-900.")
def check_visibility(sb: Any) -> None:
    wrong = []
    for name, (low, high) in VISIBILITY.items():
        v = _visibility(sb, name)
        if not low <= v <= high:
            wrong.append(f"{name} has {v} s (expected {low}-{high} s)")
    if wrong:
        raise CheckFailed("; ".join(wrong))


@check("dlq", step="dlq", title="dead-letter queue video-dlq, maxReceiveCount 3", points=2,
       passed="Every work queue hands a message to video-dlq after 3 failed receives.",
       failed="A work queue has no redrive policy to video-dlq with maxReceiveCount 3.",
       hint="Create video-dlq first, then set RedrivePolicy to json.dumps({'deadLetterTargetArn': "
            "dlq_arn, 'maxReceiveCount': '3'}) on each work queue.")
def check_dlq(sb: Any) -> None:
    dlq = queue(sb, DLQ)
    missing, counts = [], []
    for name in QUEUES:
        policy = queue(sb, name).redrive_policy or {}
        if policy.get("deadLetterTargetArn") != dlq.queue_arn:
            target = policy.get("deadLetterTargetArn")
            missing.append(f"{name} has no RedrivePolicy to {DLQ}"
                           + (f" (it points to {target})" if target else ""))
        elif int(policy.get("maxReceiveCount", 0)) != 3:
            counts.append(f"{name} has a RedrivePolicy to {DLQ} with maxReceiveCount "
                          f"{policy.get('maxReceiveCount')} (expected 3)")
    if missing:
        raise CheckFailed("; ".join(missing + counts))
    if counts:
        raise CheckFailed("; ".join(counts), hint=(
            "The redrive policies exist; only their maxReceiveCount differs. Set it to 3 with "
            "set_queue_attributes(QueueUrl=..., Attributes={'RedrivePolicy': json.dumps("
            "{'deadLetterTargetArn': dlq_arn, 'maxReceiveCount': '3'})}): a poison message "
            "then reaches the DLQ after three failed receives."))


_CONDITION_OPS = ("arnequals", "arnlike", "stringequals", "stringlike")


def _condition_values(st: dict[str, Any], key: str) -> list[str]:
    """The values a statement's condition requires for ``key`` (operators and keys
    compared without regard to case, as IAM does for keys)."""
    values: list[str] = []
    for op, block in (st.get("Condition") or {}).items():
        if op.lower() in _CONDITION_OPS and isinstance(block, dict):
            for k, v in block.items():
                if k.lower() == key.lower():
                    values += [str(x) for x in as_list(v)]
    return values


def _limit(st: dict[str, Any], topic_arn: str) -> str | None:
    """None when the condition limits senders to the topic (aws:SourceArn) or to the
    topic's account (aws:SourceAccount); otherwise what was found."""
    arns = _condition_values(st, "aws:SourceArn")
    accounts = _condition_values(st, "aws:SourceAccount")
    if arns == [topic_arn] or (not arns and accounts == [topic_arn.split(":")[4]]):
        return None
    if arns:
        return f"its aws:SourceArn condition is {', '.join(arns)}, not {topic_arn}"
    if accounts:
        return f"its aws:SourceAccount condition is {', '.join(accounts)}, not {topic_arn.split(':')[4]}"
    return "it has no aws:SourceArn (or aws:SourceAccount) condition"


def _statement(st: dict[str, Any], topic_arn: str) -> tuple[bool, str | None]:
    """(whether the statement lets the topic send, what is wrong with it if anything)."""
    principal = st.get("Principal")
    account = topic_arn.split(":")[4]
    aws = as_list(principal.get("AWS")) if isinstance(principal, dict) else []
    services = as_list(principal.get("Service")) if isinstance(principal, dict) else []
    actions = {str(a).lower() for a in as_list(st.get("Action"))}
    sends = bool(actions & {"sqs:sendmessage", "sqs:*", "*"})
    everyone = principal == "*" or "*" in aws
    if not everyone and not services and aws and all(
            str(a) in (account, f"arn:aws:iam::{account}:root") for a in aws):
        return False, None          # the queue's own account (what the console adds): fine
    if not everyone and services != ["sns.amazonaws.com"]:
        return False, f"Principal is {json.dumps(principal)}, not the SNS service"
    if not sends:
        return False, "the statement does not allow sqs:SendMessage"
    problem = _limit(st, topic_arn)
    if problem and everyone:
        return False, f"Principal is everyone ('*') and {problem}"
    return problem is None, problem


@check("queue-policy", step="policies", title="queue policies allow only this topic", points=2,
       passed="Each queue lets only video-uploads (through SNS) send to it.",
       failed="A queue policy is missing or lets more than the topic send (the check reads the "
              "document; a policy that names another topic also makes the sandbox drop SNS's "
              "deliveries, as AWS does).",
       hint="Each Allow statement: Principal {'Service': 'sns.amazonaws.com'}, Action "
            "'sqs:SendMessage', Resource the queue ARN, Condition {'ArnEquals': {'aws:SourceArn': "
            "topic_arn}}. Principal '*' (what the SDKs' subscribe helpers write) is accepted only "
            "with that condition (or aws:SourceAccount): without one, anyone may send.")
def check_queue_policy(sb: Any) -> None:
    topic_arn = topic(sb, TOPIC).arn
    wrong = []
    for name in QUEUES:
        allows = [s for s in statements(queue(sb, name).policy) if s.get("Effect") == "Allow"]
        verdicts = [_statement(s, topic_arn) for s in allows]
        problems = [p for _, p in verdicts if p]
        if problems:
            wrong.append(f"{name}: {problems[0]}")
        elif not any(ok for ok, _ in verdicts):
            wrong.append(f"{name} has no policy statement allowing the topic to send")
    if wrong:
        raise CheckFailed("; ".join(wrong), hint=_policy_hint(wrong[0]))


def _policy_hint(found: str) -> str | None:
    """A hint for the first problem found (None: the check's general hint)."""
    condition = "Condition {'ArnEquals': {'aws:SourceArn': topic_arn}}"
    if "everyone ('*')" in found:
        return (f"Principal '*' lets any account send unless a condition limits it: add {condition} "
                "to that statement (or name the service, Principal {'Service': "
                "'sns.amazonaws.com'}, with the same condition).")
    if "condition is" in found:
        return ("The condition names another topic or account: use the TopicArn that "
                "create_topic(Name='video-uploads') returned.")
    if "no aws:SourceArn" in found:
        return (f"The SNS service principal alone lets every topic of every account send: add {condition}.")
    return None


@check("subscriptions", step="subscriptions", title="each queue subscribed to the topic", points=2,
       passed="The topic fans out to all three queues.",
       failed="A queue is not subscribed to video-uploads.",
       hint="sns.subscribe(TopicArn=topic_arn, Protocol='sqs', Endpoint=queue_arn) for each queue "
            "(the endpoint is the queue ARN, not its URL).")
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


@check("raw-delivery", step="subscriptions",
       title="raw message delivery for analytics only", points=1,
       passed="analytics receives the bare message; the others keep the SNS envelope.",
       failed="Raw message delivery is not set as the lab asks.",
       hint="Pass Attributes={'RawMessageDelivery': 'true'} to subscribe for analytics (or call "
            "set_subscription_attributes).")
def check_raw(sb: Any) -> None:
    wrong = [name for name in ("thumbnails", "transcoding") if _raw(subscription(sb, TOPIC, name))]
    if not _raw(subscription(sb, TOPIC, "analytics")):
        raise CheckFailed("the analytics subscription has RawMessageDelivery off"
                          + (f" (and {', '.join(wrong)} on)" if wrong else ""))
    if wrong:
        raise CheckFailed(f"raw delivery is on for {', '.join(wrong)} as well as analytics",
                          hint="analytics is right; turn raw delivery off for " + " and ".join(wrong)
                          + ": set_subscription_attributes(SubscriptionArn=..., AttributeName="
                          "'RawMessageDelivery', AttributeValue='false'). Their consumers read "
                          "the SNS envelope (TopicArn, MessageId, attributes).")


def _publish(sb: Any, body: dict[str, Any], event_type: str | None) -> str:
    attrs = {"event_type": {"DataType": "String", "StringValue": event_type}} if event_type else {}
    response = sb.client("sns").publish(TopicArn=topic(sb, TOPIC).arn, Message=json.dumps(body),
                                        MessageAttributes=attrs)
    return response["MessageId"]


def _delivered(sb: Any, queue_name: str, message_id: str) -> bool:
    from autograder.lab import session

    sub = subscription(sb, TOPIC, queue_name)
    traffic = session().traffic
    return traffic is not None and message_id in traffic.delivered_to_subscription(sub.arn)


def _expect(sb: Any, queue_name: str, cases: list[tuple[str, dict[str, Any], str | None, bool]]) -> None:
    subscription(sb, TOPIC, queue_name)
    wrong = []
    for label, body, event_type, should in cases:
        got = _delivered(sb, queue_name, _publish(sb, body, event_type))
        if got != should:
            wrong.append(f"{label} {'was not' if should else 'was'} delivered to {queue_name}")
    if wrong:
        raise CheckFailed("; ".join(wrong) + refused_note(sb, queue_name))


def _upload(duration: int = 620, status: str = "uploaded") -> dict[str, Any]:
    return {"video_id": probe_id("vid"), "status": status, "duration_s": duration}


@check("thumbnail-filter", step="filters", title="thumbnails gets only VideoUploaded", points=2,
       passed="Probes: VideoUploaded reached thumbnails; ViewRecorded and VideoDeleted did not.",
       failed="The thumbnails subscription's attribute filter lets the wrong messages through.",
       hint="FilterPolicy json.dumps({'event_type': ['VideoUploaded']}) on the thumbnails "
            "subscription (the default scope, MessageAttributes).")
def check_thumbnail_filter(sb: Any) -> None:
    _expect(sb, "thumbnails", [
        ("a VideoUploaded message", _upload(), "VideoUploaded", True),
        ("a ViewRecorded message", _upload(), "ViewRecorded", False),
        ("a VideoDeleted message", _upload(status="deleted"), "VideoDeleted", False),
    ])


@check("transcoding-filter", step="filters", title="transcoding filters on the body", points=2,
       passed="Probes: uploads reached transcoding, deletions did not, filtered on the body.",
       failed="The transcoding subscription does not filter on the message body as asked.",
       hint="FilterPolicyScope 'MessageBody' and FilterPolicy json.dumps({'status': ['uploaded'], "
            "'duration_s': [{'numeric': ['>', 0]}]}).")
def check_transcoding_filter(sb: Any) -> None:
    sub = subscription(sb, TOPIC, "transcoding")
    if sub.attributes.get("FilterPolicyScope") != "MessageBody":
        raise CheckFailed("the transcoding subscription's FilterPolicyScope is not MessageBody")
    _expect(sb, "transcoding", [
        ("an upload with status 'uploaded' and duration 620 s", _upload(), "VideoUploaded", True),
        ("a message with status 'deleted'", _upload(status="deleted"), "VideoDeleted", False),
    ])


@check("filter-edges", step="filters", title="filter edge cases", points=1,
       passed="Zero-length uploads and messages without event_type are filtered out.",
       failed="A filter lets an edge case through.",
       hint="A numeric condition ['>', 0] excludes duration 0; an attribute filter drops messages "
            "that lack the attribute.", hidden=True)
def check_filter_edges(sb: Any) -> None:
    _expect(sb, "transcoding", [("an upload of duration 0 s", _upload(duration=0), "VideoUploaded", False)])
    _expect(sb, "thumbnails", [("a message without an event_type attribute", _upload(), None, False)])


def _mapping(sb: Any, queue_name: str) -> inspect.Mapping:
    q = queue(sb, queue_name)
    fn = function(sb, FUNCTIONS[queue_name])
    for esm in inspect.mappings(sb, source_arn=q.queue_arn):
        if esm.function_arn.split(":")[6] == fn.function_name:
            return esm
    raise CheckFailed(f"no event source mapping from {queue_name} to {FUNCTIONS[queue_name]}")


@check("mappings", step="consumers", title="a Lambda consumes each queue", points=2,
       passed="Each queue has an enabled event source mapping to its function.",
       failed="A queue has no enabled event source mapping to its function.",
       hint="lambda.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=..., "
            "BatchSize=10) for thumbnailer, transcoder and analytics-recorder.")
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


@check("timeouts", step="consumers", title="visibility >= 6 x function timeout", points=1,
       passed="Each queue's visibility timeout is at least six times its function's timeout.",
       failed="A queue's visibility timeout is shorter than six times its function's timeout, so a "
              "message can come back while the function still works on it.",
       hint="AWS recommends a visibility timeout of at least 6x the function timeout: 30 s -> 180 s, "
            "600 s -> 3600 s, 10 s -> 60 s.")
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


def _let_batches_go(sb: Any) -> None:
    """Wait (virtual time) out the longest batching window of the lab's mappings, so a
    probe is not judged before its mapping would hand it over."""
    windows = []
    for name in QUEUES:
        try:
            windows.append(float(_mapping(sb, name).maximum_batching_window or 0))
        except CheckFailed:
            continue
    if max(windows, default=0) > 0:
        sb.clock.advance(seconds=max(windows) + 1)


def _reached(sb: Any, queue_name: str, message_id: str) -> bool:
    try:
        return _delivered(sb, queue_name, message_id)
    except CheckFailed:
        return False


@check("processing", step="consumers", title="the handlers process what SNS delivers", points=2,
       passed="An upload published to video-uploads was processed by all three functions (the "
              "envelope by thumbnailer and transcoder, the bare body by analytics-recorder).",
       failed="A function did not log 'processed <video_id>' for an upload published to the topic.",
       hint="The handler should loop over event['Records'], json.loads each body, unwrap the SNS "
            "envelope when the body has 'Message' (json.loads(body['Message'])), and "
            "print('processed', video_id). The function's log shows the error it raised.")
def check_processing(sb: Any) -> None:
    """One upload published to the topic: each function must log it, from the form SNS
    delivers to its queue (the envelope for thumbnails and transcoding, the bare body for
    analytics).  A queue the topic does not deliver the probe to (a subscription or
    filter the other steps grade) gets what its subscription should have delivered."""
    for name in QUEUES:
        _mapping(sb, name)
    vid = probe_id("vid")
    message = json.dumps({"video_id": vid, "status": "uploaded", "duration_s": 5})
    topic_arn = topic(sb, TOPIC).arn
    message_id = _publish(sb, json.loads(message), "VideoUploaded")
    sb.settle()
    for name in QUEUES:
        if not _reached(sb, name, message_id):
            raw = name == "analytics"
            _send_direct(sb, name, [message if raw else sns_envelope(
                topic_arn, message, message_id, {"event_type": "VideoUploaded"})])
    _let_batches_go(sb)
    wrong = []
    for name in QUEUES:
        fn = FUNCTIONS[name]
        if f"processed {vid}" not in log_text(sb, fn):
            error = last_error(sb, fn, vid)
            form = "the bare body" if name == "analytics" else "the SNS envelope"
            wrong.append(f"{fn} logged no 'processed {vid}' for an upload published to "
                         f"{TOPIC} ({form})" + (f": it failed with {error}" if error else ""))
    if wrong:
        raise CheckFailed("; ".join(wrong))


@check("batch", step="consumers", title="no message of a batch is dropped", points=1,
       passed="All five messages of a batch sent to analytics were processed.",
       failed="The handler dropped messages of a batch.",
       hint="Process every record in event['Records'], not just the first.", hidden=True)
def check_batch(sb: Any) -> None:
    _mapping(sb, "analytics")
    ids = [probe_id("vid") for _ in range(5)]
    _send_direct(sb, "analytics", [json.dumps({"video_id": v, "status": "uploaded",
                                               "duration_s": 5}) for v in ids])
    _let_batches_go(sb)
    text = log_text(sb, "analytics-recorder")
    lost = [v for v in ids if f"processed {v}" not in text]
    if lost:
        raise CheckFailed(f"{len(lost)} of 5 messages sent to analytics in one batch were never "
                          "processed")


_PROBE_POISON = re.compile(r"^not json poison-[0-9a-f]{10}$")


def _not_json(body: str) -> bool:
    try:
        json.loads(body)
    except ValueError:
        return True
    return False


@check("poison", step="poison", title="a poison message ends in the DLQ", points=2,
       passed="Your poison message and the check's both failed 3 times and moved to video-dlq.",
       failed="A poison message did not reach video-dlq.",
       hint="Let the handler raise on a body it cannot parse (do not catch and ignore), and make "
            "sure thumbnails has its RedrivePolicy.")
def check_poison(sb: Any) -> None:
    queue(sb, DLQ)
    _mapping(sb, "thumbnails")
    mine = [b for b in queue_bodies(sb, DLQ) if _not_json(b) and not _PROBE_POISON.match(b)]
    body = "not json " + probe_id("poison")
    _send_direct(sb, "thumbnails", [body])
    for _ in range(4):
        sb.clock.advance(seconds=_visibility(sb, "thumbnails") + 1)
    if body not in queue_bodies(sb, DLQ):
        raise CheckFailed(f"a poison message the check sent to thumbnails is not in {DLQ} after "
                          "four visibility timeouts")
    if not mine:
        raise CheckFailed(f"{DLQ} holds no message of yours that is not JSON (the check's own "
                          "poison probe did get there)",
                          hint="Your step 7 cell should send a body that is not JSON to "
                          "thumbnails and advance the clock past three visibility timeouts "
                          "(sb.clock.advance(seconds=181), four times).")


@check("fifo", step="fifo", title="optional: FIFO topic and queue", points=0,
       passed="video-edits.fifo (topic and queue) keep order and drop duplicates.",
       failed="The optional FIFO step is not done.",
       hint="create_topic(Name='video-edits.fifo', Attributes={'FifoTopic': 'true', "
            "'ContentBasedDeduplication': 'true'}) and a FIFO queue of the same name.")
def check_fifo(sb: Any) -> None:
    t = topic(sb, "video-edits.fifo")
    q = queue(sb, "video-edits.fifo")
    if not t.fifo_topic or not q.fifo_queue:
        raise CheckFailed("the topic and the queue must both be FIFO")
    subscription(sb, "video-edits.fifo", "video-edits.fifo")


CHECKS = declared_checks(globals())   # the @check functions above, in the order they are defined
