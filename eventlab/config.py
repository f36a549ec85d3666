"""Every ``EVENTLAB_*`` environment variable eventlab reads or hands to a child process,
in one place: its name, its type, its default and what it does.  Nothing else in the
project spells these names (tests/architecture/test_imports.py holds it so).

=========================  ======  =====================================================
variable                   type    meaning (default)
=========================  ======  =====================================================
EVENTLAB_HOME              path    where labs/, content/ and quizzes/bank live (the
                                   checkout this package sits in)
EVENTLAB_DATA_DIR          path    the learner's data: quiz progress, caches
                                   (platformdirs' user data directory)
EVENTLAB_ENDPOINT          URL     the sandbox ``eventlab aws`` talks to
                                   (http://127.0.0.1:4566)
EVENTLAB_KAFKA_DIR         path    where ``eventlab kafka`` keeps the embedded broker's
                                   data (the user data directory's ``kafka/``)
EVENTLAB_NOIDA_DB          path    the noida-db broker binary (the noida_db package's,
                                   else ``noida-db`` on PATH)
EVENTLAB_GRADING_URL       URL     set by ``eventlab grade`` in a notebook's kernel: the
                                   grading process's sandbox (unset: a local sandbox)
EVENTLAB_GUARD             JSON    set by ``eventlab grade``: the fence's policy for the
                                   kernel and its Lambda environments (unset: no fence)
EVENTLAB_CLOCK_OFFSET      float   set by the sandbox for a Lambda environment: virtual
                                   minus real time, in seconds (0)
EVENTLAB_NBGRADER_HOST     0 / 1   ``0`` runs nbgrader's sandbox in the kernel instead of
                                   in a grading process beside it (1)
EVENTLAB_POLICIES          word    how resource policies decide deliveries and
                                   cross-account calls: enforce, strict or off (enforce)
EVENTLAB_IAM               word    whether roles' identity policies decide the calls
                                   made with them: enforce or off (off)
=========================  ======  =====================================================

Standard library only: the Lambda environments import it at every cold start.
"""

from __future__ import annotations

import os
from pathlib import Path

HOME = "EVENTLAB_HOME"
DATA_DIR = "EVENTLAB_DATA_DIR"
ENDPOINT = "EVENTLAB_ENDPOINT"
KAFKA_DIR = "EVENTLAB_KAFKA_DIR"
NOIDA_DB = "EVENTLAB_NOIDA_DB"
GRADING_URL = "EVENTLAB_GRADING_URL"
GUARD = "EVENTLAB_GUARD"
CLOCK_OFFSET = "EVENTLAB_CLOCK_OFFSET"
NBGRADER_HOST = "EVENTLAB_NBGRADER_HOST"
POLICIES = "EVENTLAB_POLICIES"
IAM = "EVENTLAB_IAM"

VARIABLES = (HOME, DATA_DIR, ENDPOINT, KAFKA_DIR, NOIDA_DB, GRADING_URL, GUARD, CLOCK_OFFSET,
             NBGRADER_HOST, POLICIES, IAM)


def _text(name: str) -> str | None:
    """The variable's value; unset and empty are the same (None)."""
    return os.environ.get(name) or None


def _path(name: str) -> Path | None:
    value = _text(name)
    return Path(value).expanduser() if value else None


def home() -> Path | None:
    """``EVENTLAB_HOME``: the folder holding labs/, content/ and quizzes/bank, if set."""
    return _path(HOME)


def data_dir() -> Path | None:
    """``EVENTLAB_DATA_DIR``: the learner's data directory, if set."""
    return _path(DATA_DIR)


def endpoint() -> str | None:
    """``EVENTLAB_ENDPOINT``: the sandbox's URL for ``eventlab aws``, if set."""
    return _text(ENDPOINT)


def kafka_dir() -> Path | None:
    """``EVENTLAB_KAFKA_DIR``: the embedded broker's data directory, if set."""
    return _path(KAFKA_DIR)


def noida_db() -> str | None:
    """``EVENTLAB_NOIDA_DB``: the broker binary to use, if set."""
    return _text(NOIDA_DB)


def grading_url() -> str | None:
    """``EVENTLAB_GRADING_URL``: the grading process's sandbox, when a kernel is graded."""
    return _text(GRADING_URL)


def guard() -> str | None:
    """``EVENTLAB_GUARD``: the fence's JSON policy, when a kernel is graded."""
    return _text(GUARD)


def clock_offset() -> float:
    """``EVENTLAB_CLOCK_OFFSET``: virtual minus real seconds in a Lambda environment (0)."""
    value = _text(CLOCK_OFFSET)
    if value is None:
        return 0.0
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{CLOCK_OFFSET} must be a number of seconds, not {value!r}") from None


def nbgrader_host() -> bool:
    """``EVENTLAB_NBGRADER_HOST``: whether nbgrader's sandbox runs beside the kernel (the
    default) rather than in it (``0``)."""
    return os.environ.get(NBGRADER_HOST, "1") != "0"


def policies() -> str | None:
    """``EVENTLAB_POLICIES``: the sandbox's resource-policy mode, if set (checked by the
    sandbox: enforce, strict or off)."""
    return _text(POLICIES)


def iam() -> str | None:
    """``EVENTLAB_IAM``: whether identity policies are enforced, if set (checked by the
    sandbox: enforce or off)."""
    return _text(IAM)
