"""Checks of a learner's resources and flows in the sandbox.

Each lab has a module in :mod:`autograder.labs` listing its checks per step.  A check
inspects the sandbox's state (moto backends, the Lambda invocation log, queue contents)
and sends probe messages through what the learner built; it never reads the learner's
variables.  :mod:`autograder.lab` is what notebooks import (``start``, ``check``,
``hidden``); :mod:`autograder.cli` is ``eventlab grade``.
"""

from autograder.checks import Check, CheckFailed, Report, Result

__all__ = ["Check", "CheckFailed", "Report", "Result"]
