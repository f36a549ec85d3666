"""The kernel ``eventlab grade`` runs a submission in: ipykernel behind the guard.

``python -m autograder.grading_kernel -f CONNECTION_FILE``: asks Linux to kill this
kernel if the grading process dies (no orphans after a crash or a kill), installs the
audit-hook fence of :mod:`eventlab.guard` (policy in ``EVENTLAB_GUARD``) before anything
else runs, initialises an ordinary IPython kernel, arms the rest of the fence (tracing,
heap walking, native libraries: the kernel's own start-up uses them) and serves.
"""

import sys


def die_with_parent() -> None:
    """Linux kills this process when its parent dies (PR_SET_PDEATHSIG)."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG


def main() -> None:
    die_with_parent()
    import platform

    platform.uname().processor   # noqa: B018  (resolved once, by `uname -p`, before the fence)
    from eventlab.guard import install_from_env

    arm = install_from_env()
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize()
    if arm is not None:
        arm()
    app.start()


if __name__ == "__main__":
    main()
