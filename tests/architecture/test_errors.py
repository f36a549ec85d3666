"""One error hierarchy (eventlab/errors.py): every exception class the project defines is
an EventlabError, but for the errors AWS itself would answer (moto's JsonRESTError and
ServiceException families, which moto serializes in each API's protocol)
and the Lambda worker's private timeout signal; there is one PortInUse."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

from eventlab import errors
from eventlab.sandbox.core.aws_errors import aws_error_bases

ROOT = Path(__file__).resolve().parents[2]
NOT_OURS = {("eventlab.sandbox.awslambda.worker", "_TimedOut")}   # a BaseException on purpose


def _exception_classes() -> list[tuple[str, str, type]]:
    found = []
    for package in ("eventlab", "autograder"):
        for path in sorted((ROOT / package).rglob("*.py")):
            names = [n.name for n in ast.parse(path.read_text()).body if isinstance(n, ast.ClassDef)]
            if not names:
                continue
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            loaded = importlib.import_module(module)
            for name in names:
                cls = getattr(loaded, name)
                if inspect.isclass(cls) and issubclass(cls, BaseException):
                    found.append((module, name, cls))
    return found


def test_every_error_is_an_eventlab_error_or_an_aws_answer() -> None:
    classes = _exception_classes()
    assert len(classes) > 20
    outside = [f"{module}.{name}" for module, name, cls in classes
               if not issubclass(cls, (errors.EventlabError, *aws_error_bases()))
               and (module, name) not in NOT_OURS]
    assert outside == []


def test_there_is_one_port_in_use() -> None:
    from eventlab.kafka import PortInUse as broker_port
    from eventlab.sandbox.core.server import PortInUse as server_port

    defined = [f"{m}.{n}" for m, n, _ in _exception_classes() if n == "PortInUse"]
    assert defined == ["eventlab.errors.PortInUse"]
    assert broker_port is server_port is errors.PortInUse
