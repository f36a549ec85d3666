"""Checks of a learner's resources and flows in the sandbox.

Each lab is an entry of :mod:`autograder.registry`; its module in :mod:`autograder.labs` declares its checks (``@check``).  A check
inspects the sandbox's state (moto backends, the Lambda invocation log, queue contents)
and sends probe messages through what the learner built; it never reads the learner's
variables.  :mod:`autograder.lab` is what notebooks import (``start``, ``check``,
``hidden``); :mod:`eventlab.cli.grade` is ``eventlab grade``.
"""

from autograder.checks import Check, CheckFailed, Report, Result

__all__ = ["Check", "CheckFailed", "Report", "Result"]
