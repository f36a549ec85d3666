"""Small look-ups and probes shared by the labs' checks (all read the sandbox, never
the learner's variables)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from autograder.checks import CheckFailed
from eventlab.sandbox import inspect


def probe_id(prefix: str = "probe") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def queue(sb: Any, name: str) -> inspect.Queue:
    q = inspect.queue(sb, name)
    if q is None:
        raise CheckFailed(f"there is no SQS queue named '{name}'")
    return q


def queue_url(sb: Any, name: str) -> str:
    queue(sb, name)
    return sb.client("sqs").get_queue_url(QueueName=name)["QueueUrl"]


def topic(sb: Any, name: str) -> inspect.Topic:
    t = inspect.topic(sb, name)
    if t is not None:
        return t
    raise CheckFailed(f"there is no SNS topic named '{name}'")


def subscription(sb: Any, topic_name: str, queue_name: str) -> inspect.Subscription:
    t = topic(sb, topic_name)
    q = queue(sb, queue_name)
    for sub in inspect.subscriptions(sb, t.arn):
        if sub.protocol == "sqs" and sub.endpoint == q.queue_arn:
            return sub
    raise CheckFailed(f"no sqs subscription connects topic '{topic_name}' to queue '{queue_name}'")


def refused_note(sb: Any, queue_name: str) -> str:
    """"" or, when a resource policy refused deliveries to the queue, a sentence saying which
    policy is missing what (the learner's most common silent failure on AWS)."""
    arn = queue(sb, queue_name).queue_arn
    reasons = [r.reason for r in inspect.refused_deliveries(sb) if r.target == arn]
    if not reasons:
        return ""
    return (f"; {len(reasons)} deliver{'ies' if len(reasons) != 1 else 'y'} to {queue_name} were "
            f"refused by its queue policy: {reasons[-1]}")


def sns_envelope(topic_arn: str, message: str, message_id: str,
                 attributes: dict[str, str] | None = None) -> str:
    """The JSON body SNS puts in an SQS queue when raw delivery is off (the fields of
    https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html), for a
    probe that must reach a queue the topic does not deliver to."""
    from datetime import UTC, datetime

    region, account = topic_arn.split(":")[3:5]
    body: dict[str, Any] = {
        "Type": "Notification", "MessageId": message_id, "TopicArn": topic_arn,
        "Message": message,
        "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "SignatureVersion": "1", "Signature": "",
        "SigningCertURL": f"https://sns.{region}.amazonaws.com/SimpleNotificationService.pem",
        "UnsubscribeURL": f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe"
                          f"&SubscriptionArn={topic_arn}:{account}"}
    if attributes:
        body["MessageAttributes"] = {k: {"Type": "String", "Value": v} for k, v in attributes.items()}
    return json.dumps(body)


def function(sb: Any, name: str) -> inspect.Function:
    fn = inspect.function(sb, name)
    if fn is None:
        raise CheckFailed(f"there is no Lambda function named '{name}'")
    return fn


def log_text(sb: Any, function_name: str) -> str:
    """Everything the function has written to CloudWatch Logs so far."""
    return inspect.log_text(sb, f"/aws/lambda/{function_name}")


def trust_problem(sb: Any, role_arn: str | None, service: str) -> str | None:
    """None when ``service`` (``firehose.amazonaws.com``...) may assume the role, else what
    was found: the role's trust policy is what AWS checks before the service can use it."""
    if not role_arn:
        return f"no role is given (it must be one that {service} may assume)"
    name = str(role_arn).split("/")[-1]
    try:
        doc = sb.client("iam").get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    except Exception:
        return f"the role {role_arn} does not exist"
    trusted = []
    for st in statements(doc):
        actions = {str(a).lower() for a in as_list(st.get("Action"))}
        principal = st.get("Principal")
        if st.get("Effect") == "Allow" and actions & {"sts:assumerole", "sts:*"} \
                and isinstance(principal, dict):
            trusted += [str(p) for p in as_list(principal.get("Service"))]
    if service in trusted:
        return None
    return (f"the role {name} can be assumed only by {', '.join(trusted) or 'nobody'}, "
            f"not {service}")


def permission_problem(sb: Any, role_arn: str, action: str, resource: str) -> str | None:
    """None when the role's permission policies (inline and attached) allow ``action`` on
    ``resource`` and none denies it, else what was found.  Wildcards count as IAM reads
    them; conditions, NotAction and NotResource are not evaluated."""
    from fnmatch import fnmatchcase

    iam = sb.client("iam")
    name = str(role_arn).split("/")[-1]
    docs = [iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"]
            for p in iam.list_role_policies(RoleName=name)["PolicyNames"]]
    for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
        arn = attached["PolicyArn"]
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        docs.append(iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"])
    allowed, denied, granted = False, False, []
    for st in (st for doc in docs for st in statements(doc)):
        actions = [str(a) for a in as_list(st.get("Action"))]
        hit = any(fnmatchcase(action.lower(), a.lower()) for a in actions) \
            and any(fnmatchcase(resource, str(r)) for r in as_list(st.get("Resource")))
        if st.get("Effect") == "Allow":
            granted += [f"{a} on {', '.join(map(str, as_list(st.get('Resource'))))}" for a in actions]
            allowed = allowed or hit
        elif hit:
            denied = True
    if allowed and not denied:
        return None
    return (f"the role {name} does not allow {action} on {resource}"
            + (" (a Deny statement refuses it)" if denied else
               f" (it allows {'; '.join(granted[:4])})" if granted else " (it has no permission policy)"))


def last_error(sb: Any, function_name: str, marker: str) -> str | None:
    """The error of the latest failed invocation of a function whose event mentions
    ``marker`` (a probe id), as its runtime reported it (``KeyError: 'video_id'``)."""
    for entry in reversed(inspect.invocations(sb)):
        if entry["function"] == function_name and not entry.get("ok") \
                and marker in json.dumps(entry.get("event"), default=str):
            error = entry.get("error")
            if isinstance(error, dict):
                return f"{error.get('errorType', 'Error')}: {error.get('errorMessage', '')}"
            return str(error) if error else "the invocation failed"
    return None


def queue_bodies(sb: Any, name: str) -> list[str]:
    """Bodies of the messages in a queue (visible or in flight), without receiving them."""
    queue(sb, name)
    return [m.body for m in inspect.messages(sb, name)]


def statements(policy: Any) -> list[dict[str, Any]]:
    if not policy:
        return []
    doc = json.loads(policy) if isinstance(policy, str) else policy
    st = doc.get("Statement", [])
    return st if isinstance(st, list) else [st]


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
