"""The golden set: per lab, submissions with the outcome each must get, through
``eventlab grade`` and through ``nbgrader autograde``.

Per lab:

- ``solution``: the learner's copy with every answer filled in (full marks);
- ``untouched``: the learner's copy as released (0);
- one submission per typical mistake (:data:`MUTATIONS`), each losing exactly the points
  of the checks that test it;
- ``tampered``: the solution with a test cell deleted, one edited and a cell added with
  grade metadata (full marks, three flags);
- ``intruder``: a mistake; a cell that replaces ``check`` so that every check cell
  claims its full points; and a last cell that tries the network, a classmate's
  notebook, a file outside its folder, a process, a signal to the grader, reading the
  checks, patching the grader in its kernel and wiping the sandbox through moto's own
  API.  ``eventlab grade`` gives the mistake's score with one flag per attempt; nbgrader
  records the forged full marks, and its guard names every forged cell and attempt;
- ``broken-json`` and ``not-a-notebook`` (invalid, with the reason).

    python -m autograder.golden write DIR [LAB...]     # DIR/<lab>/submitted/... + expected.json
    python -m autograder.golden check DIR/<lab> RESULTS.json   # an eventlab grade --json run
    python -m autograder.golden audit [LAB...]         # per check: broken variants, alternatives
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from autograder import registry
from autograder.batch import source_notebook

TOTALS = registry.totals()   # lab -> its points, the sum of its checks' points


@dataclass(frozen=True)
class Mutation:
    """A mistake: in cell ``cell``, replace each ``old`` with its ``new`` (or the whole
    cell, or pass its text through ``transform``)."""

    name: str
    cell: str
    edits: tuple[tuple[str, str], ...]
    fails: frozenset[str]          # ids of the checks that must fail, no more, no less
    says: str                      # a phrase the learner must see in a failure message
    whole_cell: str | None = None
    transform: Callable[[str], str] | None = None
    extra: dict = field(default_factory=dict)


def M(name: str, cell: str, edits: list[tuple[str, str]], fails: set[str], says: str,
      whole_cell: str | None = None, transform: Callable[[str], str] | None = None) -> Mutation:
    return Mutation(name, cell, tuple(edits), frozenset(fails), says, whole_cell, transform)


_LAB01_LAB03: dict[str, list[Mutation]] = {
    "lab01": [
        M("open-queue-policy", "lab01-policies",
          [('"Principal": {"Service": "sns.amazonaws.com"}', '"Principal": "*"'),
           (',\n        "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}}]}', "}]}")],
          {"queue-policy"}, "Principal is everyone"),
        M("no-dlq", "lab01-dlq",
          [('sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": json.dumps(redrive)})',
            "pass")],
          {"dlq", "poison"}, "has no RedrivePolicy to video-dlq"),
        M("wrong-thumbnail-filter", "lab01-filters",
          [('{"event_type": ["VideoUploaded"]}', '{"event_type": ["VideoDeleted"]}')],
          {"thumbnail-filter"}, "VideoUploaded message was not delivered to thumbnails"),
        M("body-filter-on-attributes", "lab01-filters",
          [('AttributeValue="MessageBody"', 'AttributeValue="MessageAttributes"')],
          {"transcoding-filter"}, "FilterPolicyScope is not MessageBody"),
        M("handler-drops-messages", "lab01-handler",
          [('for record in event["Records"]:', 'for record in event["Records"][:1]:')],
          {"batch"}, "were never processed"),
        M("missing-subscription", "lab01-subscriptions",
          [("for name, arn in queue_arns.items():", "for name, arn in list(queue_arns.items())[:2]:")],
          {"subscriptions", "raw-delivery"}, "no subscription for: analytics"),
        # equal to the function's timeout: Lambda accepts the mapping (a shorter one it
        # refuses), but a throttled batch comes back before it could be retried
        M("short-visibility", "lab01-queues",
          [('"transcoding": 3600', '"transcoding": 600')],
          {"visibility", "timeouts"}, "transcoding has 600 s"),
        # the policy admits another topic: SNS's deliveries are refused, as on AWS
        M("star-with-another-topic", "lab01-policies",
          [('"Principal": {"Service": "sns.amazonaws.com"}', '"Principal": "*"'),
           ('{"aws:SourceArn": topic_arn}', '{"aws:SourceArn": topic_arn + "-old"}')],
          {"queue-policy", "thumbnail-filter", "transcoding-filter"}, "aws:SourceArn condition is"),
        M("service-without-condition", "lab01-policies",
          [(',\n        "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}}]}', "}]}")],
          {"queue-policy"}, "no aws:SourceArn (or aws:SourceAccount) condition"),
        M("raw-everywhere", "lab01-subscriptions",
          [('{"RawMessageDelivery": "true"} if name == "analytics" else {}',
            '{"RawMessageDelivery": "true"}')],
          {"raw-delivery"}, "raw delivery is on for thumbnails, transcoding as well as analytics"),
        # five receives before the DLQ: the redrive exists, and the poison step takes longer
        M("max-receive-5", "lab01-dlq",
          [('"maxReceiveCount": "3"', '"maxReceiveCount": "5"')],
          {"dlq", "poison"}, "maxReceiveCount 5 (expected 3)"),
        M("zero-length-uploads-transcoded", "lab01-filters",
          [('"duration_s": [{"numeric": [">", 0]}]', '"duration_s": [{"numeric": [">=", 0]}]')],
          {"filter-edges"}, "an upload of duration 0 s was delivered to transcoding"),
        M("batches-of-twenty", "lab01-consumers",
          [("FunctionName=fn, BatchSize=10)",
            "FunctionName=fn, BatchSize=20,\n                                            MaximumBatchingWindowInSeconds=1)")],
          {"mappings"}, "has BatchSize 20 (use at most 10)"),
        M("handler-ignores-envelope", "lab01-handler",
          [('        if "Message" in body and "TopicArn" in body:  # the SNS envelope\n'
            '            body = json.loads(body["Message"])\n', "")],
          {"processing"}, "failed with KeyError: 'video_id'"),
        # analytics gets bare bodies: a handler that always unwraps drops all of them
        M("handler-always-unwraps", "lab01-handler",
          [('if "Message" in body and "TopicArn" in body:', "if True:")],
          {"processing", "batch"}, "failed with KeyError: 'Message'"),
        M("poison-step-not-done", "lab01-poison", [], {"poison"}, "holds no message of yours",
          whole_cell="raise NotImplementedError()"),
        # correct alternatives: both graders give full marks
        M("star-limited-by-source-arn", "lab01-policies",
          [('"Principal": {"Service": "sns.amazonaws.com"}', '"Principal": "*"')], set(), ""),
        M("sdk-helper-policy", "lab01-policies",
          [('"Principal": {"Service": "sns.amazonaws.com"}', '"Principal": {"AWS": "*"}'),
           ('"Action": "sqs:SendMessage"', '"Action": "SQS:SendMessage"'),
           ('{"ArnEquals": {"aws:SourceArn": topic_arn}}', '{"ArnLike": {"aws:SourceArn": topic_arn}}')],
          set(), ""),
        M("limited-to-the-account", "lab01-policies",
          [('{"ArnEquals": {"aws:SourceArn": topic_arn}}',
            '{"StringEquals": {"aws:SourceAccount": topic_arn.split(":")[4]}}')], set(), ""),
        M("owner-statement-too", "lab01-policies",
          [('"Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}}]}',
            '"Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}},\n'
            '        {"Sid": "Owner", "Effect": "Allow", "Principal": {"AWS": '
            'f"arn:aws:iam::{topic_arn.split(\':\')[4]}:root"},\n'
            '         "Action": "SQS:*", "Resource": queue_arns[name]}]}')], set(), ""),
        M("raw-delivery-set-after-subscribing", "lab01-subscriptions",
          [('{"RawMessageDelivery": "true"} if name == "analytics" else {}', "{}"),
           ('ReturnSubscriptionArn=True)["SubscriptionArn"]',
            'ReturnSubscriptionArn=True)["SubscriptionArn"]\n'
            'sns.set_subscription_attributes(SubscriptionArn=subscription_arns["analytics"],\n'
            '                                AttributeName="RawMessageDelivery", AttributeValue="true")')],
          set(), ""),
        M("batching-window", "lab01-consumers",
          [("FunctionName=fn, BatchSize=10)",
            "FunctionName=fn, BatchSize=10,\n                                            MaximumBatchingWindowInSeconds=5)")],
          set(), ""),
        M("poison-in-small-steps", "lab01-poison",
          [("for _ in range(4):\n    sb.clock.advance(seconds=181)",
            "for _ in range(60):\n    sb.clock.advance(seconds=10)")], set(), ""),
    ],
    "lab03": [
        M("inventory-matches-too-much", "lab03-rules",
          [('{"orderId": [{"prefix": "ord-"}]}', '{"orderId": [{"exists": True}]}')],
          {"inventory-pattern"}, "test-... reached inventory"),
        M("payment-includes-free-orders", "lab03-rules",
          [('[{"numeric": [">", 0]}]', '[{"numeric": [">=", 0]}]')],
          {"payment-pattern"}, "of 0 (free) reached payment"),
        M("shipping-lists-values", "lab03-rules",
          [('{"fulfillment": [{"anything-but": ["digital"]}]}', '{"fulfillment": ["physical"]}')],
          {"shipping-pattern"}, "marked 'pickup' did not reach shipping"),
        M("notify-without-exists", "lab03-rules",
          [('{"customer": {"email": [{"exists": True}]}}', '{"customer": {"id": [{"exists": True}]}}')],
          {"notify-pattern"}, "without customer.email reached notification"),
        M("any-source", "lab03-rules",
          [('pattern = {"source": ["com.shop.orders"], "detail-type"', 'pattern = {"detail-type"')],
          {"source-only"}, "com.shop.test-harness"),
        M("no-transformer", "lab03-transform", [], {"transformer"}, "has no InputTransformer",
          whole_cell='events.put_targets(Rule="notify-customer", EventBusName="orders", Targets=[\n'
                     '    {"Id": "notification", "Arn": function_arns["notification"]}])'),
        M("no-target-dlq", "lab03-dlq",
          [(',\n    "DeadLetterConfig": {"Arn": dlq_arn}}])', "}])")],
          {"dlq-config", "dlq-probe"}, "no DeadLetterConfig pointing to payment-dlq"),
        # the last five minutes: the clock has moved on since the last order, so nothing
        M("replay-window-covers-nothing", "lab03-replay",
          [("EventStartTime=LAB_START,", "EventStartTime=sb.clock.now() - timedelta(minutes=5),")],
          {"replay"}, "so it replayed nothing"),
        M("archive-kept-forever", "lab03-archive",
          [("RetentionDays=30,", "RetentionDays=0,")], {"archive"}, "keeps events forever"),
        M("retry-for-a-day", "lab03-dlq",
          [('"MaximumEventAgeInSeconds": 3600', '"MaximumEventAgeInSeconds": 86400')],
          {"dlq-config"}, "MaximumEventAgeInSeconds is 86400 (expected 60-3600)"),
        M("subject-without-the-order", "lab03-transform",
          [('"subject": "Order <order> confirmed"', '"subject": "Order confirmed"')],
          {"transformer"}, '"subject": "Order confirmed"'),
        # the pipe's filter on the message's fields, not under 'body': nothing gets through
        M("pipe-filter-without-body", "lab03-pipe",
          [('json.dumps({"body": {"status": ["PLACED"]}})', 'json.dumps({"status": ["PLACED"]})')],
          {"pipe-filter", "pipe-enrich", "pipe-flow"}, "names no 'body'"),
        # no filter: drafts reach the enrichment, which fails on their null customer
        M("pipe-without-filter", "lab03-pipe",
          [('SourceParameters={"FilterCriteria": {"Filters": [\n'
            '        {"Pattern": json.dumps({"body": {"status": ["PLACED"]}})}]}},\n', "")],
          {"pipe-filter"}, "a DRAFT message reached customer-lookup (which failed"),
        # events as the pipe names them by default: no rule matches them
        M("pipe-default-source", "lab03-pipe",
          [(',\n    TargetParameters={"EventBridgeEventBusParameters": {\n'
            '        "Source": "com.shop.orders", "DetailType": "OrderPlaced"}})', ")")],
          {"pipe-enrich", "pipe-flow"}, "which the rules do not match"),
        # an enrichment written for one record: the rest of each batch goes no further
        M("enrichment-returns-one-order", "lab03-pipe",
          [("    return orders                         # one order for each record",
            "    return orders[0]                      # the first")],
          {"pipe-flow"}, "1 of 3 PLACED orders sent together reached inventory and payment"),
        # the body unwrapped by a template instead of enriched: no customer on the events
        M("pipe-without-enrichment", "lab03-pipe",
          [("    Enrichment=lookup_arn,\n", ""),
           ('TargetParameters={"EventBridgeEventBusParameters": {',
            'TargetParameters={"InputTemplate": "<$.body>", "EventBridgeEventBusParameters": {')],
          {"pipe-enrich"}, "has no Enrichment"),
        M("pipe-role-cannot-delete", "lab03-pipe",
          [('["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]',
            '["sqs:ReceiveMessage", "sqs:GetQueueAttributes"]')],
          {"pipe-role"}, "does not allow sqs:DeleteMessage"),
        M("pipe-role-for-lambda", "lab03-pipe",
          [('"Principal": {"Service": "pipes.amazonaws.com"}', '"Principal": {"Service": "lambda.amazonaws.com"}')],
          {"pipe-role"}, "not pipes.amazonaws.com"),
        M("pipe-left-stopped", "lab03-pipe",
          [('    Name="storefront-orders", RoleArn=pipe_role_arn,',
            '    Name="storefront-orders", DesiredState="STOPPED", RoleArn=pipe_role_arn,')],
          {"pipe", "pipe-filter", "pipe-enrich", "pipe-flow"}, "it is STOPPED"),
        # correct alternatives
        M("inventory-by-wildcard", "lab03-rules",
          [('{"orderId": [{"prefix": "ord-"}]}', '{"orderId": [{"wildcard": "ord-*"}]}')], set(), ""),
        M("anything-but-a-string", "lab03-rules",
          [('[{"anything-but": ["digital"]}]', '[{"anything-but": "digital"}]')], set(), ""),
        M("transformer-other-names", "lab03-transform",
          [('"InputPathsMap": {"order": "$.detail.orderId", "email": "$.detail.customer.email"}',
            '"InputPathsMap": {"id": "$.detail.orderId", "to": "$.detail.customer.email"}'),
           ('\'{"to": <email>, "subject": "Order <order> confirmed", "orderId": <order>}\'',
            '\'{"to": <to>, "subject": "Order <id> confirmed", "orderId": <id>}\'')], set(), ""),
        M("own-name-for-the-dlq-url", "lab03-dlq",
          [("dlq_url", "payment_dlq_url")], set(), ""),
        M("replay-of-the-whole-day", "lab03-replay",
          [("EventStartTime=LAB_START,", "EventStartTime=LAB_START - timedelta(days=1),")],
          set(), ""),
        M("pipe-filter-by-prefix", "lab03-pipe",
          [('{"body": {"status": ["PLACED"]}}', '{"body": {"status": [{"prefix": "PLACED"}]}}')], set(), ""),
        M("pipe-filter-ignoring-case", "lab03-pipe",
          [('{"body": {"status": ["PLACED"]}}', '{"body": {"status": [{"equals-ignore-case": "placed"}]}}')],
          set(), ""),
        # the enrichment's input template hands it the bodies, already parsed
        M("enrichment-gets-the-bodies", "lab03-pipe",
          [('order = json.loads(record["body"])', "order = dict(record)"),
           ("    Enrichment=lookup_arn,\n",
            '    Enrichment=lookup_arn, EnrichmentParameters={"InputTemplate": "<$.body>"},\n')],
          set(), ""),
        # AWS's own example: the trust limited to the account; the queue's actions by wildcard
        M("pipe-role-scoped-trust", "lab03-pipe",
          [('"Action": "sts:AssumeRole"}]}))["Role"]["Arn"]',
            '"Action": "sts:AssumeRole",\n        "Condition": {"StringEquals": {"aws:SourceAccount": '
            'bus_arn.split(":")[4]}}}]}))["Role"]["Arn"]'),
           ('["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]', '"sqs:*"')],
          set(), ""),
        # a batching window: the pipe waits up to 20 s for a fuller batch
        M("pipe-batching-window", "lab03-pipe",
          [('{"Pattern": json.dumps({"body": {"status": ["PLACED"]}})}]}},',
            '{"Pattern": json.dumps({"body": {"status": ["PLACED"]}})}]},\n'
            '        "SqsQueueParameters": {"BatchSize": 10, "MaximumBatchingWindowInSeconds": 20}},')],
          set(), ""),
    ],
}

_LAB02 = [
    # one hot key: 20 records/s in this lab, so six tries cannot get 120 through either
    M("constant-partition-key", "lab02-producer",
      [('"PartitionKey": r["device_id"]', '"PartitionKey": "telemetry"')],
      {"partition-key", "put-records"}, "have a partition key that is not their device_id"),
    M("producer-drops-throttled-entries", "lab02-producer",
      [("retry.append(entry)", "pass   # the throttled entry is dropped")],
      {"put-records"}, "never reached the stream"),
    M("consumer-never-alerts", "lab02-alerts",
      [('if reading["temperature"] > THRESHOLD:', 'if reading.get("temp", 0) > THRESHOLD:')],
      {"alert-probe"}, "produced no message in alert-inbox"),
    M("alerts-on-everything", "lab02-alerts",
      [('"THRESHOLD": "80"', '"THRESHOLD": "0"')],
      {"no-false-alert"}, "produced an alert"),
    M("prefix-without-dates", "lab02-firehose",
      [('"Prefix": "readings/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/"',
        '"Prefix": "readings/"')],
      {"date-prefix"}, "without !{timestamp:yyyy}"),
    M("no-gzip", "lab02-firehose",
      [('"CompressionFormat": "GZIP",', '"CompressionFormat": "UNCOMPRESSED",')],
      {"gzip"}, "CompressionFormat is UNCOMPRESSED"),
    M("processor-drops-records", "lab02-firehose",
      [('"result": "Ok"', '"result": "Dropped"')],
      {"delivery-probe"}, "0 of 5 probe readings"),
    M("processor-without-newline", "lab02-firehose",
      [('line = (json.dumps(reading) + "\\\\n").encode()', "line = json.dumps(reading).encode()")],
      {"delivery-probe"}, "glued together on one line"),
    M("athena-grouped-by-device", "lab02-athena",
      [("date_trunc('minute', from_unixtime(ts)) AS minute,", "max(from_unixtime(ts)) AS minute,"),
       ("GROUP BY device_id, date_trunc('minute', from_unixtime(ts))", "GROUP BY device_id")],
      {"athena-query"}, "expected one row per minute"),
    M("lag-alarm-on-average", "lab02-metrics",
      [('Statistic="Maximum", Period=60', 'Statistic="Average", Period=60')],
      {"lag-alarm"}, "use Maximum"),
    # Lambda's role: AWS would refuse to let Firehose assume it
    M("firehose-with-lambda-role", "lab02-firehose",
      [('"KinesisStreamARN": stream_arn, "RoleARN": FIREHOSE_ROLE_ARN}',
        '"KinesisStreamARN": stream_arn, "RoleARN": ROLE_ARN}'),
       ('"RoleARN": FIREHOSE_ROLE_ARN,', '"RoleARN": ROLE_ARN,')],
      {"firehose-source"}, "can be assumed only by lambda.amazonaws.com, not firehose.amazonaws.com"),
    # no stream named telemetry: every check that reads or writes the stream fails with it
    # (the stream check cannot fail alone: its only failure is "no such stream")
    M("stream-under-another-name", "lab02-stream",
      [('kinesis.create_stream(StreamName="telemetry",', 'kinesis.create_stream(StreamName="telemetry-stream",'),
       ('wait(StreamName="telemetry")', 'wait(StreamName="telemetry-stream")'),
       ('describe_stream_summary(StreamName="telemetry")', 'describe_stream_summary(StreamName="telemetry-stream")')],
      {"stream", "on-demand", "put-records", "partition-key", "mapping", "alert-probe",
       "no-false-alert", "firehose-source", "delivery-probe"},
      "there is no Kinesis data stream named 'telemetry'"),
    # four provisioned shards take the 120 readings too (20/s each), but need sizing
    M("provisioned-four-shards", "lab02-stream",
      [('StreamModeDetails={"StreamMode": "ON_DEMAND"})', "ShardCount=4)")],
      {"on-demand"}, "capacity mode is PROVISIONED"),
    # PutRecords' FailedRecordCount read as all-or-nothing: the accepted entries go twice
    M("producer-resends-the-whole-batch", "lab02-producer",
      [("            entries = retry\n", "")],
      {"put-records"}, "more than once"),
    # a disabled mapping reads nothing, so the alert probe fails with it (the mapping
    # check cannot fail alone: any mapping that exists and is enabled feeds the alerter)
    M("mapping-created-disabled", "lab02-alerts",
      [("MaximumBatchingWindowInSeconds=1)", "MaximumBatchingWindowInSeconds=1, Enabled=False)")],
      {"mapping", "alert-probe"}, "the mapping is disabled"),
    # the processor adds the newline: without it the probe's records are glued together
    M("no-processor", "lab02-firehose",
      [('"ProcessingConfiguration": {"Enabled": True,', '"ProcessingConfiguration": {"Enabled": False,')],
      {"processor", "delivery-probe"}, "no enabled Lambda processor"),
    M("processor-under-another-name", "lab02-firehose",
      [('FunctionName="telemetry-transform"', 'FunctionName="telemetry-transformer"')],
      {"processor"}, "telemetry-transform"),
    # objects under year=.../ beside readings/: the table over readings/ never sees them
    M("prefix-without-the-readings-folder", "lab02-firehose",
      [('"Prefix": "readings/year=', '"Prefix": "year=')],
      {"date-prefix"}, "not under 'readings/year=2026/month=03/day=04/'"),
    # partitions live under readings/: MSCK REPAIR at the bucket's root finds none, so the
    # query probe fails too (the table check cannot fail alone)
    M("table-over-the-whole-bucket", "lab02-athena",
      [("LOCATION 's3://telemetry-lake/readings/'", "LOCATION 's3://telemetry-lake/'")],
      {"athena-table", "athena-query"}, "LOCATION is 's3://telemetry-lake'"),
    M("dashboard-without-lag", "lab02-metrics",
      [('DashboardBody=json.dumps({"widgets": widgets})', 'DashboardBody=json.dumps({"widgets": widgets[:1]})')],
      {"dashboard"}, "no graph of IteratorAge"),
    # correct alternatives: both graders give full marks
    M("producer-while-failed-count", "lab02-producer", [], set(), "", whole_cell='''def send(readings):
    per_shard = Counter()
    for i in range(0, len(readings), 500):
        pending = [{"Data": json.dumps(r).encode(), "PartitionKey": r["device_id"]}
                   for r in readings[i:i + 500]]
        delay = 0.05
        while pending:
            answer = kinesis.put_records(StreamName="telemetry", Records=pending)
            per_shard.update(r["ShardId"] for r in answer["Records"] if "ErrorCode" not in r)
            if answer["FailedRecordCount"] == 0:
                break
            pending = [e for e, r in zip(pending, answer["Records"]) if r.get("ErrorCode")]
            sb.clock.advance(seconds=delay)
            delay = min(delay * 2, 1.0)
    return per_shard

print(send(make_readings(120)))'''),
    # the hash Kinesis would compute from the key, given explicitly: the same shards
    M("explicit-hash-key", "lab02-producer",
      [('"PartitionKey": r["device_id"]}',
        '"PartitionKey": r["device_id"],\n                    "ExplicitHashKey": '
        'str(int(hashlib.md5(r["device_id"].encode()).hexdigest(), 16))}'),
       ("def send(readings):", "import hashlib\n\ndef send(readings):")],
      set(), ""),
    M("athena-minute-by-arithmetic", "lab02-athena",
      [("date_trunc('minute', from_unixtime(ts)) AS minute,", "from_unixtime(ts - ts % 60) AS minute,"),
       ("GROUP BY device_id, date_trunc('minute', from_unixtime(ts))", "GROUP BY 1, 2"),
       ("ORDER BY device_id, minute", "ORDER BY 1, 2")],
      set(), ""),
    # one DateTimeFormatter pattern with quoted literals: the same folders
    M("prefix-as-one-pattern", "lab02-firehose",
      [('"Prefix": "readings/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/"',
        '"Prefix": "readings/!{timestamp:\'year=\'yyyy\'/month=\'MM\'/day=\'dd}/"')],
      set(), ""),
    M("mapping-at-timestamp", "lab02-alerts",
      [('StartingPosition="LATEST",',
        'StartingPosition="AT_TIMESTAMP",\n                                StartingPositionTimestamp=sb.clock.time(),')],
      set(), ""),
]

WRONG_ORDER = '''\
for name in ["ReserveFlight", "ReserveHotel", "ReserveCar"]:
    states[name]["Catch"] = [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "CancelFlight"}]
states["CancelFlight"] = {"Type": "Task", "Resource": fn["cancel-flight"], "Retry": RETRY,
                          "ResultPath": None, "Next": "CancelHotel"}
states["CancelHotel"] = {"Type": "Task", "Resource": fn["cancel-hotel"], "Retry": RETRY,
                         "ResultPath": None, "Next": "CancelCar"}
states["CancelCar"] = {"Type": "Task", "Resource": fn["cancel-car"], "Retry": RETRY,
                       "ResultPath": None, "Next": "BookingFailed"}
states["BookingFailed"] = {"Type": "Fail", "Error": "BookingFailed"}
deploy("travel-booking", states)'''

PARALLEL = '''states["Notify"] = {
    "Type": "Parallel", "ResultPath": "$.notified", "Next": "Booked",
    "Branches": [
        {"StartAt": "Email", "States": {
            "Email": {"Type": "Task", "Resource": fn["notify-email"], "End": True}}},
        {"StartAt": "Sms", "States": {
            "Sms": {"Type": "Task", "Resource": fn["notify-sms"], "End": True}}},
    ]}'''
SEQUENTIAL = '''states["Notify"] = {"Type": "Task", "Resource": fn["notify-email"],
                    "ResultPath": "$.notified", "Next": "Sms"}
states["Sms"] = {"Type": "Task", "Resource": fn["notify-sms"], "ResultPath": "$.sms",
                 "Next": "Booked"}'''

MAP_START = 'states["IssueTickets"] = {\n    "Type": "Map"'
MAP_END = '''                                   "End": True}}},
    "Next": "Notify"}'''


def _no_map(source: str) -> str:
    start = source.index(MAP_START)
    end = source.index(MAP_END) + len(MAP_END)
    task = ('states["IssueTickets"] = {"Type": "Task", "Resource": fn["issue-ticket"],\n'
            '                          "ResultPath": "$.tickets", "Next": "Notify"}')
    return source[:start] + task + source[end:]


_CATCH = '{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Cancel%s"}'
_LAB04 = [
    M("retry-without-backoff", "lab04-retry", [('"BackoffRate": 2', '"BackoffRate": 1')],
      {"retry"}, "not doubling"),
    M("retry-every-error", "lab04-retry",
      [('"ErrorEquals": ["ServiceUnavailable"]', '"ErrorEquals": ["States.ALL"]')],
      {"retry-transient-only"}, "when it failed with BookingFailed"),
    M("catch-skips-a-compensation", "lab04-saga",
      [('"ResultPath": None, "Next": "CancelHotel"}', '"ResultPath": None, "Next": "CancelFlight"}')],
      {"compensate", "approval-reject"}, "cancel-hotel never ran"),
    M("compensations-in-booking-order", "lab04-saga", [], {"compensate-order", "approval-reject"},
      "cancellations ran as cancel-flight, cancel-hotel, cancel-car", whole_cell=WRONG_ORDER),
    M("only-car-failure-injected", "lab04-inject",
      [('for item in ["flight", "hotel", "car"]:', 'for item in ["car"]:')],
      {"inject"}, "made flight, hotel fail"),
    M("no-parallel", "lab04-fanout", [(PARALLEL, SEQUENTIAL)], {"parallel"},
      "has no Parallel state"),
    M("no-map", "lab04-fanout", [], {"map"}, "has no Map state", transform=_no_map),
    M("callback-without-wait-for-task-token", "lab04-approval",
      [("sqs:sendMessage.waitForTaskToken", "sqs:sendMessage")],
      {"approval", "approval-reject"}, "did not wait for approval"),
    M("express-keeps-the-callback", "lab04-express",
      [('express_states["WaitForApproval"] = {', "unused = {")],
      {"express"}, "still has a .waitForTaskToken task"),
    # "the car is booked last, nothing can undo it": but a rejected approval must, and a
    # failed car may have half-happened. Every function is used by some step, so the
    # functions check cannot fail alone; this one drags only the two that cancel the car.
    M("no-cancel-car", "lab04-functions",
      [("for name in FUNCTIONS:", 'for name in [n for n in FUNCTIONS if n != "cancel-car"]:')],
      {"functions", "compensate", "approval-reject"}, "missing function(s): cancel-car"),
    # each result at one path: the trip SUCCEEDS, but only the car's reference is kept
    M("results-overwrite-each-other", "lab04-workflow",
      [('"ResultPath": "$.flight"', '"ResultPath": "$.booking"'),
       ('"ResultPath": "$.hotel"', '"ResultPath": "$.booking"'),
       ('"ResultPath": "$.car"', '"ResultPath": "$.booking"')],
      {"workflow"}, "has lost the reference of reserve-flight, reserve-hotel"),
    # a Catch without ResultPath replaces the input with the error (ResultPath defaults to
    # $): every cancellation runs, with no tripId to cancel
    M("catch-replaces-the-trip", "lab04-saga",
      [(_CATCH % item, (_CATCH % item).replace(' "ResultPath": "$.error",', ""))
       for item in ("Flight", "Hotel", "Car")],
      {"compensate"}, "without the trip's tripId"),
    # catches only the error the lab injects with failAt: a supplier still busy after the
    # retries (ServiceUnavailable) ends the execution with nothing cancelled
    M("catch-only-booking-failed", "lab04-saga",
      [(_CATCH % item, (_CATCH % item).replace("States.ALL", "BookingFailed"))
       for item in ("Flight", "Hotel", "Car")],
      {"compensate"}, "still busy after the retries (ServiceUnavailable), cancel-car never ran"),
    M("rejection-replaces-the-trip", "lab04-approval",
      [('"Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error",\n               "Next": "CancelCar"}]',
        '"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "CancelCar"}]')],
      {"approval-reject"}, "without the trip's tripId"),
    # correct alternatives: both graders give full marks
    # AWS's recommended Lambda retry errors beside the lab's transient one
    M("retry-also-lambda-errors", "lab04-retry",
      [('"ErrorEquals": ["ServiceUnavailable"]',
        '"ErrorEquals": ["ServiceUnavailable", "Lambda.ServiceException", "Lambda.AWSLambdaException",\n'
        '                          "Lambda.SdkClientException", "Lambda.TooManyRequestsException"]')],
      set(), ""),
    M("retry-with-max-delay", "lab04-retry",
      [('"BackoffRate": 2, "MaxAttempts": 3}]',
        '"BackoffRate": 2.0, "MaxAttempts": 3,\n          "MaxDelaySeconds": 60}]')],
      set(), ""),
    # full jitter: random waits up to the doubling delay, which AWS recommends
    M("retry-with-full-jitter", "lab04-retry",
      [('"BackoffRate": 2, "MaxAttempts": 3}]',
        '"BackoffRate": 2, "MaxAttempts": 3,\n          "JitterStrategy": "FULL"}]')],
      set(), ""),
    # States.TaskFailed matches every error a task raises except States.Timeout
    M("catch-task-failed", "lab04-saga",
      [(_CATCH % item, (_CATCH % item).replace("States.ALL", "States.TaskFailed"))
       for item in ("Flight", "Hotel", "Car")],
      set(), ""),
    M("catch-both-named-errors", "lab04-saga",
      [('"ErrorEquals": ["States.ALL"]', '"ErrorEquals": ["BookingFailed", "ServiceUnavailable"]')],
      set(), ""),
    M("result-selector-keeps-the-ref", "lab04-workflow",
      [(f'"ResultPath": "$.{item}"', f'"ResultSelector": {{"ref.$": "$.ref"}}, "ResultPath": "$.{item}"')
       for item in ("flight", "hotel", "car")],
      set(), ""),
    # the cancellations given just the trip id (what the handler reads)
    M("cancel-with-parameters", "lab04-saga",
      [(f'"Resource": fn["cancel-{item}"], "Retry": RETRY,',
        f'"Resource": fn["cancel-{item}"], "Retry": RETRY,\n'
        '                       "Parameters": {"tripId.$": "$.tripId"},')
       for item in ("car", "hotel", "flight")],
      set(), ""),
    # the optimized Lambda integration instead of the function ARN as Resource
    M("notify-through-lambda-invoke", "lab04-fanout",
      [(f'"{state}": {{"Type": "Task", "Resource": fn["notify-{kind}"], "End": True}}',
        f'"{state}": {{"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",\n'
        f'                "Parameters": {{"FunctionName": fn["notify-{kind}"], "Payload.$": "$"}},\n'
        '                "OutputPath": "$.Payload", "End": True}')
       for state, kind in (("Email", "email"), ("Sms", "sms"))],
      set(), ""),
    # the Map's older fields, which AWS still accepts: Parameters and Iterator
    M("map-with-iterator-and-parameters", "lab04-fanout",
      [('"ItemSelector": {', '"Parameters": {'),
       ('"ItemProcessor": {\n        "ProcessorConfig": {"Mode": "INLINE"}, "StartAt"',
        '"Iterator": {\n        "StartAt"')],
      set(), ""),
]


ERROR_RESPONSE = '''    ("500", "4\\\\d{2}|5\\\\d{2}", '{"error": "$input.path(\\'$.Error.Code\\')"}'),\n'''
OWN_ROLE = '''\
iam = sb.client("iam")
api_role = iam.create_role(RoleName="orders-api-sqs", AssumeRolePolicyDocument=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"Service": "apigateway.amazonaws.com"}}]}))["Role"]["Arn"]
iam.put_role_policy(RoleName="orders-api-sqs", PolicyName="orders-queue", PolicyDocument=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": queue_arn,
        "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]}]}))
'''
TRUSTING_HANDLER = '''HANDLER = """
import json

def handler(event, context):
    failures = []
    for record in event["Records"]:
        order = json.loads(record["body"])
        if int(order.get("quantity", 0)) > 0:
            print("processed", order["orderId"])
        else:
            print("failed", record["messageId"], "bad quantity")
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
"""'''

_LAB05 = [
    M("wrong-template-body", "lab05-api",
      [("MessageBody=$util.urlEncode($input.body)", "MessageBody=$util.urlEncode($input.json('$.orderId'))")],
      # the probe over SQS's size limit arrives as its orderId: no SQS error to map
      {"api-probe", "url-encoding", "api-errors", "e2e", "buffer"}, "did not get the body"),
    M("no-url-encoding", "lab05-api",
      [("MessageBody=$util.urlEncode($input.body)", "MessageBody=$input.body")],
      {"url-encoding"}, "fragile & heavy"),
    M("no-content-type", "lab05-api",
      [("""    requestParameters={"integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"},\n""",
        "")],
      {"content-type", "api-probe", "url-encoding", "e2e", "buffer"},
      "maps no integration.request.header.Content-Type"),
    M("max-receive-3", "lab05-queues",
      [('"maxReceiveCount": "5"', '"maxReceiveCount": "3"')],
      {"dlq", "e2e"}, "maxReceiveCount is 3, not 5"),
    M("handler-drops-messages", "lab05-handler",
      [('failures.append({"itemIdentifier": record["messageId"]})', "pass  # logged, not reported")],
      {"handler", "e2e"}, "reported no failures"),
    M("no-report-batch-item-failures", "lab05-consumer",
      [(',\n    FunctionResponseTypes=["ReportBatchItemFailures"])', ")")],
      {"mapping", "e2e"}, "no FunctionResponseTypes ['ReportBatchItemFailures']"),
    M("no-batching-window", "lab05-buffer",
      [("BatchSize=1000,\n                                          MaximumBatchingWindowInSeconds=300)",
        "BatchSize=10)"),
       ('mapping["MaximumBatchingWindowInSeconds"]', "mapping.get('MaximumBatchingWindowInSeconds')")],
      {"buffer"}, "the consumer kept pace"),
    M("alarm-on-main-queue", "lab05-monitoring",
      [('Dimensions=[{"Name": "QueueName", "Value": "orders-dlq"}]',
        'Dimensions=[{"Name": "QueueName", "Value": "orders-queue"}]')],
      {"alarm", "alarm-probe"}, "expected QueueName = orders-dlq"),
    M("alarm-on-age-metric", "lab05-monitoring",
      [('MetricName="ApproximateNumberOfMessagesVisible",\n    Dimensions=[{"Name": "QueueName", "Value": "orders-dlq"}]',
        'MetricName="ApproximateAgeOfOldestMessage",\n    Dimensions=[{"Name": "QueueName", "Value": "orders-dlq"}]')],
      {"alarm"}, "ApproximateAgeOfOldestMessage"),
    M("integration-with-lambda-role", "lab05-api",
      [("credentials=APIGATEWAY_ROLE_ARN,", "credentials=ROLE_ARN,")],
      {"api"}, "can be assumed only by lambda.amazonaws.com, not apigateway.amazonaws.com"),
    # the DLQ with SQS's default retention (4 days), not the 14 days the step asks for
    M("dlq-default-retention", "lab05-queues",
      [('QueueName="orders-dlq",\n                           Attributes={"MessageRetentionPeriod": "1209600"})',
        'QueueName="orders-dlq")')],
      {"queues"}, "keeps messages 345600 s (4 days)"),
    # 6 x the function timeout, but the step-5 batching window forgotten (graded on the
    # final mapping, which has the window)
    # its own API Gateway role, with the consumer's permissions copied: no sqs:SendMessage
    M("integration-role-without-send", "lab05-api",
      [("credentials=APIGATEWAY_ROLE_ARN,", "credentials=api_role,"),
       ("apigw.put_integration(\n", OWN_ROLE + "apigw.put_integration(\n")],
      {"api"}, "does not allow sqs:SendMessage"),
    # only the default (202) response: SQS's 400 reaches the caller as a success
    M("no-error-response", "lab05-api",
      [(ERROR_RESPONSE, "")],
      {"api-errors"}, "yet POST /orders answered 202"),
    # errors mapped for 5xx only: SQS answers 400 to a message it refuses
    M("errors-mapped-for-5xx-only", "lab05-api",
      [(ERROR_RESPONSE, ERROR_RESPONSE.replace('"4\\\\d{2}|5\\\\d{2}"', '"5\\\\d{2}"'))],
      {"api-errors"}, "yet POST /orders answered 202"),
    # the topic and the inbox exist, but the inbox never subscribed: the alarm tells nobody
    M("inbox-not-subscribed", "lab05-monitoring",
      [('sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=inbox_arn)\n', "")],
      {"alarm-probe"}, "no sqs subscription connects topic 'ops-alerts'"),
    # a handler that trusts every body: a record that is not JSON raises and fails the batch
    M("handler-trusts-the-body", "lab05-handler", [], {"handler"}, "the handler raised",
      whole_cell=TRUSTING_HANDLER),
    # a route key in another case: route keys match exactly, so the message finds no route
    M("ws-route-key-case", "lab05-websocket", [('RouteKey="track"', 'RouteKey="Track"')],
      {"ws-api", "ws-push"}, "it has no route 'track'"),
    # no permission for API Gateway to invoke the function: the integration fails
    M("ws-no-permission", "lab05-websocket",
      [('lam.add_permission(FunctionName="order-tracker", StatementId="orders-live",',
        'dict(FunctionName="order-tracker", StatementId="orders-live",')],
      {"ws-push"}, "Internal server error"),
    # correct alternatives
    M("action-uri-variant", "lab05-api",
      [('uri=f"arn:aws:apigateway:{REGION}:sqs:path/{ACCOUNT}/orders-queue",',
        'uri=f"arn:aws:apigateway:{REGION}:sqs:action/SendMessage",'),
       ("""requestParameters={"integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"},""",
        """requestParameters={"integration.request.header.Content-Type": "'application/x-www-form-urlencoded'",\n"""
        """                       "integration.request.querystring.QueueUrl": f"'{queue_url}'"},""")],
      set(), ""),
    # Action as a query string parameter, only the body in the template
    M("action-in-the-query-string", "lab05-api",
      [("""requestParameters={"integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"},""",
        """requestParameters={"integration.request.header.Content-Type": "'application/x-www-form-urlencoded'",\n"""
        """                       "integration.request.querystring.Action": "'SendMessage'"},"""),
       ('"Action=SendMessage&MessageBody=$util.urlEncode($input.body)"',
        '"MessageBody=$util.urlEncode($input.body)"')],
      set(), ""),
    # the form's fields in another order: Action last (AWS reads a form in any order)
    M("action-after-the-body", "lab05-api",
      [('"Action=SendMessage&MessageBody=$util.urlEncode($input.body)"',
        '"MessageBody=$util.urlEncode($input.body)&Action=SendMessage"')],
      set(), ""),
    # the header name in lower case, the media type with its charset (what boto3 sends SQS)
    M("content-type-with-charset", "lab05-api",
      [("""{"integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"}""",
        """{"integration.request.header.content-type":\n"""
        """                           "'application/x-www-form-urlencoded; charset=utf-8'"}""")],
      set(), ""),
    # the body re-serialized by $input.json('$') (compact JSON: the same order)
    M("template-json-of-the-body", "lab05-api",
      [('"Action=SendMessage&MessageBody=$util.urlEncode($input.body)"',
        '"Action=SendMessage&MessageBody=$util.urlEncode($input.json(\'$\'))"')],
      set(), ""),
    # the buffering settings already when the mapping is created (step 5 then changes nothing)
    M("batching-window-from-the-start", "lab05-consumer",
      [("BatchSize=10,\n", "BatchSize=1000, MaximumBatchingWindowInSeconds=300,\n")],
      set(), ""),
]

PRODUCE = 'producer.produce("trades", key=trade["symbol"], value=json.dumps(trade))'
SETTLE_WRITE = '                value=json.dumps({"id": trade["id"], "by": name}))'
ANALYTICS_LOOP = '''\
analytics = Consumer({"bootstrap.servers": bootstrap, "group.id": "analytics",
                      "enable.auto.commit": False, "auto.offset.reset": "earliest", **QUIET})
analytics.subscribe(["trades"])
done = 0
for _ in range(200):
    batch = [m for m in analytics.consume(100, timeout=0.1) if m.error() is None]
    if batch:
        done += len(batch)
        analytics.commit(asynchronous=False)
    elif caught_up(analytics):
        break
analytics.close()
print(done, "read; lag", tools.describe_group(bootstrap, "analytics").total_lag)'''
DASHBOARD_LOOP = '''\
def poll_one(name, consumer):
    msg = consumer.poll(0.05)
    if msg is not None and msg.error() is None:
        read[name] += 1
        try:
            consumer.commit(message=msg, asynchronous=False)
        except KafkaException:   # a rebalance took the partition: it is read again
            pass

dash1 = dashboard_consumer("dash-1")
rounds = 0
while not read["dash-1"] and rounds < 200:
    poll_one("dash-1", dash1)
    rounds += 1
dash2 = dashboard_consumer("dash-2")
for _ in range(2000):
    poll_one("dash-1", dash1)
    poll_one("dash-2", dash2)
    if all(c.assignment() and caught_up(c) for c in (dash1, dash2)):
        break
'''
_LAB06 = [
    M("random-key", "lab06-produce",
      [(PRODUCE, PRODUCE.replace('key=trade["symbol"]', "key=str(random.random())"))],
      # a symbol's trades arrive out of order from several partitions: the windows drop some
      {"keyed", "bars"}, "are not keyed by their symbol"),
    M("constant-key", "lab06-produce",
      [(PRODUCE, PRODUCE.replace('key=trade["symbol"]', 'key="trades"'))],
      {"keyed"}, "keys seen: 'trades'"),
    M("one-partition", "lab06-topic",
      [('NewTopic("trades", num_partitions=6,', 'NewTopic("trades", num_partitions=1,')],
      {"topic", "topic-probe", "split"}, "has 1 partition(s)"),
    M("one-group", "lab06-analytics",
      [('"analytics"', '"dashboard"')],
      {"analytics-group", "two-groups"}, "no consumer group 'analytics'"),
    M("five-minute-window", "lab06-ohlc",
      [("window=timedelta(minutes=1)", "window=timedelta(minutes=5)")],
      {"bars"}, "instead of 1 minute"),
    M("commit-before-processing", "lab06-settle",
      [("    for i, msg in enumerate(batch):",
        "    consumer.commit(asynchronous=False)\n    for i, msg in enumerate(batch):"),
       ("    out.flush()\n    consumer.commit(asynchronous=False)", "    out.flush()")],
      {"settled"}, "committed but not processed"),
    # each message committed as soon as its settlement is produced, flushed only at the
    # end of the batch: the crash loses the settlements still in the producer
    M("commit-before-flush", "lab06-settle",
      [(SETTLE_WRITE, SETTLE_WRITE + "\n        consumer.commit(message=msg, asynchronous=False)"),
       ("    out.flush()\n    consumer.commit(asynchronous=False)", "    out.flush()")],
      {"settled"}, "not flushed before the commit"),
    M("settlements-without-key", "lab06-settle",
      [('out.produce("settlements", key=msg.key(),', 'out.produce("settlements",')],
      {"settled"}, "do not carry their trade's key"),
    # auto-commit is off and handle_batch never commits: the next settler starts over
    M("settlement-never-commits", "lab06-settle",
      [("    out.flush()\n    consumer.commit(asynchronous=False)", "    out.flush()")],
      {"redelivered"}, "group 'settlement' has not committed all the trades"),
    # create_cluster_v2 with Provisioned: an MSK cluster, but not the serverless one asked for
    M("provisioned-cluster", "lab06-cluster",
      [('Serverless={\n    "VpcConfigs": [{"SubnetIds": ["subnet-a", "subnet-b"], "SecurityGroupIds": ["sg-kafka"]}],',
        'Provisioned={\n    "KafkaVersion": "3.6.0", "NumberOfBrokerNodes": 2,\n'
        '    "BrokerNodeGroupInfo": {"InstanceType": "kafka.m7g.large",\n'
        '                            "ClientSubnets": ["subnet-a", "subnet-b"], "SecurityGroups": ["sg-kafka"]},')],
      {"cluster"}, "is a PROVISIONED cluster, not a serverless one"),
    # BufferError handled as the client's docs show, but the retry dedented out of the
    # except: every trade is produced twice in a row
    M("retry-outside-except", "lab06-produce",
      [("    " + PRODUCE, "    try:\n        " + PRODUCE + "\n    except BufferError:\n"
        "        producer.poll(1)\n    " + PRODUCE)],
      {"ordering"}, "were produced more than once"),
    # the produce cell run twice (a notebook habit): the second copy of each minute comes
    # after its window closed, so the bars drop it too
    M("trades-produced-twice", "lab06-produce",
      [("for trade in TRADES:\n    " + PRODUCE, "for trade in TRADES + TRADES:\n    " + PRODUCE)],
      {"ordering", "bars"}, "were produced more than once"),
    M("analytics-reads-one-batch", "lab06-analytics",
      [('rest = tools.consume(bootstrap, "trades", "analytics", max_messages=backlog)', "rest = []")],
      {"analytics-group"}, "group 'analytics' has not committed all the trades"),
    # its own reads instead of poll(): auto-commit is off and nothing commits
    M("dashboard-never-commits", "lab06-dashboard",
      [('    poll("dash-1", dash1)', '    read["dash-1"] += len(dash1.consume(100, timeout=0.1))'),
       ("        poll(name, consumer)", "        read[name] += len(consumer.consume(100, timeout=0.1))")],
      {"dashboard-committed"}, "group 'dashboard' has not committed all the trades"),
    # two partitions "for two dashboard consumers": no room for a third consumer per group
    M("two-partitions", "lab06-topic",
      [('NewTopic("trades", num_partitions=6,', 'NewTopic("trades", num_partitions=2,')],
      {"topic"}, "has 2 partition(s)"),
    # tidy, but the check looks at the live group: no member is left to own a partition
    M("dashboard-consumers-closed", "lab06-dashboard", [], {"split"}, "0 live member(s)",
      transform=lambda src: src + "\ndash1.close()\ndash2.close()"),
    # correct alternatives
    M("commit-per-message-after-flush", "lab06-settle",
      [(SETTLE_WRITE, SETTLE_WRITE + "\n        out.flush()\n"
                      "        consumer.commit(message=msg, asynchronous=False)"),
       ("    out.flush()\n    consumer.commit(asynchronous=False)", "")],
      set(), ""),
    M("commit-explicit-offsets-after-flush", "lab06-settle",
      [("    out.flush()\n    consumer.commit(asynchronous=False)",
        "    out.flush()\n"
        "    last = {(m.topic(), m.partition()): m.offset() for m in batch}\n"
        "    consumer.commit(offsets=[TopicPartition(t, p, o + 1) for (t, p), o in last.items()],\n"
        "                    asynchronous=False)"),
       ("def handle_batch(", "from confluent_kafka import TopicPartition\n\ndef handle_batch(")],
      set(), ""),
    # its own partition per symbol (still keyed by the symbol): order per symbol is kept
    M("explicit-partition-per-symbol", "lab06-produce",
      [(PRODUCE, 'producer.produce("trades", key=trade["symbol"], value=json.dumps(trade),\n'
                 '                     partition=sorted(prices).index(trade["symbol"]))')],
      set(), ""),
    M("produce-with-the-lab-tools", "lab06-produce",
      [("for trade in TRADES:\n    " + PRODUCE + "\nproducer.flush()",
        'tools.produce(bootstrap, "trades", [(t["symbol"], json.dumps(t)) for t in TRADES])')],
      set(), ""),
    M("analytics-with-own-consumer", "lab06-analytics", [], set(), "", whole_cell=ANALYTICS_LOOP),
    M("dashboard-one-message-polls", "lab06-dashboard", [], set(), "",
      transform=lambda src: src[:src.index("dash1 = dashboard_consumer")] + DASHBOARD_LOOP),
]

_LAB07 = [
    M("no-cap", "lab07-consumer",
      [('lam.put_function_concurrency(FunctionName="order-processor", ReservedConcurrentExecutions=2)\n', ""),
       ('    ScalingConfig={"MaximumConcurrency": 2},\n', "")],
      {"cap", "backend-rate", "drain", "alarms-fired"}, "neither the mapping's ScalingConfig.MaximumConcurrency"),
    # AWS's documented trap: reserved concurrency below the mapping's 5 starting pollers
    M("reserved-concurrency-only", "lab07-consumer",
      [('    ScalingConfig={"MaximumConcurrency": 2},\n', "")],
      {"no-loss", "drain", "alarms-fired", "dlq-clean"}, "good orders of the burst are in orders-dlq"),
    M("max-receive-2", "lab07-queues",
      [('"maxReceiveCount": "5"', '"maxReceiveCount": "2"')],
      {"dlq"}, "maxReceiveCount is 2"),
    M("no-report-batch-item-failures", "lab07-consumer",
      [(',\n    FunctionResponseTypes=["ReportBatchItemFailures"])', ")")],
      {"mapping", "alarms-fired", "dlq-clean"}, "no FunctionResponseTypes ['ReportBatchItemFailures']"),
    M("handler-raises", "lab07-handler",
      [('failures.append({"itemIdentifier": record["messageId"]})', "raise")],
      {"handler", "no-loss", "drain", "alarms-fired", "dlq-clean"},
      "the handler raised on a batch with one bad order"),
    M("short-visibility", "lab07-queues",
      [('"VisibilityTimeout": "200"', '"VisibilityTimeout": "60"')],
      {"mapping"}, "visibility timeout is 60 s"),
    M("backlog-without-drain", "lab07-predict",
      [("backlog = (BURST_RATE - drain_rate) * BURST_SECONDS", "backlog = BURST_RATE * BURST_SECONDS")],
      {"drain"}, "you predicted 150 s"),
    M("age-alarm-too-late", "lab07-alarms",
      [('"orders-queue", 60)', '"orders-queue", 600)')],
      {"age-alarm", "alarms-fired"}, "does not fire when the oldest order has waited more than 60 s"),
    # the DLQ alarm waits for ten dead letters: the checks' six bad orders never raise it
    M("dlq-alarm-at-ten", "lab07-alarms",
      [('"orders-dlq", 0)', '"orders-dlq", 10)')],
      {"dlq-alarm", "alarms-fired"}, "does not fire on one message"),
    # the prediction stays in a variable the checks cannot read
    M("prediction-not-recorded", "lab07-predict",
      [('sqs.tag_queue(QueueUrl=queue_url, Tags={"PredictedDrainSeconds": str(PREDICTED_DRAIN_S)})\n', "")],
      {"prediction", "drain"}, "PredictedDrainSeconds"),
    # correct variants: the mapping's cap alone; smaller batches with a shorter window
    M("maximum-concurrency-only", "lab07-consumer",
      [('lam.put_function_concurrency(FunctionName="order-processor", ReservedConcurrentExecutions=2)\n', "")],
      set(), ""),
    M("small-batches", "lab07-consumer",
      [("BatchSize=10, MaximumBatchingWindowInSeconds=5,", "BatchSize=4, MaximumBatchingWindowInSeconds=1,")],
      set(), ""),
    # step 7: the workers scaled on the backlog per task
    M("tracks-queue-depth", "lab07-scaling",
      [("**BACKLOG_METRIC,", '"Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",')],
      {"backlog-policy"}, "not the backlog per task"),
    M("scale-to-zero", "lab07-scaling",
      [("MinCapacity=1,", "MinCapacity=0,")],
      {"scalable-target", "workers-ready"}, "MinCapacity is 0"),
    # the target is the whole burst: a backlog per task never above it, so never a scale-out
    M("target-too-high", "lab07-scaling",
      [('"TargetValue": ACCEPTABLE_BACKLOG,', '"TargetValue": 600.0,')],
      {"backlog-policy", "scaled-out-in", "workers-drain"}, "the target value is 600"),
    M("max-tasks-past-the-warehouse", "lab07-scaling",
      [("MaxCapacity=MAX_TASKS)", "MaxCapacity=20)")],
      {"scalable-target", "workers-rate"}, "MaxCapacity 20"),
    M("no-scale-in", "lab07-scaling",
      [('"TargetValue": ACCEPTABLE_BACKLOG,', '"TargetValue": ACCEPTABLE_BACKLOG, "DisableScaleIn": True,')],
      {"scaled-out-in"}, "not back at MinCapacity 1"),
    # correct: a shorter acceptable latency (a lower target) scales sooner
    M("lower-target", "lab07-scaling",
      [('"TargetValue": ACCEPTABLE_BACKLOG,', '"TargetValue": ACCEPTABLE_BACKLOG / 2,')],
      set(), ""),
]

CENTRAL_GRANT = ('events.put_permission(EventBusName="central-bus", Action="events:PutEvents", Principal="*",\n'
                 '                      StatementId="organisation",\n'
                 '                      Condition={"Type": "StringEquals", "Key": "aws:PrincipalOrgID", "Value": ORG_ID})')
OWNER_GRANT = 'Principal=CENTRAL, StatementId="from-central")'
_LAB08 = [
    # Principal "*" and no condition: every AWS account may publish
    M("open-central-policy", "lab08-central",
      [(',\n                      Condition={"Type": "StringEquals", "Key": "aws:PrincipalOrgID", "Value": ORG_ID})', ")")],
      {"outsider-out"}, "the bus policy lets everyone in"),
    M("no-central-policy", "lab08-central", [(CENTRAL_GRANT, "")],
      {"members-in"}, "PutEvents was refused (AccessDeniedException)"),
    # the security team granted the wrong account: every forward to it is refused
    M("security-bus-grants-another-account", "lab08-accounts",
      [(OWNER_GRANT, 'Principal=CENTRAL if account is workload else WORKLOAD, StatementId="from-central")')],
      {"security-bus", "findings-routed", "replay"}, "does not allow account 123456789012"),
    M("orders-inbox-without-queue-policy", "lab08-accounts",
      [("    allow_events(q, url, [rule_arn])", "    if account is security:\n        allow_events(q, url, [rule_arn])")],
      {"orders-bus", "orders-routed"}, "did not reach orders-inbox in account 111111111111"),
    M("no-forwarding-role", "lab08-routing", [(', "RoleArn": role_arn,', ",")],
      {"forwarding-role"}, "has no RoleArn"),
    M("orders-to-the-security-bus", "lab08-routing",
      [('("order-events", "acme.orders", bus_arn(WORKLOAD, "orders-bus"))',
        '("order-events", "acme.orders", bus_arn(SECURITY, "security-bus"))')],
      {"orders-routed", "forwarding-role"}, "rule order-events has no target"),
    M("no-dead-letter-queue", "lab08-routing",
      [('"RoleArn": role_arn,\n        "DeadLetterConfig": {"Arn": queue_arn(sqs, dlq_url)}}])', '"RoleArn": role_arn}])')],
      {"dead-letters"}, "is not in central-dlq"),
    # the DLQ exists but EventBridge may not send to it: the dead letter is dropped too
    M("dead-letter-queue-without-policy", "lab08-routing", [("allow_events(sqs, dlq_url, rule_arns)", "")],
      {"dead-letters"}, "is not in central-dlq"),
    M("archive-on-the-default-bus", "lab08-archive",
      [("EventSourceArn=central_bus,", 'EventSourceArn=events.describe_event_bus()["Arn"],')],
      {"your-replay", "replay"}, "archives arn:aws:events:us-east-1:123456789012:event-bus/default"),
    M("replay-never-run", "lab08-replay",
      [("events.start_replay(", "dict("),
       ('print(events.describe_replay(ReplayName="findings-again")["State"])', 'print("replayed?")')],
      {"your-replay"}, "replays of central-archive"),
    M("alarm-without-the-bus-dimension", "lab08-alarms",
      [('[{"Name": "EventBusName", "Value": "central-bus"}, {"Name": "RuleName", "Value": rule}]',
        '[{"Name": "RuleName", "Value": rule}]')],
      {"alarms", "alarm-fired"}, "a rule of a custom bus publishes with EventBusName"),
    # correct alternatives: the organisation's accounts listed one by one (AWS accepts an
    # account id as the Principal of PutPermission); the owners' buses open to the organisation;
    # the whole policy written as a document; an alarm at >= 1; an archive with a pattern
    M("central-policy-by-account-list", "lab08-central",
      [(CENTRAL_GRANT, "for member in (WORKLOAD, SECURITY):\n"
                       '    events.put_permission(EventBusName="central-bus", Action="events:PutEvents",\n'
                       '                          Principal=member, StatementId=f"member-{member}")')],
      set(), ""),
    M("owner-buses-open-to-the-organisation", "lab08-accounts",
      [(OWNER_GRANT, 'Principal="*", StatementId="from-central",\n'
                     '                          Condition={"Type": "StringEquals", "Key": "aws:PrincipalOrgID",\n'
                     '                                     "Value": ORG_ID})')],
      set(), ""),
    M("central-policy-as-a-document", "lab08-central",
      [(CENTRAL_GRANT, 'events.put_permission(EventBusName="central-bus", Policy=json.dumps({\n'
                       '    "Version": "2012-10-17", "Statement": [{\n'
                       '        "Sid": "organisation", "Effect": "Allow", "Principal": "*",\n'
                       '        "Action": "events:PutEvents", "Resource": central_bus,\n'
                       '        "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG_ID}}}]}))')],
      set(), ""),
    M("alarm-at-or-above-one", "lab08-alarms",
      [("Threshold=0,", "Threshold=1,"), ('ComparisonOperator="GreaterThanThreshold"',
                                          'ComparisonOperator="GreaterThanOrEqualToThreshold"')],
      set(), ""),
    M("archive-with-a-pattern", "lab08-archive",
      [("RetentionDays=30)", 'RetentionDays=30,\n'
                             '                                            EventPattern=json.dumps({"source": ["acme.security", "acme.orders"]}))')],
      set(), ""),
]

MUTATIONS: dict[str, list[Mutation]] = {**_LAB01_LAB03, "lab02": _LAB02, "lab04": _LAB04,
                                        "lab05": _LAB05, "lab06": _LAB06,
                                        "lab07": _LAB07, "lab08": _LAB08}


# -- submissions ---------------------------------------------------------------------------
def learner_notebook(lab: str) -> Path:
    from eventlab.paths import labs_dir

    folder = registry.lab(lab).folder
    return labs_dir() / "learner" / folder / f"{folder}.ipynb"


def _strip_markers(text: str) -> str:
    return "\n".join(line for line in text.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def filled(lab: str, learner: Path | None = None) -> nbformat.NotebookNode:
    """The learner's copy with every solution cell answered as the source answers it."""
    nb = nbformat.read(learner or learner_notebook(lab), as_version=4)
    src = nbformat.read(source_notebook(lab), as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in src.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = _strip_markers(answers[meta["grade_id"]])
    return nb


def mutate(nb: nbformat.NotebookNode, m: Mutation) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == m.cell]
    if not cells:
        raise ValueError(f"{m.name}: no cell {m.cell}")
    cell = cells[0]
    if m.whole_cell is not None:
        cell.source = m.whole_cell
    if m.transform is not None:
        cell.source = m.transform(cell.source)
    for old, new in m.edits:
        if old not in cell.source:
            raise ValueError(f"{m.name}: {old!r} not in cell {m.cell}")
        cell.source = cell.source.replace(old, new)
    return nb


def points(lab: str, ids: Any) -> float:
    from autograder.lab import checks_of

    return float(sum(c.points for c in checks_of(lab) if c.id in ids))


def _cell(source: str, cell_id: str) -> nbformat.NotebookNode:
    """A code cell with a fixed id, so that the golden set is the same on every write."""
    cell = nbformat.v4.new_code_cell(source)
    cell.id = cell_id
    return cell


def _test_cells(nb: nbformat.NotebookNode) -> list[Any]:
    from autograder.nbgrader_guard import test_cells

    return list(test_cells(nb).values())


def tampered(nb: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, list[str], list[str], float]:
    """The first test cell deleted, the second edited to claim its points, a bonus cell
    with grade metadata added as the fourth cell; the flags ``eventlab grade`` must
    report, the nbgrader guard's lines, and the points nbgrader loses (the deleted cell's)."""
    nb = copy.deepcopy(nb)
    first, second = _test_cells(nb)[:2]
    gone, edited = first.metadata["nbgrader"]["grade_id"], second.metadata["nbgrader"]["grade_id"]
    lost = float(first.metadata["nbgrader"]["points"])
    nb.cells.remove(first)
    second.source = f"{second.metadata['nbgrader']['points']}"
    bonus = _cell("100.0", "golden-bonus")
    bonus.metadata["nbgrader"] = {"grade": True, "grade_id": "bonus", "points": 100,
                                  "locked": False, "solution": False, "schema_version": 3}
    nb.cells.insert(3, bonus)
    return nb, [
        "cell 4 carries grade metadata (grade_id 'bonus') that is not in the lab: its metadata "
        "was removed and it earns nothing",
        f"test cell {edited} was edited: restored from the lab's source",
        f"test cell {gone} was deleted: put back from the lab's source",
    ], [
        "cell 4 carries grade_id bonus, which the source does not have (added by the learner; "
        "not graded)",
        f"test cell {edited} was edited (nbgrader restored the original before grading)",
        f"test cell {gone} was deleted (it scored 0)",
    ], lost


INTRUDER = '''\
# Everything below is refused while grading; each attempt is reported.
import json, os, subprocess, urllib.request
import autograder.checks as _checks, autograder.lab as _lab
attempts = {}
for name, act in {
    "network": lambda: urllib.request.urlopen("http://example.com/", timeout=2),
    "classmate": lambda: open(CLASSMATE).read(),
    "outside": lambda: open(OUTSIDE, "w").write("x"),
    "process": lambda: subprocess.run(["true"]),
    "signal": lambda: os.kill(os.getppid(), 15),
    "checks": lambda: open(CHECKS).read(),
    "wipe": lambda: urllib.request.urlopen(urllib.request.Request(
        sb.endpoint_url + "/moto-api/reset", data=b"", method="POST")),
}.items():
    try:
        act()
        attempts[name] = "done"
    except Exception as exc:
        attempts[name] = type(exc).__name__
# and patch the grader in this kernel, then print a perfect report
_checks.run_check = lambda check, sandbox: _checks.Result(
    check.id, check.step, check.title, check.points, check.points, True, "ok", check.hint,
    check.hidden)
_lab.grade_report = lambda lab: None
print("EVENTLAB-GRADE-JSON:" + json.dumps({"score": 100, "points": 100, "results": []}))
print(attempts)
'''


FORGER = '''\
# From here on, every check claims its full points, whatever the sandbox holds.
class _Claim:
    def __init__(self, step):
        self.step = step
    def add(self, results):
        return self
    @property
    def score(self):
        return float(POINTS[self.step])
check = lambda step: _Claim(step)
hidden = lambda step: []
'''


def intruder(nb: nbformat.NotebookNode, lab: str, classmate: Path, outside: Path
             ) -> tuple[nbformat.NotebookNode, list[str], list[str]]:
    """A notebook that forges its check cells' scores (right after its set-up cell) and
    ends with a cell of attacks; the flags ``eventlab grade`` must report, and the
    nbgrader guard's lines (the same refusals, and each forged test cell)."""
    from autograder.nbgrader_guard import CHECK_STEP
    from eventlab.paths import project_root

    checks = project_root() / "autograder" / "labs" / f"{lab}.py"
    nb = copy.deepcopy(nb)
    tests = [(CHECK_STEP.search(c.source), c.metadata["nbgrader"]) for c in _test_cells(nb)]
    per_step = {m.group(1): meta["points"] for m, meta in tests if m}
    setup = next(i for i, c in enumerate(nb.cells)
                 if c.metadata.get("nbgrader", {}).get("grade_id", "").endswith("-setup"))
    nb.cells.insert(setup + 1, _cell(f"POINTS = {per_step!r}\n" + FORGER, "golden-forger"))
    forged = [f"test cell {meta['grade_id']} shows {float(meta['points']):g} points, but its "
              "checks, run outside the kernel, gave nothing: the notebook changed its own verdict"
              for m, meta in tests if m]
    nb.cells.append(_cell(
        f"CLASSMATE = {str(classmate)!r}\nOUTSIDE = {str(outside)!r}\nCHECKS = {str(checks)!r}\n"
        + INTRUDER, "golden-attacks"))
    return nb, [
        "refused: network: look up example.com",
        f"refused: read other students' work or the grader's files: read {classmate.resolve()}",
        f"refused: write outside its folder: write {outside.resolve()}",
        "refused: process: start a process (subprocess.Popen ['true'])",
        "refused: process: signal a process that is not its own",
        f"refused: read other students' work or the grader's files: read {checks.resolve()}",
        "refused: tampering: POST /moto-api/reset",
    ], forged


@dataclass
class Case:
    """A golden submission and what each grader must make of it."""

    student: str
    score: float                    # eventlab grade
    status: str
    fails: list[str] | None         # the checks that must fail (None: do not compare)
    flags: list[str]
    notebook: Any = None            # a NotebookNode, or raw text for a file that is not one
    nbgrader_score: float | None = None    # nbgrader autograde (it records 0 for a non-notebook)
    guard: list[str] = field(default_factory=list)   # nbgrader_guard's lines, prefix removed

    def expected(self) -> dict[str, Any]:
        return {"score": self.score, "status": self.status, "fails": self.fails,
                "flags": sorted(self.flags), "nbgrader": {"score": self.nbgrader_score,
                                                          "guard": sorted(self.guard)}}


def cases(lab: str, submitted: Path, outside: Path) -> list[Case]:
    """The golden set for ``lab``, for a class folder ``submitted`` (paths in the
    intruder's cell and flags point there)."""
    from autograder.lab import checks_of

    total = TOTALS[lab]
    every = sorted(c.id for c in checks_of(lab) if c.points)
    folder = registry.lab(lab).folder
    released = learner_notebook(lab)
    good = filled(lab, released)
    out = [Case("solution", total, "graded", [], [], good, total),
           Case("untouched", 0.0, "graded", every, [], nbformat.read(released, as_version=4), 0.0)]
    for m in MUTATIONS[lab]:
        score = total - points(lab, m.fails)
        out.append(Case(m.name, score, "graded", sorted(m.fails), [], mutate(good, m), score))
    nb, flags, guard, lost = tampered(good)
    out.append(Case("tampered", total, "graded-with-flags", [], flags, nb, total - lost, guard))
    first = next(m for m in MUTATIONS[lab] if m.fails)
    classmate = submitted / "solution" / folder / f"{folder}.ipynb"
    nb, flags, forged = intruder(mutate(good, first), lab, classmate, outside)
    score = total - points(lab, first.fails)
    # nbgrader records what the forged cells show; its guard names each of them
    out.append(Case("intruder", score, "graded-with-flags", sorted(first.fails), flags, nb,
                    total, flags + forged))
    out.append(Case("broken-json", 0.0, "invalid-notebook", every,
                    [f"{folder}.ipynb is not valid JSON (line 1, column 12: Expecting value)"],
                    '{"cells": [', 0.0, ["not graded: the submitted file is not valid JSON"]))
    out.append(Case("not-a-notebook", 0.0, "invalid-notebook", every,
                    [f"{folder}.ipynb is JSON but not a notebook (no 'cells' and 'nbformat')"],
                    '{"name": "my essay"}', 0.0,
                    ["not graded: the submitted file is JSON but not a notebook"]))
    return out


def write(root: Path, lab: str) -> list[Case]:
    """``root/submitted/<student>/<lab folder>/<lab folder>.ipynb`` and ``root/expected.json``."""
    folder = registry.lab(lab).folder
    submitted = root / "submitted"
    found = cases(lab, submitted.resolve(), (root / "outside.txt").resolve())
    for case in found:
        path = submitted / case.student / folder / f"{folder}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(case.notebook, str):
            path.write_text(case.notebook)
        else:
            nbformat.write(case.notebook, path)
    (root / "expected.json").write_text(json.dumps(
        {c.student: c.expected() for c in found}, indent=2) + "\n")
    return found


def compare(expected: dict[str, dict[str, Any]], outcomes: list[dict[str, Any]]) -> list[str]:
    """What differs between a run's outcomes and the golden expectations (empty: none)."""
    got = {o["student"]: o for o in outcomes}
    problems = [f"{s}: not graded" for s in expected if s not in got]
    for student, want in expected.items():
        o = got.get(student)
        if o is None:
            continue
        failed = sorted(r["id"] for r in o["results"] if not r["ok"] and r["points"])
        for key, value in (("score", o["score"]), ("status", o["status"]),
                           ("flags", sorted(o["flags"]))):
            if value != want[key]:
                problems.append(f"{student}: {key} is {value!r}, expected {want[key]!r}")
        if want["fails"] is not None and failed != want["fails"]:
            problems.append(f"{student}: failed {failed}, expected {want['fails']}")
    return problems


def audit(lab: str) -> str:
    """The mutation audit's table for ``lab``: for each graded check, the broken variants
    that must fail it (tests/labs/test_grading.py proves both graders catch them), and the
    correct alternatives every check must accept."""
    from autograder.lab import checks_of

    alternatives = [m.name for m in MUTATIONS[lab] if not m.fails]
    rows = [f"{lab}: {len(MUTATIONS[lab]) - len(alternatives)} broken variants, "
            f"{len(alternatives)} correct alternatives ({', '.join(alternatives) or 'none'})",
            f"{'check':<22} {'points':>6}  broken variants that lose it"]
    for c in checks_of(lab):
        if not c.points:
            continue
        caught = [m.name for m in MUTATIONS[lab] if c.id in m.fails]
        rows.append(f"{c.id:<22} {c.points:>6g}  {', '.join(caught) or 'NONE YET'}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["audit"]:
        for lab in argv[1:] or list(registry.LABS):
            print(audit(lab) + "\n")
        return 0
    if len(argv) >= 2 and argv[0] == "write":
        root = Path(argv[1])
        for lab in argv[2:] or list(registry.LABS):
            found = write(root / lab, lab)
            print(f"{root / lab}: {len(found)} submissions and expected.json")
        return 0
    if len(argv) == 3 and argv[0] == "check":
        expected = json.loads((Path(argv[1]) / "expected.json").read_text())
        problems = compare(expected, json.loads(Path(argv[2]).read_text()))
        for line in problems:
            print(line)
        print("every outcome is as expected" if not problems else f"{len(problems)} difference(s)")
        return 1 if problems else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
