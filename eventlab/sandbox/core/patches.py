"""The one place where the sandbox changes moto.

moto is the base of the local AWS; where it lacks a behaviour the labs need, a module
named for the service (``lambda_runtime``, ``sqs_esm``, ``events_targets``...) supplies
it, and installs it here through a :class:`PatchSet`.  Every change to a moto object goes
through ``PatchSet.replace`` with a one-line reason, so that:

* ``eventlab.sandbox.core.patches.describe()`` lists every patch and why (the differences
  page is checked against it);
* stopping the sandbox puts every attribute back exactly as it was.

No other module may assign to a moto attribute directly.
"""

from __future__ import annotations

import datetime as _datetime_module
import importlib
import importlib.abc
import importlib.util
import sys
import threading
import time as _time_module
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eventlab.vtime import (
    VirtualDatetime,
    set_active_clock,
    virtual_sleep,
    virtual_time,
    virtual_utcnow,
)

_MISSING = object()


@dataclass(frozen=True)
class Patch:
    target: str
    attribute: str
    reason: str


class PatchSet:
    """Reversible attribute replacements, each with its reason."""

    def __init__(self) -> None:
        self._undo: list[tuple[Any, str, Any]] = []
        self.applied: list[Patch] = []
        self._finder: _PostImportFinder | None = None
        self._deferred: list[types.ModuleType] = []
        self.last_applied: list[Patch] = []   # what ``applied`` held when undone

    def replace(self, target: Any, attribute: str, value: Any, reason: str) -> Any:
        """Set ``target.attribute = value`` and remember how to undo it; returns the old value."""
        old = target.__dict__.get(attribute, _MISSING) if hasattr(target, "__dict__") else _MISSING
        if old is _MISSING:
            old_value = getattr(target, attribute, _MISSING)
        else:
            old_value = old
        self._undo.append((target, attribute, old))
        setattr(target, attribute, value)
        name = str(getattr(target, "__qualname__", None) or getattr(target, "__name__", repr(target)))
        module = getattr(target, "__module__", None)
        if module and not isinstance(target, types.ModuleType):
            name = f"{module}.{name}"
        self.applied.append(Patch(name, attribute, reason))
        return None if old_value is _MISSING else old_value

    def wrap(self, cls: type, method: str, make: Callable[[Callable[..., Any]], Callable[..., Any]],
             reason: str) -> None:
        """Replace ``cls.method`` by ``make(original)``."""
        original = getattr(cls, method)
        self.replace(cls, method, make(original), reason)

    def after_import(self, module_name: str, callback: Callable[[], None]) -> None:
        """Run ``callback`` right after ``module_name`` is imported (now, if it already is).

        For patches to heavy moto modules (the Step Functions interpreter: ANTLR parsers,
        about half a second) that only some sandboxes ever use.
        """
        if module_name in sys.modules:
            callback()
            return
        if self._finder is None:
            self._finder = _PostImportFinder()
            sys.meta_path.insert(0, self._finder)
        self._finder.hooks.setdefault(module_name, []).append(callback)

    def pending_imports(self) -> list[str]:
        """Modules whose patches wait for their first import (see :meth:`after_import`)."""
        return sorted(self._finder.hooks) if self._finder is not None else []

    def defer_import(self, module_name: str, functions: list[str], reason: str) -> None:
        """Put a stand-in for ``module_name`` in ``sys.modules`` whose ``functions`` import
        the real module on their first call (and whose other attributes do so on access).

        For a dependency of a moto dependency that is slow to import and rarely used, so
        that what imports it by name (``from m import f``) no longer pays for it up front.
        Nothing changes if the module is already imported or not installed.
        """
        if module_name in sys.modules:
            return
        spec = importlib.util.find_spec(module_name)
        if spec is None:
            return
        proxy = types.ModuleType(module_name, f"eventlab: {module_name} imported on first use ({reason})")
        proxy.__spec__ = spec
        lock = threading.Lock()

        def real() -> types.ModuleType:
            with lock:
                module = sys.modules.get(module_name)
                if module is None or module is proxy:
                    sys.modules.pop(module_name, None)
                    module = importlib.import_module(module_name)
                return module

        def forward(function: str) -> Callable[..., Any]:
            def call(*args: Any, **kwargs: Any) -> Any:
                return getattr(real(), function)(*args, **kwargs)
            call.__name__ = call.__qualname__ = function
            return call

        def attribute(name: str) -> Any:
            if name.startswith("__"):   # the import system's questions (__path__...) are not a use
                raise AttributeError(name)
            return getattr(real(), name)

        for function in functions:
            setattr(proxy, function, forward(function))
        proxy.__getattr__ = attribute  # type: ignore[method-assign]  # a module's hook, on a proxy
        sys.modules[module_name] = proxy
        self._deferred.append(proxy)
        self.applied.append(Patch("sys.modules", module_name, reason))

    def defer_package_init(self, package: str, reason: str) -> None:
        """Put ``package`` in ``sys.modules`` without running its ``__init__``: its
        submodules import as usual, and the ``__init__`` runs at the first access to an
        attribute the package does not have yet (``moto.batch.batch_backends``...).

        For a package whose ``__init__`` imports far more than the one light submodule
        moto needs from it.  Nothing changes if the package is already imported.
        """
        if package in sys.modules:
            return
        spec = importlib.util.find_spec(package)
        if spec is None or spec.loader is None or spec.submodule_search_locations is None:
            return
        loader = spec.loader
        module = importlib.util.module_from_spec(spec)
        lock = threading.RLock()

        def attribute(name: str) -> Any:
            if name.startswith("__"):   # the import system's questions are not a use
                raise AttributeError(name)
            with lock:
                if module.__dict__.pop("__getattr__", None) is not None:
                    try:
                        loader.exec_module(module)
                    except BaseException:
                        sys.modules.pop(package, None)
                        raise
            return getattr(module, name)

        module.__getattr__ = attribute  # type: ignore[method-assign]  # PEP 562 module hook
        sys.modules[package] = module
        parent, _, child = package.rpartition(".")
        if parent in sys.modules:
            setattr(sys.modules[parent], child, module)   # as the import system does
        self._deferred.append(module)
        self.applied.append(Patch("sys.modules", package, reason))

    def undo(self) -> None:
        while self._deferred:
            proxy = self._deferred.pop()
            if sys.modules.get(proxy.__name__) is proxy and "__getattr__" in proxy.__dict__:
                del sys.modules[proxy.__name__]
                parent, _, child = proxy.__name__.rpartition(".")
                if getattr(sys.modules.get(parent), child, None) is proxy:
                    delattr(sys.modules[parent], child)
        if self._finder is not None:
            if self._finder in sys.meta_path:
                sys.meta_path.remove(self._finder)
            self._finder = None
        while self._undo:
            target, attribute, old = self._undo.pop()
            if old is _MISSING:
                try:
                    delattr(target, attribute)
                except AttributeError:
                    pass
            else:
                setattr(target, attribute, old)
        if self.applied:
            self.last_applied = list(self.applied)
        self.applied.clear()


class _PostImportFinder(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the real loader of a watched module so that the
    module's hooks run as soon as it has executed."""

    def __init__(self) -> None:
        self.hooks: dict[str, list[Callable[[], None]]] = {}

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname not in self.hooks:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None:   # a namespace package: nothing executes, nothing to hook
            return spec
        hooks = self.hooks.pop(fullname)
        original_exec = loader.exec_module

        def exec_module(module: types.ModuleType) -> None:
            original_exec(module)
            for hook in hooks:
                hook()

        loader.exec_module = exec_module  # type: ignore[method-assign]  # this loader, this module only
        return spec


# --------------------------------------------------------------------------------------
# Virtual time inside moto (the clock and its look-alikes: eventlab/vtime.py)
# --------------------------------------------------------------------------------------

def _time_shim(sleepy: bool) -> types.ModuleType:
    shim = types.ModuleType("time")
    shim.__dict__.update(_time_module.__dict__)
    shim.time = virtual_time  # type: ignore[attr-defined]
    shim.time_ns = lambda: int(virtual_time() * 1e9)  # type: ignore[attr-defined]
    if sleepy:
        shim.sleep = virtual_sleep  # type: ignore[attr-defined]
    return shim


TIME_SHIM = _time_shim(sleepy=False)
SLEEPY_TIME_SHIM = _time_shim(sleepy=True)
DATETIME_SHIM = types.ModuleType("datetime")
DATETIME_SHIM.__dict__.update(_datetime_module.__dict__)
DATETIME_SHIM.datetime = VirtualDatetime  # type: ignore[attr-defined]


class MotoTimeSweeper:
    """Points moto's modules at the virtual clock, including modules moto imports later.

    moto reads time three ways: ``moto.core.utils.utcnow``/``unix_time``/``unix_time_millis``,
    ``time.time()``, and ``datetime.datetime.now()``.  The sweep replaces, in every loaded
    ``moto.*`` module, the module-level names bound to those, and records each replacement
    in the PatchSet so that stopping the sandbox restores them.  Modules under
    ``moto.stepfunctions.parser.asl.component.common.retry`` also get a ``time.sleep`` that
    waits on the virtual clock (Retry back-off).
    """

    SLEEPY_PREFIXES = ("moto.stepfunctions.parser.asl.component.common.retry",)

    def __init__(self, clock: Any, patches: PatchSet) -> None:
        self.clock = clock
        self.patches = patches
        self._seen: set[str] = set()
        self._swept_count = -1
        import moto.core.utils as core_utils

        original_unix_time = core_utils.unix_time

        def unix_time(dt: _datetime_module.datetime | None = None) -> float:
            return virtual_time() if dt is None else original_unix_time(dt)

        def unix_time_millis(dt: _datetime_module.datetime | None = None) -> float:
            return virtual_time() * 1000.0 if dt is None else original_unix_time(dt) * 1000.0

        global _VIRTUAL_FUNCTIONS
        if _VIRTUAL_FUNCTIONS is None:
            _VIRTUAL_FUNCTIONS = {
                core_utils.utcnow: virtual_utcnow,
                core_utils.unix_time: unix_time,
                core_utils.unix_time_millis: unix_time_millis,
            }
        self._functions = _VIRTUAL_FUNCTIONS
        set_active_clock(clock)
        for original, replacement in list(self._functions.items()):
            self.patches.replace(core_utils, original.__name__, replacement,
                                 "moto's timestamps, visibility timeouts and delays follow the virtual clock")
        self._seen.add("moto.core.utils")

    def close(self) -> None:
        set_active_clock(None)

    def sweep(self) -> None:
        # Runs after every API call: scanning thousands of module names costs ~1 ms, so
        # skip it while nothing has been imported since the last sweep.
        count = len(sys.modules)
        if count == self._swept_count:
            return
        self._swept_count = count
        for name in [n for n in list(sys.modules) if n.startswith("moto.") and n not in self._seen]:
            module = sys.modules.get(name)
            self._seen.add(name)
            if module is None:
                continue
            sleepy = name.startswith(self.SLEEPY_PREFIXES)
            time_shim = SLEEPY_TIME_SHIM if sleepy else TIME_SHIM
            namespace = module.__dict__
            for attr, value in list(namespace.items()):
                replacement = self._functions.get(value) if callable(value) else None
                if replacement is not None:
                    self.patches.replace(module, attr, replacement, "virtual clock")
                elif value is _time_module or (value is TIME_SHIM and sleepy):
                    self.patches.replace(module, attr, time_shim, "virtual clock")
                elif value is _datetime_module:
                    self.patches.replace(module, attr, DATETIME_SHIM, "virtual clock")
                elif value is _datetime_module.datetime:
                    self.patches.replace(module, attr, VirtualDatetime, "virtual clock")


_VIRTUAL_FUNCTIONS: dict[Any, Any] | None = None


_LAST: list[PatchSet] = []


def remember(patches: PatchSet) -> None:
    """Make ``patches`` the set :func:`describe` reads (the sandbox calls this at start)."""
    _LAST[:] = [patches]


def describe() -> list[Patch]:
    """The behaviour patches of the running sandbox, or of the last one to stop (time
    patches folded away), read live: a patch applied lazily, when moto first imports a
    module, is listed once it is in place."""
    if not _LAST:
        return []
    patches = _LAST[0]
    applied = patches.applied or patches.last_applied
    return [p for p in applied if p.reason != "virtual clock"]


def markdown_table(patches: list[Patch]) -> str:
    """One row per distinct patch (target, attribute, reason), sorted: the table that
    docs/differences.md carries between its ``patches`` markers."""
    rows = sorted({(p.target, p.attribute, p.reason) for p in patches})
    lines = ["| moto object | attribute | why |", "|---|---|---|"]
    lines += [f"| `{t}` | `{a}` | {r.replace('|', '/')} |" for t, a, r in rows]
    return "\n".join(lines)
