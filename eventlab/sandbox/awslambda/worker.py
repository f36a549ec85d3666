"""One Lambda execution environment: a Python process that imports a handler once and
answers invocations until it is told to stop (AWS keeps environments warm the same way).

Run as ``python -c "run_path(THIS_FILE)" READ_FD WRITE_FD`` (see ``lambda_runtime``); it reads
length-prefixed JSON requests from READ_FD and writes replies to WRITE_FD, so that the
handler's own stdout and stderr stay free for its logs.  Its environment (the function's
variables, AWS_ENDPOINT_URL pointing at the sandbox, fake credentials) is set by the
parent when it starts the process: nothing leaks from one function to another.

This module must import nothing heavy: it is the cold start of every function.
"""

from __future__ import annotations

import importlib
import io
import json
import logging
import os
import re
import resource
import socket
import struct
import sys
import threading
import time
import traceback
from typing import Any, SupportsIndex

from eventlab import config
from eventlab.net import is_loopback
from eventlab.vtime import OffsetClock, install_process_wide

_HEADER = struct.Struct(">I")
_real_sleep = time.sleep   # the worker's own waits stay real; the handler's become virtual


def read_message(fd: int) -> dict | None:
    header = _read_exact(fd, _HEADER.size)
    if header is None:
        return None
    (length,) = _HEADER.unpack(header)
    body = _read_exact(fd, length)
    if body is None:
        return None
    return json.loads(body)


def write_message(fd: int, message: dict) -> None:
    body = json.dumps(message).encode()
    data = _HEADER.pack(len(body)) + body
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _read_exact(fd: int, n: int) -> bytes | None:
    chunks = []
    while n:
        chunk = os.read(fd, n)
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


# -- the offline guard ------------------------------------------------------------------

def _install_offline_guard() -> None:
    """Refuse connections to anything but this machine: a handler's request to
    https://*.amazonaws.com (or anywhere else) fails fast with a clear error instead of
    leaving the sandbox."""
    original_connect = socket.socket.connect

    def guarded_connect(self: socket.socket, address: Any) -> None:   # any family's address
        host = address[0] if isinstance(address, tuple) else address
        if self.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(host):
            raise ConnectionRefusedError(
                f"eventlab sandbox: this Lambda function tried to connect to {host!r}. The sandbox is "
                "offline: AWS calls must go to the sandbox (boto3 does so by default here), and no "
                "other network is reachable."
            )
        return original_connect(self, address)

    # the worker process's own sockets, patched once and for its whole life
    socket.socket.connect = guarded_connect  # type: ignore[method-assign,assignment]


_EXECUTE_API = re.compile(r"^https?://([a-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com(?::443)?(/.*)?$")


def execute_api_url(url: str, endpoint: str) -> str | None:
    """A WebSocket API's @connections URL as AWS's examples build it
    (``https://{domainName}/{stage}/@connections/{id}``) -> the sandbox's own path for it."""
    match = _EXECUTE_API.match(url)
    if match is None:
        return None
    return f"{endpoint.rstrip('/')}/_aws/execute-api/{match.group(1)}{match.group(2) or ''}"


class _AfterBotocoreImport:
    """Once the handler imports botocore, its requests to ``*.execute-api.*.amazonaws.com``
    (the @connections API, reached with ``endpoint_url`` built from the event's
    ``domainName``) go to the sandbox instead (over plain HTTP on loopback).  A meta path
    hook, so that a cold start that never imports botocore pays nothing."""

    name = "botocore.httpsession"

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        import importlib.util

        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        loader, endpoint = spec.loader, self.endpoint
        original_exec = loader.exec_module

        def exec_module(module: Any) -> None:
            original_exec(module)
            original_send = module.URLLib3Session.send

            def send(session: Any, request: Any) -> Any:
                local = execute_api_url(request.url, endpoint)
                if local is not None:
                    request.url = local
                return original_send(session, request)

            module.URLLib3Session.send = send

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _redirect_execute_api() -> None:
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        sys.meta_path.insert(0, _AfterBotocoreImport(endpoint))


# -- capturing what the handler prints ------------------------------------------------

class _Capture(io.TextIOBase):
    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, s: str) -> int:
        self.parts.append(s)
        return len(s)

    def writable(self) -> bool:
        return True

    def take(self) -> str:
        text = "".join(self.parts)
        self.parts.clear()
        return text


class _LambdaLogHandler(logging.Handler):
    """The AWS Python runtime's default log line: ``[LEVEL]\\tTIMESTAMP\\tREQUEST_ID\\tmessage``."""

    def __init__(self, capture: _Capture) -> None:
        super().__init__()
        self.capture = capture
        self.request_id = ""

    def emit(self, record: logging.LogRecord) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        stamp += f".{int(record.msecs):03d}Z"
        self.capture.write(f"[{record.levelname}]\t{stamp}\t{self.request_id}\t{self.format(record)}\n")


class LambdaContext:
    """The ``context`` object AWS passes to a Python handler."""

    def __init__(self, ctx: dict) -> None:
        self.function_name = ctx["function_name"]
        self.function_version = ctx["function_version"]
        self.invoked_function_arn = ctx["invoked_function_arn"]
        self.memory_limit_in_mb = int(ctx["memory_limit_in_mb"])
        self.aws_request_id = ctx["aws_request_id"]
        self.log_group_name = ctx["log_group_name"]
        self.log_stream_name = ctx["log_stream_name"]
        self.identity = None
        self.client_context = None
        self._deadline = ctx.get("virtual_deadline", ctx["deadline"])

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


class _TimedOut(BaseException):
    """The handler slept past its function's Timeout (a BaseException: ``except Exception``
    in the handler does not swallow it)."""


class VirtualSleep:
    """``time.sleep`` inside a Lambda environment: it costs virtual time, not real time.

    The environment's clock moves forward by the time slept (so ``time.time()``, logs and
    ``get_remaining_time_in_millis`` see it), the invocation's duration counts it (the
    sandbox holds the function's concurrency that long, and REPORT bills it), and a sleep
    that would pass the invocation's deadline ends the invocation as timed out, at the
    deadline.  A handler can model a slow backend honestly with no real waiting."""

    def __init__(self, clock: OffsetClock) -> None:
        self.clock = clock
        self.slept = 0.0
        self.deadline: float | None = None

    def begin(self, deadline: float | None) -> None:
        self.slept = 0.0
        self.deadline = deadline

    def __call__(self, seconds: float | SupportsIndex) -> None:   # time.sleep's signature
        seconds = float(seconds)
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        if self.deadline is not None and self.clock.time() + seconds > self.deadline:
            gap = max(0.0, self.deadline - self.clock.time())
            self.clock.offset += gap
            self.slept += gap
            raise _TimedOut()
        self.clock.offset += seconds
        self.slept += seconds


def _stack(tb: object) -> list[str]:
    return [
        f'  File "{_as_on_aws(f.filename)}", line {f.lineno}, in {f.name}\n    {f.line}\n'
        for f in traceback.extract_tb(tb)  # type: ignore[arg-type]
    ]


def _as_on_aws(filename: str | None) -> str:
    """A file of the function's code as AWS shows it: under ``/var/task`` (the sandbox
    unpacks the code in a temporary folder of its own)."""
    root = os.environ.get("LAMBDA_TASK_ROOT", "")
    if filename and root and filename.startswith(root.rstrip(os.sep) + os.sep):
        return "/var/task/" + filename[len(root.rstrip(os.sep)) + 1:].replace(os.sep, "/")
    return filename or ""


def _load_handler(spec: str) -> tuple[Any, dict | None]:
    """(whatever the module defines under the handler's name, None) or (None, the init
    error AWS reports)."""
    module_name, _, function_name = spec.rpartition(".")
    if not module_name:
        return None, {
            "errorMessage": f"Bad handler '{spec}': not enough values to unpack (expected 2, got 1)",
            "errorType": "Runtime.MalformedHandlerName", "requestId": "", "stackTrace": []}
    module_path = module_name.replace("/", ".")
    try:
        module = importlib.import_module(module_path)
    except SyntaxError as exc:
        return None, {
            "errorMessage": f"Syntax error in module '{module_name}': {exc.msg} ({os.path.basename(exc.filename or '')}, line {exc.lineno})",
            "errorType": "Runtime.UserCodeSyntaxError", "requestId": "",
            "stackTrace": [f'  File "{_as_on_aws(exc.filename)}" Line {exc.lineno}\n        {(exc.text or "").strip()}\n']}
    except ImportError as exc:
        return None, {
            "errorMessage": f"Unable to import module '{module_name}': {exc}",
            "errorType": "Runtime.ImportModuleError", "requestId": "", "stackTrace": []}
    except Exception as exc:  # the module raised while importing: an init error
        return None, {
            "errorMessage": str(exc), "errorType": type(exc).__name__, "requestId": "",
            "stackTrace": _stack(exc.__traceback__)}
    handler = getattr(module, function_name, None)
    if handler is None:
        return None, {
            "errorMessage": f"Handler '{function_name}' missing on module '{module_name}'",
            "errorType": "Runtime.HandlerNotFound", "requestId": "", "stackTrace": []}
    return handler, None


def _exit_when_orphaned(parent: int) -> None:
    """The sandbox's process went away (killed, or a kernel shut down): so does this one,
    even in the middle of a handler (it runs in its own process group, so no signal to
    the sandbox's group reaches it).  An idle environment already exits on the closed pipe."""
    while os.getppid() == parent:
        _real_sleep(0.5)
    os._exit(0)


def _peak_mb() -> float:
    """This environment's peak resident memory so far, in MB (what REPORT's
    ``Max Memory Used`` shows; like AWS's figure, it never goes down while warm).
    On Linux it is the process's own high-water mark (``VmHWM``): ``ru_maxrss`` would
    also count the parent's memory, recorded when it forked us."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) / 1024   # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024   # bytes / KB


def main() -> None:
    read_fd, write_fd = int(sys.argv[1]), int(sys.argv[2])
    threading.Thread(target=_exit_when_orphaned, args=(os.getppid(),), name="orphan-watch",
                     daemon=True).start()
    _install_offline_guard()
    _redirect_execute_api()
    # time.time(), datetime.now() and logging timestamps follow the sandbox's clock: its
    # offset now, then as each invocation brings it
    clock = OffsetClock(config.clock_offset())
    install_process_wide(clock)
    sleep = VirtualSleep(clock)
    time.sleep = sleep
    if config.guard():   # under eventlab grade: the handler is fenced in too
        from eventlab.guard import install_from_env

        install_from_env()
    task_root = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
    sys.path.insert(0, task_root)
    capture = _Capture()
    real_stdout, real_stderr = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = capture
    log_handler = _LambdaLogHandler(capture)
    root = logging.getLogger()
    root.handlers[:] = [log_handler]
    root.setLevel(logging.WARNING)

    init_started = time.time()
    handler, init_error = _load_handler(os.environ["_HANDLER"])
    init_logs = capture.take()
    init_ms = (time.time() - init_started) * 1000
    write_message(write_fd, {"ready": True, "init_error": init_error, "init_logs": init_logs,
                             "init_ms": init_ms, "peak_mb": _peak_mb()})
    while True:
        request = read_message(read_fd)
        if request is None or request.get("stop"):
            break
        ctx = request["context"]
        clock.offset = float(ctx.get("clock_offset", clock.offset))
        sleep.begin(ctx.get("virtual_deadline"))
        log_handler.request_id = ctx["aws_request_id"]
        reply: dict
        if init_error is not None:
            reply = {"error": dict(init_error, requestId=ctx["aws_request_id"])}
        else:
            try:
                result = handler(request["event"], LambdaContext(ctx))
                try:
                    payload = json.dumps(result)
                    reply = {"payload": payload}
                except (TypeError, ValueError) as exc:
                    reply = {"error": {"errorMessage": f"Unable to marshal response: {exc}",
                                       "errorType": "Runtime.MarshalError",
                                       "requestId": ctx["aws_request_id"], "stackTrace": []}}
            except _TimedOut:
                reply = {"timeout": True}
            except Exception as exc:
                tb = exc.__traceback__
                tb = tb.tb_next if tb is not None and tb.tb_next is not None else tb
                reply = {"error": {"errorMessage": str(exc), "errorType": type(exc).__name__,
                                   "requestId": ctx["aws_request_id"], "stackTrace": _stack(tb)}}
                print(f"[ERROR] {type(exc).__name__}: {exc}\nTraceback (most recent call last):\n"
                      + "".join(_stack(tb)), end="", file=capture)
        reply["virtual_ms"] = sleep.slept * 1000.0
        reply["logs"] = capture.take()
        reply["peak_mb"] = _peak_mb()
        write_message(write_fd, reply)
    sys.stdout, sys.stderr = real_stdout, real_stderr


if __name__ == "__main__":
    main()
