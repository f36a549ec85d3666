"""Executable claims: every ``python sandbox`` block in the notes holds in the sandbox.

Each block runs on a fresh sandbox (the ``sandbox`` fixture) and asserts what its note
says; a disagreement fails the test with the note's file, line and block id.  See
eventlab/claims.py for the convention and content/index.md for the reader's view.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from eventlab import claims
from eventlab.notes import render_html
from eventlab.sandbox import Sandbox

ALL = claims.claims()
FIXTURES = Path(__file__).parent / "fixtures" / "claims"

# Every service the sandbox runs is shown by at least one claim (id prefix -> service).
SERVICES = {
    "sqs": "SQS", "sns": "SNS", "eb": "EventBridge", "eb-transformer": "input transformers",
    "eb-archive": "archives and replay", "kinesis": "Kinesis Data Streams",
    "firehose": "Firehose", "athena": "Athena", "esm": "Lambda event source mappings",
    "sfn": "Step Functions", "apigw-rest": "API Gateway REST APIs",
    "apigw-http": "API Gateway HTTP APIs", "cw": "CloudWatch alarms",
    "scheduler": "EventBridge Scheduler", "msk": "MSK control plane", "pipes": "EventBridge Pipes",
}


@pytest.mark.parametrize("claim", ALL, ids=[c.id for c in ALL])
def test_claim_holds_in_the_sandbox(claim: claims.Claim, sandbox: Sandbox) -> None:
    claims.run_claim(claim, sandbox)


def test_there_are_at_least_forty_claims_covering_every_service() -> None:
    assert len(ALL) >= 40, f"only {len(ALL)} executable claims"
    missing = [name for prefix, name in SERVICES.items()
               if not any(c.id.startswith(prefix + "-") for c in ALL)]
    assert not missing, f"no executable claim for: {missing}"


def test_a_wrong_claim_fails_naming_file_line_and_id() -> None:
    [good, wrong] = claims.claims(FIXTURES)
    assert claims.run_all([good]) == []
    [failure] = claims.run_all([good, wrong])
    message = str(failure)
    assert failure.claim.id == "wrong-retention"
    assert "notes.md:" in message and "[wrong-retention]" in message
    assert "assert retention == '7'" in message  # the failing line, quoted
    assert f"line {wrong.line + 3}:" in message


def test_a_block_without_an_id_or_with_a_repeated_id_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# A\n\n```python sandbox\nassert True\n```\n")
    with pytest.raises(claims.ClaimError, match=r"a.md:3: a 'python sandbox' block needs"):
        claims.claims(tmp_path)
    block = "```python sandbox id=same\nassert True\n```\n"
    (tmp_path / "a.md").write_text(f"# A\n\n{block}\n{block}")
    with pytest.raises(claims.ClaimError, match="id already used at"):
        claims.claims(tmp_path)


def test_other_code_blocks_are_not_claims() -> None:
    text = "```python\nassert False\n```\n\n```bash sandbox id=x\nfalse\n```\n"
    assert claims.parse(text, "x.md") == []


def test_the_rendered_notes_show_a_claim_as_ordinary_python_code() -> None:
    html = render_html((FIXTURES / "notes.md").read_text(encoding="utf-8"))
    assert '<pre><code class="language-python">' in html
    assert "assert retention == &quot;4 days&quot;" not in html  # not altered, only escaped
    assert "sb.client(&quot;sqs&quot;)" in html
