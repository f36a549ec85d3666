"""Identity policies, opt-in: ``Sandbox(iam="enforce")``, ``eventlab serve --iam enforce``.

Off by default (``iam="off"``): nothing here is installed and nothing is slower (but for the
lookup of AWS managed policies when IAM attaches one, :mod:`eventlab.sandbox.iam.managed`).  With
``"enforce"`` (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):

* **Who is checked**: every request signed with the credentials of an assumed-role session
  (a Lambda handler's calls with its execution role, a Step Functions task with the state
  machine's role, anyone who called ``sts:AssumeRole``), every EventBridge delivery to a
  target with ``RoleArn``, every EventBridge Scheduler delivery and every call an EventBridge
  pipe makes with its role (:mod:`eventlab.sandbox.pipes.permissions`).  S3 calls too: moto's
  S3 answers from its own URL handlers, not through ``BaseResponse.call_action``, so their
  check hooks moto's per-action S3 authorization point instead
  (:mod:`eventlab.sandbox.iam.s3_calls`).  An account's own keys
  (root) are not checked, as before.
* **What decides**: the role's inline policies and attached managed policies, customer or
  AWS managed (moto's IAM; AWS's own are looked up when attached:
  :mod:`eventlab.sandbox.iam.managed`), and the resource's own policy (queue, topic, function, event bus, a role's
  trust policy).  An explicit ``Deny`` in either wins.  Same account: either allowing is
  enough.  Another account's resource: both must allow (with ``policies="off"`` the
  resource policy is not looked at).
* **Refused**: the service's AccessDenied error, with AWS's message ("User: arn:aws:sts::
  ACCOUNT:assumed-role/ROLE/SESSION is not authorized to perform: ACTION on resource: ARN
  because no identity-based policy allows the ACTION action").
* **Trust policies**: ``AssumeRole`` needs the role's trust policy to allow the caller
  (also under ``policies="strict"`` without ``iam``: a trust policy is the role's resource
  policy); ``CreateFunction`` and ``CreateStateMachine`` need
  it to name ``lambda.amazonaws.com`` / ``states.amazonaws.com``; an EventBridge target's
  role must trust ``events.amazonaws.com``.
"""

from __future__ import annotations

import re
import threading
from typing import Any
from urllib.parse import unquote

from eventlab.sandbox.iam.accounts import Caller, caller_of
from eventlab.sandbox.iam.enforce import (
    DeliveryRefused,
    caller_context,
    function_policy,
    mode_of,
    queue_policy,
    topic_policy,
)
from eventlab.sandbox.iam.policy import (
    Decision,
    PolicyError,
    Request,
    arn_account,
    decide_all,
    evaluate,
)

MODES = ("off", "enforce")
SESSION = re.compile(r"^arn:aws:sts::(\d{12}):assumed-role/([^/]+)/(.+)$")

# moto's service name -> IAM's action prefix; actions whose IAM name differs from the API's
_PREFIX = {"stepfunctions": "states", "awslambda": "lambda"}
_ACTION = {"lambda:Invoke": "lambda:InvokeFunction", "lambda:InvokeAsync": "lambda:InvokeFunction",
           "sqs:SendMessageBatch": "sqs:SendMessage", "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
           "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
           "sns:PublishBatch": "sns:Publish"}
# the interpreter's modules that make boto3 clients for tasks (state_task/...)
_STATES_CLIENT_MODULES = tuple(f"state_task.{m}" for m in (
    "lambda_eval_utils", "service.state_task_service_sqs", "service.state_task_service_sns",
    "service.state_task_service_events", "service.state_task_service_sfn",
    "service.state_task_service_dynamodb", "service.state_task_service_aws_sdk",
    "service.state_task_service_unsupported"))
# what Lambda's poller does with the function's role (AWSLambdaSQSQueueExecutionRole and
# AWSLambdaKinesisExecutionRole)
_SOURCE_ACTIONS = {"sqs": ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"),
                   "kinesis": ("kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:DescribeStream",
                               "kinesis:ListShards")}
_ALWAYS = {"sts:GetCallerIdentity"}   # AWS answers it whatever the policies say


class IdentityRefused(DeliveryRefused):
    """A call on behalf of a role that its policies (or the resource's) do not allow."""

    def __init__(self, message: str, action: str) -> None:
        super().__init__(message)
        self.action = action


def iam_mode(sandbox: Any) -> str:
    return getattr(sandbox, "iam", "off")


def role_of_session(principal: str) -> str | None:
    match = SESSION.match(principal)
    return f"arn:aws:iam::{match.group(1)}:role/{match.group(2)}" if match else None


def _role(role_arn: str) -> Any:
    from moto.iam.models import iam_backends

    try:
        return iam_backends[arn_account(role_arn) or ""]["aws"].get_role_by_arn(role_arn)
    except Exception:   # no such role (or account)
        return None


def role_documents(role_arn: str) -> list[str]:
    """The role's inline policies and the default versions of its attached managed policies."""
    role = _role(role_arn)
    if role is None:
        return []
    documents = [str(d) for d in role.policies.values()]
    for policy in list(role.managed_policies.values()):
        documents.extend(str(v.document) for v in policy.versions
                         if v.version_id == policy.default_version_id)
    return documents


def trust_policy(role_arn: str) -> str | None:
    role = _role(role_arn)
    return str(role.assume_role_policy_document) if role is not None else None


def trusts(role_arn: str, principal: str, source: dict[str, str] | None = None) -> bool:
    """Whether the role's trust policy lets ``principal`` (a service, or an IAM ARN) assume it."""
    request = Request(principal, "sts:AssumeRole", role_arn, source or {})
    try:
        return evaluate(trust_policy(role_arn), request) is Decision.ALLOW
    except PolicyError:
        return False


def resource_policy(sandbox: Any, arn: str) -> str | None:
    """The resource's own policy (None when it has none or the sandbox does not know it)."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return None
    kind = parts[2]
    try:
        if kind == "sqs":
            return queue_policy(sandbox, arn)[1]
        if kind == "sns":
            return topic_policy(sandbox, arn)
        if kind == "lambda":
            return function_policy(sandbox.service("lambda").function(arn))
        if kind == "events" and parts[5].startswith("event-bus/"):
            bus = sandbox.backend_for("events", arn).event_buses.get(parts[5].split("/", 1)[1])
            return bus.policy if bus is not None else None
        if kind == "iam" and parts[5].startswith("role/"):
            return trust_policy(arn)
    except Exception:   # a missing resource fails as such in the call itself
        return None
    return None


def refusal(sandbox: Any, caller: Caller, action: str, resource: str | None) -> str | None:
    """Why ``caller`` (an assumed-role session) may not do ``action`` on ``resource`` (None:
    it may).  ``resource`` None: a call whose resource the sandbox does not name, checked
    on its action alone."""
    role_arn = role_of_session(caller.principal)
    if role_arn is None or action in _ALWAYS:
        return None
    target = resource or "*"
    request = Request(caller.principal, action, target, caller_context(caller), any_resource=resource is None)
    try:
        identity = decide_all(role_documents(role_arn), request)
        own = None if resource is None or mode_of(sandbox) == "off" else resource_policy(sandbox, resource)
        if action == "sts:AssumeRole" and resource is not None:
            own = trust_policy(resource)
        found = evaluate(own, request)
    except PolicyError as exc:
        return f"a policy of {role_arn} or {target} cannot be read: {exc}"
    head = f"User: {caller.principal} is not authorized to perform: {action} on resource: {target}"
    if identity is Decision.DENY:
        return f"{head} with an explicit deny in an identity-based policy"
    if found is Decision.DENY:
        return f"{head} with an explicit deny in a resource-based policy"
    owner = (arn_account(target) if target.startswith("arn:") else None) or caller.account
    if action == "sts:AssumeRole" and found is not Decision.ALLOW:
        return f"{head} because the role's trust policy does not allow it"
    if owner == caller.account:
        if identity is Decision.ALLOW or found is Decision.ALLOW:
            return None
        return f"{head} because no identity-based policy allows the {action} action"
    if identity is not Decision.ALLOW:
        return f"{head} because no identity-based policy allows the {action} action"
    if mode_of(sandbox) != "off" and found is not Decision.ALLOW:
        return f"{head} because no resource-based policy allows the {action} action"
    return None


def _session(role_arn: str, session: str) -> Caller:
    account = arn_account(role_arn) or ""
    return Caller(account, f"arn:aws:sts::{account}:assumed-role/{role_arn.rsplit('/', 1)[-1]}/{session}")


def role_refusal(sandbox: Any, role_arn: str, session: str, action: str, resource: str | None) -> str | None:
    """Why a session ``session`` of ``role_arn`` (a service acting with it) may not do
    ``action`` on ``resource`` (None: it may)."""
    return refusal(sandbox, _session(role_arn, session), action, resource)


def authorize_role(sandbox: Any, role_arn: str, session: str, action: str, resource: str) -> None:
    """A service acting with ``role_arn`` (an EventBridge target's role, a pipe's): raise
    :class:`IdentityRefused` unless the role's policies allow ``action`` on ``resource``."""
    if iam_mode(sandbox) != "enforce":
        return
    why = sandbox.service("identity").decide(_session(role_arn, session), action, resource)
    if why is not None:
        raise IdentityRefused(why, action)


def trust_refusal(role_arn: str, principal: str, source_arn: str) -> str | None:
    """Why the service ``principal`` cannot assume ``role_arn`` for ``source_arn`` (None: it can)."""
    if _role(role_arn) is not None and trusts(role_arn, principal, {
            "aws:SourceArn": source_arn, "aws:SourceAccount": arn_account(source_arn) or ""}):
        return None
    return (f"{principal} cannot assume {role_arn} (no such role, or its trust policy does not "
            "name the service)")


# the action EventBridge performs on a target of each service, with the target's role
_TARGET_ACTIONS = {"sqs": "sqs:SendMessage", "sns": "sns:Publish", "lambda": "lambda:InvokeFunction",
                   "states": "states:StartExecution", "kinesis": "kinesis:PutRecord",
                   "firehose": "firehose:PutRecord", "events": "events:PutEvents",
                   "logs": "logs:PutLogEvents"}


def check_target_role(sandbox: Any, role_arn: str, target_arn: str, source_arn: str,
                      service: str = "events") -> None:
    """A target reached with ``RoleArn`` (iam="enforce"): an EventBridge rule's target
    (``service`` "events"), an EventBridge Scheduler schedule's ("scheduler") or an API
    Gateway integration's with ``credentials`` ("apigateway").  The role
    must trust ``SERVICE.amazonaws.com`` and its policies allow the delivery (refused:
    :class:`IdentityRefused`, which the target's DLQ gets as ``NO_PERMISSIONS``)."""
    if iam_mode(sandbox) != "enforce":
        return
    why = trust_refusal(role_arn, f"{service}.amazonaws.com", source_arn)
    if why is not None:
        raise IdentityRefused(why, "sts:AssumeRole")
    action = _TARGET_ACTIONS.get(target_arn.split(":")[2])
    if action is not None:
        session = {"events": "EventBridgeSession", "scheduler": "SchedulerSession"}.get(service, "ApiGatewaySession")
        authorize_role(sandbox, role_arn, session, action, target_arn)


# -- what a request asks for ----------------------------------------------------------
def _param(response: Any, name: str) -> Any:
    try:
        value = response._get_param(name)
    except Exception:
        return None
    return value if value else None


def request_action(response: Any) -> str:
    prefix = _PREFIX.get(response.service_name, response.service_name)
    action = f"{prefix}:{response._get_action()}"
    return _ACTION.get(action, action)


def request_resources(response: Any, action: str) -> list[str | None]:
    """The ARNs a request acts on ([None]: the sandbox does not name them)."""
    region, account = response.region, response.current_account
    service = action.split(":", 1)[0]
    if service == "sqs":
        url = _param(response, "QueueUrl")
        if url:
            parts = str(url).rstrip("/").split("/")
            return [f"arn:aws:sqs:{region}:{parts[-2]}:{parts[-1]}"]
        name = _param(response, "QueueName")
        owner = _param(response, "QueueOwnerAWSAccountId") or account
        return [f"arn:aws:sqs:{region}:{owner}:{name}" if name else None]
    if service == "sns":
        for name in ("TopicArn", "TargetArn", "ResourceArn"):
            value = _param(response, name)
            if isinstance(value, str) and value.startswith("arn:"):
                return [value]
        name = _param(response, "Name")
        return [f"arn:aws:sns:{region}:{account}:{name}" if name and action == "sns:CreateTopic" else None]
    if service == "events":
        if action == "events:PutEvents":
            entries = _param(response, "Entries") or []
            buses = {str(e.get("EventBusName") or "default") for e in entries if isinstance(e, dict)}
            return [b if b.startswith("arn:") else f"arn:aws:events:{region}:{account}:event-bus/{b}"
                    for b in sorted(buses)] or [None]
        return [None]
    if service == "lambda":
        match = re.search(r"/functions/([^/]+)", unquote(getattr(response, "path", "") or ""))
        if match:
            name = match.group(1)
            return [name if name.startswith("arn:") else f"arn:aws:lambda:{region}:{account}:function:{name}"]
        return [None]
    if service == "states":
        for name in ("stateMachineArn", "executionArn", "activityArn"):
            value = _param(response, name)
            if value:
                return [str(value)]
        return [None]
    if service in ("kinesis", "firehose", "dynamodb"):
        arn = _param(response, "StreamARN")
        if arn:
            return [str(arn)]
        kind, key = {"kinesis": ("stream", "StreamName"), "firehose": ("deliverystream", "DeliveryStreamName"),
                     "dynamodb": ("table", "TableName")}[service]
        name = _param(response, key)
        return [f"arn:aws:{service}:{region}:{account}:{kind}/{name}" if name else None]
    if action == "sts:AssumeRole":
        return [_param(response, "RoleArn")]
    return [None]


def _denied(response: Any, action: str, message: str) -> Any:
    from moto.core.exceptions import ServiceException
    from moto.core.responses import ActionResult

    class AccessDenied(ServiceException):   # defined here: serialised with the caller's service model
        pass

    code = {"sqs": "AccessDenied", "sns": "AuthorizationError", "sts": "AccessDenied",
            "iam": "AccessDenied"}.get(action.split(":", 1)[0], "AccessDeniedException")
    status, headers, body = response.serialized(ActionResult(AccessDenied(code, message)))
    headers["status"] = "403"
    return 403, headers, body


class IdentityService:
    """Installs nothing unless ``iam="enforce"`` (its AssumeRole trust check: also with
    ``policies="strict"``)."""

    name = "identity"

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self._sessions: dict[tuple[str, str], dict[str, str]] = {}
        self._lock = threading.Lock()
        self.refused: list[dict[str, Any]] = []   # calls an identity policy refused

    def install(self, patches: Any) -> None:
        import warnings

        from eventlab.sandbox.iam import managed

        managed.install(patches)    # every mode: AttachRolePolicy of an AWS managed policy works
        if iam_mode(self.sandbox) == "enforce" or mode_of(self.sandbox) == "strict":
            # some services' models have no AccessDenied shape; moto warns, AWS answers it anyway
            warnings.filterwarnings("ignore", r"Exception\(AccessDenied\) with code")
            self._install_assume_role(patches)
        if iam_mode(self.sandbox) != "enforce":
            return
        from moto.core.responses import BaseResponse

        service = self

        def make_call_action(original: Any) -> Any:
            def call_action(response: Any) -> Any:
                caller = caller_of(response)
                if not caller.principal.startswith("arn:aws:sts::"):
                    return original(response)
                action = request_action(response)
                for resource in request_resources(response, action):
                    why = service.decide(caller, action, resource)
                    if why is not None:
                        return _denied(response, action, why)
                return original(response)
            return call_action

        patches.wrap(BaseResponse, "call_action", make_call_action,
                     "iam=enforce: calls with a role's credentials need its identity policies to allow them")
        from eventlab.sandbox.iam.s3_calls import install_s3_check

        install_s3_check(patches, self)
        self._install_trust(patches)

    def decide(self, caller: Caller, action: str, resource: str | None) -> str | None:
        """Why an assumed-role session's call is refused (None: allowed), recorded in ``refused``."""
        why = refusal(self.sandbox, caller, action, resource)
        if why is not None:
            self.refused.append({"principal": caller.principal, "action": action, "resource": resource,
                                 "reason": why, "time": self.sandbox.clock.time()})
        return why

    def _install_assume_role(self, patches: Any) -> None:
        from moto.core.exceptions import ServiceException
        from moto.sts.responses import TokenResponse

        class AccessDenied(ServiceException):
            code = "AccessDenied"

        def make_assume_role(original: Any) -> Any:
            def assume_role(response: Any) -> Any:
                caller = caller_of(response)
                role_arn = _param(response, "RoleArn")
                if role_arn and _role(role_arn) is not None and not trusts(
                        role_arn, caller.principal, caller_context(caller)):
                    raise AccessDenied(f"User: {caller.principal} is not authorized to perform: "
                                       f"sts:AssumeRole on resource: {role_arn}")
                return original(response)
            return assume_role

        patches.wrap(TokenResponse, "assume_role", make_assume_role,
                     "iam=enforce or policies=strict: AssumeRole needs the role's trust policy to allow the caller")

    def _install_trust(self, patches: Any) -> None:
        from moto.awslambda.exceptions import InvalidParameterValueException
        from moto.awslambda.models import LambdaStorage

        def make_put_function(original: Any) -> Any:
            def put_function(storage: Any, fn: Any) -> Any:
                if _role(fn.role) is not None and not trusts(fn.role, "lambda.amazonaws.com"):
                    raise InvalidParameterValueException(
                        "The role defined for the function cannot be assumed by Lambda.")
                return original(storage, fn)
            return put_function

        patches.wrap(LambdaStorage, "put_function", make_put_function,
                     "iam=enforce: a function's role must trust lambda.amazonaws.com")

        from moto.awslambda.models import LambdaBackend

        identity = self

        def make_esm(original: Any) -> Any:
            def create_event_source_mapping(backend: Any, spec: dict[str, Any]) -> Any:
                identity.check_event_source(backend, spec)
                return original(backend, spec)
            return create_event_source_mapping

        patches.wrap(LambdaBackend, "create_event_source_mapping", make_esm,
                     "iam=enforce: an event source mapping needs its function's role to read the source")

        from moto.stepfunctions.models import StepFunctionBackend

        def make_create(original: Any) -> Any:
            def create_state_machine(backend: Any, name: str, definition: str, roleArn: str,
                                     *args: Any, **kwargs: Any) -> Any:
                if _role(roleArn) is not None and not trusts(roleArn, "states.amazonaws.com"):
                    from moto.core.exceptions import JsonRESTError

                    raise JsonRESTError("AccessDeniedException", "Neither the global service principal "
                                        "states.amazonaws.com, nor the regional one is authorized to "
                                        "assume the provided role.")
                return original(backend, name, definition, roleArn, *args, **kwargs)
            return create_state_machine

        patches.wrap(StepFunctionBackend, "create_state_machine", make_create,
                     "iam=enforce: a state machine's role must trust states.amazonaws.com")
        self._install_states_credentials(patches)

    def check_event_source(self, backend: Any, spec: dict[str, Any]) -> None:
        """CreateEventSourceMapping: Lambda's poller reads the queue or stream with the
        function's execution role, and AWS checks that it can before creating the mapping."""
        from moto.awslambda.exceptions import InvalidParameterValueException

        source, name = str(spec.get("EventSourceArn") or ""), str(spec.get("FunctionName") or "")
        kind = source.split(":")[2] if source.count(":") >= 5 else ""
        if kind not in _SOURCE_ACTIONS or not name:
            return
        try:
            fn = backend.get_function(name)
        except Exception:   # moto answers for a missing function
            return
        account = arn_account(fn.role) or backend.account_id
        session = Caller(account, f"arn:aws:sts::{account}:assumed-role/{fn.role.rsplit('/', 1)[-1]}/"
                                  f"{fn.function_name}")
        missing = [a for a in _SOURCE_ACTIONS[kind] if refusal(self.sandbox, session, a, source)]
        if not missing:
            return
        if kind == "sqs":
            raise InvalidParameterValueException(
                f"The provided execution role does not have permissions to call {missing[0].split(':')[1]} on SQS")
        raise InvalidParameterValueException(
            f"Cannot access stream {source}. Please ensure the role can perform the GetRecords, "
            "GetShardIterator, DescribeStream, and ListShards Actions on your stream.")

    def _install_states_credentials(self, patches: Any) -> None:
        identity = self

        def install() -> None:
            import importlib

            import moto.stepfunctions.parser.asl.utils.boto_client as boto_module

            original = boto_module.boto_client_for

            def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
                role_arn = getattr(state_credentials, "role_arn", None)
                if not role_arn:
                    return original(region=region, service=service, state_credentials=state_credentials)
                import boto3
                from botocore.config import Config

                keys = identity.credentials(role_arn, "StepFunctionsSession")
                return boto3.client(service, region_name=region, aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
                                    aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
                                    aws_session_token=keys["AWS_SESSION_TOKEN"],
                                    config=Config(parameter_validation=False,
                                                  retries={"max_attempts": 0, "total_max_attempts": 1}))

            for name in _STATES_CLIENT_MODULES:
                module = importlib.import_module(f"moto.stepfunctions.parser.asl.component.state.exec.{name}")
                patches.replace(module, "boto_client_for", boto_client_for,
                                "iam=enforce: a state machine's tasks call with its role's credentials")

        patches.after_import("moto.stepfunctions.parser.models", install)

    def credentials(self, role_arn: str, session: str) -> dict[str, str]:
        """Credentials of a session of ``role_arn`` (made once per role and session name),
        as environment variables."""
        with self._lock:
            found = self._sessions.get((role_arn, session))
            if found is None:
                from moto.sts.models import sts_backends

                account = arn_account(role_arn) or self.sandbox.account_id
                assumed = sts_backends[account]["aws"].assume_role(
                    region_name=self.sandbox.region, role_session_name=session, role_arn=role_arn,
                    policy="", duration=43200, external_id="")
                found = {"AWS_ACCESS_KEY_ID": assumed.access_key_id,
                         "AWS_SECRET_ACCESS_KEY": assumed.secret_access_key,
                         "AWS_SESSION_TOKEN": assumed.session_token}
                self._sessions[(role_arn, session)] = found
            return found


def function_credentials(sandbox: Any, fn: Any) -> dict[str, str]:
    """The environment variables that give a Lambda environment its execution role's
    credentials (none with ``iam="off"``)."""
    if iam_mode(sandbox) != "enforce" or not getattr(fn, "role", None):
        return {}
    service: IdentityService = sandbox.service("identity")
    return service.credentials(fn.role, fn.function_name)
