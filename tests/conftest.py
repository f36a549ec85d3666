"""Shared fixtures.

``sandbox`` comes from eventlab's own pytest plugin (eventlab/pytest_plugin.py; the ini
option ``eventlab_lambda_time_scale = 0.1`` in pyproject.toml makes a 1 s Lambda timeout
fire after 0.1 s).  ``make_function`` deploys handler source text and returns its name.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from eventlab.sandbox import Sandbox


@pytest.fixture
def make_function(sandbox: Sandbox) -> Callable[..., str]:
    """``make(name, source, env=..., timeout=10, **create_function_args)`` -> the name.

    The default timeout is 10 s (1 s of real time under the 0.1 scale): a cold handler
    that creates a boto3 client and makes HTTP calls needs a few hundred ms on a busy
    2-core machine, so AWS's 3 s default (0.3 s scaled) made such tests flaky.
    """
    from tests.sandbox.helpers import make_function as deploy

    def make(name: str, source: str, *, env: dict[str, str] | None = None, timeout: int = 10,
             **extra: object) -> str:
        deploy(sandbox, name, source, env, timeout=timeout, **extra)
        return name

    return make


@pytest.fixture(scope="session")
def lab_course(tmp_path_factory: pytest.TempPathFactory):
    """Both labs through nbgrader (generate, autograde, feedback) and ``eventlab grade``,
    once per session: the source, the learner's copy, the solution and each mistake."""
    from tests.labs_support import build_lab_course

    return build_lab_course(tmp_path_factory.mktemp("labs"))
