"""A grading sandbox is made with its serving options (autograder.host.serve_options):
moto's own API is closed over HTTP, each try is kept and written to the verdict file."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from autograder.host import LabHost, serve_options
from eventlab.sandbox import Sandbox


def test_the_grading_sandbox_refuses_moto_api_and_records_it(tmp_path) -> None:
    verdicts = tmp_path / "verdicts.jsonl"
    with Sandbox(serving=serve_options(str(verdicts))) as sb:
        url = sb.serve("127.0.0.1", 0).url
        request = urllib.request.Request(f"{url}/moto-api/reset", method="POST", data=b"")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 403
        assert sb.refused == ["POST /moto-api/reset"]
        assert sb.serving.wait_for_deliveries
    lines = [json.loads(line) for line in verdicts.read_text().splitlines()]
    assert lines == [{"kind": "refused", "value": "POST /moto-api/reset"}]


def test_a_lab_host_needs_a_sandbox_made_for_grading() -> None:
    with Sandbox(background=False) as sb, pytest.raises(ValueError, match="serve_options"):
        LabHost("lab01", sb).install()
