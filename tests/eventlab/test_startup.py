"""Start-up stays light: heavy parts load when a sandbox first uses them.

The Step Functions interpreter and Application Auto Scaling pull in moto's EC2 models
(about a second each); API Gateway pulls in an OpenAPI validator (about two); DuckDB,
pyarrow and the Kafka client are only for the data paths and MSK. A service that imports
one of these at install time would make every sandbox (every test, every lab) slower.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["moto.ec2.models", "moto.awslambda.models", "moto.stepfunctions.parser.models", "moto.apigateway.models",
         "moto.applicationautoscaling.models", "duckdb", "pyarrow", "confluent_kafka", "bytewax"]


def test_a_fresh_sandbox_imports_none_of_the_heavy_parts():
    code = (
        "import sys, json\n"
        "from eventlab.sandbox import Sandbox\n"
        "with Sandbox() as sb:\n"
        "    sb.client('sqs').create_queue(QueueName='q')\n"
        f"    print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
