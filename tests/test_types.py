"""The type checker finds nothing in eventlab/ and autograder/ (issue 16).

mypy runs with the settings of ``[tool.mypy]`` in pyproject.toml (check_untyped_defs on,
unused ``# type: ignore`` comments reported), on the same files CI checks.  moto ships its
types, so ``sb.backend("sqs")`` is moto's SQSBackend to mypy and ``sb.service("lambda")``
our LambdaService: a renamed moto attribute or a wrong service method fails here.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _mypy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mypy", "--no-error-summary", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_mypy_finds_no_errors_in_eventlab_and_autograder() -> None:
    done = _mypy("eventlab", "autograder")
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    assert done.returncode == 0 and not errors, "\n".join(errors) or done.stdout + done.stderr


def test_service_and_backend_are_typed_per_name(tmp_path: Path) -> None:
    """The overloads give each name its class: a misspelt attribute is an error."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from eventlab.sandbox import Sandbox\n"
        "def f(sb: Sandbox) -> None:\n"
        "    reveal_type(sb.service('lambda'))\n"
        "    reveal_type(sb.service('firehose'))\n"
        "    reveal_type(sb.backend('sqs'))\n"
        "    sb.service('lambda').invocation_logg\n")
    done = _mypy("--config-file", str(ROOT / "pyproject.toml"), str(probe))
    out = done.stdout
    assert re.search(r'probe.py:3: note: Revealed type is "eventlab\.sandbox\.awslambda\.service\.LambdaService"', out), out
    assert re.search(r'probe.py:4: note: Revealed type is "eventlab\.sandbox\.firehose\.service\.FirehoseService"', out), out
    assert re.search(r'probe.py:5: note: Revealed type is "moto\.sqs\.models\.SQSBackend"', out), out
    assert re.search(r'probe.py:6: error: "LambdaService" has no attribute "invocation_logg"', out), out
