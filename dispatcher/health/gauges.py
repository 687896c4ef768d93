"""The gauges read when /metrics is scraped: work waiting, and how far the index is behind.

They are read by the process that answers the scrape, in one statement each: the depth of
work waiting in the database (the queue's truth), and that process's own index lag. A
database that does not answer leaves them out of the scrape rather than failing it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, or_, select

from dispatcher.health.readiness import change_seq, index_lag
from dispatcher.runtime import Runtime
from dispatcher.store.models import Incident, Message, OutgoingEvent

log = logging.getLogger(__name__)


class ScrapedGauges:
    """A Prometheus collector of values read from the database at each scrape."""

    def __init__(self, rt: Runtime):
        self._rt = rt

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Yield the queue depth by kind of work, and this process's index lag."""
        try:
            depth = waiting_work(self._rt)
            lag = index_lag(self._rt, change_seq(self._rt))
        except Exception as exc:  # noqa: BLE001 - a scrape must answer while the database is away
            log.warning("metrics: the database did not answer (%s)", type(exc).__name__)
            return
        family = GaugeMetricFamily(
            "dispatcher_queue_depth",
            "Work waiting in the database: texts not yet with the provider, waves due, events "
            "due to control rooms, volunteers' texts not yet acted on.",
            labels=["work"],
        )
        for work, count in depth.items():
            family.add_metric([work], count)
        yield family
        yield GaugeMetricFamily(
            "dispatcher_index_lag",
            "Position changes the answering process's spatial index is behind the database.",
            value=lag,
        )


def waiting_work(rt: Runtime) -> dict[str, int]:
    """Count the work waiting now, by kind, in one statement."""
    now = rt.clock.now()
    counts = {
        "messages": select(func.count()).where(
            Message.direction == "out", Message.sid.is_(None),
            Message.status.in_(("queued", "sending"))),
        "waves": select(func.count()).where(
            Incident.state == "open", Incident.next_wave_at <= now),
        "events": select(func.count()).where(
            OutgoingEvent.state == "pending",
            or_(OutgoingEvent.next_attempt_at.is_(None), OutgoingEvent.next_attempt_at <= now)),
        "inbound": select(func.count()).where(
            Message.direction == "in", Message.processed_at.is_(None),
            Message.gave_up_at.is_(None)),
    }
    statement = select(*(q.scalar_subquery().label(work) for work, q in counts.items()))
    with rt.engine.connect() as conn:
        row = conn.execute(statement).one()
    return {work: int(value) for work, value in row._mapping.items()}
