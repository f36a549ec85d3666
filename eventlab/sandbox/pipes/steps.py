"""A pipe's enrichment and target calls, made with the pipe's role.

Following https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-enrichment.html,
eb-pipes-event-target.html and eb-pipes-batching-concurrency.html:

* enrichment: a Lambda function (invoked synchronously) or an EXPRESS state machine
  (``StartSyncExecution``) receives the whole batch as one JSON array, each event after
  ``EnrichmentParameters.InputTemplate``; what it returns is the new batch (an array:
  its items; anything else: one event; ``null`` or ``[]``: nothing goes on).  An API
  Gateway REST or HTTP API (its ``execute-api`` ARN) is called once per event, with
  ``HttpParameters`` (path values for ``*``, headers, query string); its JSON answer is
  the event;
* targets that take whole batches (Lambda, Step Functions) get the JSON array in one
  call; the others get the events through their batch APIs (SQS ``SendMessageBatch``
  and SNS ``PublishBatch`` 10 at a time, ``PutEvents`` 10, Kinesis ``PutRecords`` and
  Firehose ``PutRecordBatch`` 500, CloudWatch Logs ``PutLogEvents``; an API Gateway API
  one request per event), each event after ``TargetParameters.InputTemplate``; a failed
  entry fails the batch;
* a Lambda or Step Functions target (``REQUEST_RESPONSE``) may answer
  ``{"batchItemFailures": [{"itemIdentifier": ...}]}``: those items failed;
* every call is made by the pipe's role: a target whose resource policy denies the
  role, or of another account that does not allow it, is refused, and with
  ``iam="enforce"`` so is a call the role's identity policies do not allow
  (:func:`eventlab.sandbox.pipes.permissions.may_call`).  A refusal is a customer
  invocation error: retried like the others (``NO_PERMISSIONS``, retriable), as
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-error-troubleshooting.html says.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eventlab.errors import FunctionNotFound
from eventlab.sandbox.awslambda.concurrency import Throttled
from eventlab.sandbox.events.input import json_path, missing
from eventlab.sandbox.events.targets import TargetError, classify
from eventlab.sandbox.pipes.permissions import may_call
from eventlab.sandbox.pipes.transform import as_text, parsed

if TYPE_CHECKING:
    from eventlab.sandbox.core.sandbox import Sandbox

BATCH_TARGETS = ("lambda", "states")


@dataclass
class Busy:
    """Until when (virtual time) the synchronous calls of one execution run."""

    until: float

    def after(self, ended: float) -> None:
        self.until = max(self.until, ended)


def service_of(arn: str) -> str:
    return arn.split(":")[2]


def _invoke_lambda(sb: Sandbox, pipe: Any, arn: str, batch: list[Any], busy: Busy,
                   asynchronous: bool = False) -> Any:
    may_call(sb, pipe, arn)
    lam = sb.service("lambda")
    try:
        fn = lam.function(arn)
    except FunctionNotFound as exc:
        raise TargetError("NO_RESOURCE", f"Function not found: {arn}", False) from exc
    if asynchronous:
        lam.invoke_async(fn.function_arn, batch)
        return None
    try:
        result = lam.invoke(fn, batch)
    except Throttled as exc:
        raise TargetError("THROTTLING", f"Rate Exceeded ({exc.reason})", True) from exc
    busy.after(result.ended)      # the handler's run time, on the virtual clock
    if not result.ok:
        raise TargetError("FUNCTION_ERROR", json.dumps(result.error()), True)
    try:
        return json.loads(result.payload or b"null")
    except ValueError:
        return None


def _run_state_machine(sb: Sandbox, pipe: Any, arn: str, batch: list[Any], synchronous: bool) -> Any:
    may_call(sb, pipe, arn, synchronous)
    client = sb.client("stepfunctions", arn.split(":")[3], arn.split(":")[4])
    if not synchronous:
        client.start_execution(stateMachineArn=arn, name=str(uuid.uuid4()), input=json.dumps(batch))
        return None
    out = client.start_sync_execution(stateMachineArn=arn, input=json.dumps(batch))
    if out.get("status") != "SUCCEEDED":
        raise TargetError("EXECUTION_FAILED", f"{out.get('error')}: {out.get('cause')}", True)
    try:
        return json.loads(out.get("output") or "null")
    except ValueError:
        return None


def _call_api(sb: Sandbox, pipe: Any, arn: str, event: Any, http: dict[str, Any] | None) -> Any:
    """One request to an API Gateway REST or HTTP API named by its execute-api ARN
    (``arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/PATH``, ``*`` in the path filled
    from ``PathParameterValues``): the JSON (or text) it answers."""
    may_call(sb, pipe, arn)
    api_id, stage, method, *path = arn.split(":", 5)[5].split("/")
    http = http or {}
    route = "/" + "/".join(path)
    for value in http.get("PathParameterValues") or []:
        route = route.replace("*", str(value), 1)
    status, _, body = sb.service("apigateway").invoke(
        api_id, stage, "POST" if method in ("*", "") else method, route,
        headers=http.get("HeaderParameters"), query=http.get("QueryStringParameters"), body=as_text(event))
    text = body.decode(errors="replace")
    if status >= 400:
        retriable = status >= 500 or status == 429
        raise TargetError("THROTTLING" if status == 429 else "API_ERROR", f"{status}: {text[:200]}", retriable)
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


def enrich(sb: Sandbox, pipe: Any, batch: list[Any], busy: Busy) -> list[Any]:
    """The batch the enrichment returns (an API is called once per event: it takes no batches)."""
    arn = pipe.enrichment
    try:
        if service_of(arn) == "lambda":
            answer = _invoke_lambda(sb, pipe, arn, batch, busy)
        elif service_of(arn) == "states":
            answer = _run_state_machine(sb, pipe, arn, batch, True)
        elif service_of(arn) == "execute-api":
            http = (pipe.enrichment_parameters or {}).get("HttpParameters")
            answer = [a for a in (_call_api(sb, pipe, arn, event, http) for event in batch) if a is not None]
        else:
            raise TargetError("INVALID_PARAMETER", f"the sandbox cannot enrich with {arn} "
                              "(Lambda, Step Functions EXPRESS and API Gateway only)", False)
    except Exception as exc:
        raise _failure(exc) from None
    if answer is None:
        return []
    return answer if isinstance(answer, list) else [answer]


def deliver(sb: Sandbox, pipe: Any, batch: list[Any], originals: list[Any], busy: Busy) -> set[str]:
    """Send the batch to the pipe's target; the ``itemIdentifier`` s a batch target
    reported as failed.  Raises :class:`TargetError` when the whole batch failed."""
    arn = pipe.target
    params = pipe.target_parameters or {}
    try:
        return _deliver(sb, pipe, arn, params, batch, originals, busy)
    except Exception as exc:
        raise _failure(exc) from None


def _failure(exc: Exception) -> TargetError:
    """The error of a failed step; a permission refused is retried, as other customer errors."""
    error = classify(exc)
    if error.code == "NO_PERMISSIONS" and not error.retriable:
        return TargetError(error.code, error.message, True)
    return error


def _deliver(sb: Sandbox, pipe: Any, arn: str, params: dict[str, Any], batch: list[Any],
             originals: list[Any], busy: Busy) -> set[str]:
    _, _, service, region, account, resource = (arn.split(":", 5) + [""] * 6)[:6]
    if service == "lambda":
        fire = (params.get("LambdaFunctionParameters") or {}).get("InvocationType") == "FIRE_AND_FORGET"
        return _item_failures(_invoke_lambda(sb, pipe, arn, batch, busy, fire))
    if service == "states":
        sync = (params.get("StepFunctionStateMachineParameters") or {}).get(
            "InvocationType", "REQUEST_RESPONSE") == "REQUEST_RESPONSE"
        return _item_failures(_run_state_machine(sb, pipe, arn, batch, sync))
    if service == "execute-api":   # one request per event: APIs take no batches
        for event in batch:
            _call_api(sb, pipe, arn, event, params.get("HttpParameters"))
        return set()
    if service != "logs":          # CloudWatch Logs: checked on each log stream
        may_call(sb, pipe, arn)
    client = sb.client(service, region, account)
    pairs = list(zip(batch, originals, strict=False))
    name = resource.split("/", 1)[-1]
    if service == "sqs":
        url = client.get_queue_url(QueueName=resource)["QueueUrl"]
        for chunk in _chunks(pairs, 10):
            _check(client.send_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "MessageBody": as_text(e), **_grouping(params.get("SqsQueueParameters"), o)}
                for i, (e, o) in enumerate(chunk)]).get("Failed"), len(chunk))
    elif service == "sns":
        for chunk in _chunks(pairs, 10):
            _check(client.publish_batch(TopicArn=arn, PublishBatchRequestEntries=[
                {"Id": str(i), "Message": as_text(e), **_grouping(params.get("SnsTopicParameters"), o)}
                for i, (e, o) in enumerate(chunk)]).get("Failed"), len(chunk))
    elif service == "events":
        bus = params.get("EventBridgeEventBusParameters") or {}
        for chunk in _chunks(pairs, 10):
            _check(client.put_events(Entries=[
                {"EventBusName": arn, "Source": bus.get("Source") or f"Pipe {pipe.name}",
                 "DetailType": bus.get("DetailType") or f"Event from {_source_kind(pipe.source)}",
                 "Detail": json.dumps(e if isinstance(e, dict) else {"value": e}),
                 "Resources": bus.get("Resources") or []} for e, _ in chunk]).get("FailedEntryCount"), len(chunk))
    elif service == "kinesis":
        key = (params.get("KinesisStreamParameters") or {}).get("PartitionKey")
        if not key:
            raise TargetError("INVALID_PARAMETER", "KinesisStreamParameters.PartitionKey is required "
                              "for a Kinesis target", False)
        for chunk in _chunks(pairs, 500):
            _check(client.put_records(StreamName=name, Records=[
                {"Data": as_text(e).encode(), "PartitionKey": str(_dynamic(key, o))} for e, o in chunk]
            ).get("FailedRecordCount"), len(chunk))
    elif service == "firehose":
        for chunk in _chunks(pairs, 500):
            _check(client.put_record_batch(DeliveryStreamName=name, Records=[
                {"Data": as_text(e).encode()} for e, _ in chunk]).get("FailedPutCount"), len(chunk))
    elif service == "logs":
        _to_logs(sb, pipe, client, resource, params.get("CloudWatchLogsParameters") or {}, pairs)
    else:
        raise TargetError("INVALID_PARAMETER", f"the sandbox cannot deliver a pipe to {arn}", False)
    return set()


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    """A batch cut to what the target's batch API takes (SQS, SNS, buses 10; Kinesis, Firehose 500)."""
    return [items[i:i + size] for i in range(0, len(items), size)]


def _check(failed: Any, sent: int) -> None:
    """A batch API's failures (a list of failed entries or a count) fail the batch."""
    count = len(failed) if isinstance(failed, list) else int(failed or 0)
    if count:
        detail = f": {failed[0].get('Code')} {failed[0].get('Message')}" if isinstance(failed, list) else ""
        raise TargetError("INTERNAL_ERROR", f"{count} of {sent} entries failed{detail}", True)


def _grouping(params: dict[str, Any] | None, event: Any) -> dict[str, str]:
    """``MessageGroupId`` and ``MessageDeduplicationId`` of an SQS or SNS target (FIFO)."""
    return {key: str(_dynamic(value, event)) for key, value in (params or {}).items()
            if key in ("MessageGroupId", "MessageDeduplicationId") and value}


def _dynamic(value: str, event: Any) -> Any:
    """A target parameter that is a JSON path (``$.body.group``) takes its value from the
    event before the target's input template (as EventBridge's dynamic path parameters)."""
    if isinstance(value, str) and value.startswith("$."):
        found = json_path(parsed(event), value)
        return "" if found is missing() else (found if isinstance(found, str) else json.dumps(found))
    return value


def _to_logs(sb: Sandbox, pipe: Any, client: Any, resource: str, params: dict[str, Any], pairs: list[Any]) -> None:
    group = resource.split(":", 1)[1] if resource.startswith("log-group:") else resource
    group = group[:-2] if group.endswith(":*") else group
    streams: dict[str, list[dict[str, Any]]] = {}
    for event, original in pairs:
        stream = str(_dynamic(params.get("LogStreamName") or f"pipe-{uuid.uuid4().hex[:8]}", original))
        streams.setdefault(stream, []).append({"timestamp": int(sb.clock.time() * 1000), "message": as_text(event)})
    group_arn = pipe.target.removesuffix(":*")
    for stream, events in streams.items():
        may_call(sb, pipe, pipe.target, resource=f"{group_arn}:log-stream:{stream}")
        try:
            client.create_log_stream(logGroupName=group, logStreamName=stream)
        except client.exceptions.ResourceAlreadyExistsException:
            pass
        client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


def _source_kind(source_arn: str) -> str:
    if source_arn.startswith("smk://"):
        return "SelfManagedKafka"
    return {"sqs": "aws:sqs", "kinesis": "aws:kinesis", "dynamodb": "aws:dynamodb", "kafka": "aws:kafka"}.get(
        service_of(source_arn), service_of(source_arn))


def _item_failures(answer: Any) -> set[str]:
    """The ``itemIdentifier`` s of a ``batchItemFailures`` answer ("*": malformed)."""
    if not isinstance(answer, dict) or "batchItemFailures" not in answer:
        return set()
    out: set[str] = set()
    for failure in answer.get("batchItemFailures") or []:
        ident = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        out.add(str(ident) if ident not in (None, "") else "*")
    return out
