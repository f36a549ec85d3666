"""Lambda code that really runs, without Docker.

Each function gets warm execution environments: Python processes
(:mod:`eventlab.sandbox.lambda_worker`) started with that function's environment
variables, its code unpacked in ``LAMBDA_TASK_ROOT``, fake credentials and
``AWS_ENDPOINT_URL`` pointing at the sandbox, so that the handler's own boto3 calls land
in the same local AWS with no endpoint argument in its code.  An environment serves one
invocation at a time; overlapping invocations get more environments, so no two
invocations ever share ``os.environ``.  Changing the function's code or configuration
retires its environments, as on AWS.

What the caller gets back follows AWS: the payload, ``FunctionError: Unhandled`` with
``errorMessage``/``errorType``/``stackTrace`` on an exception, the runtime's error shapes
for an import error, a missing handler, a syntax error or a result that is not JSON, a
``Sandbox.Timedout`` error when ``Timeout`` is exceeded (the environment is killed), and
the START/END/REPORT lines in CloudWatch Logs ``/aws/lambda/NAME`` and in ``LogResult``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import select
import shutil
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eventlab.sandbox.lambda_worker import read_message, write_message

LOG_TAIL_BYTES = 4096
# The worker runs from its file, not as ``-m eventlab.sandbox.lambda_worker``: importing
# the package would import the whole sandbox core (~40 ms of every cold start).
_BOOT = (f"from runpy import run_path; "
         f"run_path({str(Path(__file__).with_name('lambda_worker.py'))!r}, run_name='__main__')")
DEFAULT_MAX_ENVIRONMENTS = 64


class InvocationFailed(Exception):
    """The function could not be started at all (not a handler error)."""


@dataclass
class InvocationResult:
    payload: bytes
    function_error: str | None = None  # "Unhandled" when the function failed
    logs: str = ""
    duration_ms: float = 0.0
    request_id: str = ""

    @property
    def ok(self) -> bool:
        return self.function_error is None

    @property
    def log_result(self) -> str:
        """The base64 tail AWS returns in ``LogResult`` (``LogType='Tail'``)."""
        return base64.b64encode(self.logs.encode()[-LOG_TAIL_BYTES:]).decode()

    def error(self) -> dict[str, Any] | None:
        if self.function_error is None:
            return None
        try:
            return json.loads(self.payload)
        except ValueError:
            return {"errorMessage": self.payload.decode(errors="replace")}


@dataclass
class FunctionConfig:
    """What an execution environment is built from; a change retires old environments."""

    name: str
    arn: str
    handler: str
    runtime: str
    timeout: float
    memory: int
    env: dict[str, str]
    code_sha: str
    version: str = "$LATEST"

    @property
    def key(self) -> str:
        raw = json.dumps([self.arn, self.handler, self.runtime, self.timeout, self.memory,
                          sorted(self.env.items()), self.code_sha], default=str)
        return hashlib.sha256(raw.encode()).hexdigest()[:16]


class Worker:
    """One execution environment (a process)."""

    def __init__(self, config: FunctionConfig, task_root: Path, base_env: dict[str, str]) -> None:
        self.config = config
        self.stream_name = f"{time.strftime('%Y/%m/%d')}/[{config.version}]{uuid.uuid4().hex}"
        parent_read, child_write = os.pipe()
        child_read, parent_write = os.pipe()
        env = dict(base_env)
        env.update({
            "_HANDLER": config.handler,
            "LAMBDA_TASK_ROOT": str(task_root),
            "AWS_LAMBDA_FUNCTION_NAME": config.name,
            "AWS_LAMBDA_FUNCTION_VERSION": config.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(int(config.timeout)),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{config.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": self.stream_name,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.runtime}",
        })
        env.update({k: str(v) for k, v in config.env.items()})
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _BOOT, str(child_read), str(child_write)],
            pass_fds=(child_read, child_write), env=env, cwd=str(task_root),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            # Its own process group: a notebook kernel's interrupt (SIGINT to its group)
            # must not kill warm environments, and at shutdown ipykernel waits for the
            # children of its group to vanish, which unreaped ones never do (~2.5 s).
            # The worker exits by itself when this process goes (see lambda_worker).
            start_new_session=True,
        )
        os.close(child_read)
        os.close(child_write)
        self.rfd, self.wfd = parent_read, parent_write
        self.ready: dict[str, Any] | None = None
        self.invocations = 0

    def _read(self, timeout: float | None) -> dict[str, Any] | None:
        if timeout is not None:
            ready, _, _ = select.select([self.rfd], [], [], max(0.0, timeout))
            if not ready:
                raise TimeoutError
        return read_message(self.rfd)

    def start(self, timeout: float) -> dict[str, Any]:
        message = self._read(timeout)
        if message is None:
            err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
            raise InvocationFailed(f"the execution environment for {self.config.name} exited while "
                                   f"starting: {err.strip()[-2000:]}")
        self.ready = message
        return message

    def invoke(self, event: Any, context: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        write_message(self.wfd, {"event": event, "context": context})
        self.invocations += 1
        return self._read(timeout)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, kill: bool = False) -> None:
        if self.alive() and not kill:
            try:
                write_message(self.wfd, {"stop": True})
                self.proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                kill = True
        if self.alive():
            self.proc.kill()
            self.proc.wait()
        for fd in (self.rfd, self.wfd):
            try:
                os.close(fd)
            except OSError:
                pass
        if self.proc.stderr:
            self.proc.stderr.close()


LogSink = Callable[[str, str, list[tuple[float, str]]], None]


@dataclass
class LambdaRuntime:
    """Runs functions' code in warm environments.

    ``workdir`` holds unpacked code; ``endpoint`` is the sandbox URL handlers' boto3
    calls go to; ``log_sink(group, stream, [(ms, line)])`` receives log lines;
    ``time_scale`` multiplies every configured ``Timeout`` (1.0 is AWS's behaviour;
    tests use less so a timeout test does not wait seconds).
    """

    workdir: Path
    endpoint: Callable[[], str]
    region: str
    log_sink: LogSink
    clock_time: Callable[[], float] = time.time
    time_scale: float = 1.0
    max_environments: int = DEFAULT_MAX_ENVIRONMENTS
    _idle: dict[str, list[Worker]] = field(default_factory=dict)
    _all: list[Worker] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- environments --------------------------------------------------------------
    def _base_env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "HOME", "TMPDIR", "SYSTEMROOT",
                                                           "EVENTLAB_GUARD")}
        python_path = os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))
        keep.update({
            "PYTHONPATH": python_path,
            "PYTHONDONTWRITEBYTECODE": "1",
            "AWS_ENDPOINT_URL": self.endpoint(),
            "AWS_ACCESS_KEY_ID": "ASIASANDBOXLAMBDA000",
            "AWS_SECRET_ACCESS_KEY": "sandbox-secret",
            "AWS_SESSION_TOKEN": "sandbox-session-token",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            # a host prefix (StartSyncExecution's "sync-") cannot go in front of 127.0.0.1
            "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
            "TZ": "UTC",
        })
        return keep

    def _task_root(self, config: FunctionConfig, code: bytes) -> Path:
        root = self.workdir / "code" / f"{config.name}-{config.code_sha[:12]}"
        if not root.exists():
            tmp = root.with_name(root.name + f".tmp{uuid.uuid4().hex[:6]}")
            tmp.mkdir(parents=True)
            try:
                with zipfile.ZipFile(io.BytesIO(code)) as archive:
                    archive.extractall(tmp)
            except zipfile.BadZipFile as exc:
                shutil.rmtree(tmp, ignore_errors=True)
                raise InvocationFailed(f"the code of {config.name} is not a valid zip file: {exc}") from exc
            try:
                tmp.rename(root)
            except OSError:  # another thread unpacked it first
                shutil.rmtree(tmp, ignore_errors=True)
        return root

    def _checkout(self, config: FunctionConfig, code: bytes) -> tuple[Worker, bool]:
        with self._lock:
            idle = self._idle.setdefault(config.key, [])
            while idle:
                worker = idle.pop()
                if worker.alive():
                    return worker, False
                worker.stop(kill=True)
            self._all = [w for w in self._all if w.alive()]
            if len(self._all) >= self.max_environments:
                raise InvocationFailed(
                    f"the sandbox already runs {len(self._all)} Lambda execution environments "
                    "(max_environments); a function may be invoking itself in a loop")
        worker = Worker(config, self._task_root(config, code), self._base_env())
        with self._lock:
            self._all.append(worker)
        return worker, True

    def _checkin(self, worker: Worker) -> None:
        with self._lock:
            if worker.alive():
                self._idle.setdefault(worker.config.key, []).append(worker)

    def retire(self, function_arn: str | None = None) -> None:
        """Stop environments (of one function, or all)."""
        with self._lock:
            doomed = [w for w in self._all if function_arn is None or w.config.arn == function_arn]
            self._all = [w for w in self._all if w not in doomed]
            for key in list(self._idle):
                self._idle[key] = [w for w in self._idle[key] if w not in doomed]
        for worker in doomed:
            worker.stop()

    def retire_stale(self, config: FunctionConfig) -> None:
        """Stop environments of this function built from an older configuration or code."""
        with self._lock:
            doomed = [w for w in self._all if w.config.arn == config.arn and w.config.key != config.key]
        for worker in doomed:
            with self._lock:
                for key in list(self._idle):
                    self._idle[key] = [w for w in self._idle[key] if w is not worker]
                if worker in self._all:
                    self._all.remove(worker)
            worker.stop()

    def close(self) -> None:
        self.retire()

    @property
    def environment_count(self) -> int:
        return len([w for w in self._all if w.alive()])

    # -- invoking ------------------------------------------------------------------
    def invoke(self, config: FunctionConfig, code: bytes, event: Any) -> InvocationResult:
        if not config.runtime or not config.runtime.startswith("python"):
            return self._error_result(
                config, "Sandbox.UnsupportedRuntime",
                f"The eventlab sandbox runs Python functions only; {config.name} uses "
                f"runtime {config.runtime!r}.", "")
        self.retire_stale(config)
        request_id = str(uuid.uuid4())
        timeout = max(0.05, float(config.timeout) * self.time_scale)
        worker, cold = self._checkout(config, code)
        lines: list[str] = []
        started = time.perf_counter()
        init_ms = 0.0
        try:
            if cold:
                try:
                    ready = worker.start(timeout=max(timeout, 10.0))
                except TimeoutError:
                    worker.stop(kill=True)
                    return self._timeout(config, request_id, timeout, lines, worker, started)
                init_ms = ready.get("init_ms", 0.0)
                if ready.get("init_logs"):
                    lines.extend(ready["init_logs"].splitlines())
            lines.insert(0, f"START RequestId: {request_id} Version: {config.version}")
            context = {
                "function_name": config.name, "function_version": config.version,
                "invoked_function_arn": config.arn, "memory_limit_in_mb": config.memory,
                "aws_request_id": request_id, "log_group_name": f"/aws/lambda/{config.name}",
                "log_stream_name": worker.stream_name, "deadline": time.time() + timeout,
            }
            try:
                reply = worker.invoke(event, context, timeout)
            except TimeoutError:
                worker.stop(kill=True)
                return self._timeout(config, request_id, timeout, lines, worker, started)
            if reply is None:
                err = worker.proc.stderr.read().decode(errors="replace") if worker.proc.stderr else ""
                worker.stop(kill=True)
                tail = err.strip().splitlines()[-1:] or ["the process exited"]
                return self._finish(config, request_id, lines, worker, started, {
                    "errorMessage": f"RequestId: {request_id} Error: Runtime exited unexpectedly: {tail[0]}",
                    "errorType": "Runtime.ExitError"}, init_ms)
        except BaseException:
            worker.stop(kill=True)
            raise
        if reply.get("logs"):
            lines.extend(reply["logs"].rstrip("\n").split("\n"))
        self._checkin(worker)
        if "error" in reply:
            return self._finish(config, request_id, lines, worker, started, reply["error"], init_ms)
        return self._finish(config, request_id, lines, worker, started, None, init_ms,
                            payload=reply["payload"].encode())

    def _timeout(self, config: FunctionConfig, request_id: str, timeout: float, lines: list[str],
                 worker: Worker, started: float) -> InvocationResult:
        message = f"RequestId: {request_id} Error: Task timed out after {float(config.timeout):.2f} seconds"
        if not lines or not lines[0].startswith("START"):
            lines.insert(0, f"START RequestId: {request_id} Version: {config.version}")
        lines.append(f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime())}Z {request_id} Task timed out after {float(config.timeout):.2f} seconds")
        return self._finish(config, request_id, lines, worker, started,
                            {"errorMessage": message, "errorType": "Sandbox.Timedout"}, 0.0)

    def _error_result(self, config: FunctionConfig, error_type: str, message: str,
                      request_id: str) -> InvocationResult:
        body = json.dumps({"errorMessage": message, "errorType": error_type, "requestId": request_id,
                           "stackTrace": []}).encode()
        return InvocationResult(body, "Unhandled", "", 0.0, request_id)

    def _finish(self, config: FunctionConfig, request_id: str, lines: list[str], worker: Worker,
                started: float, error: dict[str, Any] | None, init_ms: float,
                payload: bytes = b"null") -> InvocationResult:
        duration = (time.perf_counter() - started) * 1000 - init_ms
        duration = max(duration, 0.01)
        lines.append(f"END RequestId: {request_id}")
        report = (f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\t"
                  f"Billed Duration: {int(duration) + 1} ms\tMemory Size: {config.memory} MB\t"
                  f"Max Memory Used: {min(config.memory, 40)} MB")
        if init_ms:
            report += f"\tInit Duration: {init_ms:.2f} ms"
        lines.append(report)
        now_ms = self.clock_time() * 1000
        self.log_sink(f"/aws/lambda/{config.name}", worker.stream_name, [(now_ms, line) for line in lines])
        logs = "\n".join(lines) + "\n"
        if error is not None:
            return InvocationResult(json.dumps(error).encode(), "Unhandled", logs, duration, request_id)
        return InvocationResult(payload, None, logs, duration, request_id)
