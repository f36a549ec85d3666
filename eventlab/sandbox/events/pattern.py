"""``TestEventPattern``: moto's answers an empty body (its backend raises
``NotImplementedError``); AWS answers ``{"Result": true|false}``.

The match uses moto's own ``EventPattern``, the matcher that routes ``PutEvents`` in the
sandbox, so the test and the real routing cannot disagree.  As AWS documents, the event
must be JSON with ``id``, ``account``, ``source``, ``time``, ``region``, ``resources`` and
``detail-type``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from eventlab.sandbox.core.patches import PatchSet
    from eventlab.sandbox.core.sandbox import Sandbox

if TYPE_CHECKING:
    from moto.events.models import EventMessageType

REQUIRED_FIELDS = ("id", "account", "source", "time", "region", "resources", "detail-type")


class EventPatternService:
    name = "events-pattern"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def install(self, patches: PatchSet) -> None:
        patches.after_import("moto.events.responses", lambda: self._install(patches))

    def _install(self, patches: PatchSet) -> None:
        from moto.events.responses import EventsHandler

        def test_event_pattern(handler: Any) -> str:
            return json.dumps({"Result": matches(handler._get_param("EventPattern"),
                                                 handler._get_param("Event"))})

        patches.replace(EventsHandler, "test_event_pattern", test_event_pattern,
                        "TestEventPattern answers {\"Result\": true|false} (moto: an empty body)")


def matches(raw_pattern: Any, raw_event: Any) -> bool:
    """Whether ``raw_event`` (JSON text) matches ``raw_pattern`` (JSON text), as EventBridge
    decides; AWS's errors for a pattern or an event it cannot use."""
    from moto.core.exceptions import JsonRESTError

    if not isinstance(raw_pattern, str) or not raw_pattern:
        raise JsonRESTError("ValidationException", "EventPattern is required.")
    try:
        event = json.loads(raw_event) if isinstance(raw_event, str) else None
    except ValueError:
        event = None
    if not isinstance(event, dict):
        raise JsonRESTError("ValidationException", "Parameter Event is not valid: it must be a JSON object.")
    missing = [f for f in REQUIRED_FIELDS if f not in event]
    if missing:
        raise JsonRESTError("ValidationException",
                            f"Parameter Event is not valid: it lacks {', '.join(missing)} "
                            f"(an event needs {', '.join(REQUIRED_FIELDS)}).")
    return pattern_matches(raw_pattern, event)


def pattern_matches(raw_pattern: str, document: dict[str, Any]) -> bool:
    """Whether a JSON document matches an event pattern, with the matcher that routes
    ``PutEvents`` (also the filter of EventBridge Pipes, which matches source records)."""
    from moto.events.models import EventPattern

    return bool(EventPattern.load(raw_pattern).matches_event(cast("EventMessageType", document)))
