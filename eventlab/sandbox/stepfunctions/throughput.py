"""Step Functions' StartExecution token buckets on the virtual clock
(https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html).

Per account and region: Standard state machines' ``StartExecution`` draws from a bucket of
1,300 refilled at 300 per second in us-east-1, us-west-2 and eu-west-1 (800 at 150 per
second in the other regions: the call's region decides); Express state machines' from a bucket of
6,000 refilled at 6,000 per second, which ``StartSyncExecution`` shares here (quotas
``stepfunctions.standard.start-*`` and ``stepfunctions.express.start-*``).  An empty bucket
answers ``ThrottlingException`` ("Rate exceeded", HTTP 400) and starts nothing; the call
counts in ``AWS/States`` ``ThrottledEvents`` (dimension ``APIName``).  Every caller counts,
an EventBridge target or an SQS-driven start too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventlab.sandbox.core.capacity import Buckets, install_throttling_code, throttled


class StepFunctionsThroughputService:
    name = "stepfunctions-throughput"

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self.buckets = Buckets(sandbox)

    def install(self, patches: Any) -> None:
        install_throttling_code(patches)
        patches.after_import("moto.stepfunctions.responses", lambda: self._install(patches))

    def _install(self, patches: Any) -> None:
        from moto.stepfunctions.responses import StepFunctionResponse

        for method, api in (("start_execution", "StartExecution"), ("start_sync_execution", "StartSyncExecution")):
            patches.wrap(StepFunctionResponse, method, lambda original, api=api: self._limited(api, original),
                         f"{api} draws from the account's token bucket (Standard or Express)")

    def _limited(self, api: str, original: Callable[..., Any]) -> Callable[..., Any]:
        service = self

        def limited(handler: Any) -> Any:
            try:
                machine = handler.stepfunction_backend.describe_state_machine(handler._get_param("stateMachineArn"))
                kind = "express" if getattr(machine, "type", "STANDARD") == "EXPRESS" else "standard"
            except Exception:  # moto answers its own error for a missing machine
                return original(handler)
            if not service.buckets.take(f"stepfunctions.{kind}.start-rate", handler.current_account,
                                        burst=f"stepfunctions.{kind}.start-burst", region=handler.region):
                from eventlab.sandbox.cloudwatch.metrics import emit

                emit(service.sandbox, "AWS/States", "ThrottledEvents", 1, dimensions={"APIName": api},
                     region=handler.region)
                raise throttled()
            return original(handler)
        return limited
