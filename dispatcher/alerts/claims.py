"""Claiming volunteers for alerts: one open incident at a time each, and the fatigue cap held.

Several incidents may pick from the same volunteers at the same moment, on several workers.
What a volunteer's eligibility depends on (alerted for another open incident, alerts in the
last 24 hours, a recent incident) is first read without locks, to rank and pick; then each
picked volunteer's row is locked (`SELECT ... FOR UPDATE SKIP LOCKED`) and their eligibility
read again. Under READ COMMITTED the second read sees every alert committed before the lock
was taken, and the lock keeps any other transaction from alerting them until this one
commits. A volunteer another transaction holds is skipped, not waited for: nobody waits on
another incident's wave, there is no deadlock, and the next best volunteer is asked instead.
SQLite takes its write lock at BEGIN (`store.db`), so there transactions never overlap.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatcher.alerts import lifecycle
from dispatcher.domain import policy as rules
from dispatcher.store.models import Alert, Incident, Responder

# Why a picked volunteer was not alerted after all, for the timeline.
TAKEN = "being alerted for another incident"


def claim(
    session: Session, policy: rules.Policy, picked: Sequence[rules.Candidate], *,
    now: datetime, on: date,
) -> tuple[list[rules.Candidate], dict[str, int]]:
    """Lock the picked volunteers and check them again; return those won, and why others not.

    The locks hold until the caller's transaction ends, with the alerts it writes.
    """
    if not picked:
        return [], {}
    locked = lock_volunteers(session, [c.responder_id for c in picked])
    fresh = volunteers_for(session, locked, now, policy.rest_after_incident)
    won: list[rules.Candidate] = []
    lost: dict[str, int] = {}
    for candidate in picked:
        volunteer = fresh.get(candidate.responder_id)
        reason = TAKEN if volunteer is None else rules.ineligibility(policy, volunteer, on=on,
                                                                      now=now)
        if reason:
            lost[reason] = lost.get(reason, 0) + 1
        else:
            won.append(candidate)
    return won, lost


def lock_volunteers(session: Session, responder_ids: Iterable[int]) -> set[int]:
    """Lock these volunteers' rows until commit; return those locked (others hold the rest)."""
    ids = sorted(set(responder_ids))
    if not ids:
        return set()
    return set(session.scalars(
        select(Responder.id).where(Responder.id.in_(ids)).order_by(Responder.id)
        .with_for_update(skip_locked=True)
    ))


def volunteers_for(
    session: Session, responder_ids: Iterable[int], now: datetime,
    rest: timedelta = timedelta(hours=4),
) -> dict[int, rules.Volunteer]:
    """Load what eligibility and ranking need for these volunteers, in one statement.

    `rest` is how far back an incident they went to counts (the policy's rest period).
    Alerts that never reached a volunteer count neither towards fatigue nor as their
    latest alert. Each figure is a subquery on the volunteer's own alerts (indexed by
    volunteer), so the cost follows the volunteers asked about, not the alerts kept.
    """
    ids = sorted(set(responder_ids))
    if not ids:
        return {}
    mine = Alert.responder_id == Responder.id
    reached = Alert.state != lifecycle.FAILED
    engaged = (
        select(Alert.id).select_from(Alert).join(Incident, Incident.id == Alert.incident_id)
        .where(mine, Alert.state.in_(lifecycle.ENGAGED), Incident.state == "open")
        .exists()
    )
    day = (select(func.count()).select_from(Alert)
           .where(mine, reached, Alert.created_at >= now - timedelta(hours=24))
           .scalar_subquery())
    latest = select(func.max(Alert.created_at)).where(mine, reached).scalar_subquery()
    # They rest from the end of the incident they went to (or from their YES, while the
    # incident has not been ended).
    ended = func.coalesce(Incident.closed_at, Alert.responded_at)
    went = (
        select(func.max(ended)).select_from(Alert)
        .join(Incident, Incident.id == Alert.incident_id)
        .where(mine, Alert.role.is_not(None), Alert.responded_at.is_not(None),
               ended >= now - rest)
        .scalar_subquery()
    )
    rows = session.execute(
        select(Responder.id, Responder.birth_year, Responder.cert_expires, Responder.status,
               Responder.paused_until, Responder.travel_mode, engaged.label("engaged"),
               day.label("day"), latest.label("latest"), went.label("went"))
        .where(Responder.id.in_(ids))
        # Read again, not from the session's memory: a lock may have waited on a change.
        .execution_options(populate_existing=True)
    ).all()
    return {
        r.id: rules.Volunteer(
            id=r.id, birth_year=r.birth_year, cert_expires=_date(r.cert_expires),
            status=r.status, paused_until=_aware(r.paused_until), engaged=bool(r.engaged),
            alerts_24h=int(r.day or 0), travel_mode=r.travel_mode,
            last_alerted_at=_aware(r.latest), last_went_at=_aware(r.went),
        )
        for r in rows
    }


def _date(value: date | str) -> date:
    """Read a date column (SQLite may give text back from a raw expression)."""
    return value if isinstance(value, date) else date.fromisoformat(value)


def _aware(value: datetime | None) -> datetime | None:
    """Read an aggregate time as aware UTC (SQLite gives aggregates back as naive text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
