"""Grading many submissions: each in its own process, with a fresh sandbox, limits, and a
verdict that learner code cannot change.

For each submission a fresh process (forked from a server that has imported moto,
boto3 and the grader once) does this:

1. reads the file (a file that is not a notebook is reported as such, never scored 0
   silently) and puts back the lab's locked cells (:mod:`autograder.integrity`);
2. starts a sandbox and serves it on a loopback port, with the lab's checks behind the
   admin API (:class:`autograder.host.LabHost`);
3. runs the notebook in a kernel of its own, fenced by :mod:`eventlab.guard` (no network
   but loopback, no reading other submissions or the grader's files, no writing
   outside a scratch copy, no processes), under a per-cell and a per-submission time
   limit and a memory limit; the kernel's ``start(...)`` connects to the sandbox above;
4. runs every check of the lab *in this process*, on the sandbox the notebook left,
   whatever happened to the kernel (a kernel that died or ran out of time keeps the
   points of what it built).

:func:`grade_many` schedules these processes ``jobs`` at a time and returns one
:class:`Outcome` per submission.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from autograder import registry
from eventlab import config

# statuses, worst last
GRADED = "graded"
FLAGGED = "graded-with-flags"
TIMED_OUT = "time-limit"
MEMORY = "memory-limit"
DIED = "kernel-died"
INVALID = "invalid-notebook"
MISSING = "missing"
GRADER_ERROR = "grader-error"


@dataclass
class Limits:
    cell_seconds: float = 120.0
    submission_seconds: float = 600.0
    memory_mb: int = 2048


@dataclass
class Submission:
    student: str
    path: Path
    problem: str = ""      # set when the folder has no notebook for this lab


@dataclass
class Outcome:
    student: str
    notebook: str                      # the submitted file, as given
    lab: str
    status: str
    score: float
    points: float
    results: list[dict[str, Any]] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)        # integrity and limits, one line each
    cell_errors: list[str] = field(default_factory=list)  # "cell 5: NameError: ..."
    seconds: float = 0.0
    peak_mb: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- finding the submissions ---------------------------------------------------------------
def find_submissions(lab: str, paths: Iterable[Path]) -> list[Submission]:
    """Notebooks given one by one, flat folders of ``<student>.ipynb``, nbgrader's
    ``submitted/<student>/<lab>/`` layout (or a course folder holding ``submitted/``)."""
    folder = registry.lab(lab).folder
    found: list[Submission] = []
    for path in paths:
        path = Path(path)
        if path.is_file():
            found.append(Submission(_student_of(path, folder), path))
            continue
        if not path.is_dir():
            raise FileNotFoundError(f"no such notebook or folder: {path}")
        root = path / "submitted" if (path / "submitted").is_dir() else path
        for nb in sorted(root.glob("*.ipynb")):
            found.append(Submission(nb.stem, nb))
        for student in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if (student / folder).is_dir():
                notebooks = sorted((student / folder).glob("*.ipynb"))
                named = [p for p in notebooks if p.stem == folder]
                if named or len(notebooks) == 1:
                    found.append(Submission(student.name, (named or notebooks)[0]))
                else:
                    what = "no notebook" if not notebooks else f"{len(notebooks)} notebooks and none named {folder}.ipynb"
                    found.append(Submission(student.name, student / folder, problem=f"{student.name}/{folder}/ has {what}"))
            elif any(p.is_dir() and p.name in registry.folders().values() for p in student.iterdir()):
                found.append(Submission(student.name, student / folder,
                                        problem=f"{student.name}/ has no {folder}/ folder"))
    seen: dict[str, int] = {}
    for sub in found:   # two files for one name (or one file name) keep both, told apart
        n = seen.get(_safe(sub.student), 0)
        seen[_safe(sub.student)] = n + 1
        if n:
            sub.student = f"{sub.student}~{n + 1}"
    return found


def _student_of(path: Path, folder: str) -> str:
    parts = path.resolve().parts
    if len(parts) >= 3 and parts[-2] == folder:
        return parts[-3]
    return path.stem




def source_notebook(lab: str) -> Path:
    from eventlab.paths import labs_dir

    folder = registry.lab(lab).folder
    return labs_dir() / "source" / folder / f"{folder}.ipynb"


# -- one submission, in its own process ----------------------------------------------------
def _fail_all(lab: str, message: str) -> list[dict[str, Any]]:
    from autograder.lab import failed_report

    return failed_report(lab, message).as_dict()["results"]


def _total(lab: str) -> float:
    from autograder.lab import failed_report

    return failed_report(lab, "").points


def grade_one(lab: str, sub: Submission, limits: Limits, scratch_root: Path,
              deny_read: list[str], keep: Path | None = None, teardown: bool = True) -> Outcome:
    """Grade one submission in this process (which must be fresh: see :func:`grade_many`).
    ``teardown=False`` leaves the sandbox running, for a process about to exit anyway
    (its Lambda environments and broker die with it)."""
    from autograder.integrity import NotANotebook, read_submission, restore

    started = time.perf_counter()
    out = Outcome(sub.student, str(sub.path), lab, GRADED, 0.0, _total(lab))
    if sub.problem:
        out.status, out.flags = MISSING, [f"no submission: {sub.problem}"]
        out.results = _fail_all(lab, "Nothing was graded: there was no notebook for this lab.")
        return out
    try:
        nb = read_submission(sub.path)
    except NotANotebook as exc:
        out.status = INVALID
        out.flags = [f"{sub.path.name} {exc}"]
        out.results = _fail_all(lab, f"Nothing was graded: the submitted file {exc}.")
        return out
    import nbformat

    nb, flags = restore(nb, nbformat.read(source_notebook(lab), as_version=4))
    out.flags.extend(flags)
    work = scratch_root / _safe(sub.student)
    for sub_dir in ("home", "tmp", "sandbox"):
        (work / sub_dir).mkdir(parents=True, exist_ok=True)
    notebook_path = work / sub.path.name
    nbformat.write(nb, notebook_path)
    guard_log = scratch_root / ".guard" / f"{_safe(sub.student)}.log"
    guard_log.parent.mkdir(exist_ok=True)
    run = _run_notebook(lab, nb, work, guard_log, limits, deny_read + [str(scratch_root)],
                        teardown)
    out.results = run["results"]
    out.cell_errors = [_scrub(e, work) for e in run["cell_errors"]]
    out.flags.extend(run["flags"])
    out.flags.extend(_guard_flags(guard_log))
    out.peak_mb = round(run["peak_mb"], 1)
    out.status = run["status"] if run["status"] != GRADED else (FLAGGED if out.flags else GRADED)
    out.score = float(sum(r["earned"] for r in out.results))
    out.seconds = round(time.perf_counter() - started, 2)
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        nbformat.write(run["notebook"], keep / f"{_safe(sub.student)}.ipynb")
    return out


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.~-]", "_", name) or "_"


def _guard_flags(log: Path) -> list[str]:
    if not log.exists():
        return []
    flags: list[str] = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        text = f"refused: {entry.get('kind')}: {entry.get('what')}"
        if text not in flags:
            flags.append(text)
    return flags


def _kernel_env(work: Path, url: str, guard: str) -> dict[str, str]:
    from autograder.remote import client_env
    from eventlab.paths import project_root

    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TZ")}
    python_path = [str(project_root()), *filter(None, [os.environ.get("PYTHONPATH")])]
    home = work / "home"
    keep.update({
        "PYTHONPATH": os.pathsep.join(python_path),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "HOME": str(home), "TMPDIR": str(work / "tmp"), "IPYTHONDIR": str(home / ".ipython"),
        "MPLCONFIGDIR": str(home / ".matplotlib"), "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
        "JUPYTER_DATA_DIR": str(home / ".jupyter-data"), config.DATA_DIR: str(home / ".eventlab"),
        config.GUARD: guard,
        **client_env(url),
    })
    return keep


def _kernel_spec(work: Path) -> Path:
    spec_root = work / "home" / ".jupyter-data"
    spec = spec_root / "kernels" / "eventlab-grade"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "autograder.grading_kernel", "-f", "{connection_file}",
                 "--IPKernelApp.log_level=ERROR"],
        "display_name": "eventlab grading", "language": "python"}))
    return spec_root


def _run_notebook(lab: str, nb: Any, work: Path, guard_log: Path, limits: Limits,
                  deny_read: list[str], teardown: bool = True) -> dict[str, Any]:
    from jupyter_client.kernelspec import KernelSpecManager
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    from autograder.host import LabHost, serve_options
    from eventlab.guard import ENV, policy_env
    from eventlab.sandbox import Sandbox

    flags: list[str] = []
    status = GRADED
    guard = policy_env(write=[str(work)], deny_read=deny_read, allow_read=[str(work)],
                       log=str(guard_log), label="this notebook")
    os.environ["TMPDIR"] = str(work / "tmp")
    tempfile.tempdir = None
    os.environ[ENV] = guard          # the Lambda environments that run its handlers, too
    # The kernel boots (half a second) while the sandbox starts: its URL is known at once
    # from a socket bound now, which the sandbox's server takes over.
    import socket

    listener = socket.create_server(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    env = _kernel_env(work, url, guard)
    specs = KernelSpecManager(kernel_dirs=[str(_kernel_spec(work) / "kernels")])
    current: dict[str, Any] = {"index": -1, "pid": None, "killed": None, "peak": 0.0,
                               "deadline": float("inf")}
    done = threading.Event()

    def on_start(**_: Any) -> None:
        km = client.km
        proc = getattr(getattr(km, "provisioner", None), "process", None)
        current["pid"] = getattr(proc, "pid", None)
        threading.Thread(target=_watch_memory, args=(current, limits, done), daemon=True).start()

    def on_cell(cell: Any, cell_index: int, **_: Any) -> None:
        current["index"] = cell_index

    def on_executed(cell: Any, cell_index: int, execute_reply: Any = None, **_: Any) -> None:
        content = (execute_reply or {}).get("content", {})
        if content.get("ename") == "CellTimeoutError":
            flags.append(f"cell {cell_index + 1} ran longer than {limits.cell_seconds:g} s "
                         "(the per-cell limit) and was interrupted")

    client = NotebookClient(
        nb, timeout=int(limits.cell_seconds), kernel_name="eventlab-grade", allow_errors=True,
        interrupt_on_timeout=True, store_widget_state=False, shell_timeout_interval=1,
        # nothing is needed from the kernel after its last cell: kill it rather than wait
        # for a graceful shutdown (which ipykernel 7 now and then stretches by ~3 s)
        shutdown_kernel="immediate",
        error_on_timeout={"ename": "CellTimeoutError",
                          "evalue": f"the cell ran longer than {limits.cell_seconds:g} s "
                                    "(the per-cell limit) and was interrupted",
                          "traceback": []},
        startup_timeout=30, resources={"metadata": {"path": str(work)}},
        on_notebook_start=on_start, on_cell_start=on_cell, on_cell_executed=on_executed)
    # the kernel spec (our fenced kernel) lives in the scratch folder, not on Jupyter's path
    client.create_kernel_manager = lambda: _manager(client, specs, work)  # type: ignore[method-assign]
    client.km = client.create_kernel_manager()
    try:
        client.start_new_kernel(env=env, cwd=str(work))
        sandbox = Sandbox(workdir=work / "sandbox", serving=serve_options()).start()
    except BaseException:
        _kill_manager(client)
        listener.close()
        raise
    try:
        host = LabHost(lab, sandbox).install()
        sandbox.serve(sock=listener)
        died = False
        try:
            current["deadline"] = time.monotonic() + limits.submission_seconds
            client.execute(env=env, cwd=str(work))
        except DeadKernelError:
            died = True   # why: current["killed"] says if this process stopped it
        except Exception as exc:   # the kernel failed to start, and the like
            if not current["killed"]:
                current["killed"] = "error"
                flags.append(f"the notebook could not run: {type(exc).__name__}: {str(exc)[:200]}")
        finally:
            done.set()
            _kill(current.get("pid"))
        where = f"cell {current['index'] + 1}"
        if current["killed"] == "time":
            status = TIMED_OUT
            flags.append(f"the notebook ran longer than {limits.submission_seconds:g} s (the "
                         f"per-submission limit) and was stopped in {where}; what it had built "
                         "by then was graded")
        elif current["killed"] == "memory":
            status = MEMORY
            flags.append(f"the kernel used more than {limits.memory_mb} MB (the memory limit) "
                         f"in {where} and was stopped; what it had built by then was graded")
        elif current["killed"] == "error":
            status = DIED
        elif died:
            status = DIED
            flags.append(f"the kernel died in {where}; what it had built by then was graded")
        sandbox.settle()
        report = host.grade()
        errors = []
        for i, cell in enumerate(nb.cells):
            for o in cell.get("outputs", []):
                if o.get("output_type") == "error":
                    errors.append(f"cell {i + 1}: {o.get('ename')}: {o.get('evalue')}"[:300])
        flags.extend(f"refused: tampering: {r}" for r in dict.fromkeys(sandbox.refused))
        if not host.started_by_notebook and status == GRADED:
            flags.append("the notebook never called start(...): nothing it did reached the sandbox")
        return {"results": [r.as_dict() for r in report.results], "flags": flags,
                "status": status, "cell_errors": errors, "peak_mb": current["peak"] / 2**20,
                "notebook": nb}
    finally:
        if teardown:
            sandbox.stop()


def _manager(client: Any, specs: Any, work: Path) -> Any:
    """A kernel manager for our fenced kernel, talking over Unix sockets in the scratch
    folder: with TCP, two kernels started at once can pick the same free ports (the
    loser dies before it answers, and nbclient waits out its start-up timeout)."""
    return client.kernel_manager_class(kernel_name=client.kernel_name, config=client.config,
                                       kernel_spec_manager=specs, transport="ipc",
                                       ip=str(work / "home" / "kernel"))


def _watch_memory(current: dict[str, Any], limits: Limits, done: threading.Event) -> None:
    import psutil

    pid = current.get("pid")
    if pid is None:
        return
    try:
        proc = psutil.Process(pid)
    except psutil.Error:
        return
    limit = limits.memory_mb * 2**20
    while not done.wait(0.05):
        if time.monotonic() > current["deadline"]:
            current["killed"] = "time"
            _kill(pid)
            return
        try:
            rss = proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
        except psutil.Error:
            return
        current["peak"] = max(current["peak"], rss)
        if rss > limit:
            current["killed"] = "memory"
            _kill(pid)
            return


def _kill_manager(client: Any) -> None:
    proc = getattr(getattr(getattr(client, "km", None), "provisioner", None), "process", None)
    _kill(getattr(proc, "pid", None))


def _kill(pid: int | None) -> None:
    if not pid:
        return
    for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            kill()
            return
        except (ProcessLookupError, PermissionError):
            continue


_PATHISH = re.compile(r"(?<![\w.:/~<])/(?:[\w.@+-]+/)+[\w.@+-]*")


def _scrub(text: str, work: Path) -> str:
    """A message with server paths taken out (a learner sees it in their feedback)."""
    from eventlab.paths import project_root

    for root, name in ((str(work), "<your folder>"), (str(project_root()), "<eventlab>"),
                       (sys.prefix, "<python>"), (tempfile.gettempdir(), "<tmp>")):
        text = text.replace(root, name)
    return _PATHISH.sub("<path>", text)


# -- many submissions ---------------------------------------------------------------------
def _child(lab: str, sub: Submission, limits: Limits, scratch_root: str, deny_read: list[str],
           keep: str | None, result_path: str) -> None:
    os.setsid()   # its own process group: the scheduler can stop it, kernel and all
    try:
        outcome = grade_one(lab, sub, limits, Path(scratch_root), deny_read,
                            Path(keep) if keep else None, teardown=False)
        data = outcome.as_dict()
    except BaseException as exc:   # report, never vanish
        import traceback

        data = Outcome(sub.student, str(sub.path), lab, GRADER_ERROR, 0.0, _total(lab),
                       _fail_all(lab, "The grader failed on this submission; ask your instructor."),
                       [f"the grader failed: {type(exc).__name__}: {exc}"]).as_dict()
        data["traceback"] = traceback.format_exc()[-4000:]
    Path(result_path).write_text(json.dumps(data))
    os._exit(0)


def grade_many(lab: str, submissions: list[Submission], *, jobs: int = 0,
               limits: Limits | None = None, keep: Path | None = None,
               on_done: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Grade every submission, ``jobs`` at a time (default: the machine's cores)."""
    import multiprocessing as mp

    limits = limits or Limits()
    jobs = jobs or os.cpu_count() or 1
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["autograder.preload"])
    scratch_root = Path(tempfile.mkdtemp(prefix="eventlab-grade-"))
    # learner code may read its own copy only: never the originals, the grader's checks
    # and solutions, or the other submissions' scratch folders
    from eventlab.paths import project_root

    deny = sorted({str(s.path.parent.resolve()) for s in submissions}
                  | {str(project_root() / "autograder" / "labs"), str(project_root() / "labs"),
                     *( [str(keep.resolve())] if keep else [])})
    outcomes: dict[int, Outcome] = {}
    pending = list(enumerate(submissions))
    running: dict[int, tuple[Any, float, str]] = {}
    hard_limit = limits.submission_seconds + 120   # the child's own limit, plus grading time
    try:
        while pending or running:
            while pending and len(running) < jobs:
                i, sub = pending.pop(0)
                result = str(scratch_root / f".result-{i}.json")
                proc = ctx.Process(target=_child, args=(lab, sub, limits, str(scratch_root), deny,
                                                        str(keep) if keep else None, result),
                                   name=f"eventlab-grade-{sub.student}")
                proc.start()
                running[i] = (proc, time.monotonic(), result)
            sentinels = {running[i][0].sentinel: i for i in running}
            mp.connection.wait(list(sentinels), timeout=1.0)
            for i in list(running):
                proc, began, result = running[i]
                overdue = time.monotonic() - began > hard_limit
                if proc.is_alive() and not overdue:
                    continue
                if overdue and proc.is_alive():
                    _kill(proc.pid)
                proc.join(5)
                del running[i]
                outcomes[i] = _collect(lab, submissions[i], result, proc.exitcode, overdue)
                if on_done is not None:
                    on_done(outcomes[i])
    finally:
        for proc, _, _ in running.values():
            _kill(proc.pid)
        shutil.rmtree(scratch_root, ignore_errors=True)
    return [outcomes[i] for i in range(len(submissions))]


def _collect(lab: str, sub: Submission, result: str, exitcode: int | None, overdue: bool) -> Outcome:
    try:
        data = json.loads(Path(result).read_text())
        trace = data.pop("traceback", None)
        if trace:   # the instructor's to read; never in a learner's feedback
            print(f"eventlab grade: the grader failed on {sub.student} ({sub.path}):\n{trace}",
                  file=sys.stderr)
        return Outcome(**data)
    except (OSError, ValueError, TypeError):
        why = ("it ran past every time limit and was stopped" if overdue
               else f"its grading process ended with code {exitcode}")
        return Outcome(sub.student, str(sub.path), lab, GRADER_ERROR, 0.0, _total(lab),
                       _fail_all(lab, "The grader failed on this submission; ask your instructor."),
                       [f"no verdict: {why}"])
