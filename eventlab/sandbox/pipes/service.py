"""EventBridge Pipes that run: moto stores a pipe, the sandbox moves its events.

Following https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-concepts.html:

* states on the virtual clock: a new pipe is ``CREATING`` and becomes its
  ``DesiredState`` (``RUNNING`` by default, or ``STOPPED``) a moment later
  (:data:`TRANSITION_SECONDS`); ``StopPipe`` goes ``STOPPING`` -> ``STOPPED``,
  ``StartPipe`` ``STARTING`` -> ``RUNNING``, ``UpdatePipe`` ``UPDATING`` -> the desired
  state.  Only a ``RUNNING`` pipe reads its source (moto's own states jump at once, and
  a stopped pipe read back as ``RUNNING``).  A source the sandbox cannot read leaves the
  pipe ``CREATE_FAILED`` with a ``StateReason`` saying so, and so does (``iam="enforce"``) a
  role that may not read the source (:mod:`eventlab.sandbox.pipes.permissions`);
* sources are polled by the pump, one batch per pipe per round
  (:mod:`eventlab.sandbox.pipes.sources`: SQS, Kinesis, DynamoDB streams;
  :mod:`eventlab.sandbox.pipes.kafka`: MSK and self-managed Kafka topics, read from a real
  broker); each batch is filtered, enriched and
  delivered (:mod:`eventlab.sandbox.pipes.transform`, :mod:`eventlab.sandbox.pipes.steps`);
* ``sb.service("pipes").batches`` keeps what became of each batch (for tests and labs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eventlab.sandbox.events.targets import TargetError
from eventlab.sandbox.pipes.kafka import KafkaSource, SelfManagedKafkaSource
from eventlab.sandbox.pipes.logs import ExecutionLog
from eventlab.sandbox.pipes.permissions import FAILED, start_refusal
from eventlab.sandbox.pipes.sources import DynamoDBSource, KinesisSource, SQSSource, StreamSource
from eventlab.sandbox.pipes.steps import Busy, deliver, enrich, service_of
from eventlab.sandbox.pipes.transform import filter_problem, passes, render

if TYPE_CHECKING:
    from eventlab.sandbox.core.patches import PatchSet
    from eventlab.sandbox.core.sandbox import Sandbox

TRANSITION_SECONDS = 1.0          # not published by AWS: the sandbox's choice
SETTLES_INTO = {"STARTING": "RUNNING", "STOPPING": "STOPPED"}   # CREATING, UPDATING: the desired state
KAFKA_PARAMETERS = {"kafka": "ManagedStreamingKafkaParameters", "smk": "SelfManagedKafkaParameters"}


@dataclass
class Outcome:
    """What became of a batch: the indexes of the records that failed (none: all done), the
    error if a step failed, and when its synchronous calls end (virtual time)."""

    failed: set[int]
    error: TargetError | None
    ended: float


class PipesService:
    name = "pipes"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.sqs = SQSSource(self)
        self.kafka = (KafkaSource(self), SelfManagedKafkaSource(self))
        self.sources: dict[str, SQSSource | StreamSource] = {
            "sqs": self.sqs, "kinesis": KinesisSource(self), "dynamodb": DynamoDBSource(self),
            "kafka": self.kafka[0], "smk": self.kafka[1]}
        self.batches: list[dict[str, Any]] = []
        self.dead_lettered: list[dict[str, Any]] = []
        self.errors: list[str] = []

    # -- installation --------------------------------------------------------------
    def install(self, patches: PatchSet) -> None:
        patches.after_import("moto.pipes.models", lambda: self._install(patches))

    def _install(self, patches: PatchSet) -> None:
        from moto.pipes.exceptions import ValidationException
        from moto.pipes.models import EventBridgePipesBackend, Pipe

        clock, sandbox = self.sandbox.clock, self.sandbox

        def get_status(pipe: Any) -> str | None:
            state = pipe.__dict__.get("_eventlab_state")
            due = pipe.__dict__.get("_eventlab_due")
            if state is not None and due is not None and clock.time() >= due:
                desired = pipe.desired_state if pipe.desired_state in ("RUNNING", "STOPPED") else "RUNNING"
                refused = start_refusal(sandbox, pipe) if state in FAILED else None   # iam="enforce" only
                if refused is not None:
                    pipe.state_reason = refused
                state = FAILED[state] if refused is not None else SETTLES_INTO.get(state, desired)
                pipe.__dict__.update(_eventlab_state=state, _eventlab_due=None)
            return state if state is not None else pipe.__dict__.get("_status")

        def set_status(pipe: Any, value: Any) -> None:
            value = str(getattr(value, "value", value))
            due = None
            if value in ("CREATING", "STARTING", "STOPPING", "UPDATING"):
                due = clock.time() + TRANSITION_SECONDS
                clock.call_at(due, lambda: None)     # advance() stops there: the pipe starts on time
            pipe.__dict__.update(_eventlab_state=value, _eventlab_due=due)

        patches.replace(Pipe, "status", property(get_status, set_status),
                        "pipe states change on the virtual clock (CREATING -> RUNNING, STOPPING -> "
                        "STOPPED...); moto's read a stopped pipe back as RUNNING")

        def make_create(original: Any) -> Any:
            def create_pipe(backend: Any, name: str, *args: Any, **kwargs: Any) -> Any:
                source = kwargs.get("source") or ""
                params = kwargs.get("source_parameters") or {}
                stream = {"kinesis": "KinesisStreamParameters", "dynamodb": "DynamoDBStreamParameters"}.get(
                    service_of(source))
                if stream and not (params.get(stream) or {}).get("StartingPosition"):
                    raise ValidationException(f"SourceParameters.{stream}.StartingPosition is required for "
                                              "a stream source (TRIM_HORIZON or LATEST; Kinesis also "
                                              "AT_TIMESTAMP)")
                kafka = KAFKA_PARAMETERS.get(source_kind(source))
                if kafka and not (params.get(kafka) or {}).get("TopicName"):
                    raise ValidationException(f"SourceParameters.{kafka}.TopicName is required for a "
                                              f"{'n MSK' if kafka.startswith('Managed') else ' Kafka'} source")
                _check_filters(ValidationException, params)
                pipe = original(backend, name, *args, **kwargs)
                pipe.__dict__["_eventlab_created"] = clock.time()
                if source_kind(source) not in self.sources:
                    pipe.status = "CREATE_FAILED"
                    pipe.state_reason = (f"The eventlab sandbox runs pipes from SQS queues, Kinesis "
                                         f"streams, DynamoDB streams and Kafka topics (MSK, self-managed) "
                                         f"only, not from {source}.")
                return pipe
            return create_pipe

        patches.wrap(EventBridgePipesBackend, "create_pipe", make_create,
                     "CreatePipe checks what AWS requires of a Kinesis source and notes when it was made")

        def make_update(original: Any) -> Any:
            def update_pipe(backend: Any, name: str, *args: Any, **kwargs: Any) -> Any:
                _check_filters(ValidationException, kwargs.get("source_parameters") or {})
                if kwargs.get("source_parameters") is not None and name in backend.pipes:
                    kwargs["source_parameters"] = _merged(backend.pipes[name].source_parameters or {},
                                                          kwargs["source_parameters"])
                pipe = original(backend, name, *args, **kwargs)
                state = pipe.status
                if state == "RUNNING" and pipe.desired_state == "STOPPED":
                    pipe.status = "STOPPING"
                elif state == "STOPPED" and pipe.desired_state == "RUNNING":
                    pipe.status = "STARTING"
                elif state in ("RUNNING", "STOPPED"):
                    pipe.status = "UPDATING"
                return pipe
            return update_pipe

        patches.wrap(EventBridgePipesBackend, "update_pipe", make_update,
                     "UpdatePipe goes through UPDATING (or STARTING/STOPPING for a new DesiredState) "
                     "and changes only the source parameters it names")

    # -- the pump's part -------------------------------------------------------------
    def poll(self) -> bool:
        worked = self.sqs.finishing.delete_due()   # SQS batches whose target has finished
        running = set()
        for backend in self.sandbox.backends("pipes"):
            for pipe in list(backend.pipes.values()):
                source = self.sources.get(source_kind(pipe.source))
                if source is None or pipe.status != "RUNNING":
                    continue
                running.add(pipe.arn)
                try:
                    worked = source.poll(pipe) or worked
                except Exception as exc:   # one broken pipe must not stop the others
                    self.errors.append(f"{pipe.name}: {type(exc).__name__}: {exc}")
                    pipe.state_reason = f"The sandbox could not run this pipe: {type(exc).__name__}: {exc}"
        for kafka in self.kafka:
            kafka.release(running)                 # stopped and deleted pipes read no more
        return worked

    def close(self) -> None:
        for kafka in self.kafka:
            kafka.close()

    # -- one batch through the pipe ----------------------------------------------------
    def process(self, pipe: Any, records: list[dict[str, Any]], ids: list[str]) -> Outcome:
        """Filter, enrich and deliver a batch of source records."""
        now = self.sandbox.clock.time()
        filters = ((pipe.source_parameters or {}).get("FilterCriteria") or {}).get("Filters") or []
        kept = [i for i, record in enumerate(records) if passes(filters, record)]
        entry: dict[str, Any] = {"pipe": pipe.name, "time": now, "size": len(records),
                                 "filtered_out": len(records) - len(kept), "ok": True, "failed": []}
        self.batches.append(entry)
        busy = Busy(now)
        if not kept:
            return Outcome(set(), None, now)
        log = ExecutionLog(self.sandbox, pipe)
        self._count(pipe, now, Invocations=1, EventCount=len(kept))
        reserved = {"pipe-arn": pipe.arn, "pipe-name": pipe.name, "source-arn": pipe.source,
                    "enrichment-arn": pipe.enrichment or "", "target-arn": pipe.target}
        events: list[Any] = [records[i] for i in kept]
        log.step("ExecutionStarted", events)
        stage = "Enrichment"
        try:
            if pipe.enrichment:
                log.step("EnrichmentStageEntered")
                template = (pipe.enrichment_parameters or {}).get("InputTemplate")
                shaped = [render(template, e, reserved, now) for e in events]
                log.step("EnrichmentInvocationStarted", shaped)
                events = enrich(self.sandbox, pipe, shaped, busy)
                log.step("EnrichmentInvocationSucceeded", events)
                log.step("EnrichmentStageSucceeded")
            stage = "Target"
            log.step("TargetStageEntered")
            template = (pipe.target_parameters or {}).get("InputTemplate")
            payloads = [render(template, e, reserved, now) for e in events]
            log.step("TargetInvocationStarted", payloads)
            reported = deliver(self.sandbox, pipe, payloads, events, busy) if payloads else set()
        except (TargetError, ValueError) as exc:   # ValueError: a template path the pipe cannot read
            error = exc if isinstance(exc, TargetError) else TargetError("INVALID_PARAMETER", str(exc), False)
            message = f"{error.code}: {error.message}"
            for step in (f"{stage}InvocationFailed", f"{stage}StageFailed", "ExecutionFailed"):
                log.step(step, error=message)
            self._count(pipe, now, ExecutionFailed=1, **{f"{stage}StageFailed": 1})
            entry.update(ok=False, error=message, failed=[ids[i] for i in kept])
            return Outcome(set(kept), error, busy.until)
        entry["delivered"] = len(payloads)
        if not reported:
            for step in ("TargetInvocationSucceeded", "TargetStageSucceeded", "ExecutionSucceeded"):
                log.step(step)
            return Outcome(set(), None, busy.until)
        known = {ids[i]: i for i in kept}
        # an identifier that is malformed or not in the batch fails the whole batch, as for an ESM
        failed = set(kept) if not reported <= set(known) else {known[r] for r in reported}
        entry.update(ok=False, failed=sorted(ids[i] for i in failed), error="batchItemFailures")
        message = f"the target reported {len(failed)} of {len(kept)} events failed"
        for step in ("TargetInvocationPartiallyFailed", "TargetStagePartiallyFailed", "ExecutionFailed"):
            log.step(step, error=message)
        self._count(pipe, now, ExecutionPartiallyFailed=1, TargetStagePartiallyFailed=1)
        return Outcome(failed, TargetError("PARTIAL_FAILURE", "the target reported batchItemFailures", True),
                       busy.until)

    def _count(self, pipe: Any, when: float, **counts: int) -> None:
        """The pipe's ``AWS/EventBridge/Pipes`` metrics, by ``PipeName``
        (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-monitoring.html)."""
        metrics = self.sandbox.service("metrics")
        for name, value in counts.items():
            metrics.emit(pipe.region_name, "AWS/EventBridge/Pipes", name, (("PipeName", pipe.name),),
                         float(value), "None", when)


def source_kind(source: str) -> str:
    """The kind of a pipe's source: the service of its ARN, or ``smk`` (self-managed Kafka)."""
    return "smk" if source.startswith("smk://") else service_of(source)


def _merged(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """UpdatePipe's source parameters: what it names replaces, the rest stays (AWS's
    UpdatePipe "updates only the fields you specify": a Kafka source keeps its topic)."""
    return {**old, **{k: {**old[k], **v} if isinstance(v, dict) and isinstance(old.get(k), dict) else v
                      for k, v in new.items()}}


def _check_filters(error: Any, source_parameters: dict[str, Any]) -> None:
    """CreatePipe and UpdatePipe refuse filters AWS refuses (``ValidationException``)."""
    criteria = source_parameters.get("FilterCriteria")
    if criteria:
        problem = filter_problem(criteria.get("Filters") or [])
        if problem:
            raise error(problem)
