"""Only the sandbox touches moto: everything else reads sandbox state through
:mod:`eventlab.sandbox.inspect` (issue 16).

Every ``.py`` file of the repository outside ``eventlab/sandbox/`` is parsed (AST, not
text: comments and strings do not count) and these are violations, reported as
``file:line: what``:

- ``import moto`` / ``from moto... import ...``, anywhere in the file;
- an attribute whose name is private (one leading underscore) read or written on anything
  but ``self``, ``cls``, ``super()`` or a name the module itself defines at its top level;
- ``<anything>.backend(...)``: moto's backends are the sandbox's business;
- an attribute of ``<anything>.service(...)`` (directly, or through a variable assigned
  from it in the same function) that is not one of :data:`SERVICE_OPERATIONS`, the
  gap-filling services' operations (they act on the sandbox and return plain data).
  Reading a service's state (``invocation_log``, ``deliveries``...) or calling one that
  hands out moto objects (``function``) goes through ``eventlab.sandbox.inspect``.

Exempt: ``tests/sandbox/`` (they test the sandbox itself, moto's objects included, as
moto's own tests do) and the few names in :data:`PUBLIC_UNDERSCORE` that are public API
despite their underscore.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

EXEMPT = (
    "eventlab/sandbox/",        # the sandbox itself
    "tests/sandbox/",           # the sandbox's own tests (they check what moto holds)
    ".venv/", "labs/release/", "labs/autograded/", "labs/submitted/", "labs/feedback/",
)

# Violations kept on purpose: (file, the start of its report) -> why.  Keyed without line
# numbers, so that they survive edits above them.
ALLOWED = {
    ("benchmarks/bench_sandbox.py", "imports from moto"):
        "the benchmarks' baseline is raw moto, measured in the same run",
    ("benchmarks/bench_backpressure.py", "sb.backend(...) hands out moto's objects"):
        "--send backend measures the sandbox's load path without boto3's per-call cost, "
        "by sending through moto's SQS backend directly",
    ("autograder/nbgrader_guard.py", "private attribute ClearHiddenTests()._remove_hidden_test_region"):
        "nbgrader has no public call that strips one cell's hidden tests; the guard must strip "
        "exactly as nbgrader's own preprocessor does",
    ("tests/autograder/test_checks.py", "private attribute failing._dom_classes"):
        "ipywidgets keeps a widget's CSS classes only in the _dom_classes trait (add_class "
        "writes it, nothing public reads it): the test asserts a failed check is styled red",
    ("tests/kafka/test_semantics.py", "private attribute tools._lone_assignment"):
        "the test wraps the consumer's assignment plan to make a member join mid-assignment",
}

# Names with a leading underscore that their owners document as public.
PUBLIC_UNDERSCORE = {
    "_asdict", "_replace", "_fields", "_make",      # collections.namedtuple
    "_getframe", "_exit",                           # sys._getframe, os._exit
    "_repr_mimebundle_", "_repr_html_", "_repr_markdown_", "_repr_pretty_", "_repr_svg_",  # IPython
}

# What code outside the sandbox may use on ``sb.service(name)``: operations that drive the
# sandbox (inject a failure, flush a buffer, invoke through API Gateway, reach the Kafka
# broker), none of which hands out moto's objects.
SERVICE_OPERATIONS = {
    "inject_failure", "clear_failure",              # events-targets
    "flush",                                        # firehose
    "invoke",                                       # apigateway (an HTTP request, answered)
    "external", "broker", "bootstrap_servers",      # msk
}


def _files() -> list[Path]:
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if any(rel.startswith(prefix) for prefix in EXEMPT) or "/." in "/" + rel:
            continue
        out.append(path)
    return out


def _module_names(tree: ast.Module) -> set[str]:
    """Names the module defines at its top level (functions, classes, assignments)."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def _is_service_call(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "service")


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__")) \
        and name not in PUBLIC_UNDERSCORE


def violations(source: str, rel: str) -> list[str]:
    """Every violation in one file's source, as ``rel:line: what``."""
    tree = ast.parse(source, filename=rel)
    own = _module_names(tree)
    found: list[str] = []

    def report(node: ast.AST, what: str) -> None:
        found.append(f"{rel}:{getattr(node, 'lineno', 0)}: {what}")

    # names bound to ``x.service(...)`` in each function (or the module)
    scopes: list[ast.AST] = [tree, *(n for n in ast.walk(tree)
                                     if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))]
    service_vars: dict[int, set[str]] = {}
    for scope in scopes:
        names = service_vars.setdefault(id(scope), set())
        for node in ast.walk(scope):
            if isinstance(node, ast.Assign) and _is_service_call(node.value):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))

    def check_scope(scope: ast.AST, bound: set[str]) -> None:
        for node in ast.iter_child_nodes(scope):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                check_scope(node, bound | service_vars[id(node)])
                continue
            check_node(node, bound)
            check_scope(node, bound)

    def check_node(node: ast.AST, bound: set[str]) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "moto" or alias.name.startswith("moto."):
                    report(node, f"imports {alias.name} (read sandbox state through "
                                 "eventlab.sandbox.inspect)")
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 0 and (module == "moto" or module.startswith("moto.")):
                report(node, f"imports from {module} (read sandbox state through "
                             "eventlab.sandbox.inspect)")
        elif isinstance(node, ast.Attribute):
            owner = node.value
            if _private(node.attr):
                allowed = (isinstance(owner, ast.Name) and owner.id in {"self", "cls", *own}) or (
                    isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name)
                    and owner.func.id == "super")
                if not allowed:
                    report(node, f"private attribute {ast.unparse(node)}")
            via_service = _is_service_call(owner) or (
                isinstance(owner, ast.Name) and owner.id in bound)
            if via_service and node.attr not in SERVICE_OPERATIONS:
                report(node, f"{ast.unparse(node)}: not a service operation (read state "
                             "through eventlab.sandbox.inspect)")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "backend":
            report(node, f"{ast.unparse(node.func)}(...) hands out moto's objects (use "
                         "eventlab.sandbox.inspect)")

    check_scope(tree, service_vars[id(tree)])
    return found


def test_nothing_outside_the_sandbox_touches_moto() -> None:
    found: list[str] = []
    for path in _files():
        rel = path.relative_to(ROOT).as_posix()
        found += [v for v in violations(path.read_text(encoding="utf-8"), rel)
                  if not _allowed(rel, v)]
    assert not found, "code outside eventlab/sandbox/ reaches into moto:\n" + "\n".join(found)


def _allowed(rel: str, violation: str) -> bool:
    what = violation.split(": ", 1)[1]
    return any(rel == f and what.startswith(start) for f, start in ALLOWED)


def test_every_allowed_violation_still_exists() -> None:
    """An exemption whose code is gone goes too (or it would hide a new violation)."""
    for rel, start in ALLOWED:
        found = violations((ROOT / rel).read_text(encoding="utf-8"), rel)
        assert any(v.split(": ", 1)[1].startswith(start) for v in found), (rel, start)


def test_the_scan_covers_the_packages_that_read_the_sandbox() -> None:
    scanned = {p.relative_to(ROOT).as_posix() for p in _files()}
    for rel in ("autograder/checks.py", "autograder/probes.py", "autograder/diagram.py",
                "autograder/traffic.py", "autograder/host.py", "autograder/labs/lab05.py",
                "labs/make/lab03.py", "eventlab/cli/__init__.py"):
        assert rel in scanned
    assert not any(rel.startswith("eventlab/sandbox/") for rel in scanned)


@pytest.mark.parametrize(("source", "expected"), [
    ("import moto\n", "x.py:1: imports moto"),
    ("def f():\n    from moto.sqs.models import Queue\n", "x.py:2: imports from moto.sqs.models"),
    ("def f(sb):\n    return sb.backend('sqs').queues\n", "x.py:2: sb.backend(...)"),
    ("def f(q):\n    return q._messages\n", "x.py:2: private attribute q._messages"),
    ("def f(q, m):\n    q._messages = [m]\n", "x.py:2: private attribute q._messages"),
    ("def f(sb):\n    return sb.service('lambda').invocation_log\n",
     "x.py:2: sb.service('lambda').invocation_log: not a service operation"),
    ("def f(sb):\n    s = sb.service('firehose')\n    s.flush('x')\n    return s.deliveries\n",
     "x.py:4: s.deliveries: not a service operation"),
])
def test_each_kind_of_violation_is_named_with_its_line(source: str, expected: str) -> None:
    found = violations(source, "x.py")
    assert len(found) == 1 and found[0].startswith(expected), found


@pytest.mark.parametrize("source", [
    "class A:\n    def f(self):\n        return self._x\n",
    "class A:\n    @classmethod\n    def f(cls):\n        return cls._y\n",
    "def _helper():\n    pass\n\ndef f():\n    return _helper.__name__, A._table\n\nclass A:\n    _table = 1\n",
    "def f(row):\n    return row._asdict(), row.__class__\n",
    "class A(B):\n    def f(self):\n        return super()._g()\n",
    "def f(sb):\n    sb.service('events-targets').inject_failure('arn', code='X')\n",
    "from eventlab.sandbox import inspect\ndef f(sb):\n    return inspect.queue(sb, 'q')\n",
])
def test_what_is_allowed(source: str) -> None:
    assert violations(source, "x.py") == []
