"""DataSync ARNs in the sandbox's account.

moto writes every location and task ARN with the account ``111222333444`` whatever the
caller's account; AWS uses the caller's (``arn:aws:datasync:REGION:ACCOUNT:task/task-...``).
Task execution ARNs extend the task's, so they follow.  (Executions still move one
status per ``DescribeTaskExecution`` call, not with time: see docs/differences.md.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eventlab.sandbox.core.patches import PatchSet
    from eventlab.sandbox.core.sandbox import Sandbox

_MOTO_ACCOUNT = ":111222333444:"


class DataSyncService:
    name = "datasync"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def install(self, patches: PatchSet) -> None:
        patches.after_import("moto.datasync.models", lambda: _install(patches))


def _install(patches: PatchSet) -> None:
    from moto.datasync.models import DataSyncBackend

    def rekeyed(table: str) -> Any:
        def make(original: Any) -> Any:
            def create(backend: Any, *args: Any, **kwargs: Any) -> str:
                arn = original(backend, *args, **kwargs)
                store = getattr(backend, table)
                item = store.pop(arn)
                item.arn = arn.replace(_MOTO_ACCOUNT, f":{backend.account_id}:", 1)
                store[item.arn] = item
                return item.arn
            return create
        return make

    patches.wrap(DataSyncBackend, "create_location", rekeyed("locations"),
                 "DataSync location ARNs carry the caller's account, as on AWS")
    patches.wrap(DataSyncBackend, "create_task", rekeyed("tasks"),
                 "DataSync task ARNs carry the caller's account, as on AWS")
