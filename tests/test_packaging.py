"""requirements.lock pins what ./run installs and satisfies pyproject.toml's ranges;
environment.yml (conda) installs the same lock; ./run puts the venv first on PATH; the
project lints clean; the console script answers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent


LOCK = ROOT / "requirements.lock"


def _pyproject_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements.extend(extra)
    return [Requirement(r) for r in requirements]


def _lock_pins() -> dict[str, list[tuple[Version, str]]]:
    """name -> [(version, marker)] for every `name==version [; marker]` line of the lock."""
    pins: dict[str, list[tuple[Version, str]]] = {}
    hashes: dict[str, int] = {}
    name = ""
    for line in LOCK.read_text().splitlines():
        if line and not line.startswith((" ", "#")):
            spec, _, marker = line.rstrip(" \\").partition(";")
            name, _, version = spec.strip().partition("==")
            assert version, f"requirements.lock: {line!r} is not pinned with =="
            name = canonicalize_name(name)
            pins.setdefault(name, []).append((Version(version), marker.strip()))
        elif "--hash=sha256:" in line:
            hashes[name] = hashes.get(name, 0) + 1
    unhashed = sorted(set(pins) - set(hashes))
    assert not unhashed, f"requirements.lock: no hashes for {unhashed}"
    return pins


def test_the_lock_satisfies_every_range_in_pyproject():
    pins = _lock_pins()
    for requirement in _pyproject_requirements():
        locked = pins.get(canonicalize_name(requirement.name))
        assert locked, f"{requirement.name} is in pyproject.toml but not in requirements.lock: run ./run lock"
        for version, _marker in locked:
            assert requirement.specifier.contains(version, prereleases=True), (
                f"requirements.lock pins {requirement.name}=={version}, outside pyproject.toml's "
                f"'{requirement.specifier}': run ./run lock")


def test_the_lock_is_closed_over_dependencies():
    """Every package the installed locked set depends on is itself in the lock, so that
    `pip install --require-hashes -r requirements.lock` needs nothing unlisted (the
    installed environment here is the lock's)."""
    import sysconfig
    from importlib.metadata import distributions

    pins = _lock_pins()
    site = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in distributions(path=site)}
    for name, versions in pins.items():
        if name in installed and not any(m for _, m in versions):
            assert Version(installed[name]) == versions[0][0], (
                f"{name} {installed[name]} is installed, the lock says {versions[0][0]}: run ./run")


def test_the_lock_carries_the_command_that_refreshes_it():
    head = LOCK.read_text().splitlines()[:3]
    assert any("uv pip compile pyproject.toml --extra dev --universal" in line for line in head)
    assert "./run lock" in (ROOT / "README.md").read_text()


def test_environment_yml_installs_the_lock():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert pip == ["-r requirements.lock"]
    assert "python=3.11" in conda
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == ">=3.11"
    assert "pip install --no-deps --no-build-isolation -e ." in (ROOT / "environment.yml").read_text()


def test_run_puts_the_venv_first_on_path(tmp_path):
    """nbgrader shells out to `alembic` by name: whatever ./run starts must find the venv's."""
    if not (Path(sys.prefix) / ".eventlab-installed").exists():
        pytest.skip(f"{sys.prefix} was not set up by ./run (no .eventlab-installed stamp)")
    result = subprocess.run(["bash", str(ROOT / "run"), "test", "-q", "-s", "-p", "no:cacheprovider",
                             str(ROOT / "tests" / "test_packaging.py::test_run_reports_its_path")],
                            capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                                 "PYTHON": sys.executable, "EVENTLAB_VENV": sys.prefix,
                                 "EVENTLAB_PRINT_PATH": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("PATH="))
    first = line.removeprefix("PATH=").split(":")[0]
    assert Path(first).resolve() == (Path(sys.prefix) / "bin").resolve()


def test_run_reports_its_path():
    """The child half of the test above, run by it through ./run: prints the PATH it was
    given and checks that nbgrader's alembic is on it (skipped when pytest runs it directly)."""
    if not os.environ.get("EVENTLAB_PRINT_PATH"):
        pytest.skip("run by test_run_puts_the_venv_first_on_path through ./run")
    print("PATH=" + os.environ["PATH"])
    assert shutil.which("alembic") is not None, "alembic (nbgrader's migration tool) is not on PATH"


def test_ruff_is_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "eventlab", "autograder", "quizzes",
                             "tests", "benchmarks"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_console_script_help_lists_every_subcommand():
    result = subprocess.run([sys.executable, "-m", "eventlab", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    from eventlab.cli import SUBCOMMANDS

    assert {"serve", "quiz", "notes"} <= set(SUBCOMMANDS)
    for name in SUBCOMMANDS:
        assert name in result.stdout
