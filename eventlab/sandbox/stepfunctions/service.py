"""Step Functions in the sandbox: moto's interpreter, on the virtual clock, settled.

moto (with ``execute_state_machine``) runs executions with an interpreter derived from
LocalStack's (``moto/stepfunctions/parser``): Task (Lambda and the sqs/sns/dynamodb
integrations), Retry/Catch, Choice, Parallel, Map, Wait, ``.waitForTaskToken``, with a
real execution history.  This module makes it fit the sandbox:

* **Virtual time.**  ``Wait`` states (``Seconds``, ``SecondsPath``, ``Timestamp``,
  ``TimestampPath``) sleep on the clock; so does Retry back-off (``IntervalSeconds``,
  ``BackoffRate``, ``MaxDelaySeconds``, via the time shim of
  :class:`~eventlab.sandbox.core.patches.MotoTimeSweeper`), the polling of ``.sync``
  integrations, and the timeouts of states and executions.  An hour-long Wait ends when
  ``clock.advance(hours=1)`` passes it, in milliseconds.
* **Settled requests.**  Every execution thread counts as busy while it works and idle
  while it waits (:mod:`eventlab.sandbox.stepfunctions.threads`), so when ``StartExecution``,
  ``SendTaskSuccess`` or ``clock.advance`` returns, each execution has run as far as it
  can without more time passing.
* **Names.**  An execution started without ``name`` gets a UUID, as on AWS (moto
  would name it ``None``, and a second one would collide).
* **StartSyncExecution** runs an EXPRESS state machine to the end and answers with
  ``status``/``output``/``error``/``cause``/``billingDetails``; on a STANDARD state
  machine it fails with ``StateMachineTypeNotSupported`` as AWS does.  Time the execution
  waits for (a Wait state, a retry) passes on the clock at once, as the call blocks.
"""

from __future__ import annotations

import datetime
import json
import math
import re
import uuid
from typing import TYPE_CHECKING, Any

from moto.core.exceptions import AWSError
from moto.stepfunctions.parser.api import SyncExecutionStatus

from eventlab.sandbox.core.patches import SLEEPY_TIME_SHIM
from eventlab.sandbox.stepfunctions.threads import latch_methods, make_primitives, threading_module

SYNC_URL_BASE = r"https?://sync-states\.(.+)\.amazonaws.com"
EXPRESS_MAX_SECONDS = 300.0  # an Express execution runs for at most five minutes
EXPRESS_BILLED_MEMORY_MB = 64  # the smallest memory step Express bills

_PARSER = "moto.stepfunctions.parser"
# Modules whose ``threading`` name is pointed at the clock-aware stand-in.
_THREADING_MODULES = (
    "asl.component.program.program",
    "asl.component.test_state.program.test_state_program",
    "asl.component.state.exec.state_map.iteration.inline_iteration_component",
    "asl.component.state.exec.state_map.iteration.job",
    "asl.component.state.exec.state_task.service.state_task_service_callback",
    "asl.component.state.exec.state_parallel.branch_worker",
    "asl.component.state.exec.state_parallel.branches_decl",
    "asl.component.state.exec.execute_state",
)

if TYPE_CHECKING:
    from eventlab.sandbox.core.patches import PatchSet
    from eventlab.sandbox.core.sandbox import Sandbox
# Modules that did ``from threading import Thread`` / ``Event``.
_THREAD_NAME_MODULES = ("asl.component.state.exec.execute_state", "backend.execution_worker")
_EVENT_NAME_MODULES = ("asl.eval.callback.callback",)


class StateMachineTypeNotSupported(AWSError):
    TYPE = "StateMachineTypeNotSupported"
    STATUS = 400


class _Stopped:
    """``is_set()`` once the execution (or its frame) stops running: interrupts a Wait."""

    def __init__(self, env: Any) -> None:
        self._env = env

    def is_set(self) -> bool:
        return not self._env.is_running()


class StepFunctionsService:
    name = "stepfunctions"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.clock = sandbox.clock
        self.HandoffEvent, self.BusyThread = make_primitives(self.clock)

    # -- installation --------------------------------------------------------------
    def install(self, patches: PatchSet) -> None:
        # Routing for StartSyncExecution is cheap and must be there before any request; the
        # interpreter's patches wait until moto imports the interpreter (about a second of
        # imports that a sandbox without Step Functions never pays for).
        self._install_sync_execution(patches)
        patches.defer_package_init(
            "moto.batch", "the interpreter's Batch task needs only moto.batch.utils; the package's "
            "__init__ imports moto's Batch and EC2 models (about a second) on first real use")
        patches.after_import("moto.stepfunctions.parser.models",
                             lambda: self._install_interpreter(patches))
        patches.after_import(f"{_PARSER}.api", lambda: _install_error_codes(patches))

    def _install_interpreter(self, patches: PatchSet) -> None:
        import importlib

        module = lambda name: importlib.import_module(f"{_PARSER}.{name}")  # noqa: E731
        shim = threading_module(self.HandoffEvent, self.BusyThread)
        for name in _THREADING_MODULES:
            patches.replace(module(name), "threading", shim,
                            "execution threads count as busy on the clock; their waits are idle")
        for name in _THREAD_NAME_MODULES:
            patches.replace(module(name), "Thread", self.BusyThread,
                            "execution threads count as busy on the clock")
        for name in _EVENT_NAME_MODULES:
            patches.replace(module(name), "Event", self.HandoffEvent,
                            "waiting for a task token is idle; SendTaskSuccess hands over")

        latch_cls = module("asl.eval.count_down_latch").CountDownLatch
        for attr, value in latch_methods(self.HandoffEvent).items():
            patches.replace(latch_cls, attr, value,
                            "Parallel/Map waiting for branches is idle, with hand-off")

        clock = self.clock

        def _wait_interval(wait_fn: Any, env: Any, wait_seconds: int) -> None:
            if wait_seconds > 0:
                clock.sleep(wait_seconds, interrupt=_Stopped(env))

        patches.replace(module("asl.component.state.wait.wait_function.wait_function").WaitFunction,
                        "_wait_interval", _wait_interval,
                        "Wait states wait on the virtual clock, not for real")

        # `.sync` integrations poll every 0.5 s: in virtual time, idle in between.
        patches.replace(module("asl.component.state.exec.state_task.service.state_task_service_callback"),
                        "time", SLEEPY_TIME_SHIM, ".sync polling sleeps on the virtual clock")

        self._install_names(patches)
        self._install_outcomes(patches)
        # The interpreter's modules were imported just now: point their time at the clock
        # before the first execution starts.
        self.sandbox.sweeper.sweep()

    def _install_names(self, patches: PatchSet) -> None:
        from moto.stepfunctions.parser.models import StepFunctionsParserBackend

        def make_start(original: Any) -> Any:
            def start_execution(backend: Any, state_machine_arn: str, name: str | None = None,
                                execution_input: str | None = None, trace_header: str | None = None) -> Any:
                if not name:
                    name = str(uuid.uuid4())  # AWS names an unnamed execution with a UUID
                return original(backend, state_machine_arn, name, execution_input, trace_header)
            return start_execution

        patches.wrap(StepFunctionsParserBackend, "start_execution", make_start,
                     "an execution started without a name gets a UUID (moto uses 'None')")

    def _install_outcomes(self, patches: PatchSet) -> None:
        from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
        from moto.stepfunctions.parser.backend.execution import (
            BaseExecutionWorkerCommunication,
            ExecutionWorker,
        )
        from moto.stepfunctions.parser.models import StepFunctionsParserBackend

        def make_reflect(original: Any) -> Any:
            def reflect(comm: Any) -> None:
                original(comm)
                execution = comm.execution
                if execution.exec_status == "SUCCEEDED":
                    # DescribeExecution passes a str through as if it were JSON already:
                    # a state machine whose output is "done" must answer '"done"'.
                    execution.output = to_json_str(execution.output, separators=(",", ":"))
            return reflect

        patches.wrap(BaseExecutionWorkerCommunication, "_reflect_execution_status", make_reflect,
                     "an execution's output is JSON text, also when it is a string or null")

        def make_worker_start(original: Any) -> Any:
            def start(worker: Any) -> None:
                thread = self.BusyThread(target=worker._execution_logic, daemon=True,
                                         name="eventlab-sfn-execution")
                worker.eventlab_thread = thread
                thread.start()
            return start

        patches.wrap(ExecutionWorker, "start", make_worker_start,
                     "the execution's thread is kept, so that StopExecution can wait for it")

        def make_stop(original: Any) -> Any:
            def stop_execution(backend: Any, execution_arn: str) -> Any:
                execution = original(backend, execution_arn)
                thread = getattr(getattr(execution, "exec_worker", None), "eventlab_thread", None)
                if thread is not None:
                    # A stopped Wait notices within 50 ms; answer once the execution is ABORTED.
                    thread._eventlab_finished.wait(5.0)
                return execution
            return stop_execution

        patches.wrap(StepFunctionsParserBackend, "stop_execution", make_stop,
                     "StopExecution returns once the execution is ABORTED, as on AWS")

    def _install_sync_execution(self, patches: PatchSet) -> None:
        import moto.backend_index as backend_index
        import moto.stepfunctions.urls as sfn_urls
        from moto.stepfunctions.responses import StepFunctionResponse

        patches.replace(sfn_urls, "url_bases", [*sfn_urls.url_bases, SYNC_URL_BASE],
                        "StartSyncExecution's sync-states endpoint reaches the Step Functions mock")
        patches.replace(backend_index, "backend_url_patterns",
                        [*backend_index.backend_url_patterns, ("stepfunctions", re.compile(SYNC_URL_BASE))],
                        "StartSyncExecution's sync-states endpoint reaches the Step Functions mock")
        service = self

        def start_sync_execution(response: Any) -> Any:
            from moto.core.responses import ActionResult

            return ActionResult(service.start_sync_execution(
                response.stepfunction_backend,
                response._get_param("stateMachineArn"),
                name=response._get_param("name"),
                execution_input=response._get_param("input", if_none="{}"),
                trace_header=response._get_param("traceHeader"),
            ))

        patches.replace(StepFunctionResponse, "start_sync_execution", start_sync_execution,
                        "StartSyncExecution runs EXPRESS state machines (moto answers 404)")

    # -- StartSyncExecution --------------------------------------------------------
    def start_sync_execution(self, backend: Any, state_machine_arn: str, *, name: str | None,
                             execution_input: str, trace_header: str | None) -> dict[str, Any]:
        from moto.stepfunctions.exceptions import InvalidExecutionInput
        from moto.stepfunctions.parser.api import ExecutionStatus
        from moto.stepfunctions.parser.backend.execution import SyncExecution

        state_machine = backend.describe_state_machine(state_machine_arn)
        if getattr(state_machine, "type", "STANDARD") != "EXPRESS":
            raise StateMachineTypeNotSupported(
                "This operation is not supported by this type of state machine")
        try:
            json.loads(execution_input)
        except ValueError as exc:
            raise InvalidExecutionInput(str(exc)) from exc
        name = name or str(uuid.uuid4())
        arn = (f"arn:{backend.partition}:states:{backend.region_name}:{backend.account_id}:express:"
               f"{state_machine.name}:{name}:{uuid.uuid4()}")
        execution = SyncExecution(
            name=name, sm_type=state_machine.sm_type, role_arn=state_machine.roleArn,
            exec_arn=arn, account_id=backend.account_id, region_name=backend.region_name,
            state_machine=state_machine,
            start_date=datetime.datetime.fromtimestamp(self.clock.time(), tz=datetime.UTC),
            cloud_watch_logging_session=None, activity_store={}, input_data=execution_input,
            trace_header=trace_header,
        )
        worker = execution._get_start_execution_worker()
        execution.exec_worker = worker
        execution.exec_status = ExecutionStatus.RUNNING
        started = self.clock.time()
        thread = self.BusyThread(target=worker._execution_logic, daemon=True,
                                 name=f"eventlab-sfn-sync-{name}")
        thread.start()
        self._run_to_end(thread, worker, started)
        thread.join(5.0)
        out = execution.to_start_sync_execution_output()
        if execution.sync_execution_status == "SUCCEEDED":
            out["output"] = execution.output  # already JSON text (see _install_outcomes)
        if execution.sync_execution_status is None:  # the worker died without an outcome
            out["status"] = SyncExecutionStatus.FAILED
            out["error"] = "States.Runtime"
            out["cause"] = "the execution ended without reporting an outcome"
        elapsed_ms = max(1.0, (self.clock.time() - started) * 1000.0)
        out["billingDetails"] = {
            "billedMemoryUsedInMB": EXPRESS_BILLED_MEMORY_MB,
            "billedDurationInMilliseconds": int(math.ceil(elapsed_ms / 100.0) * 100),
        }
        return {k: v for k, v in out.items() if v is not None}

    def _run_to_end(self, thread: Any, worker: Any, started: float) -> None:
        """Let the execution run; when all it does is wait for time, move the clock there
        (the caller is blocked, as on AWS, so the time may as well pass now)."""
        limit = started + EXPRESS_MAX_SECONDS
        while thread.is_alive():
            self.clock.wait_idle(timeout=30.0)
            if thread._eventlab_finished.is_set():
                return
            due = self.clock.next_due()
            now = self.clock.time()
            if due is not None and due <= limit:
                self.clock.advance(max(0.0, due - now))
            elif now >= limit:
                if worker.env is not None:
                    worker.env.set_timed_out()
                thread._eventlab_finished.wait(1.0)
                return
            elif due is not None:
                self.clock.advance(max(0.0, limit - now))
            else:
                thread._eventlab_finished.wait(0.05)


def _install_error_codes(patches: PatchSet) -> None:
    """The interpreter's exceptions (``InvalidDefinition``...) name their AWS error code in
    ``code``, but moto's ``AWSError`` reads ``TYPE``: they reached clients as
    ``{"__type": null}``, which botocore cannot name."""
    import importlib

    from moto.core.exceptions import AWSError

    api = importlib.import_module(f"{_PARSER}.api")
    for name, cls in vars(api).items():
        if not (isinstance(cls, type) and issubclass(cls, AWSError)):
            continue
        code = vars(cls).get("code")
        if isinstance(code, str) and not vars(cls).get("TYPE"):
            patches.replace(cls, "TYPE", code, f"Step Functions {name} answers its AWS error code")
