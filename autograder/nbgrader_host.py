"""``start(...)`` under ``nbgrader autograde``: the sandbox and the checks move out of the
kernel, and the kernel is fenced in, as under ``eventlab grade``.

nbgrader runs each notebook in ``autograded/<student>/<assignment>/`` with a kernel of
its own.  :func:`start_host` launches :mod:`autograder.host_server` for this notebook,
points the kernel's AWS clients and the lab API at it, and installs the fence of
:mod:`eventlab.guard` (loopback only; no reading other students' folders, the course's
source, submissions or gradebook, or the checks; no writing outside this notebook's
folder; no processes).  The host writes every check result and every refusal to
``autograded/.eventlab/<student>--<assignment>.*.jsonl``, where the kernel cannot
reach; ``python -m autograder.nbgrader_guard`` compares them with the scores nbgrader
recorded, so a notebook that changes its own verdict is caught.

Set ``EVENTLAB_NBGRADER_HOST=0`` in nbgrader's environment to run the sandbox in the
kernel as in JupyterLab (faster, but the verdict is then the kernel's to change).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from eventlab import config

_host: Any = None   # the host process: its stdin stays open for the kernel's lifetime


def private_dir(autograded_notebook_dir: Path) -> Path:
    """Where a course's verdict and refusal files live: ``autograded/.eventlab``."""
    return autograded_notebook_dir.resolve().parent.parent / ".eventlab"


def record_paths(autograded_notebook_dir: Path) -> dict[str, Path]:
    here = autograded_notebook_dir.resolve()
    stem = f"{here.parent.name}--{here.name}"
    private = private_dir(here)
    return {"verdicts": private / f"{stem}.verdicts.jsonl",
            "refused": private / f"{stem}.refused.jsonl",
            "sandbox": private / f"{stem}.sandbox",
            "data": private / f"{stem}.data"}


def start_host(lab: str) -> None:
    global _host
    if not config.nbgrader_host():
        return
    from autograder.remote import client_env
    from eventlab.guard import ENV, install, policy_env
    from eventlab.paths import project_root

    here = Path.cwd().resolve()
    autograded = here.parent.parent
    course = autograded.parent
    paths = record_paths(here)
    paths["verdicts"].parent.mkdir(exist_ok=True)
    for key in ("verdicts", "refused"):
        paths[key].unlink(missing_ok=True)     # a fresh record for each autograde run
    import shutil

    shutil.rmtree(paths["sandbox"], ignore_errors=True)
    deny = [str(autograded), *(str(course / d) for d in ("submitted", "source", "release",
                                                          "feedback", "gradebook.db")),
            str(project_root() / "autograder" / "labs"), str(project_root() / "labs" / "source")]
    # the quiz at a lab's end keeps its cache and progress here, not in the grader's home
    paths["data"].mkdir(exist_ok=True)
    os.environ[config.DATA_DIR] = str(paths["data"])
    kernel_policy = policy_env(write=[str(here), str(paths["data"])], deny_read=deny,
                               allow_read=[str(here), str(paths["data"])],
                               log=str(paths["refused"]), label="this notebook")
    lambda_policy = policy_env(write=[str(paths["sandbox"])], deny_read=deny,
                               allow_read=[str(here), str(paths["sandbox"])],
                               log=str(paths["refused"]), label="this notebook's Lambda handler")
    env = dict(os.environ)
    env.pop(ENV, None)
    _host = subprocess.Popen(
        [sys.executable, "-m", "autograder.host_server", lab, "--verdicts", str(paths["verdicts"]),
         "--workdir", str(paths["sandbox"]), "--fence", lambda_policy],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=str(paths["verdicts"].parent))
    line = _host.stdout.readline()
    try:
        url = json.loads(line)["url"]
    except (ValueError, KeyError, TypeError):
        raise RuntimeError("eventlab: the grading sandbox for this notebook did not start "
                           f"(it said {line[:200]!r}); see the kernel's log") from None
    os.environ.update(client_env(url))
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(key, None)
    install(json.loads(kernel_policy))()   # installed and armed: the kernel has started
