"""Shared fixtures (kept minimal: test modules hold their own helpers)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from eventlab.sandbox import Sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A running sandbox; Lambda timeouts scaled down so that a hung handler fails fast."""
    with Sandbox(lambda_time_scale=0.1) as sb:
        yield sb
