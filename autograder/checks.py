"""A check, its result, and a report of many results.

Modelled on otter-grader's test cases: every check carries its points, a message for
success and one for failure (what is missing and how to fix it), and a hint.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from eventlab.errors import GradingError


class CheckFailed(GradingError, AssertionError):
    """Raised by a check function: ``detail`` says what the check found; ``hint``, when
    given, replaces the check's general hint with one for what was found (a learner who
    did too much needs a different hint from one who did too little)."""

    def __init__(self, detail: str = "", *, hint: str | None = None) -> None:
        super().__init__(detail)
        self.hint = hint


@dataclass(frozen=True)
class Check:
    """One criterion. ``run(sandbox)`` returns None when it holds or raises CheckFailed."""

    id: str
    step: str
    title: str
    points: float
    run: Callable[[Any], None]
    passed: str
    failed: str
    hint: str
    hidden: bool = False


def check(id: str, *, step: str, title: str, points: float, passed: str, failed: str,
          hint: str, hidden: bool = False) -> Callable[[Callable[[Any], None]], Callable[[Any], None]]:
    """Declare the decorated function (``run(sandbox)``) as the lab's check ``id``.

    The function is returned unchanged, with its :class:`Check` as ``__check__``; the lab
    module lists them with ``CHECKS = declared_checks(globals())``.
    """

    def declare(run: Callable[[Any], None]) -> Callable[[Any], None]:
        run.__check__ = Check(id, step, title, points, run, passed, failed, hint, hidden)  # type: ignore[attr-defined]
        return run

    return declare


def declared_checks(namespace: dict[str, Any]) -> list[Check]:
    """The checks declared with :func:`check` in a module (its ``globals()``), in the order
    their functions are defined there: the lab's order."""
    module = namespace.get("__name__")
    runs = [f for f in namespace.values() if callable(f) and hasattr(f, "__check__")
            and getattr(f, "__module__", None) == module]
    runs.sort(key=lambda f: f.__code__.co_firstlineno)
    checks = [f.__check__ for f in runs]
    ids = [c.id for c in checks]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ValueError(f"{module}: two checks share the id(s) {', '.join(repeated)}")
    return checks


@dataclass
class Result:
    id: str
    step: str
    title: str
    points: float
    earned: float
    ok: bool
    message: str
    hint: str
    hidden: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_check(check: Check, sandbox: Any) -> Result:
    """Run one check; any exception is a failure with the reason in the message."""
    sink = io.StringIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(sink):
            warnings.simplefilter("ignore")
            check.run(sandbox)
    except CheckFailed as exc:
        return _fail(check, str(exc), exc.hint)
    except Exception as exc:  # a probe that crashed says so instead of crashing the cell
        return _fail(check, f"the check could not run: {type(exc).__name__}: {exc}")
    return Result(check.id, check.step, check.title, check.points, check.points, True,
                  check.passed, check.hint, check.hidden)


def _fail(check: Check, detail: str, hint: str | None = None) -> Result:
    message = check.failed if not detail else f"{check.failed} Found: {detail}"
    return Result(check.id, check.step, check.title, check.points, 0.0, False, message,
                  hint or check.hint, check.hidden)


@dataclass
class Report:
    """The results of a set of checks, shown as a checklist (widget) or a table (text)."""

    lab: str
    results: list[Result] = field(default_factory=list)
    title: str = ""
    _view: Any = None

    @property
    def score(self) -> float:
        return float(sum(r.earned for r in self.results))

    @property
    def points(self) -> float:
        return float(sum(r.points for r in self.results))

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.results if not r.ok]

    def attach(self, view: Any) -> None:
        """Refresh ``view`` (the checklist widget showing this report) on every ``add``."""
        self._view = view

    def add(self, results: Iterable[Result]) -> Report:
        self.results.extend(results)
        if self._view is not None:
            self._view.refresh(self)
        return self

    def table(self) -> str:
        from autograder.display import text_table

        return text_table(self)

    def __str__(self) -> str:
        return self.table()

    def as_dict(self) -> dict[str, Any]:
        return {"lab": self.lab, "score": self.score, "points": self.points,
                "results": [r.as_dict() for r in self.results]}
