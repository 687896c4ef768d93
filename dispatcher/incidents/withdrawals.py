"""Withdrawing a volunteer who was going: they no longer count, the next one is asked.

A volunteer who said YES and then STOP or NO, or whose briefing (the address, the door code)
could not reach them, is not going any more. They stop counting toward the targets, the
search goes on in their place, and the control room is told with `responder.withdrawn`.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from dispatcher.alerts import lifecycle
from dispatcher.control_rooms import events
from dispatcher.incidents import records, waves
from dispatcher.runtime import Runtime
from dispatcher.store.models import Alert, Incident


def withdraw(rt: Runtime, session: Session, incident: Incident, alert: Alert, *,
             reason: str) -> bool:
    """Withdraw a volunteer who accepted; ask the next one; False if they were not going."""
    now = rt.clock.now()
    role = alert.role
    if alert.state != lifecycle.ACCEPTED or not lifecycle.decline(alert, now, reason):
        return False
    ref = alert.responder.ref
    records.note(session, incident, "responder.withdrawn", now, ref=ref, role=role, reason=reason)
    events.emit(rt, session, incident, "responder.withdrawn", responder=ref, role=role,
                reason=reason)
    waves.replace_volunteers(rt, session, incident, 1, reason)
    return True
