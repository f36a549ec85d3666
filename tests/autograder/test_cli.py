"""``eventlab grade`` and ``eventlab lab`` from the command line (the full grading runs are
in tests/labs/test_grading.py, which shares one run per session)."""

from __future__ import annotations

import argparse

from eventlab.cli import main
from eventlab.cli.lab import jupyter_command, learner_notebooks, prepare


def test_help_lists_grade_and_lab(capsys) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "grade" in out and "lab" in out
    assert "per-criterion report" in out and "open JupyterLab" in out


def test_grade_refuses_unknown_labs_and_missing_files(tmp_path, capsys) -> None:
    assert main(["grade", "lab09", str(tmp_path / "x.ipynb")]) == 2
    assert "unknown lab 'lab09'" in capsys.readouterr().err
    assert main(["grade", "lab01", str(tmp_path / "x.ipynb")]) == 2
    assert "no such notebook" in capsys.readouterr().err


def test_lab_copies_notebooks_and_notes_and_never_overwrites(tmp_path, capsys) -> None:
    """Links to the notes point at the workspace's copy of them."""
    workspace = tmp_path / "ws"
    assert main(["lab", "--dir", str(workspace), "--copy-only"]) == 0
    names = sorted(p.name for p in workspace.glob("*.ipynb"))
    assert names == sorted(p.name for p in learner_notebooks())
    assert {"lab01_fanout.ipynb", "lab03_eventbridge.ipynb"} <= set(names)
    text = (workspace / "lab01_fanout.ipynb").read_text()
    assert "../../../content/" not in text and "(content/patterns.md#fan-out)" in text
    assert (workspace / "content" / "patterns.md").exists()
    (workspace / "lab01_fanout.ipynb").write_text("my work")
    copied, kept = prepare(workspace)
    assert copied == [] and [p.name for p in kept] == names
    assert (workspace / "lab01_fanout.ipynb").read_text() == "my work"
    assert main(["lab", "--dir", str(workspace), "--copy-only"]) == 0
    assert "kept your lab01_fanout.ipynb" in capsys.readouterr().out


def test_jupyter_command_passes_no_browser_and_allow_root(tmp_path, monkeypatch) -> None:
    import os

    args = argparse.Namespace(no_browser=True, port=8899)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    cmd = jupyter_command(tmp_path, args)
    assert cmd[1:3] == ["-m", "jupyterlab"]
    assert {"--no-browser", "--port=8899", "--allow-root", f"--ServerApp.root_dir={tmp_path}"} <= set(cmd)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert "--allow-root" not in jupyter_command(tmp_path, argparse.Namespace(no_browser=False, port=None))
