"""Many AWS accounts in one sandbox, and who is calling.

* Over HTTP (and in-process) a 12-digit access key id selects that account, the
  convention LocalStack users know (``AWS_ACCESS_KEY_ID=111111111111 aws sqs ...``);
  moto 5.2.5 maps only IAM and STS keys to accounts.  Any other key acts in the default
  account ``123456789012``, as before.  In-process, ``sb.account("111111111111")`` gives
  clients and moto backends of that account.
* ``sts:AssumeRole`` into a role of another account returns credentials that act there
  (moto's own behaviour); ``GetCallerIdentity`` names the account of the key.
* Every request records its :class:`Caller` (the account and the principal ARN) for the
  resource-policy checks of :mod:`eventlab.sandbox.iam.enforce`.
* ``aws:PrincipalOrgID``: the organization (moto's AWS Organizations) whose management
  account or member accounts include the caller's account.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from eventlab.errors import SandboxError

DEFAULT_ACCOUNT = "123456789012"
ACCOUNT_ID = re.compile(r"^\d{12}$")

_local = threading.local()


@dataclass(frozen=True)
class Caller:
    """The principal behind a request: its account and its ARN (an account's root, or an
    assumed role's session)."""

    account: str
    principal: str

    @classmethod
    def root(cls, account: str) -> Caller:
        return cls(account, f"arn:aws:iam::{account}:root")


def current_caller() -> Caller:
    """Who made the request being answered on this thread (the default account's root
    when no request is being answered)."""
    response = getattr(_local, "response", None)
    return caller_of(response) if response is not None else Caller.root(DEFAULT_ACCOUNT)


def check_account_id(account_id: str) -> str:
    if not isinstance(account_id, str) or not ACCOUNT_ID.match(account_id):
        raise SandboxError(f"an AWS account id is 12 digits, like '111111111111'; got {account_id!r}")
    return account_id


class Account:
    """One account of the sandbox: ``sb.account("111111111111").client("sqs")``."""

    def __init__(self, sandbox: Any, account_id: str) -> None:
        self.sandbox = sandbox
        self.account_id = check_account_id(account_id)

    def client(self, service: str, region: str | None = None) -> Any:
        """A boto3 client acting in this account (cached, as ``Sandbox.client``)."""
        return self.sandbox.client(service, region, account=self.account_id)

    def backend(self, service: str, region: str | None = None) -> Any:
        """moto's backend for a service in this account."""
        return self.sandbox.backend(service, region, account=self.account_id)

    def __repr__(self) -> str:
        return f"Account({self.account_id})"


def organization_of(account: str) -> str | None:
    """The id of the AWS Organizations organization that ``account`` belongs to, if any."""
    from moto.organizations.models import organizations_backends

    for per_partition in list(organizations_backends.values()):
        for backend in list(per_partition.values()):
            org = getattr(backend, "org", None)
            if org is None:
                continue
            if org.master_account_id == account or any(
                    a.id == account for a in list(getattr(backend, "accounts", []))):
                return str(org.id)
    return None


def add_to_organization(sandbox: Any, member: str, management: str) -> str:
    """Make ``member`` an account of ``management``'s organization (created if needed);
    returns the organization id.  (moto's ``CreateAccount`` only makes accounts with random
    ids, and has no ``InviteAccountToOrganization``.)"""
    from moto.organizations.models import FakeAccount

    check_account_id(member)
    backend = sandbox.backend("organizations", "aws", account=management)
    if getattr(backend, "org", None) is None:
        backend.create_organization(region=sandbox.region, feature_set="ALL")
    if not any(a.id == member for a in backend.accounts):
        account = FakeAccount(backend.org, AccountName=f"account-{member}", Email=f"{member}@example.com")
        account.id, account.joined_method = member, "INVITED"
        backend.accounts.append(account)
    return str(backend.org.id)


def caller_of(response: Any) -> Caller:
    """Who made the request that a moto response object is answering."""
    account = response.current_account
    return Caller(account, _principal_for(response.get_access_key(), account))


def _principal_for(access_key: str, account: str) -> str:
    """The principal ARN of a request signed with ``access_key`` in ``account``."""
    if ACCOUNT_ID.match(access_key):
        return f"arn:aws:iam::{account}:root"
    from moto.sts.models import sts_backends

    try:
        role = sts_backends[account]["aws"].get_assumed_role_from_access_key(access_key)
    except Exception:
        role = None
    if role is not None:
        return str(role.arn)
    return f"arn:aws:iam::{account}:root"


class AccountsService:
    name = "accounts"

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox

    def install(self, patches: Any) -> None:
        import moto.iam.models as iam_models
        from moto.core.responses import BaseResponse

        def make_account_of(original: Any) -> Any:
            def get_account_id_from(access_key: str) -> str:
                if ACCOUNT_ID.match(access_key):
                    return access_key
                return str(original(access_key))
            return get_account_id_from

        patches.wrap(iam_models, "get_account_id_from", make_account_of,
                     "a 12-digit access key id selects that account (LocalStack's convention)")
        patches.replace(BaseResponse, "access_key_regex", re.compile(
            r"AWS.*(?P<access_key>(?<![A-Z0-9])(?:[A-Z0-9]{20}|\d{12})(?![A-Z0-9]))[:/]"),
            "a request signed with a 12-digit access key id is read as such (moto wants 20 characters)")

        def make_authorize(original: Any) -> Any:
            def authorize(response: Any, resource: str) -> None:
                _local.response = response   # read (rarely) by current_caller()
                return original(response, resource)
            return authorize

        from moto.sts.models import STSBackend

        def make_identity(original: Any) -> Any:
            def get_caller_identity(backend: Any, access_key_id: str, region: str) -> Any:
                if ACCOUNT_ID.match(access_key_id):   # an account's own key: its root user
                    return access_key_id, f"arn:aws:iam::{access_key_id}:root", access_key_id
                return original(backend, access_key_id, region)
            return get_caller_identity

        patches.wrap(STSBackend, "get_caller_identity", make_identity,
                     "GetCallerIdentity with a 12-digit key names that account's root, as AWS does")

        patches.wrap(BaseResponse, "_authenticate_and_authorize_normal_action", make_authorize,
                     "each request is remembered, so that resource policies can ask who made it")
