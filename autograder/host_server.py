"""A lab's sandbox and checks in a process of their own, for a kernel that nbgrader runs.

Under ``nbgrader autograde`` the notebook's kernel is nbgrader's, so ``start(...)``
(:func:`autograder.lab.start`) launches this process, connects to it as ``eventlab
grade``'s kernels do, and fences itself in (:mod:`eventlab.guard`).  The checks run
here; each result is also appended to a verdict file the kernel may not open, which
``python -m autograder.nbgrader_guard`` compares with the scores nbgrader recorded.

    python -m autograder.host_server LAB --verdicts FILE

prints one JSON line (``{"url": ...}``) when it is ready, then serves until its standard
input closes (the kernel ended) or it is signalled.  It dies with its parent.
"""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.host_server")
    parser.add_argument("lab")
    parser.add_argument("--verdicts", required=True)
    parser.add_argument("--workdir", default=None, help="the sandbox's folder (Lambda code)")
    parser.add_argument("--fence", default=None,
                        help="an eventlab.guard policy (JSON) for the Lambda environments")
    args = parser.parse_args(argv)
    from autograder.grading_kernel import die_with_parent

    die_with_parent()
    import os
    import signal

    # A process group of its own (in the kernel's session), deaf to Ctrl-C: a kernel
    # interrupts a cell that runs too long with SIGINT to its process group, which must
    # stop neither the sandbox nor its Lambda environments.
    os.setpgid(0, 0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from autograder.host import LabHost, serve_options
    from eventlab.sandbox import Sandbox

    if args.fence:
        from eventlab.guard import ENV

        os.environ[ENV] = args.fence     # the Lambda environments inherit it
    sandbox = Sandbox(workdir=args.workdir, serving=serve_options(args.verdicts)).start()
    try:
        LabHost(args.lab, sandbox, verdicts=args.verdicts).install()
        sys.stdout.write(json.dumps({"url": sandbox.endpoint_url}) + "\n")
        sys.stdout.flush()
        sys.stdin.read()          # until the kernel closes our stdin (or dies)
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
