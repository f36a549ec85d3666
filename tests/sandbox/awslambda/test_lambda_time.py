"""Inside a Lambda handler, time is the sandbox's: ``time.time()``, ``datetime.now()`` and
``logging`` timestamps follow the virtual clock, at each invocation of a warm environment."""

from __future__ import annotations

import json
from datetime import UTC, datetime

CLOCKS = '''
import logging, time, datetime as dt
from datetime import datetime
logger = logging.getLogger()
logger.setLevel(logging.INFO)
LOADED_AT = time.time()
def handler(event, context):
    logger.info("tick")
    return {"time": time.time(), "now": datetime.now(dt.timezone.utc).timestamp(),
            "utcnow": datetime.utcnow().replace(tzinfo=dt.timezone.utc).timestamp(),
            "module_now": dt.datetime.now().timestamp(), "gmtime": time.strftime("%Y-%m-%dT%H", time.gmtime()),
            "loaded_at": LOADED_AT, "remaining": context.get_remaining_time_in_millis(),
            "is_datetime": isinstance(datetime.now(), dt.datetime)}
'''


def call(sandbox, name):
    response = sandbox.client("lambda").invoke(FunctionName=name, LogType="Tail")
    import base64

    return json.loads(response["Payload"].read()), base64.b64decode(response["LogResult"]).decode()


def test_handler_clocks_follow_the_sandbox_clock_across_advances(sandbox, make_function):
    make_function("clocks", CLOCKS, timeout=30)
    first, _ = call(sandbox, "clocks")               # cold start, before any advance
    assert abs(first["time"] - sandbox.clock.time()) < 1.0
    sandbox.clock.advance(hours=1)
    body, log = call(sandbox, "clocks")               # the same warm environment
    virtual = sandbox.clock.time()
    for key in ("time", "now", "utcnow", "module_now"):
        assert abs(body[key] - virtual) < 1.0, (key, body[key] - virtual)
    assert body["loaded_at"] == first["loaded_at"]    # warm: the module was not imported again
    assert body["gmtime"] == datetime.fromtimestamp(virtual, UTC).strftime("%Y-%m-%dT%H")
    assert body["is_datetime"] is True
    assert 0 < body["remaining"] <= 30_000 * 1.01
    stamp = next(line.split("\t")[1] for line in log.splitlines() if line.startswith("[INFO]"))
    logged = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()
    assert abs(logged - virtual) < 1.0
    sandbox.clock.advance(days=2)
    body, _ = call(sandbox, "clocks")
    assert abs(body["time"] - sandbox.clock.time()) < 1.0


def test_a_cold_start_after_an_advance_imports_in_virtual_time(sandbox, make_function):
    sandbox.clock.advance(hours=5)
    make_function("late", CLOCKS, timeout=30)
    body, _ = call(sandbox, "late")
    assert abs(body["loaded_at"] - sandbox.clock.time()) < 5.0


def test_stack_traces_show_var_task(sandbox, make_function):
    make_function("boom", "def helper():\n    raise ValueError('x')\ndef handler(e, c):\n    helper()\n")
    response = sandbox.client("lambda").invoke(FunctionName="boom")
    body = json.loads(response["Payload"].read())
    files = [line.split('"')[1] for line in body["stackTrace"]]
    assert files and all(f == "/var/task/lambda_function.py" for f in files), body["stackTrace"]
    assert str(sandbox.workdir) not in json.dumps(body)
