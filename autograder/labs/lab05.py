"""Lab 5: API Gateway -> SQS -> Lambda, the buffering pattern, and its monitoring.

Names the lab asks for: REST API ``orders-api`` with ``POST /orders`` on stage ``prod``;
queue ``orders-queue`` with dead-letter queue ``orders-dlq``; function
``order-processor``; topic ``ops-alerts`` with queue ``ops-inbox`` subscribed; alarm
``orders-dlq-alarm``; WebSocket API ``orders-live`` (route ``track``, stage ``prod``).
Probes post their own orders (ids ``probe-...``) through the API or put their own
messages on the queues; every check reads the sandbox.
"""

from __future__ import annotations

import json
from typing import Any

from autograder.checks import CheckFailed, check, declared_checks
from autograder.lab import ServiceRole
from autograder.probes import (
    function,
    log_text,
    permission_problem,
    probe_id,
    queue,
    queue_bodies,
    queue_url,
    refused_note,
    subscription,
    trust_problem,
)
from eventlab.sandbox import inspect
from eventlab.sandbox.sqs.queues import discard_messages

API = "orders-api"
STAGE = "prod"
QUEUE = "orders-queue"
DLQ = "orders-dlq"
FUNCTION = "order-processor"
TOPIC = "ops-alerts"


def _apigateway_policy(region: str, account: str) -> dict[str, Any]:
    """What the integration needs: send to the queue, nothing else."""
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sqs:SendMessage",
        "Resource": f"arn:aws:sqs:{region}:{account}:{QUEUE}"}]}


# APIGATEWAY_ROLE_ARN in the notebook: a role only API Gateway may assume (ROLE_ARN is Lambda's).
ROLES = {"APIGATEWAY_ROLE_ARN": ServiceRole("eventlab-apigateway-sqs-role",
                                            "apigateway.amazonaws.com", _apigateway_policy)}
INBOX = "ops-inbox"
ALARM = "orders-dlq-alarm"
MAX_RECEIVES = 5
SQS_MAX_BYTES = 1_048_576   # 1 MiB: the largest message SQS takes
DLQ_RETENTION = 1_209_600   # 14 days: MessageRetentionPeriod's maximum
BURST_MINUTES = 3
BURST_PER_MINUTE = 20


# -- look-ups -------------------------------------------------------------------------
def _api(sb: Any) -> dict[str, Any]:
    apis = [a for a in sb.client("apigateway").get_rest_apis()["items"] if a["name"] == API]
    if not apis:
        raise CheckFailed(f"there is no REST API named '{API}'")
    return apis[-1]


def _orders_resource(sb: Any) -> dict[str, Any]:
    api = _api(sb)
    resources = sb.client("apigateway").get_resources(restApiId=api["id"])["items"]
    found = [r for r in resources if r["path"] == "/orders"]
    if not found:
        raise CheckFailed(f"'{API}' has no resource /orders")
    return found[0]


def _integration(sb: Any) -> dict[str, Any]:
    api = _api(sb)
    resource = _orders_resource(sb)
    apigw = sb.client("apigateway")
    try:
        apigw.get_method(restApiId=api["id"], resourceId=resource["id"], httpMethod="POST")
        return apigw.get_integration(restApiId=api["id"], resourceId=resource["id"], httpMethod="POST")
    except apigw.exceptions.NotFoundException:
        raise CheckFailed("/orders has no POST method with an integration") from None


def _stage(sb: Any) -> str:
    api = _api(sb)
    stages = [s["stageName"] for s in sb.client("apigateway").get_stages(restApiId=api["id"])["item"]]
    if STAGE not in stages:
        raise CheckFailed(f"'{API}' has no stage '{STAGE}' (create a deployment with stageName='{STAGE}')")
    return api["id"]


def post(sb: Any, order: dict[str, Any] | str) -> tuple[int, bytes]:
    """POST an order to the deployed API, in-process (what an HTTP client gets)."""
    api_id = _stage(sb)
    body = order if isinstance(order, str) else json.dumps(order)
    status, _, answer = sb.service("apigateway").invoke(
        api_id, STAGE, "POST", "/orders", headers={"Content-Type": "application/json"}, body=body)
    return status, answer


def _order(order_id: str, quantity: int = 1, **extra: Any) -> dict[str, Any]:
    return {"orderId": order_id, "sku": "SKU-42", "quantity": quantity, **extra}


def _queue_arn(sb: Any, name: str) -> str:
    return queue(sb, name).queue_arn


def delivered_bodies(sb: Any, queue_name: str = QUEUE) -> list[str]:
    """Every body the queue got: still queued, handed to a function, or dead-lettered."""
    arn = _queue_arn(sb, queue_name)
    out = list(queue_bodies(sb, queue_name))
    for entry in inspect.invocations(sb):
        event = entry.get("event")
        if isinstance(event, dict):
            out += [r.get("body", "") for r in event.get("Records") or []
                    if isinstance(r, dict) and r.get("eventSourceARN") == arn]
    if DLQ in inspect.queue_names(sb):
        out += queue_bodies(sb, DLQ)
    return out


def _deliveries(sb: Any, order_id: str) -> int:
    """How many times the function was handed a record carrying ``order_id``."""
    n = 0
    for entry in inspect.invocations(sb):
        event = entry.get("event")
        if entry["function"] == FUNCTION and isinstance(event, dict):
            n += sum(1 for r in event.get("Records") or [] if order_id in str(r.get("body", "")))
    return n


def _processed(sb: Any, order_id: str) -> int:
    return sum(1 for line in log_text(sb, FUNCTION).splitlines() if line.strip() == f"processed {order_id}")


def _mapping(sb: Any) -> dict[str, Any]:
    function(sb, FUNCTION)
    arn = _queue_arn(sb, QUEUE)
    mappings = sb.client("lambda").list_event_source_mappings(
        FunctionName=FUNCTION, EventSourceArn=arn)["EventSourceMappings"]
    if not mappings:
        raise CheckFailed(f"no event source mapping connects {QUEUE} to {FUNCTION}")
    return mappings[0]


# -- step 1: queues -----------------------------------------------------------------
@check("queues", step="queues", title="queues orders-queue and orders-dlq (kept 14 days)", points=1,
       passed="orders-queue and orders-dlq exist (standard queues); orders-dlq keeps messages 14 days.",
       failed="A queue is missing or is FIFO, or orders-dlq does not keep messages 14 days.",
       hint="sqs.create_queue(QueueName='orders-dlq', Attributes={'MessageRetentionPeriod': '1209600'}) "
            "and sqs.create_queue(QueueName='orders-queue', ...).")
def check_queues(sb: Any) -> None:
    for name in (QUEUE, DLQ):
        if queue(sb, name).fifo_queue:
            raise CheckFailed(f"{name} is a FIFO queue (this lab uses standard queues)")
    # a dead letter keeps its first enqueue time: the DLQ must keep messages longer than
    # the queue, and the step asks for SQS's maximum, 14 days
    kept = int(queue(sb, DLQ).message_retention_period)
    if kept != DLQ_RETENTION:
        raise CheckFailed(f"{DLQ} keeps messages {kept} s ({kept / 86400:g} days); the step asks for "
                          f"{DLQ_RETENTION} s (14 days, the maximum), so that a dead order waits "
                          "long enough for someone to look at it")


@check("dlq", step="queues", title="redrive to orders-dlq after 5 receives", points=2,
       passed="orders-queue moves a message to orders-dlq on its 5th failed receive.",
       failed="orders-queue has no redrive policy to orders-dlq with maxReceiveCount 5.",
       hint="Attributes={'RedrivePolicy': json.dumps({'deadLetterTargetArn': dlq_arn, "
            "'maxReceiveCount': '5'})}.")
def check_dlq(sb: Any) -> None:
    q = queue(sb, QUEUE)
    dlq = queue(sb, DLQ)
    redrive = q.redrive_policy
    if not redrive:
        raise CheckFailed(f"{QUEUE} has no RedrivePolicy to {DLQ}")
    if isinstance(redrive, str):
        redrive = json.loads(redrive)
    if redrive.get("deadLetterTargetArn") != dlq.queue_arn:
        raise CheckFailed(f"{QUEUE}'s RedrivePolicy points to {redrive.get('deadLetterTargetArn')}, not {DLQ}")
    count = int(redrive.get("maxReceiveCount", 0))
    if count != MAX_RECEIVES:
        raise CheckFailed(f"maxReceiveCount is {count}, not {MAX_RECEIVES}")


# -- step 2: the API ----------------------------------------------------------------
@check("api", step="api", title="POST /orders: an AWS integration to SQS on stage prod", points=1,
       passed="orders-api has POST /orders integrated with SQS and deployed to prod.",
       failed="The API, its /orders resource, its POST integration to SQS or the prod stage is missing.",
       hint="put_integration(type='AWS', integrationHttpMethod='POST', "
            "uri=f'arn:aws:apigateway:{region}:sqs:path/{account}/orders-queue', credentials=APIGATEWAY_ROLE_ARN, ...) "
            "then create_deployment(restApiId=..., stageName='prod').")
def check_api(sb: Any) -> None:
    integration = _integration(sb)
    if integration.get("type") != "AWS":
        raise CheckFailed(f"the POST /orders integration is of type {integration.get('type')}, not AWS")
    uri = integration.get("uri", "")
    if ":sqs:" not in uri or not (uri.endswith(f"/{QUEUE}") or uri.endswith("action/SendMessage")):
        raise CheckFailed(f"the integration URI {uri} is not SQS path/ACCOUNT/{QUEUE} or action/SendMessage")
    if integration.get("httpMethod") != "POST":
        raise CheckFailed(f"the integration's HTTP method is {integration.get('httpMethod')}, not POST")
    problem = trust_problem(sb, integration.get("credentials"), "apigateway.amazonaws.com")
    if problem:
        raise CheckFailed(f"the integration's credentials: {problem}", hint=(
            "API Gateway assumes the credentials role to call SQS, so its trust policy must name "
            "apigateway.amazonaws.com and it needs sqs:SendMessage on orders-queue: pass "
            "credentials=APIGATEWAY_ROLE_ARN (ROLE_ARN is Lambda's role)."))
    problem = permission_problem(sb, integration["credentials"], "sqs:SendMessage", _queue_arn(sb, QUEUE))
    if problem:
        raise CheckFailed(f"the integration's credentials: {problem}", hint=(
            "SQS refuses API Gateway's SendMessage (AccessDenied) unless the credentials role "
            "allows sqs:SendMessage on orders-queue's ARN: use APIGATEWAY_ROLE_ARN, or give your "
            "role that permission."))
    _stage(sb)


@check("content-type", step="api", title="the integration sends a form-encoded request", points=1,
       passed="The integration request's Content-Type is application/x-www-form-urlencoded.",
       failed="The integration does not set the Content-Type header SQS needs.",
       hint="requestParameters={'integration.request.header.Content-Type': "
            "\"'application/x-www-form-urlencoded'\"} (single quotes inside: a literal value).")
def check_content_type(sb: Any) -> None:
    params = _integration(sb).get("requestParameters") or {}
    value = next((v for k, v in params.items() if k.lower() == "integration.request.header.content-type"), None)
    if value is None:
        raise CheckFailed("the integration maps no integration.request.header.Content-Type")
    # a literal in single quotes; the media type may carry parameters (boto3 itself sends
    # "application/x-www-form-urlencoded; charset=utf-8" to SQS)
    media = value[1:-1].split(";")[0].strip().lower() if len(value) > 1 and value[0] == value[-1] == "'" else ""
    if media != "application/x-www-form-urlencoded":
        raise CheckFailed(f"Content-Type is mapped to {value}, not 'application/x-www-form-urlencoded' "
                          "(with the quotes: a literal)")


def _post_and_find(sb: Any, order: dict[str, Any]) -> None:
    status, answer = post(sb, order)
    if not 200 <= status < 300:
        raise CheckFailed(f"POST /orders answered {status} (body {answer[:200].decode(errors='replace')})")
    wanted = json.dumps(order)
    bodies = delivered_bodies(sb)
    for body in bodies:
        try:
            if json.loads(body) == order:
                return
        except ValueError:
            continue
    near = [b for b in bodies if order["orderId"] in b]
    raise CheckFailed(f"POST /orders answered {status} but {QUEUE} did not get the body {wanted}"
                      + (f"; it got {near[-1][:200]!r}" if near else "; nothing with that order arrived"))


@check("api-probe", step="api", title="a posted order arrives as the message body", points=2,
       passed="A probe order posted to /orders arrived in orders-queue as exactly the posted JSON.",
       failed="A posted order did not arrive in orders-queue as the message body.",
       hint="The mapping template: Action=SendMessage&MessageBody=$util.urlEncode($input.body), with the "
            "Content-Type request parameter set (without it SQS finds no Action in the request and refuses it).")
def check_api_probe(sb: Any) -> None:
    _post_and_find(sb, _order(probe_id("probe")))


@check("url-encoding", step="api", title="an order with & = % + arrives intact", points=1,
       passed="An order whose note holds & = % + arrived unchanged.",
       failed="An order with & = % + in it did not arrive intact.",
       hint="The body is form-encoded: wrap it in $util.urlEncode(...) or & and + break it.", hidden=True)
def check_url_encoding(sb: Any) -> None:
    _post_and_find(sb, _order(probe_id("probe"), note="fragile & heavy = 100% + care"))


@check("api-errors", step="api", title="an error from SQS reaches the caller as an error", points=1,
       passed="An order SQS refused (over 1 MiB) was answered with an error status, not 2xx.",
       failed="An error from SQS reaches the caller as a success.",
       hint="The integration's default response (selectionPattern '') answers 202 to whatever SQS "
            "says: add a method response 500 and an integration response with statusCode 500 and "
            "selectionPattern '4\\d{2}|5\\d{2}' (for an AWS integration it matches SQS's HTTP status).")
def check_api_errors(sb: Any) -> None:
    _integration(sb)
    order = _order(probe_id("probe"), note="x" * SQS_MAX_BYTES)   # over SQS's limit
    status, answer = post(sb, order)
    if 200 <= status < 300:
        arrived = [b for b in delivered_bodies(sb) if order["orderId"] in b]
        if arrived:   # the integration sent something else, small enough for SQS
            raise CheckFailed(f"an order of {len(json.dumps(order))} bytes, over SQS's "
                              f"{SQS_MAX_BYTES}-byte limit, was answered {status} and {QUEUE} got "
                              f"{arrived[-1][:80]!r} instead: the integration does not send the "
                              "posted order, so no error from SQS could be seen")
        raise CheckFailed(f"an order of {len(json.dumps(order))} bytes, over SQS's "
                          f"{SQS_MAX_BYTES}-byte limit, was refused by SQS (400 InvalidParameterValue), "
                          f"yet POST /orders answered {status} "
                          f"({answer[:120].decode(errors='replace')}): the caller thinks it was queued")


# -- step 3: the consumer ------------------------------------------------------------
def _record(message_id: str, body: str, arn: str) -> dict[str, Any]:
    return {"messageId": message_id, "receiptHandle": f"rh-{message_id}", "body": body,
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0"},
            "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
            "eventSourceARN": arn, "awsRegion": "us-east-1"}


@check("handler", step="consumer",
       title="the handler reports only the bad order as failed", points=2,
       passed="For two good orders and three bad records (quantity 0, no quantity, not JSON) the handler "
              "returned batchItemFailures [the bad ones] and processed the others.",
       failed="The handler does not report exactly the failed records.",
       hint="Collect {'itemIdentifier': record['messageId']} for each record that fails and return "
            "{'batchItemFailures': failures}; print('processed', order['orderId']) for the others.")
def check_handler(sb: Any) -> None:
    function(sb, FUNCTION)
    arn = _queue_arn(sb, QUEUE) if QUEUE in inspect.queue_names(sb) else "arn:aws:sqs:us-east-1:123456789012:x"
    good1, good2, bad, odd = probe_id("probe"), probe_id("probe"), probe_id("probe"), probe_id("probe")
    # three kinds of bad record: a quantity of 0, no quantity at all, a body that is not JSON
    records = [_record("m-good-1", json.dumps(_order(good1)), arn),
               _record("m-bad", json.dumps(_order(bad, quantity=0)), arn),
               _record("m-no-quantity", json.dumps({"orderId": odd, "sku": "SKU-42"}), arn),
               _record("m-garbled", '{"orderId": "' + odd + '", "quantity": 2', arn),
               _record("m-good-2", json.dumps(_order(good2, quantity=3)), arn)]
    bad_ids = ["m-bad", "m-garbled", "m-no-quantity"]
    answer = sb.client("lambda").invoke(FunctionName=FUNCTION, Payload=json.dumps({"Records": records}))
    payload = answer["Payload"].read().decode()
    if answer.get("FunctionError"):
        raise CheckFailed(f"the handler raised on a batch with bad records (quantity 0, no "
                          f"quantity, a body that is not JSON): {payload[:200]} (a raise fails "
                          "the whole batch: catch the error and report the record instead)")
    try:
        response = json.loads(payload)
    except ValueError:
        response = None
    if not isinstance(response, dict) or "batchItemFailures" not in response:
        raise CheckFailed(f"the handler returned {payload[:200]}, not {{'batchItemFailures': [...]}}")
    ids = sorted(f.get("itemIdentifier", "?") for f in response["batchItemFailures"] or []
                 if isinstance(f, dict))
    if ids != bad_ids:
        raise CheckFailed(f"for a batch of two good orders and three bad records (m-bad: quantity 0, "
                          f"m-no-quantity, m-garbled: not JSON) the handler reported "
                          f"{ids or 'no failures'}, not {bad_ids} (a bad record not reported is lost)")
    missing = [o for o in (good1, good2) if not _processed(sb, o)]
    if missing:
        raise CheckFailed(f"the handler did not print 'processed <orderId>' for {missing}")


@check("mapping", step="consumer",
       title="mapping with ReportBatchItemFailures, visibility sized", points=2,
       passed="The mapping reports batch item failures and the queue's visibility timeout covers "
              "6 x the function timeout + the batching window.",
       failed="The event source mapping is missing, ignores batchItemFailures, or the queue's visibility "
              "timeout is too short.",
       hint="create_event_source_mapping(..., FunctionResponseTypes=['ReportBatchItemFailures']); "
            "VisibilityTimeout >= 6 x Timeout + MaximumBatchingWindowInSeconds.")
def check_mapping(sb: Any) -> None:
    mapping = _mapping(sb)
    if mapping.get("State") not in (None, "Enabled", "Creating", "Enabling"):
        raise CheckFailed(f"the mapping is {mapping.get('State')}")
    if "ReportBatchItemFailures" not in (mapping.get("FunctionResponseTypes") or []):
        raise CheckFailed("the mapping has no FunctionResponseTypes ['ReportBatchItemFailures'], so "
                          "Lambda ignores the batchItemFailures the handler returns")
    fn_timeout = int(function(sb, FUNCTION).timeout or 3)
    window = int(mapping.get("MaximumBatchingWindowInSeconds") or 0)
    visibility = int(queue(sb, QUEUE).visibility_timeout)
    if visibility < 6 * fn_timeout + window:
        raise CheckFailed(f"{QUEUE}'s visibility timeout is {visibility} s, below 6 x the function "
                          f"timeout ({fn_timeout} s) + the batching window ({window} s) = "
                          f"{6 * fn_timeout + window} s")


# -- step 4: end to end --------------------------------------------------------------
@check("e2e", step="end-to-end",
       title="good orders once, a bad one to the DLQ after 5 tries", points=2,
       passed="Probe orders posted to the API: the good ones were processed once each, the bad one "
              "reached orders-dlq after 5 deliveries.",
       failed="End to end, an order was processed more or less than once, or the bad one was lost.",
       hint="Partial batch responses (handler + mapping) and a redrive policy with maxReceiveCount 5.")
def check_e2e(sb: Any) -> None:
    _mapping(sb)
    good = [probe_id("probe"), probe_id("probe")]
    bad = probe_id("probe")
    for order in (_order(good[0]), _order(bad, quantity=-1), _order(good[1], quantity=2)):
        status, answer = post(sb, order)
        if not 200 <= status < 300:
            raise CheckFailed(f"POST /orders answered {status} (body {answer[:200].decode(errors='replace')})")
    sb.clock.advance(hours=2)
    wrong = []
    for order_id in good:
        n = _processed(sb, order_id)
        if n != 1:
            wrong.append(f"good order {order_id} was processed {n} times (expected once)")
    in_dlq = any(bad in body for body in queue_bodies(sb, DLQ))
    deliveries = _deliveries(sb, bad)
    if not in_dlq:
        wrong.append(f"an order with quantity -1 is not in {DLQ} two hours later (the function got it "
                     f"{deliveries} times)")
    elif deliveries != MAX_RECEIVES:
        wrong.append(f"the order with quantity -1 reached {DLQ} after {deliveries} deliveries, "
                     f"not {MAX_RECEIVES}")
    if wrong:
        raise CheckFailed("; ".join(wrong))


# -- step 5: buffering ---------------------------------------------------------------
def _depths(sb: Any, start: Any, end: Any) -> list[float]:
    points = sb.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName", "Value": QUEUE}], StartTime=start, EndTime=end,
        Period=60, Statistics=["Maximum"])["Datapoints"]
    return [p["Maximum"] for p in sorted(points, key=lambda p: p["Timestamp"])]


@check("buffer", step="buffer",
       title="the queue absorbs a burst the consumer takes slowly", points=2,
       passed="During a 3-minute burst the queue held more than two minutes of orders; ten minutes later "
              "it was empty and every order processed.",
       failed="The burst was not buffered, or not drained afterwards.",
       hint="update_event_source_mapping(UUID=..., BatchSize=1000, MaximumBatchingWindowInSeconds=300): "
            "the consumer then takes the queue in large, infrequent batches.")
def check_buffer(sb: Any) -> None:
    _mapping(sb)
    sb.clock.advance(hours=2)            # let earlier work finish: a quiet queue to start from
    start = sb.clock.now()
    sent: list[str] = []
    failed: list[str] = []
    step = 60.0 / BURST_PER_MINUTE
    for _ in range(BURST_MINUTES * BURST_PER_MINUTE):
        order_id = probe_id("probe")
        status, _ = post(sb, _order(order_id))
        (sent if 200 <= status < 300 else failed).append(order_id)
        sb.clock.advance(seconds=step)
    if failed:
        raise CheckFailed(f"{len(failed)} of the burst's requests were not answered 2xx")
    during = _depths(sb, start, sb.clock.now())
    sb.clock.advance(minutes=10)
    after = _depths(sb, start, sb.clock.now())
    peak = max(during or [0.0])
    if peak < 2 * BURST_PER_MINUTE:
        raise CheckFailed(f"during a burst of {BURST_PER_MINUTE} orders a minute for {BURST_MINUTES} "
                          f"minutes the queue held at most {peak:g} messages at a minute's end "
                          f"(per-minute depths {during}): the consumer kept pace, so nothing was buffered")
    if not after or after[-1] > 0:
        raise CheckFailed(f"ten minutes after the burst {QUEUE} still holds {after[-1] if after else '?'} "
                          f"messages (per-minute depths {after})")
    unprocessed = [o for o in sent if not _processed(sb, o)]
    if unprocessed:
        raise CheckFailed(f"{len(unprocessed)} of the burst's {len(sent)} orders were never processed")


# -- step 6: monitoring ----------------------------------------------------------------
def _alarm(sb: Any) -> dict[str, Any]:
    alarms = sb.client("cloudwatch").describe_alarms(AlarmNames=[ALARM])["MetricAlarms"]
    if not alarms:
        raise CheckFailed(f"there is no metric alarm named '{ALARM}'")
    return alarms[0]


def _topic_arn(sb: Any) -> str:
    for t in inspect.topics(sb):
        if t.name == TOPIC:
            return t.arn
    raise CheckFailed(f"there is no SNS topic named '{TOPIC}'")


@check("alarm", step="monitoring", title="alarm on orders-dlq depth -> ops-alerts", points=2,
       passed="orders-dlq-alarm fires on one visible message in orders-dlq and notifies ops-alerts.",
       failed="The alarm is missing or watches the wrong metric, queue, threshold or action.",
       hint="put_metric_alarm(AlarmName='orders-dlq-alarm', Namespace='AWS/SQS', "
            "MetricName='ApproximateNumberOfMessagesVisible', Dimensions=[{'Name': 'QueueName', "
            "'Value': 'orders-dlq'}], Statistic='Maximum', Period=60, EvaluationPeriods=1, Threshold=0, "
            "ComparisonOperator='GreaterThanThreshold', AlarmActions=[topic_arn]).")
def check_alarm(sb: Any) -> None:
    alarm = _alarm(sb)
    wrong = []
    if (alarm.get("Namespace"), alarm.get("MetricName")) != ("AWS/SQS", "ApproximateNumberOfMessagesVisible"):
        wrong.append(f"it watches {alarm.get('Namespace')} {alarm.get('MetricName')}, not AWS/SQS "
                     "ApproximateNumberOfMessagesVisible")
    dims = {d["Name"]: d["Value"] for d in alarm.get("Dimensions") or []}
    if dims != {"QueueName": DLQ}:
        wrong.append(f"its dimensions are {dims} (expected QueueName = {DLQ})")
    op, threshold = alarm.get("ComparisonOperator"), float(alarm.get("Threshold", -1))
    if not ((op == "GreaterThanThreshold" and 0 <= threshold < 1)
            or (op == "GreaterThanOrEqualToThreshold" and 0 < threshold <= 1)):
        wrong.append(f"{op} {threshold:g} does not fire on one message")
    if int(alarm.get("Period") or 0) != 60:
        wrong.append(f"its period is {alarm.get('Period')} s, not 60")
    if _topic_arn(sb) not in (alarm.get("AlarmActions") or []):
        wrong.append(f"its AlarmActions do not include the topic {TOPIC}")
    if wrong:
        raise CheckFailed("the alarm: " + "; ".join(wrong))


def _notifications(sb: Any) -> list[dict[str, Any]]:
    out = []
    for body in queue_bodies(sb, INBOX):
        try:
            envelope = json.loads(body)
            message = json.loads(envelope.get("Message", body)) if isinstance(envelope, dict) else None
        except (TypeError, ValueError):
            continue
        if isinstance(message, dict) and message.get("AlarmName"):
            out.append(message)
    return out


@check("alarm-probe", step="monitoring",
       title="a dead letter brings a notification to ops-inbox", points=2,
       passed="A probe message in orders-dlq brought an ALARM notification to ops-inbox.",
       failed="A message in orders-dlq did not bring an ALARM notification to ops-inbox.",
       hint="Subscribe ops-inbox (protocol sqs) to ops-alerts; the alarm must watch orders-dlq.")
def check_alarm_probe(sb: Any) -> None:
    subscription(sb, TOPIC, INBOX)
    _alarm(sb)
    sqs = sb.client("sqs")
    dlq_url = queue_url(sb, DLQ)
    before = len(_notifications(sb))
    cw = sb.client("cloudwatch")
    cw.set_alarm_state(AlarmName=ALARM, StateValue="OK", StateReason="eventlab probe: reset")
    marker = probe_id("probe")
    sqs.send_message(QueueUrl=dlq_url, MessageBody=json.dumps(_order(marker, quantity=0)))
    try:
        sb.clock.advance(minutes=3)
        new = _notifications(sb)[before:]
        fired = [n for n in new if n.get("AlarmName") == ALARM and n.get("NewStateValue") == "ALARM"]
        if not fired:
            state = _alarm(sb)["StateValue"]
            raise CheckFailed(f"a message put on {DLQ} brought no ALARM notification from {ALARM} to "
                              f"{INBOX} within three minutes (the alarm is {state})" + refused_note(sb, INBOX))
    finally:
        queue(sb, DLQ)
        discard_messages(sb, DLQ, containing=marker)


# -- step 7: a WebSocket push to the checkout page ------------------------------------------
LIVE_API = "orders-live"
LIVE_ROUTE = "track"


def _live_api(sb: Any) -> dict[str, Any]:
    apis = [a for a in sb.client("apigatewayv2").get_apis()["Items"] if a.get("Name") == LIVE_API]
    if not apis:
        raise CheckFailed(f"there is no API named '{LIVE_API}' (apigatewayv2 create_api with "
                          "ProtocolType='WEBSOCKET')")
    api = apis[0]
    if api.get("ProtocolType") != "WEBSOCKET":
        raise CheckFailed(f"'{LIVE_API}' is a {api.get('ProtocolType')} API, not a WEBSOCKET API")
    return api


@check("ws-api", step="websocket", title="orders-live: a WebSocket API routed on action, stage prod",
       points=1,
       passed="orders-live selects routes by $request.body.action, has the route track and the stage prod.",
       failed="orders-live is missing, or its route selection, route or stage is not as asked.",
       hint="create_api(Name='orders-live', ProtocolType='WEBSOCKET', "
            "RouteSelectionExpression='$request.body.action'), create_route(RouteKey='track', ...), "
            "create_stage(StageName='prod', AutoDeploy=True).")
def check_ws_api(sb: Any) -> None:
    api = _live_api(sb)
    v2 = sb.client("apigatewayv2")
    wrong = []
    if api.get("RouteSelectionExpression") != "$request.body.action":
        wrong.append(f"its RouteSelectionExpression is {api.get('RouteSelectionExpression')!r}, "
                     "not '$request.body.action'")
    routes = sorted(r["RouteKey"] for r in v2.get_routes(ApiId=api["ApiId"])["Items"])
    if LIVE_ROUTE not in routes:
        wrong.append(f"it has no route '{LIVE_ROUTE}' (route keys are matched exactly; it has {routes})")
    stages = [s["StageName"] for s in v2.get_stages(ApiId=api["ApiId"])["Items"]]
    if STAGE not in stages:
        wrong.append(f"it has no stage '{STAGE}'")
    if wrong:
        raise CheckFailed(f"{LIVE_API}: " + "; ".join(wrong))


@check("ws-push", step="websocket", title="a track message is answered on its own connection",
       points=2,
       passed="A probe client sent {\"action\": \"track\", ...} and got its order's status back on "
              "the same connection.",
       failed="A probe client's track message got no status back on its connection.",
       hint="The track function posts to event['requestContext']['connectionId'] with an "
            "apigatewaymanagementapi client whose endpoint_url is 'https://' + domainName + '/' + "
            "stage; API Gateway may only invoke it with a permission (lambda add_permission).")
def check_ws_push(sb: Any) -> None:
    from websockets.exceptions import ConnectionClosed, InvalidHandshake
    from websockets.sync.client import connect

    url = _live_api(sb)["ApiEndpoint"] + f"/{STAGE}"
    order_id = probe_id("probe")
    try:
        with connect(url, open_timeout=20) as client:
            client.send(json.dumps({"action": LIVE_ROUTE, "orderId": order_id}))
            answer = client.recv(timeout=20)
    except TimeoutError:
        raise CheckFailed(f"a probe client connected to {url} and sent a track message: no answer came "
                          "back on its connection within 20 s") from None
    except (OSError, InvalidHandshake, ConnectionClosed) as exc:
        raise CheckFailed(f"a probe client could not talk to {url}: {exc}") from None
    try:
        message = json.loads(answer)
    except (TypeError, ValueError):
        raise CheckFailed(f"the answer to a track message is not JSON: {str(answer)[:200]!r}") from None
    if message == {"orderId": order_id, "status": "received"}:
        return
    if isinstance(message, dict) and message.get("message") in ("Forbidden", "Internal server error"):
        why = ("no route matched the message's action" if message["message"] == "Forbidden" else
               "the route's integration failed (the function raised, or API Gateway may not invoke it)")
        raise CheckFailed(f"API Gateway answered {message['message']!r}: {why}")
    raise CheckFailed(f"the answer to a track message for {order_id} was {str(answer)[:200]!r}, not "
                      f'{{"orderId": "{order_id}", "status": "received"}}')


CHECKS = declared_checks(globals())   # the @check functions above, in the order they are defined
