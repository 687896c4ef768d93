"""Alerts that nobody answered in time: expire them and ask the next volunteers."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import select

from dispatcher import delivery, incidents, waves
from dispatcher.models import Alert, Incident
from dispatcher.runtime import Runtime

log = logging.getLogger(__name__)


def expire_overdue(rt: Runtime) -> int:
    """Expire every unanswered alert past its time and replace it; return how many expired."""
    now = rt.clock.now()
    outgoing: list[int] = []
    expired = 0
    with rt.transaction() as session:
        incident_ids = session.scalars(
            select(Alert.incident_id)
            .join(Incident, Incident.id == Alert.incident_id)
            .where(
                Incident.state == "open",
                Alert.state.in_(("pending", "sent", "delivered")),
                Alert.expires_at <= now,
            )
            .distinct()
        ).all()
        for incident_id in incident_ids:
            incident = incidents.lock_incident(session, incident_id)
            overdue = session.scalars(
                select(Alert).where(
                    Alert.incident_id == incident_id,
                    Alert.state.in_(("pending", "sent", "delivered")),
                    Alert.expires_at <= now,
                )
            ).all()
            for alert in overdue:
                alert.state, alert.updated_at = "expired", now
            expired += len(overdue)
            incidents.note(session, incident, "alerts.expired", now, count=len(overdue))
            outgoing += waves.replace_volunteers(rt, session, incident, len(overdue))
    delivery.send(rt, outgoing)
    return expired


class Ticker:
    """A daemon thread that runs the timers every few seconds, for the embedded server."""

    def __init__(self, rt: Runtime, every_s: float):
        self._rt, self._every = rt, every_s
        self._stop = threading.Event()
        self._started = False
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the thread once; later calls do nothing."""
        with self._lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._run, name="dispatcher-ticker", daemon=True).start()

    def stop(self) -> None:
        """Ask the thread to end after its current round."""
        self._stop.set()

    def _run(self) -> None:
        """Run the timers until stopped; a failing round is logged and the next one runs."""
        while not self._stop.wait(self._every):
            try:
                expire_overdue(self._rt)
            except Exception:  # noqa: BLE001 - the ticker must outlive one bad round
                log.exception("timer round failed")
