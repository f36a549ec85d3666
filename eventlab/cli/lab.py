"""``eventlab lab``: copy the learner's notebooks into a workspace and open JupyterLab there.

A learner's existing file is never overwritten (delete it to get a fresh copy).  Links
to the study notes are rewritten to the copy of ``content/`` placed in the workspace.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

SOURCE_LINK = "../../../content/"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", type=Path, default=Path("~/eventlab-labs"),
                        help="workspace folder (default ~/eventlab-labs)")
    parser.add_argument("--no-browser", action="store_true",
                        help="do not open a browser (passed to JupyterLab)")
    parser.add_argument("--port", type=int, default=None, help="JupyterLab's port")
    parser.add_argument("--copy-only", action="store_true",
                        help="copy the notebooks and notes, do not start JupyterLab")


def learner_notebooks() -> list[Path]:
    from eventlab.paths import labs_dir

    return sorted((labs_dir() / "learner").glob("lab*/lab*.ipynb"))


def prepare(workspace: Path) -> tuple[list[Path], list[Path]]:
    """Copy what is missing into ``workspace``; returns (copied, kept) notebooks."""
    from eventlab.paths import content_dir

    workspace.mkdir(parents=True, exist_ok=True)
    copied, kept = [], []
    for src in learner_notebooks():
        dest = workspace / src.name
        if dest.exists():
            kept.append(dest)
            continue
        text = src.read_text(encoding="utf-8").replace(SOURCE_LINK, "content/")
        dest.write_text(text, encoding="utf-8")
        copied.append(dest)
    notes = workspace / "content"
    for src in sorted(content_dir().glob("*.md")):
        target = notes / src.name
        if not target.exists():
            notes.mkdir(exist_ok=True)
            shutil.copy(src, target)
    return copied, kept


def jupyter_command(workspace: Path, args: argparse.Namespace) -> list[str]:
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={workspace}"]
    if args.no_browser:
        cmd.append("--no-browser")
    if args.port:
        cmd.append(f"--port={args.port}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    return cmd


def run(args: argparse.Namespace) -> int:
    from autograder.notebook import kernel_env

    workspace = args.dir.expanduser().resolve()
    if not learner_notebooks():
        print("eventlab lab: no learner notebooks found under labs/learner/", file=sys.stderr)
        return 2
    copied, kept = prepare(workspace)
    for path in copied:
        print(f"copied {path.name}")
    for path in kept:
        print(f"kept your {path.name} (delete it to start that lab afresh)")
    if args.copy_only:
        print(f"workspace: {workspace}")
        return 0
    print(f"starting JupyterLab in {workspace} (Ctrl-C to stop)")
    return subprocess.call(jupyter_command(workspace, args), cwd=workspace, env=kernel_env())
