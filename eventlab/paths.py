"""Where the project's material lives: labs, content and the quiz bank.

eventlab is used from a checkout (``pip install -e .``, as the README says): the
course material sits beside the package.  ``EVENTLAB_HOME`` points elsewhere.
"""

from __future__ import annotations

from pathlib import Path

from eventlab import config


def project_root() -> Path:
    home = config.home()
    if home:
        return home.resolve()
    return Path(__file__).resolve().parent.parent


def content_dir() -> Path:
    return project_root() / "content"


def labs_dir() -> Path:
    return project_root() / "labs"
