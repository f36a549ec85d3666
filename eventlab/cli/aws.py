"""``eventlab aws ...``: the AWS CLI, held to the sandbox (as ``awslocal`` is to LocalStack).

Why not ``export AWS_ENDPOINT_URL``?  AWS CLI v1 (the ``awscli`` package on PyPI) fills
in an endpoint of its own for a few services before the environment is read
(``awscli/customizations/overridesslcommonname.py``): SQS goes to
``https://queue.amazonaws.com/`` (``us-east-1``) or ``https://REGION.queue.amazonaws.com/``,
EMR, RDS, DocumentDB and Neptune (``us-east-1``) and Health likewise.  That endpoint is
passed to the client as an explicit ``endpoint_url``, which wins over ``AWS_ENDPOINT_URL``
and over ``AWS_ENDPOINT_URL_SQS``; only ``--endpoint-url`` on the command line stops it.

So this command runs the CLI in this process with:

- ``--endpoint-url`` given on every call (the CLI skips its legacy hosts then), and every
  client the CLI creates (its customizations make some of their own) forced to the same
  endpoint;
- a guard in the CLI's HTTP layer that refuses any host that is not loopback;
- credentials, config and region that cannot come from the user's profile: the config
  and credentials files are ``/dev/null``, the keys are fake, proxies and profile, role
  and container variables are dropped.  ``--profile`` is ignored, with a note.

The endpoint: ``--endpoint URL`` before the AWS command, else ``EVENTLAB_ENDPOINT``, else
``http://127.0.0.1:4566`` (``eventlab serve``'s default).  It must be a loopback address.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

from eventlab import config
from eventlab.net import is_loopback, offline_variables

DEFAULT_ENDPOINT = "http://127.0.0.1:4566"
_FAKE_KEY = "AKIASANDBOXEVENTLAB0"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.usage = "eventlab aws [--endpoint URL] SERVICE OPERATION [AWS CLI options]"
    parser.epilog = ("Everything after eventlab's own options goes to the AWS CLI, with the "
                     "sandbox's endpoint forced for every service: eventlab aws sqs list-queues")
    parser.add_argument("--endpoint", metavar="URL",
                        help=f"the sandbox's URL (default: $EVENTLAB_ENDPOINT or {DEFAULT_ENDPOINT})")
    parser.add_argument("aws_args", nargs=argparse.REMAINDER, metavar="...",
                        help="the AWS CLI command, as after `aws`")


def split_passthrough(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """eventlab's own leading options, and the rest (the AWS CLI's, untouched)."""
    argv = list(argv)
    own: list[str] = []
    while argv:
        head = argv[0]
        if head in ("-h", "--help") and len(argv) == 1:
            own.append(argv.pop(0))
        elif head == "--endpoint" and len(argv) > 1:
            own += [argv.pop(0), argv.pop(0)]
        elif head.startswith("--endpoint="):
            own.append(argv.pop(0))
        else:
            break
    return own, argv


def run(args: argparse.Namespace) -> int:
    aws_args = list(getattr(args, "passthrough", None) or args.aws_args or [])
    endpoint = args.endpoint or config.endpoint() or DEFAULT_ENDPOINT
    try:
        endpoint = check_endpoint(endpoint)
        aws_args = _without_profile(aws_args)
    except ValueError as exc:
        print(f"eventlab aws: {exc}", file=sys.stderr)
        return 2
    return run_aws(aws_args, endpoint)


def check_endpoint(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"--endpoint {endpoint!r} is not a URL like {DEFAULT_ENDPOINT}")
    if not is_loopback(parts.hostname):
        raise ValueError(f"--endpoint {endpoint} is not on this machine; eventlab aws only "
                         "talks to a local sandbox (127.0.0.1, ::1 or localhost)")
    return endpoint.rstrip("/")


def _without_profile(aws_args: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(aws_args):
        arg = aws_args[i]
        if arg == "--endpoint-url" or arg.startswith("--endpoint-url="):
            raise ValueError("--endpoint-url is set by eventlab aws; choose the sandbox with "
                             "`eventlab aws --endpoint URL ...` (before the service name)")
        if arg == "--profile" or arg.startswith("--profile="):
            name = arg.partition("=")[2] or (aws_args[i + 1] if i + 1 < len(aws_args) else "")
            print(f"eventlab aws: ignoring --profile {name} (the sandbox takes no real "
                  "credentials)", file=sys.stderr)
            i += 1 if "=" in arg else 2
            continue
        out.append(arg)
        i += 1
    return out


def run_aws(aws_args: Sequence[str], endpoint: str) -> int:
    """The AWS CLI's ``main`` on ``aws_args`` with ``endpoint`` forced; its exit code."""
    with sandbox_environment(), _forced_endpoint(endpoint):
        from awscli.clidriver import create_clidriver

        return int(create_clidriver().main(["--endpoint-url", endpoint, *aws_args]) or 0)


@contextlib.contextmanager
def sandbox_environment() -> Iterator[None]:
    """Variables as the sandbox wants them for the CLI's run, restored afterwards."""
    forced = {
        "AWS_ACCESS_KEY_ID": _FAKE_KEY,
        "AWS_SECRET_ACCESS_KEY": "sandbox-secret-not-a-real-key",
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION")
        or "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "NO_PROXY": "*",
    }
    doomed = [*offline_variables(os.environ), "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "no_proxy"]
    saved = {k: os.environ.get(k) for k in [*forced, *doomed]}
    try:
        for k in doomed:
            os.environ.pop(k, None)
        os.environ.update(forced)
        yield
    finally:
        for k, value in saved.items():
            if value is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = value


@contextlib.contextmanager
def _forced_endpoint(endpoint: str) -> Iterator[None]:
    """Every client the CLI creates goes to ``endpoint``; nothing else is sent anywhere."""
    from awscli.botocore import httpsession, session

    original_create = session.Session.create_client
    original_send = httpsession.URLLib3Session.send

    signature = inspect.signature(original_create)

    def create_client(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        bound.arguments["endpoint_url"] = endpoint
        return original_create(*bound.args, **bound.kwargs)

    def send(self: Any, request: Any) -> Any:
        host = urlsplit(request.url).hostname
        if not is_loopback(host):
            raise ConnectionRefusedError(
                f"eventlab aws: refusing to send {request.method} {request.url}: "
                "eventlab aws only talks to the local sandbox")
        return original_send(self, request)

    session.Session.create_client = create_client
    httpsession.URLLib3Session.send = send
    try:
        yield
    finally:
        session.Session.create_client = original_create
        httpsession.URLLib3Session.send = original_send
