"""Any project that installs eventlab gets the ``sandbox`` fixture."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_sandbox_fixture_in_an_outside_test_suite(tmp_path):
    (tmp_path / "test_outside.py").write_text(textwrap.dedent("""
        import boto3

        def test_queue(sandbox):
            url = boto3.client("sqs").create_queue(QueueName="outside")["QueueUrl"]
            boto3.client("sqs").send_message(QueueUrl=url, MessageBody="hi")
            body = sandbox.client("sqs").receive_message(QueueUrl=url)["Messages"][0]["Body"]
            assert body == "hi"
            assert sandbox.lambda_time_scale == 1.0  # no ini option here: AWS's timeouts
    """))
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
