"""What a lab notebook imports: one call to start its sandbox, one per check cell.

    from autograder.lab import start, check, hidden
    sb = start("lab01")                 # a fresh sandbox; zip_code, ROLE_ARN, LAB_START in the notebook
    ...
    result = check("subscriptions")     # checklist + architecture picture; returns a Report
    result.score                        # the cell's value: nbgrader's partial credit

Checks read only the sandbox (never the learner's variables).  ``grade_report`` runs
every check of the lab, visible and hidden, on the sandbox's final state.

Under ``eventlab grade`` the sandbox and the checks run in the grading process, not in
the kernel: ``start`` returns a :class:`autograder.remote.RemoteSandbox` and ``check``,
``hidden`` and ``architecture`` ask the grading process (:mod:`autograder.host`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from autograder import registry
from autograder.checks import Check, Report, Result, run_check
from autograder.traffic import Traffic

ROLE_NAME = "eventlab-lab-role"
# Labs run with AWS's own rule for resource policies: a service delivery (SNS -> SQS,
# EventBridge -> a target) with no policy allowing it is refused, even in one account, so
# a learner who forgets a policy sees messages not arrive, as on AWS.  The sandbox's
# default ("enforce") lets such same-account deliveries through for ad-hoc use.
LAB_POLICIES = "strict"


@dataclass
class Session:
    lab: str
    module: Any
    sandbox: Any
    traffic: Traffic | None   # None in a kernel whose sandbox is remote (the host counts)
    role_arn: str
    started: float = 0.0   # virtual epoch seconds when the lab started (LAB_START)
    roles: dict[str, str] = field(default_factory=dict)   # notebook name -> service role ARN
    # [step, visible points, hidden points] in the lab's order, and each checked step's score
    steps: list[list[Any]] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    folder: str = ""       # the lab's notebook folder (lab01_fanout)


_session: Session | None = None


def lab_module(lab: str) -> Any:
    """The module of ``lab``'s checks (``CHECKS``, ``ROLES``, ``QUOTAS``)."""
    return registry.lab(lab).module()


def checks_of(lab: str) -> list[Check]:
    return registry.lab(lab).checks


def start(lab: str) -> Any:
    """Start a fresh sandbox for ``lab`` (stopping the one a previous run started).

    Under ``eventlab grade`` (``EVENTLAB_GRADING_URL`` set) the sandbox lives in the
    grading process: this returns a :class:`autograder.remote.RemoteSandbox` for it.
    """
    global _session
    from autograder import remote
    from eventlab.sandbox.core.code import zip_code

    if not remote.url() and os.environ.get("NBGRADER_EXECUTION") == "autograde":
        registry.lab(lab)
        from autograder.nbgrader_host import start_host

        start_host(lab)
    if remote.url():
        registry.lab(lab)   # an unknown lab fails here, as it does in JupyterLab
        info = remote.call("/_eventlab/lab/start", {"lab": lab})
        proxy = remote.RemoteSandbox(info)
        started = float(info.get("lab_start") or proxy.clock.time())
        roles = dict(info.get("roles") or {})
        _session = Session(lab, None, proxy, None, info["role_arn"], started, roles,
                           list(info.get("steps") or []), folder=str(info.get("folder") or lab))
        _install_names({"zip_code": zip_code, "ROLE_ARN": info["role_arn"],
                        "LAB_START": lab_start(started), **roles})
        return proxy
    from eventlab.sandbox import Sandbox

    stop()
    current = Sandbox.current()
    if current is not None:
        current.stop()
    sandbox = Sandbox(policies=LAB_POLICIES).start()
    open_session(lab, sandbox)
    _install_names({"zip_code": zip_code, "ROLE_ARN": session().role_arn,
                    "LAB_START": lab_start(session().started), **session().roles})
    return sandbox


def lab_start(epoch: float) -> Any:
    """``LAB_START``: when the lab's sandbox started, as an aware UTC datetime.  Recorded
    once, so a check that moves the clock later does not move it."""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC)


def open_session(lab: str, sandbox: Any) -> Session:
    """The lab's session on a started sandbox: traffic counting, the lab's Lambda role
    (``ROLE_ARN``) and the service roles its module lists in ``ROLES``."""
    global _session
    module = lab_module(lab)
    for name, value in getattr(module, "QUOTAS", {}).items():   # limits the lab makes small to hit
        sandbox.quotas.set(name, value)
    organization = getattr(module, "ORGANIZATION", None)   # accounts the lab starts with
    if organization:
        from eventlab.sandbox.iam.accounts import add_to_organization

        for member in organization["members"]:
            add_to_organization(sandbox, member, management=organization["management"])
    traffic = Traffic(sandbox).install()
    role = _create_role(sandbox, ROLE_NAME, "lambda.amazonaws.com")
    roles = {name: _create_role(sandbox, spec.role_name, spec.service,
                                spec.policy(sandbox.region, sandbox.account_id))
             for name, spec in getattr(module, "ROLES", {}).items()}
    _session = Session(lab, module, sandbox, traffic, role, sandbox.clock.time(), roles,
                       step_points(module.CHECKS), folder=registry.lab(lab).folder)
    return _session


def step_points(checks: list[Check]) -> list[list[Any]]:
    """[step, visible points, hidden points] for each step, in the order of the checks."""
    out: dict[str, list[Any]] = {}
    for c in checks:
        row = out.setdefault(c.step, [c.step, 0.0, 0.0])
        row[2 if c.hidden else 1] += float(c.points)
    return list(out.values())


@dataclass(frozen=True)
class ServiceRole:
    """A role a lab hands to a service (Firehose, API Gateway): only ``service`` may
    assume it, and ``policy(region, account)`` is the permission policy the step needs."""

    role_name: str
    service: str
    policy: Callable[[str, str], dict[str, Any]]


def _create_role(sandbox: Any, name: str, service: str,
                 policy: dict[str, Any] | None = None) -> str:
    iam = sandbox.client("iam")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": service},
            "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    if policy:
        iam.put_role_policy(RoleName=name, PolicyName=f"{name}-permissions",
                            PolicyDocument=json.dumps(policy))
    return arn


def stop() -> None:
    global _session
    if _session is not None:
        _session.sandbox.stop()
        _session = None


def _remote() -> bool:
    return _session is not None and _session.module is None


def session() -> Session:
    if _session is None:
        raise RuntimeError("no lab sandbox is running: run the notebook's first code cell "
                           "(start(...)) before this one")
    return _session


def _install_names(names: dict[str, Any]) -> None:
    """Put helpers into the notebook's namespace (or builtins outside IPython)."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    if shell is not None:
        shell.user_ns.update(names)
    else:
        import builtins

        for key, value in names.items():
            setattr(builtins, key, value)


def run_step(step: str, hidden: bool) -> list[Result]:
    s = session()
    if _remote():
        from autograder import remote

        return remote.results(remote.call("/_eventlab/lab/check", {"step": step, "hidden": hidden}))
    chosen = [c for c in s.module.CHECKS if c.step == step and c.hidden == hidden]
    if not chosen and not hidden:
        steps = sorted({c.step for c in s.module.CHECKS})
        raise KeyError(f"lab {s.lab} has no step '{step}'; steps: {', '.join(steps)}")
    results = [run_check(c, s.sandbox) for c in chosen]
    s.sandbox.settle()
    return results


def check(step: str) -> Report:
    """Run a step's visible checks, show the checklist and the architecture picture."""
    from autograder import display

    s = session()
    report = Report(s.lab, run_step(step, hidden=False), title=f"step '{step}'")
    if report.points:
        s.scores[step] = report.score
    display.show(report)
    _show_architecture()
    print(running_score())
    return report


def running_score() -> str:
    """One line: the points the checks shown so far gave, out of the lab's visible points."""
    s = session()
    visible = sum(v for _, v, _ in s.steps)
    hidden_points = sum(h for _, _, h in s.steps)
    line = (f"Running score: {sum(s.scores.values()):g} of {visible:g} points from the "
            f"checks you can see ({len(s.scores)} of {sum(1 for _, v, _ in s.steps if v)} steps "
            "checked)")
    if hidden_points:
        line += f"; hidden checks add up to {hidden_points:g} more when graded"
    return line + "."


def score() -> str:
    """The lab's scorecard so far, step by step, and how to have it graded."""
    s = session()
    lines = [f"{s.lab}: your score so far"]
    for step, visible, hidden_points in s.steps:
        if not visible and not hidden_points:
            continue
        got = s.scores.get(step)
        shown = "not checked yet" if got is None else f"{got:g}/{visible:g}"
        extra = f" (+{hidden_points:g} hidden)" if hidden_points else ""
        lines.append(f"  {step:<16} {shown}{extra}")
    lines.append(running_score())
    folder = s.folder or s.lab
    lines.append(f"Save the notebook, then grade it as your instructor will (every cell run "
                 f"again in a fresh sandbox, hidden checks included): "
                 f"eventlab grade {s.lab} {folder}.ipynb")
    text = "\n".join(lines)
    print(text)
    return text

def hidden(step: str) -> list[Result]:
    """The step's hidden checks (nbgrader's hidden tests); add them to the step's report."""
    return run_step(step, hidden=True)


def architecture() -> None:
    """Show the architecture picture now."""
    _show_architecture()


def _show_architecture() -> None:
    from autograder import diagram, remote

    s = session()
    if _remote():
        remote.show_picture(remote.call("/_eventlab/lab/architecture"))
    else:
        diagram.show(s.sandbox, s.traffic)


def grade_report(lab: str) -> Report:
    """Every check of ``lab``, visible and hidden, on the current sandbox."""
    if _session is None or _session.lab != lab or _remote():
        return not_started_report(lab)
    return Report(lab, [run_check(c, _session.sandbox) for c in checks_of(lab)], title="grade")


def failed_report(lab: str, message: str) -> Report:
    """Every check of ``lab`` failed, each with ``message`` (nothing could be checked)."""
    return Report(lab, [Result(c.id, c.step, c.title, c.points, 0.0, False, message, c.hint,
                               c.hidden) for c in checks_of(lab)], title="grade")


def not_started_report(lab: str) -> Report:
    return failed_report(lab, "The notebook never started its sandbox (its first code cell, "
                              f"start(\"{lab}\"), did not run or failed), so nothing could be "
                              "checked.")
