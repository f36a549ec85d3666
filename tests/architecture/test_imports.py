"""The package structure holds: no import cycles between the project's modules (counting
imports inside functions too), and the layers of ../shared/DESIGN.md point downward only
(the sandbox never imports the grader, the quizzes or the labs)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("eventlab", "autograder", "quizzes")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def _imports(path: Path, name: str, known: set[str]) -> set[str]:
    """Project modules that ``path`` imports anywhere (top level or inside functions), but
    for imports under ``if TYPE_CHECKING:``, which never run."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(), str(path))
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and "TYPE_CHECKING" in ast.unparse(block.test) for n in block.body}
    for node in ast.walk(tree):
        targets: list[str] = []
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                found.add(target)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(path, name, known) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return result


def test_no_import_cycles():
    assert _cycles(_graph()) == []


def test_the_sandbox_imports_nothing_above_it():
    for name, targets in _graph().items():
        if name.startswith("eventlab.sandbox"):
            above = {t for t in targets if t.startswith(("autograder", "quizzes", "labs"))}
            assert not above, f"{name} imports {sorted(above)}"


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_only_the_command_line_reaches_above_eventlab():
    """eventlab's own modules sit below the grader, the quizzes and the labs; only the
    command line (eventlab.cli, the top of the layers) dispatches to them."""
    for name, targets in _graph().items():
        if name.startswith("eventlab") and not name.startswith("eventlab.cli"):
            above = {t for t in targets if t.startswith(("autograder", "quizzes", "labs"))}
            assert not above, f"{name} imports {sorted(above)}"


def test_every_subcommand_is_one_module_of_the_cli_package_with_one_shape():
    import importlib

    from eventlab.cli import SUBCOMMANDS

    modules = {p.stem for p in (ROOT / "eventlab" / "cli").glob("*.py")} - {"__init__"}
    assert modules == set(SUBCOMMANDS)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        assert module_name == f"eventlab.cli.{name}" and help_text
        module = importlib.import_module(module_name)
        assert callable(module.add_arguments) and callable(module.run), name
        assert not hasattr(module, "HELP"), f"{name}: its help is in SUBCOMMANDS"
