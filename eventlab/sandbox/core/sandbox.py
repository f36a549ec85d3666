"""``Sandbox``: an isolated local AWS account, in-process, that really runs the flows.

    from eventlab.sandbox import Sandbox

    with Sandbox() as sb:
        sqs = sb.client("sqs")          # or boto3.client("sqs"): both reach the sandbox
        ...
        sb.clock.advance(hours=1)       # an hour of AWS time, now

Start-up: moto's mock of every service, fake credentials and region, an offline guard
(no request leaves this machine, whatever credentials, profile or endpoint variables the
user has set), the virtual clock, the service modules that fill moto's gaps, and the
delivery pump.  Stopping puts everything back: environment variables, moto's code,
running Lambda environments, the internal HTTP server.
"""

from __future__ import annotations

import atexit
import gc
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, overload
from urllib.parse import urlsplit

from eventlab import config, errors
from eventlab.net import is_loopback, offline_variables
from eventlab.sandbox.core.capacity import Quotas
from eventlab.sandbox.core.clock import VirtualClock
from eventlab.sandbox.core.patches import MotoTimeSweeper, PatchSet, remember
from eventlab.sandbox.core.pump import Pump

if TYPE_CHECKING:  # the services' types, without importing them (or moto) at start-up
    from moto.apigateway.models import APIGatewayBackend
    from moto.awslambda.models import LambdaBackend
    from moto.cloudwatch.models import CloudWatchBackend
    from moto.events.models import EventsBackend
    from moto.firehose.models import FirehoseBackend
    from moto.iam.models import IAMBackend
    from moto.kafka.models import KafkaBackend
    from moto.kinesis.models import KinesisBackend
    from moto.logs.models import LogsBackend
    from moto.s3.models import S3Backend
    from moto.sns.models import SNSBackend
    from moto.sqs.models import SQSBackend

    from eventlab.sandbox.apigateway.service import ApiGatewayService
    from eventlab.sandbox.appscaling.service import AppScalingService
    from eventlab.sandbox.athena.service import AthenaService
    from eventlab.sandbox.awslambda.esm.kinesis import KinesisService
    from eventlab.sandbox.awslambda.esm.sqs import SQSService
    from eventlab.sandbox.awslambda.service import LambdaService
    from eventlab.sandbox.cloudwatch.alarms import AlarmsService
    from eventlab.sandbox.cloudwatch.metrics import MetricsService
    from eventlab.sandbox.core.faults import FaultsService
    from eventlab.sandbox.datasync.service import DataSyncService
    from eventlab.sandbox.events.pattern import EventPatternService
    from eventlab.sandbox.events.targets import EventsTargetsService
    from eventlab.sandbox.firehose.service import FirehoseService
    from eventlab.sandbox.kinesis.throughput import KinesisThroughputService
    from eventlab.sandbox.msk.service import MSKService
    from eventlab.sandbox.pipes.service import PipesService
    from eventlab.sandbox.scheduler.service import SchedulesService
    from eventlab.sandbox.sns.envelope import SNSEnvelopeService
    from eventlab.sandbox.sns.fifo import SNSFifoService
    from eventlab.sandbox.sns.lambda_delivery import SNSLambdaService
    from eventlab.sandbox.sqs.fifo_sequence import FifoSequenceService
    from eventlab.sandbox.stepfunctions.service import StepFunctionsService

DEFAULT_REGION = "us-east-1"
ACCOUNT_ID = "123456789012"

SandboxError = errors.SandboxError     # re-exported: eventlab.sandbox.SandboxError
OfflineError = errors.OfflineError


_EXIT_HOOKED = False


def _quick_exit_once() -> None:
    """At interpreter exit, move every object alive then out of the garbage collector's
    reach (``gc.freeze``).  A process that ran a sandbox holds ~300k objects (moto's and
    botocore's models); the collections at exit (IPython's reset, then each stage of the
    interpreter's finalization) walk all of them, about a second on top of the notebook
    kernel's shutdown.  Memory goes back to the OS anyway; exit handlers and
    ``weakref.finalize`` still run; only cyclic garbage at exit is left uncollected.
    Registered once, at the first sandbox start, so that it runs before the exit handlers
    registered earlier (IPython's)."""
    global _EXIT_HOOKED
    if not _EXIT_HOOKED:
        _EXIT_HOOKED = True
        atexit.register(gc.freeze)


@dataclass(frozen=True)
class ServeOptions:
    """How the sandbox's HTTP server (``sb.serve``) treats its callers; ``eventlab grade``
    turns both on (:func:`autograder.host.serve_options`).

    ``lockdown``: moto's own API (``/moto-api``) answers 403; each try is kept in
    ``Sandbox.refused`` and handed to ``on_refused``.  ``wait_for_deliveries``: a caller
    other than a Lambda handler gets its reply after the deliveries its request caused,
    as in-process callers do.
    """

    lockdown: bool = False
    wait_for_deliveries: bool = False
    on_refused: Callable[[str], None] | None = None


class Sandbox:
    """An isolated mocked AWS account in this process.

    ``lambda_time_scale`` multiplies Lambda ``Timeout`` values (1.0 = as configured);
    ``background`` runs a ticker that fires timers as real time passes; ``quotas``
    changes AWS's default quotas (:data:`eventlab.sandbox.core.capacity.QUOTAS`), e.g.
    ``{"kinesis.shard.write-records": 10}``, in every region; ``sb.quotas.set(...)`` changes
    them later.  Unchanged, a quota has AWS's default for the region of each call (``region``
    for the sandbox's own clients), where AWS publishes regional figures.
    ``policies`` says how resource policies decide deliveries and cross-account calls
    (``"enforce"``, ``"strict"``, ``"off"``: :mod:`eventlab.sandbox.iam.enforce`; default: the
    ``EVENTLAB_POLICIES`` environment variable (:mod:`eventlab.config`), else ``"enforce"``);
    ``sb.account("111111111111")`` is another account of the same sandbox;
    ``iam="enforce"`` applies roles' identity policies to the calls made with them
    (:mod:`eventlab.sandbox.iam.identity`; default: ``EVENTLAB_IAM``, else ``"off"``);
    ``serving`` is how its HTTP server treats callers (:class:`ServeOptions`).
    """

    _active: Sandbox | None = None
    _active_lock = threading.Lock()

    def __init__(self, region: str = DEFAULT_REGION, *, lambda_time_scale: float = 1.0,
                 background: bool = True, workdir: str | os.PathLike[str] | None = None,
                 quotas: Mapping[str, float] | None = None, policies: str | None = None,
                 serving: ServeOptions | None = None, iam: str | None = None) -> None:
        from eventlab.sandbox.iam import identity
        from eventlab.sandbox.iam.enforce import MODES

        policies = policies or config.policies() or "enforce"
        if policies not in MODES:
            raise SandboxError(f"policies={policies!r} (or {config.POLICIES}): choose one of {', '.join(MODES)}")
        self.policies = policies
        iam = iam or config.iam() or "off"
        if iam not in identity.MODES:
            raise SandboxError(f"iam={iam!r} (or {config.IAM}): choose one of {', '.join(identity.MODES)}")
        self.iam = iam
        self.region = region
        self.quotas = Quotas(quotas, region=region)
        self.account_id = ACCOUNT_ID
        self.lambda_time_scale = lambda_time_scale
        self.background = background
        self.clock = VirtualClock()
        self.patches = PatchSet()
        self.pump = Pump(wait_idle=self._wait_for_workflows)
        self._workdir_arg = workdir
        self._own_workdir = False
        self.workdir: Path | None = None
        self._saved_env: dict[str, str | None] = {}
        self._mock: Any = None
        self._server: Any = None
        self._server_lock = threading.Lock()
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._ticker: threading.Thread | None = None
        self._stopping = threading.Event()
        self._services: list[Any] = []
        self._thread_flags = threading.local()
        self.runtime: Any = None
        self.started = False
        # Over HTTP (see server.py): extra POST routes under /_eventlab/ (path -> handler of
        # the JSON body; ``eventlab grade`` adds its own) and the serving options.
        self.admin_routes: dict[str, Any] = {}
        self.serving = serving or ServeOptions()
        self.refused: list[str] = []          # requests the lockdown turned away

    def refuse(self, request: str) -> None:
        """Keep a request the lockdown turned away (and hand it to ``on_refused``)."""
        self.refused.append(request)
        if self.serving.on_refused is not None:
            self.serving.on_refused(request)

    # -- life cycle --------------------------------------------------------------------
    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> Sandbox:
        with Sandbox._active_lock:
            if Sandbox._active is not None:
                raise SandboxError(
                    "a sandbox is already running in this process; stop it first "
                    "(moto keeps one AWS state per process)")
            Sandbox._active = self
        try:
            self._start()
        except BaseException:
            self._teardown()
            raise
        return self

    def _start(self) -> None:
        _quick_exit_once()
        self._scrub_environment()
        if self._workdir_arg is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="eventlab-sandbox-"))
            self._own_workdir = True
        else:
            self.workdir = Path(self._workdir_arg)
            self.workdir.mkdir(parents=True, exist_ok=True)
        from moto import mock_aws

        self._mock = mock_aws(config={
            # use_docker stays True so that moto uses its full Lambda backend, whose single
            # execution point (LambdaFunction.invoke) the lambda service replaces.
            "stepfunctions": {"execute_state_machine": True},
            "core": {"mock_credentials": True, "passthrough": {"urls": [], "services": []}},
        })
        self._mock.start()
        self.sweeper = MotoTimeSweeper(self.clock, self.patches)
        self._install_guards()
        from eventlab.sandbox.core import protocols
        from eventlab.sandbox.core import registry as services

        protocols.install(self.patches)

        self._services = services.install_all(self)
        self.sweeper.sweep()
        self.clock.on_advance(lambda _now: self.settle())
        remember(self.patches)
        self.started = True
        if self.background:
            self._ticker = threading.Thread(target=self._tick, name="eventlab-ticker", daemon=True)
            self._ticker.start()

    def stop(self) -> None:
        self._teardown()

    def _teardown(self) -> None:
        self._stopping.set()
        if self._ticker is not None:
            self._ticker.join(timeout=5)
            self._ticker = None
        for service in reversed(self._services):
            close = getattr(service, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:  # keep tearing down
                    pass
        self._services = []
        if self._server is not None:
            self._server.stop()
            self._server = None
        if getattr(self, "sweeper", None) is not None:
            self.sweeper.close()
        self.patches.undo()
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        self._restore_environment()
        if self._own_workdir and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
        self._clients.clear()
        self.started = False
        with Sandbox._active_lock:
            if Sandbox._active is self:
                Sandbox._active = None

    @classmethod
    def current(cls) -> Sandbox | None:
        return cls._active

    # -- environment and guards ----------------------------------------------------------
    def _scrub_environment(self) -> None:
        forced = {
            "AWS_ACCESS_KEY_ID": "AKIASANDBOXEVENTLAB0",
            "AWS_SECRET_ACCESS_KEY": "sandbox-secret-not-a-real-key",
            "AWS_SESSION_TOKEN": "sandbox-session-token",
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        doomed = offline_variables(os.environ)
        for key in list(forced) + doomed:
            if key not in self._saved_env:
                self._saved_env[key] = os.environ.get(key)
        for key in doomed:
            os.environ.pop(key, None)
        os.environ.update(forced)

    def _restore_environment(self) -> None:
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()

    def _install_guards(self) -> None:
        import botocore.httpsession
        from moto.core.botocore_stubber import BotocoreStubber

        sandbox = self
        original_send = botocore.httpsession.URLLib3Session.send

        def offline_send(session: Any, request: Any) -> Any:
            host = urlsplit(request.url).hostname
            if not is_loopback(host):
                raise OfflineError(
                    f"eventlab sandbox: refusing to send {request.method} {request.url} — the sandbox "
                    "never talks to real AWS. Create clients after the sandbox starts (or use "
                    "sandbox.client(...)) so that they reach the local AWS.")
            return original_send(session, request)

        self.patches.replace(botocore.httpsession.URLLib3Session, "send", offline_send,
                             "no request leaves the machine, whatever credentials or endpoints are set")

        original_call = BotocoreStubber.__call__

        def call_then_settle(stubber: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
            response = original_call(stubber, event_name, request, **kwargs)
            if response is not None and stubber.enabled:
                sandbox.after_request()
            return response

        self.patches.replace(BotocoreStubber, "__call__", call_then_settle,
                             "deliveries (Lambda triggers, targets) happen before the API call returns")

    # -- deliveries --------------------------------------------------------------------
    def after_request(self, *, from_server: bool = False) -> None:
        """Called after each API request the sandbox answers."""
        if not self.started:
            return
        self.sweeper.sweep()
        if self.clock.is_busy_thread():
            # A workflow thread made this call: the pump that waits on it will go round again.
            self.pump.mark_dirty()
            return
        if from_server:
            # The caller may be a handler that a running pump is waiting on: never block.
            self.pump.settle(block=False, wait=False)
        else:
            self.settle()

    def settle(self) -> None:
        """Deliver everything that is due now (and wait for workflows to reach a pause)."""
        if not self.started:
            return
        self.clock.run_due()
        if self.clock.is_busy_thread() or getattr(self._thread_flags, "server", False):
            self.pump.settle(block=False, wait=False)
        else:
            self.pump.settle()

    def _wait_for_workflows(self) -> bool:
        return self.clock.wait_idle(timeout=60.0)

    def server_thread(self) -> Any:
        """Context manager marking the current thread as an HTTP server thread."""
        flags = self._thread_flags

        class _Mark:
            def __enter__(self_inner) -> None:
                flags.server = True

            def __exit__(self_inner, *exc: object) -> None:
                flags.server = False

        return _Mark()

    def _tick(self) -> None:
        while not self._stopping.wait(0.05):
            try:
                due = self.clock.next_due()
                if self.pump.dirty or (due is not None and due <= self.clock.time()):
                    self.settle()
            except Exception:  # the ticker must never die
                pass

    # -- endpoints and clients -----------------------------------------------------------
    @property
    def endpoint_url(self) -> str:
        """The sandbox over HTTP (started on a free loopback port on first use)."""
        with self._server_lock:
            if self._server is None:
                from eventlab.sandbox.core.server import SandboxServer

                self._server = SandboxServer(self).start()
            return self._server.url

    def serve(self, host: str = "127.0.0.1", port: int = 4566, sock: Any = None) -> Any:
        """Serve this sandbox on ``host:port`` (used by ``eventlab serve``), or on ``sock``,
        a socket already bound and listening (``eventlab grade`` gives its URL to a kernel
        that starts while the sandbox does)."""
        from eventlab.sandbox.core.server import SandboxServer

        with self._server_lock:
            if self._server is not None:
                raise SandboxError(f"this sandbox is already served at {self._server.url}")
            self._server = SandboxServer(self, host=host, port=port, sock=sock).start()
            return self._server

    def client(self, service: str, region: str | None = None, account: str | None = None) -> Any:
        """A boto3 client for the sandbox (cached: creating clients is the slow part), acting
        in ``account`` (default: this sandbox's account)."""
        key = (service, region or self.region, account or self.account_id)
        client = self._clients.get(key)
        if client is None:
            import boto3

            keys = {} if key[2] == self.account_id else {  # a 12-digit key selects the account
                "aws_access_key_id": key[2], "aws_secret_access_key": "sandbox", "aws_session_token": None}
            client = boto3.client(service, region_name=key[1], **keys)
            self._clients[key] = client
        return client

    def account(self, account_id: str) -> Any:
        """Another AWS account in this sandbox: ``sb.account("111111111111").client("sqs")``."""
        from eventlab.sandbox.iam.accounts import Account

        return Account(self, account_id)

    def load(self, rate: float, seconds: float, send: Callable[[int], Any], **options: Any) -> Any:
        """Call ``send(i)`` ``rate`` times per virtual second for ``seconds`` virtual seconds,
        with the clock held, and report what became of the calls (see
        :mod:`eventlab.sandbox.core.load`: ``queue=``, ``dlq=``, ``step=``, ``drain=``)."""
        from eventlab.sandbox.core.load import run_load

        return run_load(self, rate, seconds, send, **options)

    # One overload per installed service (its registry name, eventlab/sandbox/core/registry.py),
    # so that ``sb.service("lambda")`` is a LambdaService to the type checker.
    @overload
    def service(self, name: Literal["lambda"]) -> LambdaService: ...
    @overload
    def service(self, name: Literal["sqs"]) -> SQSService: ...
    @overload
    def service(self, name: Literal["kinesis"]) -> KinesisService: ...
    @overload
    def service(self, name: Literal["kinesis-throughput"]) -> KinesisThroughputService: ...
    @overload
    def service(self, name: Literal["sns-lambda"]) -> SNSLambdaService: ...
    @overload
    def service(self, name: Literal["sns-fifo"]) -> SNSFifoService: ...
    @overload
    def service(self, name: Literal["sns-envelope"]) -> SNSEnvelopeService: ...
    @overload
    def service(self, name: Literal["fifo-sequence"]) -> FifoSequenceService: ...
    @overload
    def service(self, name: Literal["events-targets"]) -> EventsTargetsService: ...
    @overload
    def service(self, name: Literal["events-pattern"]) -> EventPatternService: ...
    @overload
    def service(self, name: Literal["stepfunctions"]) -> StepFunctionsService: ...
    @overload
    def service(self, name: Literal["firehose"]) -> FirehoseService: ...
    @overload
    def service(self, name: Literal["athena"]) -> AthenaService: ...
    @overload
    def service(self, name: Literal["apigateway"]) -> ApiGatewayService: ...
    @overload
    def service(self, name: Literal["metrics"]) -> MetricsService: ...
    @overload
    def service(self, name: Literal["alarms"]) -> AlarmsService: ...
    @overload
    def service(self, name: Literal["appscaling"]) -> AppScalingService: ...
    @overload
    def service(self, name: Literal["schedules"]) -> SchedulesService: ...
    @overload
    def service(self, name: Literal["msk"]) -> MSKService: ...
    @overload
    def service(self, name: Literal["datasync"]) -> DataSyncService: ...
    @overload
    def service(self, name: Literal["pipes"]) -> PipesService: ...
    @overload
    def service(self, name: Literal["faults"]) -> FaultsService: ...
    @overload
    def service(self, name: str) -> Any: ...

    def service(self, name: str) -> Any:
        """One of the installed gap-filling services, by name (e.g. "lambda")."""
        for service in self._services:
            if getattr(service, "name", None) == name:
                return service
        raise KeyError(name)

    @property
    def faults(self) -> FaultsService:
        """Fault injection on the virtual clock (:mod:`eventlab.sandbox.core.faults`):
        ``throttle(api)``, ``fail_target(arn)``, ``slow_function(name, seconds)``..."""
        return self.service("faults")

    # moto's backends, typed for the services the sandbox reads (moto ships its types).
    @overload
    def backend(self, service: Literal["sqs"], region: str | None = None, account: str | None = None) -> SQSBackend: ...
    @overload
    def backend(self, service: Literal["sns"], region: str | None = None, account: str | None = None) -> SNSBackend: ...
    @overload
    def backend(self, service: Literal["lambda"], region: str | None = None, account: str | None = None) -> LambdaBackend: ...
    @overload
    def backend(self, service: Literal["kinesis"], region: str | None = None, account: str | None = None) -> KinesisBackend: ...
    @overload
    def backend(self, service: Literal["firehose"], region: str | None = None, account: str | None = None) -> FirehoseBackend: ...
    @overload
    def backend(self, service: Literal["events"], region: str | None = None, account: str | None = None) -> EventsBackend: ...
    @overload
    def backend(self, service: Literal["logs"], region: str | None = None, account: str | None = None) -> LogsBackend: ...
    @overload
    def backend(self, service: Literal["cloudwatch"], region: str | None = None, account: str | None = None) -> CloudWatchBackend: ...
    @overload
    def backend(self, service: Literal["apigateway"], region: str | None = None, account: str | None = None) -> APIGatewayBackend: ...
    @overload
    def backend(self, service: Literal["kafka"], region: str | None = None, account: str | None = None) -> KafkaBackend: ...
    @overload
    def backend(self, service: Literal["s3"], region: str | None = None, account: str | None = None) -> S3Backend: ...
    @overload
    def backend(self, service: Literal["iam"], region: str | None = None, account: str | None = None) -> IAMBackend: ...
    @overload
    def backend(self, service: str, region: str | None = None, account: str | None = None) -> Any: ...

    def backend(self, service: str, region: str | None = None, account: str | None = None) -> Any:
        """moto's backend for a service in ``account`` (default: this sandbox's account; for
        the sandbox's own modules: code outside ``eventlab/sandbox/`` reads state through
        :mod:`eventlab.sandbox.inspect`)."""
        from moto.backends import get_backend

        backends: Any = get_backend(service)  # type: ignore[call-overload]  # a name known at run time
        return backends[account or self.account_id][region or self.region]

    def backend_for(self, service: str, arn: str) -> Any:
        """moto's backend of ``service`` in the account and region that ``arn`` names."""
        parts = arn.split(":", 5)
        return self.backend(service, parts[3] or None, parts[4] or None)

    def backends(self, service: str) -> list[Any]:
        """moto's backends of ``service`` that exist, in every account and region."""
        import sys

        from moto.backends import ALT_SERVICE_NAMES, get_backend

        if f"moto.{ALT_SERVICE_NAMES.get(service, service)}.models" not in sys.modules:
            return []   # never used: no backend exists (and importing moto's models is slow)
        return [backend for per_region in list(get_backend(service).values())  # type: ignore[call-overload]
                for backend in list(per_region.values())]
