"""The lab API in a kernel whose sandbox lives in another process (``eventlab grade``).

When ``EVENTLAB_GRADING_URL`` is set, :func:`autograder.lab.start` returns a
:class:`RemoteSandbox` instead of starting moto in the kernel: boto3 clients point at the
grading process's sandbox, the clock is advanced over the admin API, and ``check``,
``hidden`` and ``architecture`` ask the grading process to run the checks.  The kernel
never imports the checks (they run where learner code cannot reach them) and only
displays what comes back.

This module imports nothing heavy: it is what a graded kernel loads instead of moto.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from datetime import datetime
from typing import Any

from eventlab import config
from eventlab.errors import GradingError

URL_ENV = config.GRADING_URL
ACCESS_KEY, SECRET_KEY, REGION = "AKIASANDBOXEVENTLAB0", "sandbox-secret-not-a-real-key", "us-east-1"


def client_env(url: str) -> dict[str, str]:
    """The environment that points a kernel's AWS clients (bare ``boto3.client`` too) and
    its lab API at the grading sandbox at ``url``, whatever the user's AWS settings."""
    return {
        URL_ENV: url, "AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        # botocore would send StartSyncExecution to "sync-127.0.0.1", which does not resolve
        "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
    }


def url() -> str | None:
    return config.grading_url()


class RemoteError(GradingError, RuntimeError):
    pass


def call(path: str, payload: dict[str, Any] | None = None, *, method: str = "POST",
         timeout: float = 600.0) -> Any:
    base = url()
    if not base:
        raise RemoteError(f"{URL_ENV} is not set: no grading sandbox to talk to")
    data = None if method == "GET" else json.dumps(payload or {}).encode()
    request = urllib.request.Request(base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (loopback)
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("message")
        except Exception:
            message = str(exc)
        raise RemoteError(f"the grading sandbox refused {path}: {message}") from None
    except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
        raise RemoteError(f"the grading sandbox at {base} did not answer {path}: {exc}") from None


class RemoteClock:
    """The sandbox's virtual clock, over ``/_eventlab/clock``."""

    def time(self) -> float:
        return float(call("/_eventlab/clock", method="GET")["epoch"])

    def now(self) -> datetime:
        return datetime.fromisoformat(call("/_eventlab/clock", method="GET")["now"])

    def advance(self, seconds: float = 0.0, *, minutes: float = 0.0, hours: float = 0.0,
                days: float = 0.0) -> datetime:
        out = call("/_eventlab/clock/advance", {"seconds": seconds, "minutes": minutes,
                                                "hours": hours, "days": days})
        return datetime.fromisoformat(out["now"])


class RemoteService:
    """A gap-filling service's learner-facing methods (e.g. failure injection)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):
            raise AttributeError(method)

        def invoke(*args: Any, **kwargs: Any) -> Any:
            return call("/_eventlab/lab/service", {"service": self._name, "method": method,
                                                   "args": list(args), "kwargs": kwargs})["result"]
        return invoke


class RemoteSandbox:
    """What a lab notebook uses of a sandbox: clients, the clock, the endpoint."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.region: str = info["region"]
        self.account_id: str = info["account_id"]
        self.endpoint_url: str = info["endpoint_url"]
        self.clock = RemoteClock()
        self._clients: dict[tuple[str, str, str], Any] = {}

    def client(self, service: str, region: str | None = None, account: str | None = None) -> Any:
        """A boto3 client of the grading sandbox acting in ``account`` (over HTTP a 12-digit
        access key id selects that account)."""
        key = (service, region or self.region, account or "")
        if key not in self._clients:
            import boto3

            self._clients[key] = boto3.client(
                service, region_name=key[1], endpoint_url=self.endpoint_url,
                aws_access_key_id=account or ACCESS_KEY, aws_secret_access_key=SECRET_KEY)
        return self._clients[key]

    def account(self, account_id: str) -> RemoteAccount:
        """Another account of the grading sandbox, as ``Sandbox.account`` in-process."""
        return RemoteAccount(self, account_id)

    def service(self, name: str) -> RemoteService:
        return RemoteService(name)

    def settle(self) -> None:
        call("/_eventlab/settle")

    def stop(self) -> None:
        """The grading process owns the sandbox; nothing to stop here."""


class RemoteAccount:
    """``sb.account("111111111111")`` in a graded kernel: clients acting in that account."""

    def __init__(self, sandbox: RemoteSandbox, account_id: str) -> None:
        if not (isinstance(account_id, str) and len(account_id) == 12 and account_id.isdigit()):
            raise ValueError(f"an AWS account id is 12 digits, like '111111111111'; got {account_id!r}")
        self.sandbox, self.account_id = sandbox, account_id

    def client(self, service: str, region: str | None = None) -> Any:
        return self.sandbox.client(service, region, account=self.account_id)


def results(payload: list[dict[str, Any]]) -> list[Any]:
    from autograder.checks import Result

    return [Result(**r) for r in payload]


def show_picture(payload: dict[str, str]) -> None:
    from autograder.diagram import show_text

    show_text(payload["mermaid"], payload["text"])
