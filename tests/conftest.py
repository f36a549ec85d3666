"""Shared fixtures: a fresh sandbox per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from eventlab.sandbox import Sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(lambda_time_scale=0.1) as sb:
        yield sb
