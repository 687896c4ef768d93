"""Row locks that take the changes of one incident one at a time."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatcher.store.models import Incident


def lock_incident(session: Session, incident_id: int) -> Incident:
    """Load an incident and lock its row until commit, so its replies are taken one at a time."""
    return session.scalars(
        select(Incident).where(Incident.id == incident_id).with_for_update()
    ).one()
