"""The grading side of a remote lab session: the sandbox and the checks, in the
grading process, answering the kernel's ``start``, ``check``, ``hidden`` and
``architecture`` over the sandbox's admin API (see :mod:`autograder.remote`).

    sandbox = Sandbox(serving=serve_options()).start()   # moto-api closed, waits on
    host = LabHost("lab01", sandbox).install()            # the lab's routes
    url = sandbox.endpoint_url                    # give this to the kernel
    ...                                           # the notebook runs
    report = host.grade()                         # every check, here, on the final state
"""

from __future__ import annotations

from typing import Any

from autograder import lab as lab_api
from autograder.checks import Report

# What a notebook may call on a gap-filling service through ``sb.service(name)``.
SERVICE_METHODS = {"events-targets": {"inject_failure", "clear_failure"},
                   "ecs-workers": {"consume"}}   # lab 7: the workers a service stands in for


def serve_options(verdicts: str | None = None) -> Any:
    """How a grading sandbox serves the kernel: moto's own API closed (each try recorded,
    in ``verdicts`` too when given) and callers waiting for the deliveries they caused."""
    from eventlab.sandbox import ServeOptions

    record = None
    if verdicts:
        record = lambda request: _record(verdicts, "refused", request)  # noqa: E731
    return ServeOptions(lockdown=True, wait_for_deliveries=True, on_refused=record)


def _record(verdicts: str, kind: str, value: Any) -> None:
    import json

    with open(verdicts, "a") as f:   # noqa: PTH123
        f.write(json.dumps({"kind": kind, "value": value}) + "\n")


class LabHost:
    def __init__(self, lab: str, sandbox: Any, verdicts: str | None = None) -> None:
        self.lab = lab
        self.sandbox = sandbox
        self.verdicts = verdicts      # a JSON-lines file: every check call and refusal
        self.session: lab_api.Session | None = None
        self.started_by_notebook = False

    def install(self) -> LabHost:
        if not self.sandbox.serving.lockdown:
            raise ValueError("a grading sandbox is made with Sandbox(serving="
                             "autograder.host.serve_options(...)): moto's API must be closed")
        self.session = lab_api.open_session(self.lab, self.sandbox)
        self.sandbox.admin_routes.update({
            "/_eventlab/lab/start": self._start,
            "/_eventlab/lab/check": self._check,
            "/_eventlab/lab/architecture": self._architecture,
            "/_eventlab/lab/service": self._service,
        })
        return self

    def _record(self, kind: str, value: Any) -> None:
        if self.verdicts:
            _record(self.verdicts, kind, value)

    # -- routes -------------------------------------------------------------------------
    def _start(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("lab") != self.lab:
            raise ValueError(f"this notebook is graded as {self.lab}, but it started "
                             f"{body.get('lab')!r}")
        self.started_by_notebook = True
        sb = self.sandbox
        return {"region": sb.region, "account_id": sb.account_id, "endpoint_url": sb.endpoint_url,
                "role_arn": self.session.role_arn if self.session else "",
                "lab_start": self.session.started if self.session else None,
                "roles": self.session.roles if self.session else {},
                "steps": self.session.steps if self.session else [],
                "folder": self.session.folder if self.session else self.lab}

    def _check(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        self._need_start()
        step, hidden = str(body["step"]), bool(body.get("hidden"))
        results = [r.as_dict() for r in lab_api.run_step(step, hidden=hidden)]
        if self.verdicts:
            self._record("check", {"step": step, "hidden": hidden,
                                   "earned": sum(r["earned"] for r in results)})
        return results

    def _architecture(self, _body: dict[str, Any]) -> dict[str, str]:
        from autograder.diagram import picture

        self._need_start()
        pic = picture(self.sandbox, self.session.traffic if self.session else None)
        return {"mermaid": pic.mermaid(), "text": pic.text()}

    def _service(self, body: dict[str, Any]) -> dict[str, Any]:
        self._need_start()
        name, method = str(body["service"]), str(body["method"])
        if method not in SERVICE_METHODS.get(name, set()):
            raise ValueError(f"sb.service({name!r}).{method} is not available to notebooks")
        result = getattr(self.sandbox.service(name), method)(*body.get("args", []),
                                                              **body.get("kwargs", {}))
        return {"result": result if isinstance(result, (str, int, float, bool, type(None))) else None}

    def _need_start(self) -> None:
        if not self.started_by_notebook:
            raise ValueError("the notebook has not called start(...) yet")

    # -- the verdict --------------------------------------------------------------------
    def grade(self) -> Report:
        """Every check of the lab on the sandbox as the notebook left it (nothing if the
        notebook never called ``start``)."""
        if not self.started_by_notebook:
            return lab_api.not_started_report(self.lab)
        return lab_api.grade_report(self.lab)

