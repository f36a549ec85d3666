"""The tag vocabularies of the question bank, kept in one place.

They mirror the shared contract (CONTRACT.md, "Tags"): a question may only use these.
The validator, the coverage report, the filters and the exam's domain weights all read
from here, so a new tag is added in this module and nowhere else.
"""

from __future__ import annotations

# SAP-C02 domain -> share of the scored questions, from AWS's exam guide (checked 2026-12-06):
# https://docs.aws.amazon.com/aws-certification/latest/userguide/solutions-architect-professional-02.html
# Domain 1 Design Solutions for Organizational Complexity 26 %, Domain 2 Design for New
# Solutions 29 %, Domain 3 Continuous Improvement for Existing Solutions 25 %, Domain 4
# Accelerate Workload Migration and Modernization 20 %.  The same page gives 75 questions
# in 180 minutes, i.e. 2.4 minutes (144 s) per question.
EXAM_GUIDE_URL = (
    "https://docs.aws.amazon.com/aws-certification/latest/userguide/"
    "solutions-architect-professional-02.html"
)
DOMAIN_WEIGHTS: dict[str, float] = {
    "organizational-complexity": 0.26,
    "new-solutions": 0.29,
    "continuous-improvement": 0.25,
    "migration-modernization": 0.20,
}
DOMAINS: tuple[str, ...] = tuple(DOMAIN_WEIGHTS)

DECISIONS: tuple[str, ...] = (
    "sqs-vs-sns",
    "standard-vs-fifo",
    "kinesis-vs-sqs",
    "kinesis-vs-msk",
    "sfn-standard-vs-express",
    "eventbridge-vs-sns",
    "sync-vs-async",
    "buffer-vs-throttle",
    "pipes-vs-esm-vs-rule",
)

SERVICES: tuple[str, ...] = (
    "SQS",
    "SNS",
    "Amazon MQ",
    "EventBridge",
    "EventBridge Scheduler",
    "EventBridge Pipes",
    "AppSync",
    "Kinesis Data Streams",
    "Firehose",
    "Managed Flink",
    "MSK",
    "Step Functions",
    "API Gateway",
    "App Mesh",
    "DataSync",
    "Transfer Family",
    "AppFlow",
    "Lambda",
    "S3",
    "DynamoDB",
    "CloudWatch",
    "IAM",
    "KMS",
    "Athena",
)

TOPICS: tuple[str, ...] = (
    "fan-out",
    "event-driven-microservices",
    "real-time-analytics",
    "saga",
    "buffering",
    "kafka-streaming",
    "ordering",
    "deduplication",
    "dlq",
    "filtering",
    "cross-account",
    "security",
    "cost",
    "performance",
    "monitoring",
    "exactly-once",
    "backpressure",
    "idempotency",
    "ecommerce-scenario",
    "iot-scenario",
    "video-scenario",
    "trading-scenario",
    "multi-account-scenario",
    "migration",
)

QUESTION_TYPES: tuple[str, ...] = ("single", "multi")
DIFFICULTIES: tuple[int, ...] = (1, 2, 3)
OPTION_LETTERS: str = "ABCDEF"

# Coverage minimums of issue 8, enforced by ``eventlab quiz validate --coverage``.
MIN_QUESTIONS = 200
MIN_PER_DECISION = 12
MIN_PER_SERVICE = 4
MIN_MULTI_SHARE = 0.25
