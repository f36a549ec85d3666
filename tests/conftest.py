"""Shared fixtures.

``sandbox``: a fresh local AWS per test, with Lambda timeouts scaled to a tenth so a
timeout test does not wait seconds.  ``make_function``: deploys handler source text
and returns the function name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from eventlab.sandbox import Sandbox, zip_code


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(lambda_time_scale=0.1) as sb:
        yield sb


@pytest.fixture
def make_function(sandbox: Sandbox) -> Callable[..., str]:
    iam = sandbox.client("iam")
    role = iam.create_role(RoleName="lambda-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]

    def make(name: str, source: str, *, handler: str = "lambda_function.handler",
             env: dict[str, str] | None = None, timeout: int = 3, **extra: object) -> str:
        sandbox.client("lambda").create_function(
            FunctionName=name, Runtime="python3.12", Role=role, Handler=handler,
            Code={"ZipFile": zip_code(source)}, Timeout=timeout,
            Environment={"Variables": env or {}}, **extra)
        return name

    return make
