"""An alert's life: its states, the moves between them, and the lock every move is made under.

    pending --sent--> sent --delivered--> delivered        (the waiting states)
       \\_______________|______________________/
                       |
        accept ------> accepted --decline--> declined
        decline -----> declined
        expire ------> expired       (the wave ended in silence; a late YES may still come)
        fail --------> failed        (the text could not be delivered)
        stand_down --> stood_down    (the incident ended, or enough were going already)

This module is the only place that assigns `Alert.state`. Each move is one function that
checks the state it starts from, says in the log why it was made, and tells whether it was.
A move that depends on what others may have done meanwhile (a reply, a delivery report, a
wave's end) is decided after `lock`: the incident's row is locked and the alert read again,
so the moves of one incident happen one at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dispatcher.store.locks import lock_incident
from dispatcher.store.models import Alert, Incident

log = logging.getLogger(__name__)

PENDING, SENT, DELIVERED = "pending", "sent", "delivered"
ACCEPTED, DECLINED, EXPIRED, FAILED, STOOD_DOWN = (
    "accepted", "declined", "expired", "failed", "stood_down")
STATES = (PENDING, SENT, DELIVERED, ACCEPTED, DECLINED, EXPIRED, FAILED, STOOD_DOWN)
# Alerted and not yet answered: a wave's end expires these.
WAITING = (PENDING, SENT, DELIVERED)
# These keep a volunteer busy while the incident is open.
ENGAGED = (*WAITING, ACCEPTED)
# A YES may still be taken from these (a late one after a wave's end, a change of mind).
ANSWERABLE = (*WAITING, EXPIRED, DECLINED, FAILED)


def lock(session: Session, alert: Alert) -> Incident:
    """Lock the alert's incident until commit and read the alert again; return the incident.

    Whatever changed the alert meanwhile (a reply, a report, a wave's end) is seen now, and
    nobody else changes it before this transaction ends.
    """
    incident = lock_incident(session, alert.incident_id)
    session.refresh(alert)
    return incident


def create(session: Session, now: datetime, **fields) -> Alert:
    """Write a new alert, pending until its text is with the provider."""
    alert = Alert(state=PENDING, created_at=now, updated_at=now, **fields)
    session.add(alert)
    session.flush()
    return alert


def create_many(session: Session, now: datetime, rows: list[dict]) -> list[Alert]:
    """Write several new alerts at once (one flush), each pending; return them in order."""
    alerts = [Alert(state=PENDING, created_at=now, updated_at=now, **fields) for fields in rows]
    session.add_all(alerts)
    session.flush()
    return alerts


def mark_sent(session: Session, alert_id: int, now: datetime) -> bool:
    """Record that the provider took the alert's text; only a pending alert moves."""
    moved = session.execute(
        update(Alert).where(Alert.id == alert_id, Alert.state == PENDING)
        .values(state=SENT, updated_at=now)
    ).rowcount
    if moved:
        log.info("alert %s: pending -> sent (the provider took the text)", alert_id)
    return bool(moved)


def mark_delivered(alert: Alert, now: datetime) -> bool:
    """Record a delivery report; an answer or an end already recorded stays."""
    return _move(alert, DELIVERED, (PENDING, SENT), now, "the text was delivered")


def accept(alert: Alert, now: datetime, *, role: str, aed_id: int | None, eta_s: float) -> bool:
    """Record a YES with the role given."""
    moved = _move(alert, ACCEPTED, ANSWERABLE + (STOOD_DOWN,), now, f"said yes, role {role}")
    if moved:
        alert.role, alert.aed_id, alert.eta_s, alert.responded_at = role, aed_id, eta_s, now
    return moved


def decline(alert: Alert, now: datetime, why: str = "said no") -> bool:
    """Record a NO, also a change of mind after YES: the volunteer is not going."""
    moved = _move(alert, DECLINED, ANSWERABLE + (ACCEPTED,), now, why)
    if moved:
        alert.role, alert.aed_id, alert.responded_at = None, None, now
    return moved


def turn_away(alert: Alert, now: datetime) -> bool:
    """Record a YES that came when enough were going: thanked and stood down."""
    moved = _move(alert, STOOD_DOWN, ANSWERABLE, now, "said yes when enough were going")
    if moved:
        alert.responded_at = now
    return moved


def expire(alerts: Iterable[Alert], now: datetime) -> int:
    """End the wait of alerts nobody answered before their wave ended; return how many."""
    return sum(_move(a, EXPIRED, WAITING, now, "no answer before the wave ended") for a in alerts)


def fail(alert: Alert, now: datetime, code: int | None) -> bool:
    """Record that the alert could not reach the volunteer."""
    return _move(alert, FAILED, WAITING, now, f"not delivered (error {code})")


def stand_down(alert: Alert, now: datetime, why: str) -> bool:
    """Release a volunteer who was alerted or going: the incident has ended."""
    return _move(alert, STOOD_DOWN, ENGAGED, now, why)


def waiting(session: Session, incident_id: int) -> list[Alert]:
    """Return the incident's alerts that are still waiting for an answer."""
    return list(session.scalars(
        select(Alert).where(Alert.incident_id == incident_id, Alert.state.in_(WAITING))
        .order_by(Alert.id)
    ))


def going_roles(session: Session, incident_id: int) -> list[str]:
    """Return the roles of the volunteers who accepted and are going."""
    return list(session.scalars(
        select(Alert.role).where(
            Alert.incident_id == incident_id, Alert.state == ACCEPTED, Alert.role.is_not(None)
        )
    ))


def taken_aeds(session: Session, incident_id: int) -> set[int]:
    """Return the AEDs that volunteers going to the incident are fetching already."""
    return set(session.scalars(
        select(Alert.aed_id).where(
            Alert.incident_id == incident_id, Alert.state == ACCEPTED, Alert.aed_id.is_not(None)
        )
    ))


def _move(alert: Alert, to: str, allowed: tuple[str, ...], now: datetime, why: str) -> bool:
    """Move an alert to a state if it is in one the move starts from; log why either way."""
    if alert.state not in allowed:
        log.debug("alert %s stays %s: no move to %s (%s)", alert.id, alert.state, to, why)
        return False
    log.info("alert %s: %s -> %s (%s)", alert.id, alert.state, to, why)
    alert.state, alert.updated_at = to, now
    return True
