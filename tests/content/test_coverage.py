"""Every item the study guide lists is taught under a heading that exists.

The list below is taken from the study guide (/work/shared/reference/study-guide.md): its
services (core and supporting, plus the ones its key-concepts section covers), the seven
decision points, the six architecture patterns, the six scenarios, the high-priority topics,
the complex scenarios and the scenario-based question types.  Each maps to one or more
content headings (``file.md#anchor``).  The test fails naming every item whose heading is
missing.

Anchors are computed here by a tiny local helper with the GitHub slug rule of the shared
contract; the integrator will switch it to ``eventlab.content`` once both content branches
are merged.  Set EVENTLAB_CONTENT_DIR to check another copy of the notes (for example a
temporary merge of both content branches).
"""

from __future__ import annotations

import os
from pathlib import Path

from eventlab.content import check_link, slugify

CONTENT_DIR = Path(
    os.environ.get("EVENTLAB_CONTENT_DIR", Path(__file__).resolve().parents[2] / "content")
)

# (kind, item as the guide names it, headings that teach it)
COVERAGE: list[tuple[str, str, tuple[str, ...]]] = [
    # Core services
    ("core service", "Amazon SQS", ("queues-and-notifications.md#amazon-sqs",)),
    ("core service", "Amazon SNS", ("queues-and-notifications.md#amazon-sns",)),
    ("core service", "Amazon EventBridge", ("events.md#amazon-eventbridge",)),
    ("core service", "Amazon Kinesis Data Streams", ("streams.md#kinesis-data-streams",)),
    ("core service", "Amazon Kinesis Data Firehose", ("streams.md#amazon-data-firehose",)),
    # Supporting services
    ("supporting service", "AWS Step Functions", ("workflows.md#aws-step-functions",)),
    ("supporting service", "Amazon MSK", ("streams.md#amazon-msk",)),
    ("supporting service", "AWS AppSync", ("events.md#aws-appsync",)),
    ("supporting service", "Amazon API Gateway", ("apis.md#amazon-api-gateway",)),
    ("supporting service", "Amazon MQ", ("queues-and-notifications.md#amazon-mq",)),
    ("supporting service", "AWS DataSync", ("data-transfer.md#aws-datasync",)),
    ("supporting service", "AWS Transfer Family", ("data-transfer.md#aws-transfer-family",)),
    # Covered by the guide's key concepts
    ("service", "Amazon Kinesis Data Analytics", ("streams.md#managed-service-for-apache-flink",)),
    ("service", "Amazon EventBridge Scheduler", ("events.md#eventbridge-scheduler",)),
    ("service", "EventBridge Pipes", ("events.md#eventbridge-pipes",)),
    ("service", "AWS App Mesh", ("apis.md#aws-app-mesh",)),
    ("service", "AWS AppFlow", ("data-transfer.md#amazon-appflow",)),
    # Decision points
    ("decision point", "SQS vs. SNS", ("decision-points.md#sqs-vs-sns",)),
    ("decision point", "Standard vs. FIFO", ("decision-points.md#sqs-standard-vs-fifo",)),
    ("decision point", "Kinesis vs. SQS", ("decision-points.md#kinesis-data-streams-vs-sqs",)),
    ("decision point", "Kinesis vs. MSK", ("decision-points.md#kinesis-data-streams-vs-msk",)),
    (
        "decision point",
        "Step Functions Standard vs. Express",
        ("decision-points.md#step-functions-standard-vs-express",),
    ),
    ("decision point", "EventBridge vs. SNS", ("decision-points.md#eventbridge-vs-sns",)),
    (
        "decision point",
        "Synchronous vs. Asynchronous",
        ("decision-points.md#synchronous-vs-asynchronous",),
    ),
    # Architecture patterns
    (
        "pattern",
        "Event-Driven Microservices with EventBridge",
        ("patterns.md#event-driven-microservices",),
    ),
    (
        "pattern",
        "Real-Time Analytics Pipeline with Kinesis",
        ("patterns.md#real-time-analytics-pipeline",),
    ),
    ("pattern", "Fan-Out Pattern with SNS and SQS", ("patterns.md#fan-out",)),
    ("pattern", "Saga Pattern with Step Functions", ("patterns.md#saga",)),
    ("pattern", "Message Buffering with SQS", ("patterns.md#message-buffering",)),
    (
        "pattern",
        "Stream Processing with Kafka (MSK)",
        ("patterns.md#stream-processing-with-kafka",),
    ),
    # Scenarios
    ("scenario", "E-Commerce Order Processing", ("scenarios.md#e-commerce-order-processing",)),
    ("scenario", "Real-Time IoT Data Processing", ("scenarios.md#real-time-iot-data-processing",)),
    ("scenario", "Microservices Saga with Step Functions", ("scenarios.md#microservices-saga",)),
    ("scenario", "Video Processing Pipeline", ("scenarios.md#video-processing-pipeline",)),
    (
        "scenario",
        "Financial Trading Platform with MSK",
        ("scenarios.md#financial-trading-platform",),
    ),
    (
        "scenario",
        "Multi-Account Event-Driven Architecture",
        ("scenarios.md#multi-account-event-driven-architecture",),
    ),
    # High-priority topics
    (
        "high-priority topic",
        "SQS vs. SNS vs. EventBridge",
        ("decision-points.md#sqs-vs-sns", "decision-points.md#eventbridge-vs-sns"),
    ),
    (
        "high-priority topic",
        "Kinesis Data Streams vs. Firehose",
        ("exam-focus.md#kinesis-data-streams-vs-firehose", "streams.md#amazon-data-firehose"),
    ),
    ("high-priority topic", "Kinesis vs. MSK", ("decision-points.md#kinesis-data-streams-vs-msk",)),
    (
        "high-priority topic",
        "Step Functions for workflow orchestration",
        ("workflows.md#aws-step-functions", "patterns.md#saga"),
    ),
    ("high-priority topic", "Fan-out patterns", ("patterns.md#fan-out",)),
    (
        "high-priority topic",
        "Error handling (DLQs, retries, compensating transactions)",
        ("patterns.md#message-buffering", "patterns.md#saga"),
    ),
    (
        "high-priority topic",
        "Ordering guarantees",
        (
            "decision-points.md#sqs-standard-vs-fifo",
            "decision-points.md#kinesis-data-streams-vs-sqs",
        ),
    ),
    (
        "high-priority topic",
        "At-least-once vs. exactly-once delivery",
        ("exam-focus.md#at-least-once-vs-exactly-once-delivery",),
    ),
    # Complex scenarios to master
    (
        "complex scenario",
        "Event-Driven Microservices",
        ("exam-focus.md#event-driven-microservices",),
    ),
    ("complex scenario", "Real-Time Analytics", ("exam-focus.md#real-time-analytics",)),
    ("complex scenario", "Workflow Orchestration", ("exam-focus.md#workflow-orchestration",)),
    (
        "complex scenario",
        "Backpressure and Buffering",
        ("exam-focus.md#backpressure-and-buffering",),
    ),
    ("complex scenario", "Fan-Out Patterns", ("exam-focus.md#fan-out",)),
    # Scenario-based question types
    (
        "question type",
        "Choose messaging service based on requirements",
        ("exam-focus.md#choosing-a-messaging-service-from-requirements",),
    ),
    (
        "question type",
        "Integrate on-premises and AWS systems",
        ("exam-focus.md#integrating-on-premises-and-aws",),
    ),
    # The exam-focus page's own mandatory sections
    ("exam focus", "High-Priority Topics", ("exam-focus.md#high-priority-topics",)),
    ("exam focus", "Complex scenarios", ("exam-focus.md#complex-scenarios",)),
]


def _missing(target: str) -> str | None:
    return check_link(target, root=CONTENT_DIR)


def test_slug_rule_matches_the_contract() -> None:
    assert slugify("SQS Standard vs FIFO") == "sqs-standard-vs-fifo"
    assert slugify("At-least-once vs. exactly-once delivery") == (
        "at-least-once-vs-exactly-once-delivery"
    )


def test_every_study_guide_item_has_a_teaching_heading() -> None:
    problems = [
        f"{kind} '{item}': {reason}"
        for kind, item, targets in COVERAGE
        for target in targets
        if (reason := _missing(target))
    ]
    assert not problems, "study-guide items without a heading to teach them:\n" + "\n".join(
        problems
    )
