"""Lambda code really runs: results, environments, errors and logs as AWS returns them."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from concurrent.futures import ThreadPoolExecutor

from eventlab.sandbox import zip_code


def invoke(sandbox, name, payload=None, **kwargs):
    response = sandbox.client("lambda").invoke(
        FunctionName=name, Payload=json.dumps(payload or {}).encode(), **kwargs)
    body = json.loads(response["Payload"].read() or b"null")
    return response, body


def test_handler_result_is_returned(sandbox, make_function):
    make_function("add", "def handler(event, context):\n    return {'sum': event['a'] + event['b']}\n")
    response, body = invoke(sandbox, "add", {"a": 2, "b": 40})
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert body == {"sum": 42}


def test_context_carries_the_function_identity(sandbox, make_function):
    make_function("who", (
        "def handler(event, context):\n"
        "    return [context.function_name, context.memory_limit_in_mb, context.invoked_function_arn,\n"
        "            context.aws_request_id, context.get_remaining_time_in_millis() > 0]\n"),
        MemorySize=256)
    response, body = invoke(sandbox, "who")
    assert body[0] == "who"
    assert body[1] == 256
    assert body[2] == "arn:aws:lambda:us-east-1:123456789012:function:who"
    assert body[3] == response["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"]
    assert body[4] is True


def test_each_function_sees_only_its_own_environment(sandbox, make_function):
    source = ("import os, time\n"
              "def handler(event, context):\n"
              "    os.environ['SEEN'] = event['tag']\n"
              "    time.sleep(0.01)\n"
              "    return [os.environ.get('COLOR'), os.environ.get('SEEN'), os.environ.get('SECRET')]\n")
    make_function("red", source, env={"COLOR": "red"})
    make_function("blue", source, env={"COLOR": "blue", "SECRET": "only-blue"})

    def call(i):
        name = "red" if i % 2 else "blue"
        return name, i, invoke(sandbox, name, {"tag": f"t{i}"})[1]

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(call, range(24)))
    for name, i, (color, seen, secret) in results:
        assert color == name
        assert seen == f"t{i}"  # overlapping invocations never share os.environ
        assert secret == ("only-blue" if name == "blue" else None)


def test_handler_boto3_calls_reach_the_sandbox(sandbox, make_function):
    queue_url = sandbox.client("sqs").create_queue(QueueName="from-handler")["QueueUrl"]
    make_function("sender", (
        "import boto3\n"
        "def handler(event, context):\n"
        "    sqs = boto3.client('sqs')\n"
        "    url = sqs.get_queue_url(QueueName='from-handler')['QueueUrl']\n"
        "    sqs.send_message(QueueUrl=url, MessageBody=event['text'])\n"
        "    return 'sent'\n"))
    invoke(sandbox, "sender", {"text": "hello from lambda"})
    messages = sandbox.client("sqs").receive_message(QueueUrl=queue_url)["Messages"]
    assert [m["Body"] for m in messages] == ["hello from lambda"]


def test_unhandled_exception_has_aws_error_shape(sandbox, make_function):
    make_function("boom", (
        "def helper():\n"
        "    raise ValueError('bad order id 7')\n"
        "def handler(event, context):\n"
        "    helper()\n"))
    response, body = invoke(sandbox, "boom")
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert body["errorMessage"] == "bad order id 7"
    assert body["errorType"] == "ValueError"
    assert isinstance(body["requestId"], str) and body["requestId"]
    assert any("in helper" in line for line in body["stackTrace"])
    # the sandbox keeps serving
    make_function("ok", "def handler(e, c):\n    return 1\n")
    assert invoke(sandbox, "ok")[1] == 1


def test_import_error_shape(sandbox, make_function):
    make_function("imp", "import not_a_real_module_xyz\ndef handler(e, c):\n    return 1\n")
    response, body = invoke(sandbox, "imp")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert body["errorMessage"] == ("Unable to import module 'lambda_function': "
                                    "No module named 'not_a_real_module_xyz'")


def test_missing_handler_shape(sandbox, make_function):
    make_function("nohandler", "def other(e, c):\n    return 1\n")
    _, body = invoke(sandbox, "nohandler")
    assert body["errorType"] == "Runtime.HandlerNotFound"
    assert body["errorMessage"] == "Handler 'handler' missing on module 'lambda_function'"


def test_syntax_error_shape(sandbox, make_function):
    make_function("syntax", "def handler(e, c)\n    return 1\n")
    _, body = invoke(sandbox, "syntax")
    assert body["errorType"] == "Runtime.UserCodeSyntaxError"
    assert body["errorMessage"].startswith("Syntax error in module 'lambda_function'")
    assert "line 1" in body["errorMessage"]


def test_result_that_is_not_json(sandbox, make_function):
    make_function("setter", "def handler(e, c):\n    return {1, 2}\n")
    response, body = invoke(sandbox, "setter")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.MarshalError"
    assert body["errorMessage"] == ("Unable to marshal response: Object of type set is not "
                                    "JSON serializable")


def test_timeout_kills_the_environment(sandbox, make_function):
    # Timeout 1 s, scaled by the fixture to 0.1 s of real time.
    make_function("loop", (
        "import time\n"
        "calls = 0\n"
        "def handler(event, context):\n"
        "    global calls\n"
        "    calls += 1\n"
        "    if event.get('loop'):\n"
        "        while True:\n"
        "            time.sleep(0.01)\n"
        "    return calls\n"), timeout=1)
    assert invoke(sandbox, "loop")[1] == 1
    assert invoke(sandbox, "loop")[1] == 2  # warm: module state kept
    response, body = invoke(sandbox, "loop", {"loop": True})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Sandbox.Timedout"
    assert body["errorMessage"].endswith("Task timed out after 1.00 seconds")
    assert invoke(sandbox, "loop")[1] == 1  # a new environment after the timeout



HOG = ("calls = 0\n"
       "def handler(event, context):\n"
       "    global calls\n"
       "    calls += 1\n"
       "    block = bytearray(event.get('mb', 0) * 1024 * 1024)\n"
       "    for i in range(0, len(block), 4096):\n"
       "        block[i] = 1            # touched, so resident\n"
       "    if event.get('free'):\n"
       "        del block               # back under the limit before returning\n"
       "    return calls\n")


def _report(response):
    tail = base64.b64decode(response["LogResult"]).decode()
    return tail, dict(part.split(": ", 1) for part in
                      [line for line in tail.splitlines() if line.startswith("REPORT")][0]
                      .split("\t")[1:])


def test_going_over_memory_size_kills_the_environment_as_aws_does(sandbox, make_function):
    make_function("hog", HOG, MemorySize=128)
    assert invoke(sandbox, "hog")[1] == 1
    response, body = invoke(sandbox, "hog", {"mb": 200}, LogType="Tail")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"
    request_id = response["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"]
    assert body["errorMessage"] == (f"RequestId: {request_id} "
                                    "Error: Runtime exited with error: signal: killed")
    tail, report = _report(response)
    assert "Runtime exited with error: signal: killed" in tail
    assert report["Memory Size"] == "128 MB" and report["Max Memory Used"] == "128 MB"
    assert invoke(sandbox, "hog")[1] == 1   # a new environment: module state started over


def test_a_peak_over_memory_size_counts_even_if_freed_before_returning(sandbox, make_function):
    make_function("spiky", HOG, MemorySize=128)
    response, body = invoke(sandbox, "spiky", {"mb": 200, "free": True})
    assert body["errorType"] == "Runtime.ExitError"
    make_function("roomy", HOG, MemorySize=512)
    response, body = invoke(sandbox, "roomy", {"mb": 200, "free": True}, LogType="Tail")
    assert "FunctionError" not in response and body == 1
    used = int(_report(response)[1]["Max Memory Used"].split()[0])
    assert 200 <= used < 512


def test_max_memory_used_is_measured_and_never_goes_down_while_warm(sandbox, make_function):
    make_function("meter", HOG, MemorySize=1024)
    first = int(_report(invoke(sandbox, "meter", {}, LogType="Tail")[0])[1]["Max Memory Used"]
                .split()[0])
    assert 5 <= first < 100                          # an interpreter and the handler
    big = int(_report(invoke(sandbox, "meter", {"mb": 150, "free": True}, LogType="Tail")[0])[1]
              ["Max Memory Used"].split()[0])
    assert big >= first + 150
    again = int(_report(invoke(sandbox, "meter", {}, LogType="Tail")[0])[1]["Max Memory Used"]
                .split()[0])
    assert again == big                              # the environment's peak, as on AWS


def test_memory_over_the_size_while_initialising_is_the_same_error(sandbox, make_function):
    make_function("fat-init", "BLOB = b'x' * (200 * 1024 * 1024)\n"
                  "def handler(event, context):\n    return len(BLOB)\n", MemorySize=128)
    response, body = invoke(sandbox, "fat-init")
    assert body["errorType"] == "Runtime.ExitError"
    assert body["errorMessage"].endswith("Error: Runtime exited with error: signal: killed")


def test_a_handler_that_ends_its_process_gets_the_runtime_exit_error(sandbox, make_function):
    make_function("quitter", "import os, signal, sys\n"
                  "def handler(event, context):\n"
                  "    if event['how'] == 'exit':\n"
                  "        sys.exit(3)\n"
                  "    os.kill(os.getpid(), getattr(signal, event['how']))\n")
    for how, status in (("exit", "exit status 3"), ("SIGKILL", "signal: killed"),
                        ("SIGSEGV", "signal: segmentation fault")):
        response, body = invoke(sandbox, "quitter", {"how": how})
        assert response["FunctionError"] == "Unhandled", how
        assert body["errorType"] == "Runtime.ExitError", how
        assert body["errorMessage"].endswith(f"Error: Runtime exited with error: {status}"), how

def test_logs_go_to_cloudwatch_and_log_result(sandbox, make_function):
    make_function("talker", (
        "import logging\n"
        "logger = logging.getLogger()\n"
        "logger.setLevel(logging.INFO)\n"
        "def handler(event, context):\n"
        "    print('processing', event['id'])\n"
        "    logger.info('done with %s', event['id'])\n"
        "    return 'ok'\n"))
    response, _ = invoke(sandbox, "talker", {"id": "order-9"}, LogType="Tail")
    tail = base64.b64decode(response["LogResult"]).decode()
    assert "processing order-9" in tail
    assert "[INFO]" in tail and "done with order-9" in tail
    assert tail.splitlines()[0].startswith("START RequestId: ")
    assert tail.splitlines()[-1].startswith("REPORT RequestId: ")

    logs = sandbox.client("logs")
    streams = logs.describe_log_streams(logGroupName="/aws/lambda/talker")["logStreams"]
    assert len(streams) == 1
    assert "[$LATEST]" in streams[0]["logStreamName"]
    events = logs.get_log_events(logGroupName="/aws/lambda/talker",
                                 logStreamName=streams[0]["logStreamName"])["events"]
    messages = [e["message"] for e in events]
    assert "processing order-9" in messages
    assert any(m.startswith("END RequestId:") for m in messages)


def test_code_from_s3(sandbox):
    s3 = sandbox.client("s3")
    s3.create_bucket(Bucket="code")
    s3.put_object(Bucket="code", Key="fn.zip", Body=zip_code("def handler(e, c):\n    return 's3 code'\n"))
    role = sandbox.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    sandbox.client("lambda").create_function(
        FunctionName="froms3", Runtime="python3.12", Role=role, Handler="lambda_function.handler",
        Code={"S3Bucket": "code", "S3Key": "fn.zip"})
    assert invoke(sandbox, "froms3")[1] == "s3 code"


def test_code_from_a_python_function(sandbox, make_function):
    def shout(event, context):
        return event["word"].upper() + "!"

    archive = zipfile.ZipFile(io.BytesIO(zip_code(shout)))
    assert archive.namelist() == ["lambda_function.py"]
    role = sandbox.client("iam").create_role(RoleName="r2", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    sandbox.client("lambda").create_function(
        FunctionName="shout", Runtime="python3.12", Role=role, Handler="lambda_function.shout",
        Code={"ZipFile": zip_code(shout)})
    assert invoke(sandbox, "shout", {"word": "fan-out"})[1] == "FAN-OUT!"


def test_code_update_takes_effect(sandbox, make_function):
    make_function("ver", "def handler(e, c):\n    return 1\n")
    assert invoke(sandbox, "ver")[1] == 1
    sandbox.client("lambda").update_function_code(FunctionName="ver",
                                                  ZipFile=zip_code("def handler(e, c):\n    return 2\n"))
    assert invoke(sandbox, "ver")[1] == 2
    sandbox.client("lambda").update_function_configuration(
        FunctionName="ver", Environment={"Variables": {"V": "3"}})
    sandbox.client("lambda").update_function_code(
        FunctionName="ver", ZipFile=zip_code("import os\ndef handler(e, c):\n    return os.environ['V']\n"))
    assert invoke(sandbox, "ver")[1] == "3"


def test_async_invoke_retries_then_dead_letter_queue(sandbox, make_function):
    sqs = sandbox.client("sqs")
    dlq_url = sqs.create_queue(QueueName="fn-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    make_function("flaky", "def handler(e, c):\n    raise RuntimeError('downstream unavailable')\n",
                  DeadLetterConfig={"TargetArn": dlq_arn})
    response = sandbox.client("lambda").invoke(FunctionName="flaky", InvocationType="Event",
                                               Payload=b'{"order": 1}')
    assert response["StatusCode"] == 202
    log = sandbox.service("lambda").invocation_log
    assert [e["function"] for e in log] == ["flaky"]  # first attempt at once
    sandbox.clock.advance(seconds=59)
    assert len(log) == 1
    sandbox.clock.advance(seconds=1)  # first retry after one minute
    assert len(log) == 2
    assert sqs.receive_message(QueueUrl=dlq_url).get("Messages") is None
    sandbox.clock.advance(minutes=2)  # second retry two minutes later, then the DLQ
    assert len(log) == 3
    messages = sqs.receive_message(QueueUrl=dlq_url, MessageAttributeNames=["All"])["Messages"]
    assert json.loads(messages[0]["Body"]) == {"order": 1}
    attributes = messages[0]["MessageAttributes"]
    assert attributes["ErrorMessage"]["StringValue"] == "downstream unavailable"
    assert attributes["ErrorCode"]["StringValue"] == "200"
    assert attributes["RequestID"]["StringValue"] == response["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"]


def test_an_environment_has_its_own_process_group_and_ends_with_its_sandbox(tmp_path):
    """A notebook kernel signals its whole process group (an interrupt) and, when it shuts
    down, waits for the children of its group to go: environments stay out of the group,
    and end by themselves, even mid-handler, when the process that started them dies."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.kafka.conftest import child_env, process_gone

    script = tmp_path / "parent.py"
    script.write_text(
        "import os, threading, time\n"
        "from eventlab.sandbox import Sandbox, zip_code\n"
        "sb = Sandbox().start()\n"
        "lam = sb.client('lambda')\n"
        "role = sb.client('iam').create_role(RoleName='r', AssumeRolePolicyDocument='{}')['Role']['Arn']\n"
        "lam.create_function(FunctionName='slow', Runtime='python3.12', Role=role, Timeout=900,\n"
        "                    Handler='lambda_function.handler',\n"
        "                    Code={'ZipFile': zip_code('import time\\ndef handler(e, c):\\n    time.sleep(600)\\n')})\n"
        "threading.Thread(target=lambda: lam.invoke(FunctionName='slow'), daemon=True).start()\n"
        "while not (sb.runtime._all and sb.runtime._all[0].invocations):\n"
        "    time.sleep(0.01)\n"
        "print(sb.runtime._all[0].proc.pid, flush=True)\n"
        "time.sleep(600)\n")
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                              env=child_env())
    try:
        worker = int(parent.stdout.readline())
        assert os.getpgid(worker) != os.getpgid(parent.pid)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 10
    while not process_gone(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process_gone(worker)
