"""A fence around learner code during grading: an audit hook (PEP 578) that refuses
network access beyond this machine, reading other students' work, writing outside the
submission's scratch folder, starting processes and signalling other processes.

``eventlab grade`` runs each submission's kernel (and the Lambda environments that run
its handlers) with ``EVENTLAB_GUARD`` set to a JSON policy::

    {"write": [dirs that may be written], "deny_read": [dirs that may not be read],
     "allow_read": [dirs inside deny_read that may], "log": "file for violations",
     "label": "what is fenced (for messages)"}

and calls :func:`install_from_env` before any learner code runs.  Python offers no way
to remove an audit hook, so code in the same process cannot switch the fence off.  It is
defence in depth, not a security boundary: native code (a C extension) can step around
any Python-level hook.  The verdict does not depend on it: checks run in the grading
process, which learner code does not share.

Every refused action raises ``PermissionError`` naming what was refused and why, and is
appended (one JSON line) to the policy's ``log`` file, which the guard itself keeps the
learner's code from opening.  This module imports only the standard library: it is part
of every Lambda cold start under grading.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Callable
from typing import SupportsInt

from eventlab import config
from eventlab.net import is_loopback

ENV = config.GUARD
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_PATH_EVENTS = {   # event -> (indexes of path arguments, what it does)
    "os.remove": ((0,), "delete"), "os.rmdir": ((0,), "delete"), "shutil.rmtree": ((0,), "delete"),
    "os.rename": ((0, 1), "rename"), "os.link": ((0, 1), "link"), "os.symlink": ((1,), "link"),
    "os.mkdir": ((0,), "create"), "os.chmod": ((0,), "change"), "os.chown": ((0,), "change"),
    "os.truncate": ((0,), "truncate"), "os.utime": ((0,), "change"),
}
_PROCESS_EVENTS = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
                   "os.fork", "os.forkpty", "pty.spawn")
_INTROSPECTION = ("sys.settrace", "sys.setprofile", "gc.get_objects", "gc.get_referrers",
                  "gc.get_referents", "ctypes.dlopen")


def _is_loopback(host: object) -> bool:
    """:func:`eventlab.net.is_loopback`, plus the empty host (``bind(("", port))`` and
    lookups of no name stay on this machine)."""
    return host in ("", b"", None) or is_loopback(host)


def _stat(pid: object) -> list[bytes] | None:
    """``/proc/PID/stat`` after the command name: state, ppid, pgrp, session, ..."""
    if not isinstance(pid, (str, bytes, SupportsInt)):
        return None
    try:
        with open(f"/proc/{int(pid)}/stat", "rb") as f:   # noqa: PTH123
            return f.read().rsplit(b")", 1)[1].split()
    except (OSError, ValueError, IndexError, TypeError):
        return None


def _own_process(pid: object) -> bool:
    """A process this one may signal: gone already (there is nothing to signal), in its
    own session (the kernel's helpers: ipykernel stops them at shutdown, and a helper's
    children may have been orphaned by then), or one of its descendants."""
    stat = _stat(pid)
    if stat is None:
        return True
    if int(stat[3]) == os.getsid(0):
        return True
    current = int(stat[1])
    for _ in range(16):
        if current == os.getpid():
            return True
        parent = _stat(current)
        if parent is None or current <= 1:
            return False
        current = int(parent[1])
    return False


_KERNEL_CLEANUP = frozenset({"_signal_children", "_send_interrupt_children"})


def _from_kernel_shutdown(frame: object, kernelbase: str | None) -> bool:
    """ipykernel stopping the processes it lists as its own children (at shutdown some
    are already orphaned, so their parentage no longer shows it)."""
    while kernelbase and frame is not None:
        code = frame.f_code   # type: ignore[attr-defined]
        if code.co_filename == kernelbase and code.co_name in _KERNEL_CLEANUP:
            return True
        frame = frame.f_back   # type: ignore[attr-defined]
    return False


def _under(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def policy_env(write: list[str], deny_read: list[str], allow_read: list[str], log: str,
               label: str) -> str:
    """The ``EVENTLAB_GUARD`` value for a policy (paths made absolute)."""
    real = lambda paths: [os.path.realpath(p) for p in paths]  # noqa: E731
    return json.dumps({"write": real(write), "deny_read": real(deny_read),
                       "allow_read": real(allow_read), "log": os.path.realpath(log), "label": label})


def install_from_env() -> Callable[[], None] | None:
    """Install the guard if ``EVENTLAB_GUARD`` is set; returns its ``arm`` (see
    :func:`install`), or None when there is no policy."""
    raw = config.guard()
    if not raw:
        return None
    return install(json.loads(raw))


def install(policy: dict) -> Callable[[], None]:
    """Install the hook.  Files, network and processes are fenced at once; tracing,
    heap walking and loading native libraries only after the returned ``arm()`` is
    called (a kernel's own start-up uses them; learner code must not)."""
    write = tuple(policy.get("write", ())) + ("/dev/null", "/dev/urandom", "/dev/random",
                                               "/dev/shm")
    deny_read = tuple(policy.get("deny_read", ()))
    log_path = policy.get("log") or ""
    allow_read = tuple(policy.get("allow_read", ()))
    label = policy.get("label") or "graded code"
    deny_read_all = deny_read + ((log_path,) if log_path else ())
    me = os.getpid()
    kernelbase: list[str | None] = [None]   # ipykernel's own file, fixed when armed
    realpath, fsdecode, getpid, PathLike = os.path.realpath, os.fsdecode, os.getpid, os.PathLike
    O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND = (os.O_WRONLY, os.O_RDWR, os.O_CREAT,
                                                    os.O_TRUNC, os.O_APPEND)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600) if log_path else -1
    os_write, dumps = os.write, json.dumps
    inside = [False]   # the hook's own work (realpath, logging) must not re-enter it
    armed = [False]

    def refuse(kind: str, what: str) -> None:
        message = (f"eventlab grading: {label} may not {what} ({kind}); "
                   "graded notebooks run fenced in, see docs/grading.md")
        if log_fd >= 0:
            try:
                os_write(log_fd, (dumps({"kind": kind, "what": what}) + "\n").encode())
            except OSError:
                pass
        raise PermissionError(message)

    def path_of(value: object) -> str | None:
        if not isinstance(value, (str, bytes, PathLike)):   # a descriptor, None...
            return None
        try:
            return realpath(fsdecode(value))   # bytes paths are checked as text
        except (TypeError, ValueError):
            return None

    def check_write(value: object, verb: str) -> None:
        path = path_of(value)
        if path is not None and not _under(path, write):
            refuse("write outside its folder", f"{verb} {path}")

    def hook(event: str, args: tuple) -> None:
        if inside[0]:
            return
        inside[0] = True
        try:
            if event == "open":
                path = path_of(args[0])
                if path is None:
                    return
                mode, flags = args[1], args[2] if len(args) > 2 else 0
                writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                    isinstance(flags, int) and flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND))
                if writing and not _under(path, write):
                    refuse("write outside its folder", f"write {path}")
                if _under(path, deny_read_all) and not (_under(path, allow_read) and path != log_path):
                    refuse("read other students' work or the grader's files", f"read {path}")
            elif event in _PATH_EVENTS:
                indexes, verb = _PATH_EVENTS[event]
                for i in indexes:
                    if i < len(args):
                        check_write(args[i], verb)
            elif event in ("socket.connect", "socket.sendto", "socket.bind"):
                address = args[1]
                if isinstance(address, tuple) and address and not _is_loopback(address[0]):
                    refuse("network", f"reach {address[0]}:{address[1] if len(address) > 1 else ''}")
                if isinstance(address, (str, bytes)) and event == "socket.connect":
                    check_write(address, "connect to the socket")
            elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr"):
                if not _is_loopback(args[0]):
                    refuse("network", f"look up {args[0]}")
            elif event in _PROCESS_EVENTS:
                what = args[1] if event == "subprocess.Popen" and len(args) > 1 else args[0]
                refuse("process", f"start a process ({event} {str(what)[:80]})")
            elif event in ("os.kill", "os.killpg"):
                if args[0] not in (me, getpid()) and not _own_process(args[0]) \
                        and not _from_kernel_shutdown(sys._getframe(1), kernelbase[0]):
                    refuse("process", "signal a process that is not its own")
            elif event in _INTROSPECTION and armed[0]:
                if event == "ctypes.dlopen" and not args[0]:
                    return   # the running interpreter itself (ctypes' own import)
                refuse("tampering", f"use {event}")
        finally:
            inside[0] = False

    # warm up what the hook calls, so that its first use does not import anything
    realpath(os.getcwd())
    _is_loopback("x")
    socket.AF_INET  # noqa: B018
    sys.addaudithook(hook)

    def arm() -> None:
        armed[0] = True   # one way: nothing turns it off again
        if kernelbase[0] is None:
            kernelbase[0] = getattr(sys.modules.get("ipykernel.kernelbase"), "__file__", None)

    return arm
