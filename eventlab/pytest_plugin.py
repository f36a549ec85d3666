"""pytest plugin (registered by the package): a ``sandbox`` fixture for any test suite.

    def test_fan_out(sandbox):
        sqs = sandbox.client("sqs")
        ...

Each test gets a fresh, isolated sandbox.  ``eventlab_lambda_time_scale`` in the pytest
ini options shortens Lambda ``Timeout`` values (for example 0.1 makes a 1 s timeout
fire after 0.1 s of real time); the default, 1.0, is AWS's behaviour.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from eventlab.sandbox import Sandbox


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("eventlab_lambda_time_scale",
                  "multiply Lambda timeouts in the sandbox fixture (1.0 = as configured)",
                  default="1.0")


@pytest.fixture
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """A fresh local AWS for one test (see eventlab.sandbox.Sandbox)."""
    scale = float(request.config.getini("eventlab_lambda_time_scale"))
    with Sandbox(lambda_time_scale=scale) as sb:
        yield sb
