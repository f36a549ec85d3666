"""pyproject.toml (pip) and environment.yml (conda) install the same packages; the
project lints clean; the console script answers."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _pyproject_requirements() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements.extend(extra)
    return {r.replace(" ", "") for r in requirements}


def _environment_requirements() -> tuple[set[str], list[str]]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    return {p.replace(" ", "") for p in pip if not p.startswith("-e")}, conda


def test_environment_yml_and_pyproject_agree():
    pip_side, conda_side = _environment_requirements()
    assert pip_side == _pyproject_requirements()
    assert "python=3.11" in conda_side
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == ">=3.11"


def test_environment_yml_installs_the_project_itself():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert "-e ." in pip


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
