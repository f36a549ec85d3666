"""The fence of eventlab/guard.py, in a child process (an audit hook cannot be removed):
what it refuses, what it lets through, and what it records."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from eventlab.guard import policy_env

SCRIPT = """
import json, os, socket, subprocess, sys
from eventlab.guard import install
arm = install(json.loads(os.environ["POLICY"]))
results = {}
def attempt(name, act):
    try:
        act()
        results[name] = "ok"
    except PermissionError as exc:
        results[name] = "refused: " + str(exc)
    except OSError as exc:
        results[name] = "oserror"
attempt("settrace before arm", lambda: sys.settrace(None))
arm()
attempt("settrace after arm", lambda: sys.settrace(None))
attempt("write inside", lambda: open(os.path.join(INSIDE, "x.txt"), "w").write("x"))
attempt("read inside", lambda: open(os.path.join(INSIDE, "x.txt")).read())
attempt("write outside", lambda: open(OUTSIDE, "w").write("x"))
attempt("remove outside", lambda: os.remove(OUTSIDE))
attempt("read denied", lambda: open(SECRET).read())
attempt("dns", lambda: socket.getaddrinfo("example.com", 80))
attempt("loopback", lambda: socket.create_connection(("127.0.0.1", PORT), timeout=1).close())
attempt("remote ip", lambda: socket.socket().connect(("192.0.2.1", 80)))
attempt("process", lambda: subprocess.run(["true"]))
attempt("signal parent", lambda: os.kill(os.getppid(), 0))
attempt("signal self", lambda: os.kill(os.getpid(), 0))
attempt("gc walk", lambda: __import__("gc").get_objects())
attempt("read the log", lambda: open(LOG).read())
print(json.dumps(results))
"""


def test_the_fence_refuses_and_records_exactly_what_it_should(tmp_path) -> None:
    import socket

    inside, denied = tmp_path / "inside", tmp_path / "class"
    inside.mkdir()
    denied.mkdir()
    secret = denied / "other.ipynb"
    secret.write_text("{}")
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    log = tmp_path / "refused.jsonl"
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    policy = policy_env(write=[str(inside)], deny_read=[str(denied)], allow_read=[str(inside)],
                        log=str(log), label="this notebook")
    header = (f"INSIDE = {str(inside)!r}\nOUTSIDE = {str(outside)!r}\nSECRET = {str(secret)!r}\n"
              f"LOG = {str(log)!r}\nPORT = {port}\n")
    proc = subprocess.run([sys.executable, "-c", header + textwrap.dedent(SCRIPT)],
                          env={"POLICY": policy, "PYTHONPATH": ":".join(sys.path)},
                          capture_output=True, text=True, timeout=60,
                          start_new_session=True)   # as Jupyter starts a kernel
    server.close()
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    ok = {k for k, v in results.items() if v == "ok"}
    assert ok == {"settrace before arm", "write inside", "read inside", "loopback", "signal self"}
    assert results["write outside"] == (f"refused: eventlab grading: this notebook may not write "
                                        f"{outside.resolve()} (write outside its folder); graded "
                                        "notebooks run fenced in, see docs/grading.md")
    assert outside.read_text() == "keep me"
    recorded = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["kind"], r["what"]) for r in recorded] == [
        ("tampering", "use sys.settrace"),
        ("write outside its folder", f"write {outside.resolve()}"),
        ("write outside its folder", f"delete {outside.resolve()}"),
        ("read other students' work or the grader's files", f"read {secret.resolve()}"),
        ("network", "look up example.com"),
        ("network", "reach 192.0.2.1:80"),
        ("process", "start a process (subprocess.Popen ['true'])"),
        ("process", "signal a process that is not its own"),
        ("tampering", "use gc.get_objects"),
        ("read other students' work or the grader's files", f"read {log.resolve()}"),
    ]
