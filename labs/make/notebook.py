"""Write the source notebooks and generate the learner's copies with nbgrader."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from autograder.registry import LABS

LABS_DIR = Path(__file__).resolve().parent.parent
LAB_MODULES = [lab.generator for lab in LABS.values()]   # autograder/registry.py


def lab_names() -> list[str]:
    return [importlib.import_module(m).NAME for m in LAB_MODULES]


def source_path(name: str, root: Path = LABS_DIR) -> Path:
    return root / "source" / name / f"{name}.ipynb"


def learner_path(name: str, root: Path = LABS_DIR) -> Path:
    return root / "learner" / name / f"{name}.ipynb"


def write_sources(root: Path = LABS_DIR) -> list[Path]:
    out = []
    for module_name in LAB_MODULES:
        module = importlib.import_module(module_name)
        path = source_path(module.NAME, root)
        path.parent.mkdir(parents=True, exist_ok=True)
        nb = module.build()
        nbformat.validate(nb)
        nbformat.write(nb, path)
        out.append(path)
    return out


def generate_learner(name: str, dest: Path, root: Path = LABS_DIR) -> Path:
    """Run ``nbgrader generate_assignment`` in a temporary course and copy the result."""
    with tempfile.TemporaryDirectory(prefix="eventlab-course-") as tmp:
        course = Path(tmp)
        shutil.copy(root / "nbgrader_config.py", course / "nbgrader_config.py")
        shutil.copytree(root / "source" / name, course / "source" / name)
        proc = subprocess.run(
            [sys.executable, "-m", "nbgrader", "generate_assignment", name, "--force",
             "--CourseDirectory.root=" + str(course)],
            cwd=course, capture_output=True, text=True)
        released = course / "release" / name / f"{name}.ipynb"
        if proc.returncode != 0 or not released.exists():
            raise RuntimeError(f"nbgrader generate_assignment {name} failed:\n{proc.stdout}\n{proc.stderr}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(released, dest)
    return dest


def main() -> int:
    for path in write_sources():
        print("wrote", path.relative_to(LABS_DIR.parent))
    for name in lab_names():
        dest = generate_learner(name, learner_path(name))
        print("generated", dest.relative_to(LABS_DIR.parent))
    return 0
