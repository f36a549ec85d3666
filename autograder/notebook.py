"""Small helpers shared by the graders and the lab launcher: which lab a name means, and
the environment a notebook's kernel gets (this checkout's packages first on the path).
Grading itself is in :mod:`autograder.batch`."""

from __future__ import annotations

import os
import re
from pathlib import Path

from autograder.registry import LABS

LAB_PATTERN = re.compile(r"lab\d\d")


def lab_id(name: str) -> str:
    """``lab01``, ``lab01_fanout`` or a path to it -> ``lab01``."""
    match = LAB_PATTERN.search(Path(name).name) or LAB_PATTERN.search(str(name))
    if not match or match.group(0) not in LABS:
        raise KeyError(f"unknown lab '{name}'; known: {', '.join(LABS)}")
    return match.group(0)


def kernel_env() -> dict[str, str]:
    """A kernel's environment: this checkout's packages first on the path."""
    from eventlab.paths import project_root

    env = dict(os.environ)
    root = str(project_root())
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env
