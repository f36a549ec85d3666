"""Shared fixtures.

``sandbox``: a fresh local AWS per test, with Lambda timeouts scaled to a tenth so a
timeout test does not wait seconds.  ``make_function``: deploys handler source text
and returns the function name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from eventlab.sandbox import Sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(lambda_time_scale=0.1) as sb:
        yield sb


@pytest.fixture
def make_function(sandbox: Sandbox) -> Callable[..., str]:
    """``make(name, source, env=..., timeout=3, **create_function_args)`` -> the name."""
    from tests.eventlab.helpers import make_function as deploy

    def make(name: str, source: str, *, env: dict[str, str] | None = None, timeout: int = 3,
             **extra: object) -> str:
        deploy(sandbox, name, source, env, timeout=timeout, **extra)
        return name

    return make
