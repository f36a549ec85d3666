"""Every lab, once: the one registry that the notebooks' ``start``, ``eventlab grade``, the
golden sets, the notebook generator and the tests read.

A lab is a :class:`Lab`: its id (``lab01``), its folder under ``labs/source`` (the notebook
is ``<folder>/<folder>.ipynb``), the module that declares its checks (``@check`` functions,
:mod:`autograder.checks`), the module that writes its source notebook (``labs/make``) and
the module holding its golden mistakes.  The parts are named, not imported: each is loaded
when a tool asks for it, so listing the labs costs nothing.  Its total is the sum of its
checks' points (tests/labs/test_notebooks.py holds it equal to the notebook's points).

Adding a lab is one line in :data:`LABS` plus the modules it names.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autograder.checks import Check


@dataclass(frozen=True)
class Lab:
    id: str               # lab01: what `start(...)` and `eventlab grade LAB` take
    folder: str           # lab01_fanout: labs/source/<folder>/<folder>.ipynb
    checks_module: str    # autograder.labs.lab01: its @check functions, CHECKS
    generator: str        # labs.make.lab01: build() writes the source notebook
    mistakes_module: str = "autograder.golden"   # MUTATIONS[id]: its golden mistakes

    def module(self) -> ModuleType:
        """The checks' module (``CHECKS``, ``ROLES``, ``QUOTAS``)."""
        return importlib.import_module(self.checks_module)

    @property
    def checks(self) -> list[Check]:
        """Every check, visible and hidden, in the lab's order."""
        return list(self.module().CHECKS)

    @property
    def total(self) -> float:
        """The lab's points: every check's, hidden ones included."""
        return float(sum(c.points for c in self.checks))

    @property
    def mistakes(self) -> list[Any]:
        """The golden set's typical mistakes and correct alternatives (``Mutation``)."""
        return list(importlib.import_module(self.mistakes_module).MUTATIONS[self.id])

    def build(self) -> Any:
        """The source notebook its generator writes (an ``nbformat`` notebook)."""
        return importlib.import_module(self.generator).build()


def _lab(n: int, topic: str) -> Lab:
    lab = f"lab{n:02d}"
    return Lab(lab, f"{lab}_{topic}", f"autograder.labs.{lab}", f"labs.make.{lab}")


LABS: dict[str, Lab] = {lab.id: lab for lab in (
    _lab(1, "fanout"),
    _lab(2, "kinesis"),
    _lab(3, "eventbridge"),
    _lab(4, "stepfunctions"),
    _lab(5, "apigw_sqs"),
    _lab(6, "msk"),
    _lab(7, "backpressure"),
    _lab(8, "central_bus"),
)}


def lab(lab_id: str) -> Lab:
    """The lab ``lab_id``; an unknown id names the labs there are."""
    try:
        return LABS[lab_id]
    except KeyError:
        raise KeyError(f"unknown lab '{lab_id}'; known: {', '.join(LABS)}") from None


def folders() -> dict[str, str]:
    """lab id -> its folder (lab01 -> lab01_fanout)."""
    return {lab.id: lab.folder for lab in LABS.values()}


def totals() -> dict[str, float]:
    """lab id -> its points (every check's)."""
    return {lab.id: lab.total for lab in LABS.values()}
