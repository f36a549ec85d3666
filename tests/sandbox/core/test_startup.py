"""Start-up stays light: heavy parts load when a sandbox first uses them.

The Step Functions interpreter and Application Auto Scaling pull in moto's EC2 models
(about a second each: Step Functions only through moto.batch, whose __init__ now waits for
its first use); API Gateway pulls in an OpenAPI validator (about two); DuckDB,
pyarrow and the Kafka client are only for the data paths and MSK. A service that imports
one of these at install time would make every sandbox (every test, every lab) slower.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["moto.ec2.models", "moto.awslambda.models", "moto.stepfunctions.parser.models", "moto.apigateway.models",
         "moto.applicationautoscaling.models", "duckdb", "pyarrow", "confluent_kafka", "bytewax",
         # light, but paid by every start-up for features few sandboxes use (issue 16)
         "jsonpath_ng", "zoneinfo", "moto.sns.models"]


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


def test_api_gateway_defers_the_iri_parsers_until_an_iri_is_checked():
    code = (
        "import sys, json\n"
        "from eventlab.sandbox import Sandbox\n"
        "from eventlab.sandbox.core.patches import describe\n"
        "with Sandbox() as sb:\n"
        "    sb.client('apigateway').create_rest_api(name='api')\n"
        "    built_early = 'rfc3987_syntax.syntax_helpers' in sys.modules\n"
        "    import jsonschema\n"
        "    checker = jsonschema.FormatChecker()\n"
        "    checks = [checker.conforms('https://example.com/a?b#c', 'iri'), checker.conforms('no iri', 'iri')]\n"
        "    listed = any(p.attribute == 'rfc3987_syntax' for p in describe())\n"
        "print(json.dumps([built_early, checks, listed, 'rfc3987_syntax.syntax_helpers' in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [False, [True, False], True, True]


def test_step_functions_runs_without_importing_ec2_and_batch_still_works():
    code = (
        "import sys, json\n"
        "from eventlab.sandbox import Sandbox\n"
        "with Sandbox() as sb:\n"
        "    sfn = sb.client('stepfunctions')\n"
        "    definition = json.dumps({'StartAt': 'P', 'States': {'P': {'Type': 'Pass', 'End': True}}})\n"
        "    arn = sfn.create_state_machine(name='m', definition=definition,\n"
        "                                   roleArn='arn:aws:iam::123456789012:role/r')['stateMachineArn']\n"
        "    run = sfn.start_execution(stateMachineArn=arn)['executionArn']\n"
        "    status = sfn.describe_execution(executionArn=run)['status']\n"
        "    ec2 = 'moto.ec2.models' in sys.modules\n"
        "    batch = sb.client('batch').describe_job_queues()['jobQueues']\n"
        "print(json.dumps([status, ec2, batch]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == ["SUCCEEDED", False, []]


def test_archiving_an_event_caches_jsonpaths_from_its_first_import():
    code = (
        "import sys, json\n"
        "from eventlab.sandbox import Sandbox\n"
        "from eventlab.sandbox.core.patches import describe\n"
        "with Sandbox() as sb:\n"
        "    events = sb.client('events')\n"
        "    bus = events.describe_event_bus()['Arn']\n"
        "    events.create_archive(ArchiveName='all', EventSourceArn=bus)\n"
        "    early = 'jsonpath_ng' in sys.modules\n"
        "    events.put_events(Entries=[{'Source': 'shop', 'DetailType': 'order', 'Detail': '{}'}])\n"
        "    count = events.describe_archive(ArchiveName='all')['EventCount']\n"
        "    cached = hasattr(sys.modules['jsonpath_ng.ext'].parse, 'cache_info')\n"
        "    listed = any(p.target == 'jsonpath_ng.ext' and p.attribute == 'parse' for p in describe())\n"
        "print(json.dumps([early, count, cached, listed]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [False, 1, True, True]


def test_sns_patches_wait_for_the_first_sns_call_and_wrap_in_install_order():
    code = (
        "import sys, json\n"
        "from eventlab.sandbox import Sandbox\n"
        "from eventlab.sandbox.core.patches import describe\n"
        "with Sandbox() as sb:\n"
        "    sns, sqs = sb.client('sns'), sb.client('sqs')\n"
        "    topic = sns.create_topic(Name='orders')['TopicArn']\n"
        "    try:\n"
        "        sns.publish(TopicArn=topic + '-missing', Message='x')\n"
        "        missing = 'published'\n"
        "    except sns.exceptions.NotFoundException as exc:\n"
        "        missing = exc.response['Error']['Code']\n"
        "    wraps = [' '.join(p.reason.split(' ')[:2]) for p in describe()\n"
        "             if p.target == 'moto.sns.models.Subscription' and p.attribute == 'publish']\n"
        "print(json.dumps([missing, wraps]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    # the Lambda delivery first, then the metrics counter, then the policy check (outermost)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == ["NotFound", [
        "SNS ->", "AWS/SNS NumberOfNotificationsDelivered/Failed/FilteredOut", "SNS delivers"]]
