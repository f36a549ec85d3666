"""An embedded Kafka-protocol broker: noida-db, started and stopped by us.

No Java Kafka can be installed on the machines this project targets (no Kafka package in
Debian, no Maven Central), so
the labs run against `noida-db <https://pypi.org/project/noida-db/>`_, a single Rust
binary that speaks the Kafka wire protocol (topics, keyed produce, consumer groups,
commits, transactions).  :class:`EmbeddedBroker` runs it on 127.0.0.1 with its own data
directory and makes sure it never outlives us:

* it is started with the binary itself, not the ``noida-db`` console script (a Python
  wrapper that would leave its child behind when killed);
* on Linux the child asks the kernel for ``SIGTERM`` when its parent goes away
  (``prctl(PR_SET_PDEATHSIG)``), so a ``kill -9`` of the Python process, a crashed test
  runner or a closed notebook kernel takes the broker with it.  The kernel ties that
  signal to the *thread* that forked, so the broker is forked from a launcher thread that
  lives exactly as long as the broker (a broker started from a short-lived request thread
  would otherwise die with it);
* ``stop()`` (also at interpreter exit) sends SIGTERM, waits, then SIGKILL;
* it runs in its own process group, so that a notebook kernel's interrupt (SIGINT to the
  kernel's group) does not stop it, and a kernel's shutdown, which signals the children
  of its group and waits for them to vanish, does not wait for it (it would until
  ``stop()`` reaps it, after the kernel's own wait of about 2.5 s).

Errors say what went wrong and what to do: :class:`BrokerNotInstalled`,
:class:`PortInUse`, :class:`BrokerStartFailed` (with the tail of the broker's stderr).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType

from eventlab import config, errors
from eventlab.errors import SandboxError

HOST = "127.0.0.1"
BINARY_ENV = config.NOIDA_DB  # path to the noida-db binary, to override the search
_PR_SET_PDEATHSIG = 1
_NOISE = ("GLIBC_", "weak version")  # the binary's harmless warning on Debian 12


class BrokerError(SandboxError):
    """The embedded broker could not be started or used."""


class BrokerNotInstalled(BrokerError):
    pass


PortInUse = errors.PortInUse   # the same class as the sandbox server's (a SandboxError)


class BrokerStartFailed(BrokerError):
    pass


def find_binary() -> str:
    """The noida-db executable: ``$EVENTLAB_NOIDA_DB``, the binary inside the noida_db
    package, or ``noida-db`` on PATH, in that order."""
    override = config.noida_db()
    if override:
        if os.path.isfile(override) and os.access(override, os.X_OK):
            return override
        raise BrokerNotInstalled(
            f"{BINARY_ENV}={override} is not an executable file: point it at the noida-db "
            f"binary, or unset it to use the one from the noida-db package")
    try:
        from importlib.resources import files

        packaged = files("noida_db").joinpath("noida-db.exe" if os.name == "nt" else "noida-db")
        if packaged.is_file():
            path = str(packaged)
            if not os.access(path, os.X_OK):
                with contextlib.suppress(OSError):
                    os.chmod(path, 0o755)
            return path
    except ModuleNotFoundError:
        pass
    on_path = shutil.which("noida-db")
    if on_path:
        return on_path
    raise BrokerNotInstalled(
        "the embedded Kafka broker (noida-db) is not installed: run `pip install noida-db` "
        f"(or `pip install -e .` in the eventlab checkout), set {BINARY_ENV} to its binary, or "
        "point KAFKA_BOOTSTRAP_SERVERS at a Kafka cluster you already have")


def free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_is_free(port: int, host: str = HOST) -> bool:
    """True if nothing listens on the port (connections in TIME_WAIT don't count, as for
    the broker, which binds with SO_REUSEADDR: a restart on the same port works)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _die_with_parent(parent_pid: int) -> None:
    """preexec_fn (Linux): SIGTERM this child when the forking thread/process goes away."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except Exception:  # pragma: no cover - no prctl: fall back to atexit only
        return
    if os.getppid() != parent_pid:  # the parent died before prctl: don't linger
        os._exit(1)


def _clean_tail(text: str, lines: int = 12) -> str:
    kept = [ln for ln in text.splitlines() if ln.strip() and not any(n in ln for n in _NOISE)]
    return "\n".join(kept[-lines:])


class EmbeddedBroker:
    """One noida-db Kafka broker on ``host:port`` with its own data directory.

    ``port=None`` picks a free port; ``data_dir=None`` uses a temporary directory that is
    removed on ``stop()``.  A given ``data_dir`` keeps topics and messages across restarts.
    """

    def __init__(self, port: int | None = None, data_dir: str | os.PathLike[str] | None = None,
                 *, host: str = HOST, binary: str | None = None,
                 start_timeout: float = 20.0) -> None:
        self.host = host
        self.requested_port = port
        self.port: int | None = port
        self._data_dir_arg = data_dir
        self.data_dir: Path | None = Path(data_dir) if data_dir is not None else None
        self._own_data_dir = False
        self.binary = binary
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self._launcher: threading.Thread | None = None
        self._release = threading.Event()
        self._log: Path | None = None

    # -- properties ----------------------------------------------------------------------
    @property
    def bootstrap_servers(self) -> str:
        if self.port is None:
            raise BrokerError("the broker is not started")
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def __repr__(self) -> str:
        state = f"running at {self.bootstrap_servers}" if self.running else "stopped"
        return f"<EmbeddedBroker {state} data={self.data_dir}>"

    # -- life cycle ----------------------------------------------------------------------
    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> EmbeddedBroker:
        if self.running:
            return self
        binary = self.binary or find_binary()
        if self.data_dir is None:
            self.data_dir = Path(tempfile.mkdtemp(prefix="eventlab-kafka-"))
            self._own_data_dir = True
        self.data_dir.mkdir(parents=True, exist_ok=True)
        attempts = 1 if self.requested_port is not None else 3
        for attempt in range(attempts):
            port = self.requested_port if self.requested_port is not None else free_port(self.host)
            if not port_is_free(port, self.host):
                raise PortInUse(
                    f"cannot start the Kafka broker: port {port} on {self.host} is already in use "
                    "(another broker or program listens there). Pick another port, leave the "
                    "port out to get a free one, or stop what is using it.")
            self.port = port
            try:
                self._spawn(binary)
                self._wait_ready()
                _live.add(self)
                return self
            except PortInUse:
                if attempt < attempts - 1:  # a free port was taken meanwhile: try another
                    self._kill()
                    continue
                self.stop()
                raise
            except BaseException:
                self.stop()
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _spawn(self, binary: str) -> None:
        assert self.data_dir is not None and self.port is not None
        self._log = Path(tempfile.mkstemp(prefix="eventlab-kafka-", suffix=".log")[1])
        cmd = [binary, "start", "--only", "kafka", "--kafka-port", str(self.port),
               "--host", self.host, "--data-dir", str(self.data_dir)]
        started = threading.Event()
        failure: list[BaseException] = []
        self._release = threading.Event()

        def launch() -> None:
            # This thread forks the broker and then waits: PDEATHSIG is tied to it.
            try:
                with open(self._log, "wb") as log:  # type: ignore[arg-type]
                    preexec = ((lambda: _die_with_parent(parent)) if sys.platform == "linux"
                               else None)
                    self.process = subprocess.Popen(
                        cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                        preexec_fn=preexec, close_fds=True, start_new_session=True)
            except OSError as exc:
                failure.append(exc)
            finally:
                started.set()
            self._release.wait()

        parent = os.getpid()
        self._launcher = threading.Thread(target=launch, name=f"kafka-broker-{self.port}",
                                          daemon=True)
        self._launcher.start()
        started.wait()
        if failure:
            raise BrokerStartFailed(
                f"cannot run the Kafka broker binary {binary}: {failure[0]}. Reinstall it with "
                "`pip install --force-reinstall noida-db`, or set KAFKA_BOOTSTRAP_SERVERS to a "
                "Kafka cluster you already have") from failure[0]

    def log_tail(self, lines: int = 12) -> str:
        """The last lines the broker printed (without the harmless glibc warning)."""
        if self._log is None or not self._log.exists():
            return ""
        return _clean_tail(self._log.read_text(errors="replace"), lines)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        assert self.process is not None and self.port is not None
        while True:
            code = self.process.poll()
            if code is not None:
                tail = self.log_tail()
                if "already in use" in tail:
                    raise PortInUse(
                        f"cannot start the Kafka broker: port {self.port} on {self.host} is "
                        f"already in use. Pick another port or leave it out.\nbroker said:\n{tail}")
                raise BrokerStartFailed(
                    f"the Kafka broker exited at start-up (exit code {code}). If another broker "
                    f"uses the data directory {self.data_dir}, stop it or choose another "
                    f"directory.\nbroker said:\n{tail or '(nothing)'}")
            if time.monotonic() > deadline:
                raise BrokerStartFailed(
                    f"the Kafka broker did not answer on {self.bootstrap_servers} within "
                    f"{self.start_timeout:.0f} s.\nbroker said:\n{self.log_tail() or '(nothing)'}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    pass
            except OSError:
                time.sleep(0.02)
                continue
            if self._answers_metadata(timeout=max(0.5, deadline - time.monotonic())):
                return

    def _answers_metadata(self, timeout: float) -> bool:
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers, "log_level": 0})
        try:
            admin.list_topics(timeout=min(timeout, 5.0))
            return True
        except Exception:
            return False

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the broker (SIGTERM: it saves its data; SIGKILL after ``timeout``)."""
        process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        self._finish()

    def restart(self) -> EmbeddedBroker:
        """Stop and start again on the same port and data (topics, offsets kept; group
        members forgotten: the way to free a group a crashed consumer still holds)."""
        port, requested = self.port, self.requested_port
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self._finish(keep_data=True)
        self.requested_port = port
        try:
            return self.start()
        finally:
            self.requested_port = requested

    def _kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)
        self._finish(keep_data=True)

    def _finish(self, keep_data: bool = False) -> None:
        self._release.set()
        if self._launcher is not None:
            self._launcher.join(timeout=5)
            self._launcher = None
        _live.discard(self)
        if self._log is not None:
            with contextlib.suppress(OSError):
                self._log.unlink()
        if self._own_data_dir and self.data_dir is not None and not keep_data:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None
            self._own_data_dir = False
        if self.requested_port is None and not keep_data:
            self.port = None


_live: set[EmbeddedBroker] = set()


@atexit.register
def _stop_all() -> None:
    for broker in list(_live):
        with contextlib.suppress(Exception):
            broker.stop(timeout=5)
