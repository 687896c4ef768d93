"""After an incident: ask those who went whether they are OK, and flag who wants a call."""

from __future__ import annotations

from dispatcher.runtime import Runtime


def ask(rt: Runtime, incident_id: int) -> int:
    """Ask everyone who went to the incident whether they are OK; return how many were asked."""
    raise NotImplementedError
