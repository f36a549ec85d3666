"""The services that fill moto's gaps, in the order they are installed.

Each is a class with a ``name``, ``install(patches)`` (its changes to moto, through the
PatchSet), optionally ``poll() -> bool`` (its part of the delivery pump) and ``close()``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eventlab.sandbox.core.sandbox import Sandbox

# module:Class, installed in this order; a poller's position is its turn in the pump.
SERVICES = [
    "eventlab.sandbox.iam.accounts:AccountsService",
    "eventlab.sandbox.awslambda.service:LambdaService",
    "eventlab.sandbox.awslambda.esm.sqs:SQSService",
    "eventlab.sandbox.sqs.deep:DeepQueuesService",
    "eventlab.sandbox.awslambda.esm.kinesis:KinesisService",
    "eventlab.sandbox.kinesis.throughput:KinesisThroughputService",
    "eventlab.sandbox.sns.lambda_delivery:SNSLambdaService",
    "eventlab.sandbox.sns.fifo:SNSFifoService",
    "eventlab.sandbox.sns.envelope:SNSEnvelopeService",
    "eventlab.sandbox.sqs.fifo_sequence:FifoSequenceService",
    "eventlab.sandbox.sqs.throughput:SQSThroughputService",
    "eventlab.sandbox.sns.throughput:SNSThroughputService",
    "eventlab.sandbox.events.targets:EventsTargetsService",
    "eventlab.sandbox.events.throughput:EventsThroughputService",
    "eventlab.sandbox.events.pattern:EventPatternService",
    "eventlab.sandbox.stepfunctions.service:StepFunctionsService",
    "eventlab.sandbox.stepfunctions.throughput:StepFunctionsThroughputService",
    "eventlab.sandbox.firehose.service:FirehoseService",
    "eventlab.sandbox.athena.service:AthenaService",
    "eventlab.sandbox.apigateway.service:ApiGatewayService",
    "eventlab.sandbox.pipes.service:PipesService",
    # after the services above, so that its counters wrap their versions of moto's methods
    "eventlab.sandbox.cloudwatch.metrics:MetricsService",
    "eventlab.sandbox.cloudwatch.alarms:AlarmsService",
    "eventlab.sandbox.appscaling.service:AppScalingService",
    "eventlab.sandbox.scheduler.service:SchedulesService",
    "eventlab.sandbox.msk.service:MSKService",
    "eventlab.sandbox.datasync.service:DataSyncService",
    "eventlab.sandbox.ecs.workers:EcsWorkersService",
    "eventlab.sandbox.core.faults:FaultsService",
    "eventlab.sandbox.fis.service:FisService",
    # last: its SNS delivery check wraps the metrics counters (a refusal counts as Failed)
    "eventlab.sandbox.iam.enforce:PoliciesService",
    "eventlab.sandbox.iam.s3_destinations:S3DestinationsService",
    "eventlab.sandbox.iam.identity:IdentityService",   # installs nothing unless iam="enforce"
]


def install_all(sandbox: Sandbox) -> list[Any]:
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
