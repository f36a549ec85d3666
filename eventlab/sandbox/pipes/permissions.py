"""What a pipe's role must be allowed to do (identity policies: ``iam="enforce"`` only).

Following https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-permissions.html
and https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-error-troubleshooting.html:

* **Reading the source** (and, for a stream source, writing its dead-letter queue) is
  checked when the pipe starts: at the end of ``CREATING``, ``UPDATING`` or ``STARTING``.
  The role must trust ``pipes.amazonaws.com`` and its policies (or the source's resource
  policy) allow SQS ``ReceiveMessage``, ``DeleteMessage``, ``GetQueueAttributes``; Kinesis
  ``DescribeStream``, ``GetRecords``, ``GetShardIterator``, ``ListShards``; DynamoDB
  ``DescribeStream``, ``GetRecords``, ``GetShardIterator``, ``ListStreams``; the DLQ
  ``sqs:SendMessage`` / ``sns:Publish``.  Refused: the pipe goes to ``CREATE_FAILED``
  (``UPDATE_FAILED``, ``START_FAILED``) with AWS's ``StateReason`` ("Input parameter is
  invalid from the request due to : The provided customer role does not have permissions
  to call ReceiveMessage on SQS", "... Cannot access stream ARN. Please ensure the customer
  role can perform actions on source stream", "... Error occurred while sending message to
  SQS queue: ARN") and reads nothing.  A permission removed later does not stop a running
  pipe (AWS disables a pipe after nearly continuous 4xx errors; not modelled).
* **Enrichment and target calls** are checked at each call, with the action the pipe
  makes (:func:`action_of`), by :func:`eventlab.sandbox.iam.identity.authorize_role`.
  Refused: a customer invocation error, retried as AWS documents (an SQS source's messages
  come back after the visibility timeout until ``maxReceiveCount``; a stream batch until
  ``MaximumRetryAttempts`` or ``MaximumRecordAgeInSeconds``, then its DLQ).

The calls are made by a session of the role named after the pipe (AWS does not document
the session name).
"""

from __future__ import annotations

from typing import Any

from eventlab.sandbox.iam.enforce import check_role_delivery
from eventlab.sandbox.iam.identity import authorize_role, iam_mode, role_refusal, trust_refusal

PRINCIPAL = "pipes.amazonaws.com"
SOURCE_ACTIONS = {
    "sqs": ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"),
    "kinesis": ("kinesis:DescribeStream", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"),
    "dynamodb": ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
                 "dynamodb:ListStreams"),
}
_NO_RESOURCE = {"dynamodb:ListStreams"}          # an action with no resource type: checked on its own
# the API each kind of target (or enrichment) is called with; the batch APIs where the
# sandbox sends batches (a policy granting only kinesis:PutRecord does not cover PutRecords)
_CALLS = {"sqs": "sqs:SendMessage", "sns": "sns:Publish", "events": "events:PutEvents",
          "lambda": "lambda:InvokeFunction", "kinesis": "kinesis:PutRecords",
          "firehose": "firehose:PutRecordBatch", "logs": "logs:PutLogEvents", "execute-api": "execute-api:Invoke"}
FAILED = {"CREATING": "CREATE_FAILED", "UPDATING": "UPDATE_FAILED", "STARTING": "START_FAILED"}


def action_of(arn: str, synchronous: bool = True) -> str | None:
    """The IAM action a pipe calls ``arn`` (a target or enrichment) with; a state machine:
    ``StartSyncExecution`` when the pipe waits for it (enrichment, ``REQUEST_RESPONSE``)."""
    service = arn.split(":")[2]
    if service == "states":
        return "states:StartSyncExecution" if synchronous else "states:StartExecution"
    return _CALLS.get(service)


def may_call(sb: Any, pipe: Any, arn: str, synchronous: bool = True, resource: str | None = None) -> None:
    """Before the pipe calls ``arn`` (its enrichment, target or DLQ) with its role: the
    resource's policy must not refuse the role (every mode but ``policies="off"``:
    :func:`~eventlab.sandbox.iam.enforce.check_role_delivery`) and, with iam="enforce", the
    role's identity policies must allow the call (on ``resource``, by default ``arn``).
    Refused: :class:`~eventlab.sandbox.iam.enforce.DeliveryRefused`."""
    check_role_delivery(sb, pipe.role_arn, arn)
    action = action_of(arn, synchronous)
    if action is not None:
        authorize_role(sb, pipe.role_arn, pipe.name, action, resource or arn)


def start_refusal(sb: Any, pipe: Any) -> str | None:
    """Why the pipe cannot start (its ``StateReason``), or None; always None with iam="off"."""
    if iam_mode(sb) != "enforce":
        return None
    head = "Input parameter is invalid from the request due to : "
    why = trust_refusal(pipe.role_arn, PRINCIPAL, pipe.arn)
    if why is not None:
        return head + why
    source = str(pipe.source or "")
    kind = source.split(":")[2] if source.count(":") >= 5 else ""
    for action in SOURCE_ACTIONS.get(kind, ()):
        resource = None if action in _NO_RESOURCE else source
        if role_refusal(sb, pipe.role_arn, pipe.name, action, resource) is not None:
            if kind == "sqs":
                return head + f"The provided customer role does not have permissions to call {action.split(':')[1]} on SQS"
            return head + (f"Cannot access stream {source}. Please ensure the customer role can perform "
                           "actions on source stream")
    params = (pipe.source_parameters or {}).get({"kinesis": "KinesisStreamParameters",
                                                 "dynamodb": "DynamoDBStreamParameters"}.get(kind, ""), {}) or {}
    dlq = str((params.get("DeadLetterConfig") or {}).get("Arn") or "")
    if dlq and role_refusal(sb, pipe.role_arn, pipe.name, action_of(dlq) or "", dlq) is not None:
        kind_name = "SQS queue" if dlq.split(":")[2] == "sqs" else "SNS topic"
        return head + f"Error occurred while sending message to {kind_name}: {dlq}"
    return None
