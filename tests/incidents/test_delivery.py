"""Delivery failures decide on the alert as it is once the incident is locked."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from dispatcher.incidents import records, undelivered
from dispatcher.store.models import Alert, Message
from tests.builders import create_incident, make_control_room, make_volunteer


def test_a_failure_report_racing_a_wave_end_neither_overwrites_it_nor_asks_another(
    client, rt, sms
):
    if rt.engine.dialect.name != "postgresql":
        pytest.skip("needs concurrent transactions")
    room = make_control_room(rt)
    make_volunteer(rt, north_m=100)
    create_incident(client, room, rt)
    make_volunteer(rt, north_m=150)  # someone a replacement could ask
    with rt.transaction() as session:
        alert_id = session.scalars(select(Alert.id)).one()
        message_id = session.scalars(select(Message.id).where(Message.alert_id == alert_id)).one()
    locked, release = threading.Event(), threading.Event()

    def wave_end():
        """Expire the alert while holding the incident's lock until told to let go."""
        with rt.transaction() as session:
            alert = session.get(Alert, alert_id)
            records.lock_incident(session, alert.incident_id)
            alert.state = "expired"
            session.flush()
            locked.set()
            release.wait(timeout=10)

    thread = threading.Thread(target=wave_end)
    thread.start()
    assert locked.wait(timeout=10)
    # The report waits for the lock; the wave's end commits while it waits.
    threading.Timer(0.5, release.set).start()

    asked = undelivered.after_failure(rt, message_id, 30003, "number")

    thread.join(timeout=10)
    assert asked == 0
    with rt.transaction() as session:
        assert [a.state for a in session.scalars(select(Alert).order_by(Alert.id))] == ["expired"]
