"""The services that fill moto's gaps, in the order they are installed.

Each is a class with a ``name``, ``install(patches)`` (its changes to moto, through the
PatchSet), optionally ``poll() -> bool`` (its part of the delivery pump) and ``close()``.
"""

from __future__ import annotations

import importlib
from typing import Any

# module:Class, installed in this order; a poller's position is its turn in the pump.
SERVICES = [
    "eventlab.sandbox.lambda_service:LambdaService",
    "eventlab.sandbox.sqs_esm:SQSService",
    "eventlab.sandbox.kinesis_esm:KinesisService",
    "eventlab.sandbox.sns_lambda:SNSLambdaService",
    "eventlab.sandbox.sns_fifo:SNSFifoService",
    "eventlab.sandbox.sns_envelope:SNSEnvelopeService",
    "eventlab.sandbox.fifo_sequence:FifoSequenceService",
    "eventlab.sandbox.events_targets:EventsTargetsService",
    "eventlab.sandbox.events_pattern:EventPatternService",
    "eventlab.sandbox.stepfunctions:StepFunctionsService",
    "eventlab.sandbox.firehose:FirehoseService",
    "eventlab.sandbox.athena:AthenaService",
    "eventlab.sandbox.apigateway:ApiGatewayService",
    # after the services above, so that its counters wrap their versions of moto's methods
    "eventlab.sandbox.metrics:MetricsService",
    "eventlab.sandbox.alarms:AlarmsService",
    "eventlab.sandbox.appscaling:AppScalingService",
    "eventlab.sandbox.schedules:SchedulesService",
    "eventlab.sandbox.msk:MSKService",
    "eventlab.sandbox.datasync:DataSyncService",
]


def install_all(sandbox: Any) -> list[Any]:
    installed: list[Any] = []
    sandbox._services = installed  # so that a service can find those installed before it
    for spec in SERVICES:
        module_name, _, class_name = spec.partition(":")
        cls = getattr(importlib.import_module(module_name), class_name)
        service = cls(sandbox)
        service.install(sandbox.patches)
        installed.append(service)
        if hasattr(service, "poll"):
            sandbox.pump.add(service)
    return installed
