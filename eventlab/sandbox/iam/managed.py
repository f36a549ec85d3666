"""AWS managed policies (``arn:aws:iam::aws:policy/...``), attached as on AWS.

moto ships the documents of AWS's managed policies (``moto/iam/aws_managed_policies.py``,
over a thousand, 4.7 MB of JSON) but loads none unless told to at start-up, and then all
of them into every IAM backend (about half a second): without them ``AttachRolePolicy``
of ``AWSLambdaBasicExecutionRole`` fails with ``NoSuchEntity``.  Here a policy is looked
up when IAM is first asked to attach (or ``GetPolicy``) it: only its own JSON is decoded
(cached per process) and only it becomes a moto object in that account's backend, so a role's
attached AWS managed policies are evaluated like customer managed ones
(:func:`eventlab.sandbox.iam.identity.role_documents`).  An ARN AWS does not have keeps
moto's (and AWS's) answer: ``NoSuchEntity`` "Policy ARN does not exist or is not
attachable.".  Installed in every mode (attaching is an IAM API call; only its evaluation
needs ``iam="enforce"``).
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

AWS_POLICY = re.compile(r"^arn:aws:iam::aws:policy(/(?:[^/]+/)*)([^/]+)$")


@functools.lru_cache(maxsize=256)
def aws_policy_data(arn: str) -> dict[str, Any] | None:
    """moto's data of the AWS managed policy ``arn`` (None: AWS has no such policy).  Only
    that policy's JSON is decoded (found by its name in moto's text), not all 4.7 MB."""
    match = AWS_POLICY.match(arn)
    if match is None:
        return None
    from moto.iam.aws_managed_policies import aws_managed_policies_data as text

    path, name = match.groups()
    start = text.find(f'\n {json.dumps(name)}:')
    if start < 0:
        return None
    data, _ = json.JSONDecoder().raw_decode(text, text.index("{", start))
    if not isinstance(data, dict) or (data.get("Path") or "/") != path:
        return None
    return dict(data, Name=name)


def ensure_loaded(backend: Any, arn: str) -> None:
    """Put the AWS managed policy ``arn`` into ``backend`` (moto's IAM backend of one
    account) if it is one AWS has and the backend does not hold it yet."""
    if arn in backend.managed_policies or not AWS_POLICY.match(arn):
        return
    data = aws_policy_data(arn)
    if data is None:
        return                       # moto answers NoSuchEntity, as AWS does
    from moto.iam.models import AWSManagedPolicy

    policy = AWSManagedPolicy.from_data(data["Name"], backend.account_id, backend.region_name, data)
    backend.managed_policies[policy.arn] = policy


def install(patches: Any) -> None:
    """Resolve AWS managed policy ARNs when IAM is asked to attach or describe one."""
    def hook() -> None:
        from moto.iam.models import IAMBackend

        def make(original: Any) -> Any:
            def call(backend: Any, policy_arn: str, *args: Any, **kwargs: Any) -> Any:
                ensure_loaded(backend, policy_arn)
                return original(backend, policy_arn, *args, **kwargs)
            return call

        for method in ("attach_role_policy", "attach_user_policy", "attach_group_policy", "get_policy"):
            patches.wrap(IAMBackend, method, make,
                         "AWS managed policies (arn:aws:iam::aws:policy/...) load when first attached "
                         "or described, not all at start-up")

    patches.after_import("moto.iam.models", hook)
