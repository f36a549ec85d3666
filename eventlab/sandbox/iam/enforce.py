"""Resource policies decide deliveries and cross-account calls, with AWS's outcomes.

What is checked (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html):

* **Cross-account API calls** (an SQS queue URL, an SNS topic ARN or an EventBridge bus
  ARN of another account): the resource's policy must allow the caller (its account's
  root, its role, ``aws:PrincipalOrgID``...), and no statement may deny it.  Refused:
  SQS ``AccessDenied``, SNS ``AuthorizationError``, EventBridge ``AccessDeniedException``.
  The call then acts on the other account's resource (moto looked in the caller's own).
* **Same-account API calls** need no statement allowing them (AWS lets identity policies
  allow them; those are checked only with ``iam="enforce"``: :mod:`eventlab.sandbox.iam.identity`),
  but an explicit ``Deny`` in an SQS queue policy or SNS topic policy refuses them, as on AWS.
* **Service deliveries**: SNS -> SQS and SNS -> Lambda (principal ``sns.amazonaws.com``,
  ``aws:SourceArn`` = the topic), EventBridge -> SQS, SNS and Lambda targets (principal
  ``events.amazonaws.com``, ``aws:SourceArn`` = the rule), EventBridge bus -> bus in
  another account (the target bus's policy must allow the source account).  A refused SNS
  delivery is dropped and counted in ``NumberOfNotificationsFailed``; a refused
  EventBridge delivery takes the target's dead-letter path with ``NO_PERMISSIONS``.

Modes (``Sandbox(policies=...)``, ``eventlab serve --policies ...``):

* ``"enforce"`` (default): as above, except that a same-account service delivery to a
  resource that has *no* policy of its own (an SQS queue without ``Policy``, a topic with
  the default policy, a function without ``AddPermission``) still goes through.  AWS
  refuses those; the sandbox lets them through so that flows built before policies were
  enforced keep working.  A policy that exists decides, as on AWS.
* ``"strict"``: AWS's behaviour everywhere: such deliveries are refused too.
* ``"off"``: nothing is checked (calls across accounts still reach the other account).

KMS (any mode but ``"off"``): a queue or topic encrypted with a KMS key receives from SNS and
EventBridge only if the key policy lets the service use the key; with an AWS managed key
(``alias/aws/sqs``, ``alias/aws/sns``) such deliveries always fail, as on AWS.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from eventlab.errors import SandboxError
from eventlab.sandbox.iam.accounts import Caller, caller_of, current_caller, organization_of
from eventlab.sandbox.iam.policy import Decision, PolicyError, Request, arn_account, evaluate

MODES = ("enforce", "strict", "off")


class DeliveryRefused(SandboxError):
    """A service delivery that the target's resource policy does not allow."""


def mode_of(sandbox: Any) -> str:
    return getattr(sandbox, "policies", "enforce")


def caller_context(caller: Caller) -> dict[str, Any]:
    """The global condition keys AWS sets for a call by ``caller``."""
    return {"aws:PrincipalAccount": caller.account, "aws:PrincipalArn": caller.principal,
            "aws:SourceOwner": caller.account, "aws:PrincipalOrgID": organization_of(caller.account)}


def allows_call(document: str | None, caller: Caller, action: str, resource: str, owner: str) -> bool:
    """Whether an API call by ``caller`` on a resource of account ``owner`` is allowed."""
    request = Request(caller.principal, action, resource, caller_context(caller))
    decision = evaluate(document, request)
    if decision is Decision.DENY:
        return False
    return decision is Decision.ALLOW or caller.account == owner


def check_delivery(sandbox: Any, service: str, target_arn: str, source_arn: str,
                   document: str | None, action: str, source_account: str | None = None) -> None:
    """Raise :class:`DeliveryRefused` unless ``document`` (the target's own resource policy,
    None when it has none) lets ``service`` (``sns``, ``events``...) deliver from
    ``source_arn`` (of ``source_account``: by default the ARN's; an S3 bucket's has none)."""
    mode = mode_of(sandbox)
    if mode == "off":
        return
    source_account = source_account or arn_account(source_arn) or ""
    request = Request(f"{service}.amazonaws.com", action, target_arn,
                      {"aws:SourceArn": source_arn, "aws:SourceAccount": source_account})
    try:
        decision = evaluate(document, request)
    except PolicyError as exc:
        raise DeliveryRefused(f"the resource policy of {target_arn} cannot be read: {exc}") from None
    if decision is Decision.ALLOW:
        return
    if (decision is Decision.NONE and document is None and mode == "enforce"
            and source_account == arn_account(target_arn)):
        return
    why = ("an explicit Deny in its resource policy" if decision is Decision.DENY else
           "no resource policy statement allowing it" if document else "no resource policy")
    raise DeliveryRefused(f"{service}.amazonaws.com may not perform {action} on {target_arn} for "
                          f"{source_arn}: {why} (add a statement allowing Principal "
                          f"{{\"Service\": \"{service}.amazonaws.com\"}} with aws:SourceArn {source_arn})")


# -- the resource policies, by ARN ---------------------------------------------------------
def queue_policy(sandbox: Any, queue_arn: str) -> tuple[Any, str | None]:
    """(the queue, its policy or None) for an SQS queue ARN (queue None if missing)."""
    backend = sandbox.backend_for("sqs", queue_arn)
    queue = backend.queues.get(queue_arn.rsplit(":", 1)[-1])
    return queue, (queue.policy if queue is not None else None)


def topic_policy(sandbox: Any, topic_arn: str) -> str | None:
    """The topic's own policy, or None for a missing topic or moto's default policy."""
    topic = sandbox.backend_for("sns", topic_arn).topics.get(topic_arn)
    if topic is None:
        return None
    statements = topic._policy_json.get("Statement") or []
    if all(s.get("Sid") == "__default_statement_ID" for s in statements):
        return None
    return str(topic.policy)


def function_policy(fn: Any) -> str | None:
    statements = getattr(getattr(fn, "policy", None), "statements", None)
    return json.dumps({"Version": "2012-10-17", "Statement": statements}) if statements else None


def check_function(sandbox: Any, service: str, fn: Any, source_arn: str,
                   source_account: str | None = None) -> None:
    check_delivery(sandbox, service, fn.function_arn, source_arn, function_policy(fn),
                   "lambda:InvokeFunction", source_account)


def check_key(sandbox: Any, service: str, key_id: str | None, target_arn: str, source_arn: str,
              source_account: str | None = None) -> None:
    """A queue or topic encrypted with ``key_id``: the key policy must let ``service`` use it
    (``kms:GenerateDataKey`` and ``kms:Decrypt``).  An AWS managed key (``alias/aws/sqs``,
    ``alias/aws/sns``) has a policy nobody can change that admits no service: refused
    (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services)."""
    if not key_id or mode_of(sandbox) == "off":
        return
    principal = f"{service}.amazonaws.com"
    if key_id.startswith("alias/aws/") or ":alias/aws/" in key_id:
        raise DeliveryRefused(f"{target_arn} is encrypted with the AWS managed key {key_id}, whose key "
                              f"policy does not let {principal} use it; use a customer managed key whose "
                              f"policy allows {principal} kms:GenerateDataKey* and kms:Decrypt")
    parts = key_id.split(":") if key_id.startswith("arn:") else ["", "", "", "", "", ""]
    _, _, _, region, account = target_arn.split(":")[:5]
    backend = sandbox.backend("kms", parts[3] or region, parts[4] or account)
    try:
        key = backend.describe_key(key_id)
    except Exception:
        raise DeliveryRefused(f"{target_arn} is encrypted with the KMS key {key_id}, which does not "
                              "exist") from None
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        request = Request(principal, action, key.arn, {
            "aws:SourceArn": source_arn, "aws:SourceAccount": source_account or arn_account(source_arn) or ""})
        if evaluate(key.policy, request) is not Decision.ALLOW:
            raise DeliveryRefused(f"the key policy of {key.arn} (encrypting {target_arn}) does not let "
                                  f"{principal} perform {action}")


def check_target(sandbox: Any, service: str, target_arn: str, source_arn: str,
                 source_account: str | None = None) -> None:
    """The resource-policy (and key-policy) check of a delivery by ``service`` to an SQS
    queue, SNS topic or Lambda function (other targets are reached with a role: nothing to
    check)."""
    kind = target_arn.split(":")[2]
    if kind == "sqs":
        queue, document = queue_policy(sandbox, target_arn)
        if queue is not None:    # a missing queue fails as such when the delivery is tried
            check_delivery(sandbox, service, target_arn, source_arn, document, "sqs:SendMessage", source_account)
            check_key(sandbox, service, queue.kms_master_key_id, target_arn, source_arn, source_account)
    elif kind == "sns":
        topic = sandbox.backend_for("sns", target_arn).topics.get(target_arn)
        if topic is not None:
            check_delivery(sandbox, service, target_arn, source_arn, topic_policy(sandbox, target_arn),
                           "sns:Publish", source_account)
            check_key(sandbox, service, topic.kms_master_key_id, target_arn, source_arn, source_account)
    elif kind == "lambda":
        check_function(sandbox, service, sandbox.service("lambda").function(target_arn), source_arn,
                       source_account)


def check_role_delivery(sandbox: Any, role_arn: str, target_arn: str) -> None:
    """A delivery made with a customer's role, not a service principal (an EventBridge pipe
    sending to its target or dead-letter queue): the target's resource policy must not deny
    the role, and a target of another account must allow it (identity policies are not
    evaluated).  Raise :class:`DeliveryRefused` otherwise."""
    if mode_of(sandbox) == "off":
        return
    kind, owner = target_arn.split(":")[2], arn_account(target_arn) or ""
    if kind == "sqs":
        queue, document = queue_policy(sandbox, target_arn)
        if queue is None:
            return
        action = "sqs:SendMessage"
    elif kind == "sns":
        document, action = topic_policy(sandbox, target_arn), "sns:Publish"
    elif kind == "lambda":
        document = function_policy(sandbox.service("lambda").function(target_arn))
        action = "lambda:InvokeFunction"
    else:
        return
    caller = Caller(arn_account(role_arn) or owner, role_arn)
    if not allows_call(document, caller, action, target_arn, owner):
        raise DeliveryRefused(f"{role_arn} may not perform {action} on {target_arn}: "
                              + ("its resource policy denies it" if owner == caller.account else
                                 "no statement of its resource policy allows the role of another account"))


def check_bus_to_bus(sandbox: Any, bus: Any, source_account: str, role_arn: str | None) -> None:
    """A rule of ``source_account`` sends to ``bus`` of another account: the bus policy must
    allow the source account (or the target's role)."""
    if mode_of(sandbox) == "off" or source_account == bus.account_id:
        return
    caller = Caller(source_account, role_arn or f"arn:aws:iam::{source_account}:root")
    request = Request(caller.principal, "events:PutEvents", bus.arn, caller_context(caller))
    if evaluate(bus.policy, request) is not Decision.ALLOW:
        raise DeliveryRefused(f"the policy of event bus {bus.arn} does not allow account "
                              f"{source_account} to perform events:PutEvents")


# -- the moto patches ------------------------------------------------------------------------
def _queue_of_request(response: Any) -> tuple[str | None, str | None]:
    """(the owner account, the queue name) a request names, by queue URL or by
    ``QueueName``/``QueueOwnerAWSAccountId`` (None for what it does not name)."""
    url = response._get_param("QueueUrl") or ""
    if url.startswith("http"):
        parts = url.rstrip("/").split("/")
        if len(parts) >= 2 and parts[-2].isdigit():
            return parts[-2], parts[-1]
        return None, None
    owner = response._get_param("QueueOwnerAWSAccountId")
    return (str(owner) if owner else None), response._get_param("QueueName")


def _arn_param(response: Any) -> str | None:
    for name in ("TopicArn", "TargetArn", "SubscriptionArn", "ResourceArn"):
        value = response._get_param(name)
        if isinstance(value, str) and value.startswith("arn:"):
            return value
    return None


def _has_deny(document: dict[str, Any]) -> bool:
    statements = document.get("Statement") or []
    return any(isinstance(s, dict) and s.get("Effect") == "Deny"
               for s in (statements if isinstance(statements, list) else [statements]))


class PoliciesService:
    name = "policies"

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self.refused: list[dict[str, Any]] = []   # deliveries a resource policy refused

    def install(self, patches: Any) -> None:
        self._install_sqs(patches)
        # at moto's first SNS import, after the services installed before (hooks run in order);
        # the responses part waits for moto.sns.responses, which imports the models midway
        patches.after_import("moto.sns.models", lambda: self._install_sns_delivery(patches))
        patches.after_import("moto.sns.responses", lambda: self._install_sns(patches))
        self._install_events(patches)

    def _install_sqs(self, patches: Any) -> None:
        import warnings

        # SQS's service model has no AccessDenied shape; moto warns, AWS answers it anyway.
        warnings.filterwarnings("ignore", r"Exception\(SQSException\) with code AccessDenied")
        from moto.sqs.exceptions import SQSException
        from moto.sqs.models import sqs_backends
        from moto.sqs.responses import SQSResponse

        service = self

        def sqs_backend(response: Any) -> Any:
            cached = response.__dict__.get("_eventlab_backend")
            if cached is not None:
                return cached
            account = response.current_account
            owner, name = _queue_of_request(response)
            backend = sqs_backends[owner if owner else account][response.region]
            if owner and mode_of(service.sandbox) != "off":
                queue = backend.queues.get(name or response._get_queue_name())
                if (queue is not None and (owner != account or _has_deny(queue._policy_json))  # same: a Deny
                        and not allows_call(queue.policy, caller_of(response), f"sqs:{response._get_action()}",
                                            queue.queue_arn, owner)):
                    raise SQSException("AccessDenied", "Access to the resource "
                                       f"{response._get_param('QueueUrl') or queue.name} is denied.")
            response.__dict__["_eventlab_backend"] = backend
            return backend

        patches.replace(SQSResponse, "sqs_backend", property(sqs_backend),
                        "a queue URL of another account reaches that account's queue if its policy allows")

        def make_determine(original: Any) -> Any:
            def determine_resource(response: Any) -> str:
                try:
                    return str(original(response))
                except SQSException:   # refused: raised again inside the action, as AWS answers
                    return "*"
            return determine_resource

        patches.wrap(SQSResponse, "_determine_resource", make_determine,
                     "a refused cross-account call is answered as an error, not a crash")

    def _install_sns(self, patches: Any) -> None:
        from moto.sns.exceptions import SNSException
        from moto.sns.models import sns_backends
        from moto.sns.responses import SNSResponse

        service = self

        def backend(response: Any) -> Any:
            account = response.current_account
            arn = _arn_param(response)
            owner = arn_account(arn) if arn else None
            chosen = sns_backends[owner or account][response.region]
            if owner and mode_of(service.sandbox) != "off":
                topic_arn = arn if arn in chosen.topics else ":".join(arn.split(":")[:6])  # type: ignore[union-attr]
                topic = chosen.topics.get(topic_arn)
                action = f"SNS:{response._get_action()}"
                if topic is None or (owner == account and not _has_deny(topic._policy_json)):
                    return chosen
                caller = caller_of(response)
                if not allows_call(topic.policy, caller, action, topic.arn, owner):
                    raise SNSException("AuthorizationError", f"User: {caller.principal} is not "
                                       f"authorized to perform: {action} on resource: {topic.arn}")
            return chosen

        patches.replace(SNSResponse, "backend", property(backend),
                        "a topic ARN of another account reaches that account's topic if its policy allows")

    def _install_sns_delivery(self, patches: Any) -> None:
        from moto.sns.models import Subscription

        service = self

        def make_publish(original: Any) -> Any:
            def publish(sub: Any, message: str, message_id: str, *args: Any, **kwargs: Any) -> Any:
                if sub.protocol not in ("sqs", "lambda"):
                    return original(sub, message, message_id, *args, **kwargs)
                matcher = sub._filter_policy_matcher
                attributes = kwargs.get("message_attributes", args[1] if len(args) > 1 else None)
                if matcher is not None and not matcher.matches(attributes, message):
                    return original(sub, message, message_id, *args, **kwargs)   # filtered out
                try:
                    service._check_subscription(sub)
                except DeliveryRefused as exc:
                    service._refused_notification(sub, str(exc))
                    return None
                target_account = arn_account(sub.endpoint)
                if sub.protocol == "sqs" and target_account and target_account != sub.account_id:
                    sub = copy.copy(sub)   # moto delivers into the topic's account
                    sub.account_id = target_account
                return original(sub, message, message_id, *args, **kwargs)
            return publish

        patches.wrap(Subscription, "publish", make_publish,
                     "SNS delivers to a queue or function only if its resource policy allows "
                     "(refused: dropped and counted in NumberOfNotificationsFailed)")

    def _check_subscription(self, sub: Any) -> None:
        if sub.protocol == "sqs":
            check_target(self.sandbox, "sns", sub.endpoint, sub.topic.arn)
        else:
            from eventlab.errors import FunctionNotFound

            try:
                fn = self.sandbox.service("lambda").function(sub.endpoint)
            except FunctionNotFound:
                return
            check_function(self.sandbox, "sns", fn, sub.topic.arn)

    def _refused_notification(self, sub: Any, reason: str) -> None:
        topic = sub.topic
        self.refused.append({"source": topic.arn, "target": sub.endpoint, "reason": reason,
                             "time": self.sandbox.clock.time()})
        self.sandbox.service("metrics").emit(
            topic.sns_backend.region_name, "AWS/SNS", "NumberOfNotificationsFailed",
            (("TopicName", topic.name),), 1.0, "Count", self.sandbox.clock.time())

    def _install_events(self, patches: Any) -> None:
        from moto.events.models import EventsBackend, events_backends

        service = self

        def make_put_events(original: Any) -> Any:
            def put_events(backend: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
                foreign = [i for i, e in enumerate(events)
                           if str(e.get("EventBusName") or "").startswith("arn:")
                           and arn_account(e["EventBusName"]) != backend.account_id]
                if not foreign:
                    return list(original(backend, events))
                results: dict[int, dict[str, Any]] = {}
                for i in foreign:
                    results[i] = service._put_foreign(original, events[i])
                local = [i for i in range(len(events)) if i not in results]
                for i, entry in zip(local, original(backend, [events[i] for i in local]), strict=True):
                    results[i] = entry
                return [results[i] for i in range(len(events))]
            return put_events

        patches.wrap(EventsBackend, "put_events", make_put_events,
                     "PutEvents onto a bus ARN of another account, if that bus's policy allows")
        self._events_backends = events_backends

    def _put_foreign(self, original: Any, entry: dict[str, Any]) -> dict[str, Any]:
        from moto.core.exceptions import JsonRESTError

        arn = entry["EventBusName"]
        parts = arn.split(":")
        backend = self._events_backends[parts[4]][parts[3]]
        bus = backend.event_buses.get(arn.split("/", 1)[-1])
        caller = current_caller()
        if bus is not None and mode_of(self.sandbox) != "off":
            request = Request(caller.principal, "events:PutEvents", bus.arn, caller_context(caller))
            if evaluate(bus.policy, request) is not Decision.ALLOW:
                raise JsonRESTError(
                    "AccessDeniedException",
                    f"User: {caller.principal} is not authorized to perform: events:PutEvents on "
                    f"resource: {bus.arn} because no resource-based policy allows the "
                    "events:PutEvents action")
        return dict(original(backend, [entry])[0])
