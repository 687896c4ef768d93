"""The sweeper: finds work whose doorbell was lost and rings again.

The database holds every piece of work: messages not yet with the provider, wave
deadlines, undelivered events, due follow-ups, and inbound SMS and delivery reports not
yet processed or due to be tried again. A doorbell can be lost (the queue was down, a
worker died mid-job, a restart dropped a schedule), so every few seconds the sweeper looks
for work that is overdue and rings for it again. Each job checks the database before
acting, so a ring too many does nothing.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy import select

from dispatcher.control_rooms import events
from dispatcher.runtime import Runtime
from dispatcher.store import inbox
from dispatcher.store.models import Incident, Message
from dispatcher.store.reports import DeliveryReport

log = logging.getLogger(__name__)

# Timed work is left this long to its own doorbell before the sweeper rings for it.
GRACE = timedelta(seconds=2)


def overdue(rt: Runtime) -> list[tuple[str, tuple]]:
    """Return the jobs for every piece of work that is overdue now."""
    now = rt.clock.now()
    lease, idle = rt.settings.sending.lease, rt.settings.queue.sweep_interval
    jobs: list[tuple[str, tuple]] = []
    with rt.transaction() as session:
        # A message still queued a lease after it was written (or after its retry time) has
        # lost its doorbell: a running fan-out claims its messages within that, and ringing
        # sooner would start a second fan-out beside it, past SEND_CONCURRENCY.
        waited = Message.next_attempt_at.is_(None) | (Message.next_attempt_at <= now - GRACE)
        stuck = session.scalars(
            select(Message.id).where(
                Message.direction == "out", Message.sid.is_(None),
                ((Message.status == "queued") & waited & (Message.updated_at <= now - lease))
                | ((Message.status == "sending") & (Message.updated_at <= now - lease)),
            ).order_by(Message.id)
        ).all()
        if stuck:
            jobs.append(("deliver", (list(stuck),)))
        for incident_id, wave in session.execute(
            select(Incident.id, Incident.wave).where(
                Incident.state == "open", Incident.next_wave_at <= now - GRACE
            )
        ):
            jobs.append(("wave", (incident_id, wave)))
        for incident_id in events.due_incidents(session, now - GRACE):
            jobs.append(("push", (incident_id,)))
        for (incident_id,) in session.execute(
            select(Incident.id).where(
                Incident.follow_up_at <= now - GRACE, Incident.followed_up_at.is_(None)
            )
        ):
            jobs.append(("follow_up", (incident_id,)))
        for message_id in inbox.due(session, Message, Message.created_at,
                                    Message.direction == "in", now=now, idle=idle):
            jobs.append(("reply", (message_id,)))
        for report_id in inbox.due(session, DeliveryReport, DeliveryReport.received_at,
                                   now=now, idle=idle):
            jobs.append(("report", (report_id,)))
    return jobs


def sweep(rt: Runtime, run=None) -> int:
    """Ring for every overdue job; run it here when the queue cannot be reached.

    Returns how many jobs were found.
    """
    jobs = overdue(rt)
    for job, args in jobs:
        log.info("sweeper: %s overdue, ringing again", job)
        if not rt.queue.enqueue(job, *args) and run is not None:
            run(job, args)
    return len(jobs)


class Sweeper:
    """A daemon thread that sweeps every few seconds, beside a queue consumer."""

    def __init__(self, rt: Runtime, every_s: float, run=None):
        self._rt, self._every, self._run = rt, every_s, run
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start sweeping in the background (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="sweeper", daemon=True)
            self._thread.start()

    def stop(self, wait_s: float = 10.0) -> None:
        """End the thread after its current round; wait up to `wait_s` for that round."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(wait_s)

    def _loop(self) -> None:
        """Sweep at once (a restart finds a dead worker's claims), then every few seconds.

        A failing round is logged and the next one runs.
        """
        while True:
            try:
                sweep(self._rt, self._run)
            except Exception:  # noqa: BLE001 - the sweeper must outlive one bad round
                log.exception("sweep failed")
            if self._stop.wait(self._every):
                return
