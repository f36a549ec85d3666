"""Lambda code that really runs, without Docker.

Each function gets warm execution environments: Python processes
(:mod:`eventlab.sandbox.awslambda.worker`) started with that function's environment
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

Memory is the function's ``MemorySize``: an environment whose resident memory goes over
it is killed, and the caller gets what AWS returns when its out-of-memory killer strikes
(``Runtime.ExitError``, ``Runtime exited with error: signal: killed``).  REPORT's
``Max Memory Used`` is the environment's measured peak.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import os
import select
import shutil
import signal
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

from eventlab import config
from eventlab.errors import SandboxError
from eventlab.sandbox.awslambda.worker import read_message, write_message
from eventlab.sandbox.iam.accounts import DEFAULT_ACCOUNT

LOG_TAIL_BYTES = 4096
# The worker runs from its file, not as ``-m eventlab.sandbox.awslambda.worker``: importing
# the package would import the whole sandbox core (~40 ms of every cold start).
_BOOT = (f"from runpy import run_path; "
         f"run_path({str(Path(__file__).with_name('worker.py'))!r}, run_name='__main__')")
DEFAULT_MAX_ENVIRONMENTS = 64
MEMORY_POLL_SECONDS = 0.01   # how often a running environment's memory is looked at


class InvocationFailed(SandboxError):
    """The function could not be started at all (not a handler error)."""


class OutOfMemory(SandboxError):
    """The environment went over its function's memory size (it has been killed)."""


@dataclass
class InvocationResult:
    payload: bytes
    function_error: str | None = None  # "Unhandled" when the function failed
    logs: str = ""
    duration_ms: float = 0.0
    request_id: str = ""
    virtual_ms: float = 0.0     # what the handler spent in time.sleep (virtual time)
    ended: float = 0.0          # virtual time at which the invocation ended (set by the service)

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
        account = config.arn.split(":")[4] if config.arn.count(":") >= 4 else ""
        if account.isdigit() and account != DEFAULT_ACCOUNT:
            env["AWS_ACCESS_KEY_ID"] = account   # the function's calls act in its own account
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
        self.peak_mb = 0.0   # the highest resident memory seen, by the worker or by us
        self.stderr_tail = ""  # what the process wrote outside the handler's capture
        self._process: Any = None

    def resident_mb(self) -> float:
        """The environment's resident memory now, in MB (0 once it has gone)."""
        try:
            if self._process is None:
                import psutil

                self._process = psutil.Process(self.proc.pid)
            return float(self._process.memory_info().rss) / (1024 * 1024)
        except Exception:   # gone already (psutil.NoSuchProcess), or no psutil
            return 0.0

    def _read(self, timeout: float) -> dict[str, Any] | None:
        """The worker's next message; TimeoutError after ``timeout`` seconds, OutOfMemory
        (after killing it) as soon as its resident memory goes over the function's."""
        deadline = time.monotonic() + max(0.0, timeout)
        limit = float(self.config.memory)
        while True:
            left = deadline - time.monotonic()
            wait = max(0.0, min(left, MEMORY_POLL_SECONDS))
            ready, _, _ = select.select([self.rfd], [], [], wait)
            if ready:
                message = read_message(self.rfd)
                if message is not None:
                    peak = float(message.pop("peak_mb", 0.0))
                    self.peak_mb = max(self.peak_mb, peak)
                    if peak > limit:   # it went over and came back between two looks
                        self.stop(kill=True)
                        raise OutOfMemory(peak)
                return message
            used = self.resident_mb()
            self.peak_mb = max(self.peak_mb, used)
            if used > limit:
                self.stop(kill=True)
                raise OutOfMemory(used)
            if left <= 0:
                raise TimeoutError

    def start(self, timeout: float) -> dict[str, Any]:
        message = self._read(timeout)
        if message is None:
            err = self._drain(self.proc.stderr) if self.proc.stderr else ""
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
        if self.proc.stderr and not self.proc.stderr.closed:
            self.stderr_tail = self._drain(self.proc.stderr)
            self.proc.stderr.close()

    @staticmethod
    def _drain(pipe: Any, limit: int = 64 * 1024) -> str:
        """What the process left on a pipe, without waiting (a child it started may still
        hold the pipe open)."""
        try:
            os.set_blocking(pipe.fileno(), False)
            data = pipe.read(limit) or b""
        except (OSError, ValueError):
            data = b""
        return data.decode(errors="replace")


def _exit_status(returncode: int | None) -> str:
    """How AWS's runtime reports a process's end: ``exit status 1``, ``signal: killed``."""
    if returncode is not None and returncode < 0:
        try:
            name = signal.strsignal(-returncode) or f"signal {-returncode}"
        except ValueError:
            name = f"signal {-returncode}"
        return f"signal: {name.lower()}"
    return f"exit status {returncode if returncode is not None else 'unknown'}"


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
                                                           config.GUARD)}
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
            config.CLOCK_OFFSET: repr(self.clock_time() - time.time()),   # for the init phase
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
                except OutOfMemory:
                    return self._exited(config, request_id, lines, worker, started, 0.0,
                                        "signal: killed")
                init_ms = ready.get("init_ms", 0.0)
                if ready.get("init_logs"):
                    lines.extend(ready["init_logs"].splitlines())
            context = {
                "function_name": config.name, "function_version": config.version,
                "invoked_function_arn": config.arn, "memory_limit_in_mb": config.memory,
                "aws_request_id": request_id, "log_group_name": f"/aws/lambda/{config.name}",
                "log_stream_name": worker.stream_name, "deadline": self.clock_time() + timeout,
                # time.sleep in the handler is virtual: it may use the whole Timeout, unscaled
                "virtual_deadline": self.clock_time() + float(config.timeout),
                # the environment's clock is real time plus this: the sandbox's, now
                "clock_offset": self.clock_time() - time.time(),
            }
            try:
                reply = worker.invoke(event, context, timeout)
            except TimeoutError:
                worker.stop(kill=True)
                return self._timeout(config, request_id, timeout, lines, worker, started)
            except OutOfMemory:
                return self._exited(config, request_id, lines, worker, started, init_ms,
                                    "signal: killed")
            if reply is None:   # the handler ended its own process (sys.exit, a signal...)
                try:
                    worker.proc.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    pass
                worker.stop(kill=True)
                return self._exited(config, request_id, lines, worker, started, init_ms,
                                    _exit_status(worker.proc.returncode))
        except BaseException:
            worker.stop(kill=True)
            raise
        if reply.get("logs"):
            lines.extend(reply["logs"].rstrip("\n").split("\n"))
        virtual_ms = float(reply.get("virtual_ms") or 0.0)
        if reply.get("timeout"):   # slept past the deadline: AWS resets the environment too
            worker.stop(kill=True)
            return self._timeout(config, request_id, timeout, lines, worker, started, virtual_ms)
        self._checkin(worker)
        if "error" in reply:
            return self._finish(config, request_id, lines, worker, started, reply["error"], init_ms,
                                virtual_ms=virtual_ms)
        return self._finish(config, request_id, lines, worker, started, None, init_ms,
                            payload=reply["payload"].encode(), virtual_ms=virtual_ms)

    def _timeout(self, config: FunctionConfig, request_id: str, timeout: float, lines: list[str],
                 worker: Worker, started: float, virtual_ms: float = 0.0) -> InvocationResult:
        message = f"RequestId: {request_id} Error: Task timed out after {float(config.timeout):.2f} seconds"
        lines.append(f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime())}Z {request_id} Task timed out after {float(config.timeout):.2f} seconds")
        return self._finish(config, request_id, lines, worker, started,
                            {"errorMessage": message, "errorType": "Sandbox.Timedout"}, 0.0,
                            virtual_ms=virtual_ms)

    def _exited(self, config: FunctionConfig, request_id: str, lines: list[str], worker: Worker,
                started: float, init_ms: float, status: str) -> InvocationResult:
        """The environment died during the invocation: AWS's ``Runtime.ExitError``."""
        message = f"RequestId: {request_id} Error: Runtime exited with error: {status}"
        lines.extend(worker.stderr_tail.strip().splitlines()[-20:])
        lines.append(f"{message}\nRuntime.ExitError")
        return self._finish(config, request_id, lines, worker, started,
                            {"errorMessage": message, "errorType": "Runtime.ExitError"}, init_ms)

    def _error_result(self, config: FunctionConfig, error_type: str, message: str,
                      request_id: str) -> InvocationResult:
        body = json.dumps({"errorMessage": message, "errorType": error_type, "requestId": request_id,
                           "stackTrace": []}).encode()
        return InvocationResult(body, "Unhandled", "", 0.0, request_id)

    def _finish(self, config: FunctionConfig, request_id: str, lines: list[str], worker: Worker,
                started: float, error: dict[str, Any] | None, init_ms: float,
                payload: bytes = b"null", virtual_ms: float = 0.0) -> InvocationResult:
        duration = (time.perf_counter() - started) * 1000 - init_ms + virtual_ms
        duration = max(duration, 0.01)
        lines.insert(0, f"START RequestId: {request_id} Version: {config.version}")
        lines.append(f"END RequestId: {request_id}")
        report = (f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\t"
                  f"Billed Duration: {int(duration) + 1} ms\tMemory Size: {config.memory} MB\t"
                  f"Max Memory Used: {min(config.memory, math.ceil(worker.peak_mb))} MB")
        if init_ms:
            report += f"\tInit Duration: {init_ms:.2f} ms"
        lines.append(report)
        now_ms = self.clock_time() * 1000
        self.log_sink(f"/aws/lambda/{config.name}", worker.stream_name, [(now_ms, line) for line in lines])
        logs = "\n".join(lines) + "\n"
        if error is not None:
            return InvocationResult(json.dumps(error).encode(), "Unhandled", logs, duration, request_id,
                                    virtual_ms)
        return InvocationResult(payload, None, logs, duration, request_id, virtual_ms)
