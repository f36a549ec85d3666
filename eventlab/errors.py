"""The errors eventlab raises, in one hierarchy.

    EventlabError
    ├── SandboxError        the local AWS itself (not an AWS error): start-up, ports,
    │   │                   Lambda environments, the embedded broker, offline refusals
    │   ├── PortInUse       a server or the broker could not listen where it was told
    │   ├── FunctionNotFound a Lambda function named by an ARN or a name does not exist
    │   └── OfflineError    a request tried to leave the machine
    ├── InputError          something a user wrote could not be parsed (templates,
    │                       expressions, DDL, prefixes, notebooks, quiz answers)
    └── GradingError        grading machinery (a check that failed is CheckFailed)

Classes keep the built-in base they had (``ValueError``, ``RuntimeError``,
``ConnectionRefusedError``...) beside this one, so ``except ValueError`` still catches a
parse error.  Errors that AWS itself would return (moto's ``JsonRESTError`` family) are
not here: they are answers, not failures of eventlab.  Standard library only: imported by
Lambda cold starts.
"""

from __future__ import annotations


class EventlabError(Exception):
    """Base of every error eventlab raises on its own account."""


class SandboxError(EventlabError, RuntimeError):
    """A problem with the sandbox itself (not an AWS error)."""


class PortInUse(SandboxError, OSError):
    """A server (``eventlab serve``, the embedded Kafka broker) could not listen on its port."""

    def __init__(self, message: str, *, host: str | None = None, port: int | None = None) -> None:
        super().__init__(message)
        self.host = host
        self.port = port


class FunctionNotFound(SandboxError, LookupError):
    """No Lambda function has this name or ARN (in that region and account)."""

    def __init__(self, name_or_arn: str) -> None:
        super().__init__(f"Function not found: {name_or_arn}")
        self.name_or_arn = name_or_arn


class OfflineError(EventlabError, ConnectionRefusedError):
    """A request tried to leave the sandbox."""


class InputError(EventlabError):
    """Input a user wrote could not be parsed; the message says what and where."""


class GradingError(EventlabError):
    """A failure of the grading machinery (not of the learner's work)."""
