"""EventBridge scheduled rules and EventBridge Scheduler schedules firing on the virtual clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from eventlab.sandbox.scheduler.cron import parse
from tests.sandbox.helpers import drain, make_queue

ROLE = "arn:aws:iam::123456789012:role/scheduler"


def test_rate_rule_fires_scheduled_events(sandbox: Any) -> None:
    url, arn = make_queue(sandbox, "ticks")
    events = sandbox.client("events")
    rule = events.put_rule(Name="every-5", ScheduleExpression="rate(5 minutes)")["RuleArn"]
    events.put_targets(Rule="every-5", Targets=[{"Id": "q", "Arn": arn}])
    events.put_events(Entries=[{"Source": "app", "DetailType": "x", "Detail": "{}"}])
    sandbox.clock.advance(hours=2)
    got = drain(sandbox, url)
    assert len(got) == 24  # a schedule-only rule ignores PutEvents
    event = got[0]
    assert event["source"] == "aws.events" and event["detail-type"] == "Scheduled Event"
    assert event["resources"] == [rule] and event["detail"] == {}
    assert event["account"] == "123456789012" and event["region"] == "us-east-1"
    events.disable_rule(Name="every-5")
    sandbox.clock.advance(hours=1)
    assert drain(sandbox, url) == []


def test_cron_rule_fires_at_the_right_minute(sandbox: Any) -> None:
    url, arn = make_queue(sandbox, "noon")
    events = sandbox.client("events")
    events.put_rule(Name="noon", ScheduleExpression="cron(0 12 * * ? *)")
    events.put_targets(Rule="noon", Targets=[{"Id": "q", "Arn": arn}])
    sandbox.clock.advance(days=2)
    got = drain(sandbox, url)
    assert len(got) == 2
    assert all(e["time"].endswith("T12:00:00Z") for e in got)


def test_aws_cron_features() -> None:
    start = datetime(2026, 11, 28, 20, 0, tzinfo=UTC).timestamp()

    def first(expression: str, tz: str | None = None) -> str:
        when = parse(expression, tz).next_after(start, start)
        assert when is not None
        return datetime.fromtimestamp(when, UTC).strftime("%a %Y-%m-%d %H:%M")

    assert first("cron(0 10 ? * 6L *)") == "Fri 2026-12-25 10:00"  # last Friday
    assert first("cron(15 10 ? * 2#3 *)") == "Mon 2026-12-21 10:15"  # third Monday
    assert first("cron(0 8 15W * ? *)") == "Tue 2026-12-15 08:00"
    assert first("cron(0 9 L * ? *)") == "Mon 2026-11-30 09:00"
    assert first("cron(0 9 ? * MON-FRI *)", "America/New_York") == "Mon 2026-11-30 14:00"
    assert first("cron(0/15 * * * ? *)") == "Sat 2026-11-28 20:15"


def test_scheduler_rate_with_input_and_end_date(sandbox: Any) -> None:
    url, arn = make_queue(sandbox, "jobs")
    end = sandbox.clock.now() + timedelta(minutes=31)
    sandbox.client("scheduler").create_schedule(
        Name="every-10", ScheduleExpression="rate(10 minutes)", FlexibleTimeWindow={"Mode": "OFF"},
        EndDate=end, Target={"Arn": arn, "RoleArn": ROLE,
                             "Input": '{"arn": "<aws.scheduler.schedule-arn>", "n": "<aws.scheduler.attempt-number>"}'})
    sandbox.clock.advance(hours=2)
    got = drain(sandbox, url)
    assert len(got) == 3
    assert got[0] == {"arn": "arn:aws:scheduler:us-east-1:123456789012:schedule/default/every-10",
                      "n": "1"}


def test_one_time_schedule_with_flexible_window_is_deleted(sandbox: Any, make_function: Any) -> None:
    url, arn = make_queue(sandbox, "once")
    at = (sandbox.clock.now() + timedelta(hours=1)).replace(second=0, microsecond=0)
    scheduler = sandbox.client("scheduler")
    scheduler.create_schedule(
        Name="once", ScheduleExpression=f"at({at.strftime('%Y-%m-%dT%H:%M:%S')})",
        FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 10},
        ActionAfterCompletion="DELETE",
        Target={"Arn": arn, "RoleArn": ROLE, "Input": '"<aws.scheduler.scheduled-time>"'})
    sandbox.clock.advance(minutes=64)
    assert drain(sandbox, url) == []  # the window's midpoint is at +65 minutes
    sandbox.clock.advance(minutes=2)
    assert drain(sandbox, url) == [at.strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert scheduler.list_schedules()["Schedules"] == []


def test_scheduler_retries_then_dead_letters(sandbox: Any) -> None:
    dlq, dlq_arn = make_queue(sandbox, "scheduler-dlq")
    sandbox.client("scheduler").create_schedule(
        Name="broken", ScheduleExpression="rate(1 hour)", FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": "arn:aws:sqs:us-east-1:123456789012:no-such-queue", "RoleArn": ROLE,
                "Input": '{"job": 1}', "DeadLetterConfig": {"Arn": dlq_arn},
                "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600}})
    sandbox.clock.advance(minutes=61)
    [message] = drain(sandbox, dlq, attributes=True)
    assert json.loads(message["Body"]) == {"job": 1}
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["RETRY_ATTEMPTS"] == "2"
    assert attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert attributes["TARGET_ARN"] == "arn:aws:sqs:us-east-1:123456789012:no-such-queue"
    assert attributes["SCHEDULE_ARN"].endswith(":schedule/default/broken")
    assert attributes["ERROR_CODE"] and attributes["EXECUTION_ID"]
