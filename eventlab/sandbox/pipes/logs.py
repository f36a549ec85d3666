"""A pipe's execution log (``LogConfiguration``), written to CloudWatch Logs.

Following https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-logs.html and
eb-pipes-logs-schema.html: each execution step of a batch (an *execution*) is one record
``{executionId, timestamp, messageType, resourceArn, logLevel, payload?, error?}``.
``Level`` chooses which steps are written: ``ERROR`` the failures, ``INFO`` also the
execution and stage starts and successes, ``TRACE`` also each invocation (the
transformation steps are not written).  ``IncludeExecutionData: ["ALL"]`` adds ``payload``.  Only
``CloudwatchLogsLogDestination`` is written (S3 and Firehose destinations are not); the log
stream is named after the pipe.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eventlab.sandbox.core.sandbox import Sandbox

LEVELS = {"OFF": 0, "ERROR": 1, "INFO": 2, "TRACE": 3}
STEP_LEVEL = {
    "ExecutionStarted": "INFO", "ExecutionSucceeded": "INFO", "ExecutionFailed": "ERROR",
    "EnrichmentStageEntered": "INFO", "EnrichmentStageSucceeded": "INFO", "EnrichmentStageFailed": "ERROR",
    "EnrichmentInvocationStarted": "TRACE", "EnrichmentInvocationSucceeded": "TRACE",
    "EnrichmentInvocationFailed": "ERROR",
    "TargetStageEntered": "INFO", "TargetStageSucceeded": "INFO", "TargetStageFailed": "ERROR",
    "TargetStagePartiallyFailed": "ERROR",
    "TargetInvocationStarted": "TRACE", "TargetInvocationSucceeded": "TRACE",
    "TargetInvocationFailed": "ERROR", "TargetInvocationPartiallyFailed": "ERROR",
}


class ExecutionLog:
    """The log records of one execution of a pipe (nothing when logging is off)."""

    def __init__(self, sb: Sandbox, pipe: Any) -> None:
        config = pipe.log_configuration or {}
        self.sb = sb
        self.pipe = pipe
        self.level = LEVELS.get(str(config.get("Level") or "OFF").upper(), 0)
        self.group = ((config.get("CloudwatchLogsLogDestination") or {}).get("LogGroupArn") or "")
        self.with_data = "ALL" in (config.get("IncludeExecutionData") or [])
        self.execution_id = str(uuid.uuid4())

    def step(self, message_type: str, payload: Any = None, error: str | None = None) -> None:
        level = STEP_LEVEL[message_type]
        if not self.group or LEVELS[level] > self.level:
            return
        record: dict[str, Any] = {
            "executionId": self.execution_id, "timestamp": int(self.sb.clock.time() * 1000),
            "messageType": message_type, "resourceArn": self.pipe.arn, "logLevel": level}
        if self.with_data and payload is not None:
            record["payload"] = json.dumps(payload)
        if error:
            record["error"] = {"message": error, "details": "", "awsService": "",
                               "requestId": "", "httpStatusCode": 0}
        self._write(json.dumps(record))

    def _write(self, line: str) -> None:
        # arn:aws:logs:REGION:ACCOUNT:log-group:NAME[:*]
        parts = self.group.split(":")
        name = parts[6] if len(parts) > 6 else self.group
        logs = self.sb.client("logs", parts[3] if len(parts) > 3 else None, parts[4] if len(parts) > 4 else None)
        stream = self.pipe.name
        try:
            logs.create_log_stream(logGroupName=name, logStreamName=stream)
        except logs.exceptions.ResourceAlreadyExistsException:
            pass
        except logs.exceptions.ResourceNotFoundException:
            return   # the log group is gone: AWS drops the record too
        logs.put_log_events(logGroupName=name, logStreamName=stream, logEvents=[
            {"timestamp": int(self.sb.clock.time() * 1000), "message": line}])
