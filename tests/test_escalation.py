"""Alerts nobody answers: after the wave timeout (30 s) they expire and others are asked.

The clock stands still until a test moves it, so `timers.expire_overdue` sees exactly the
time the test sets; volunteers reply through the signed Twilio webhook.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dispatcher import timers
from dispatcher.models import Alert, Incident
from tests.builders import (
    create_incident,
    event,
    make_control_room,
    make_volunteer,
    post_event,
    sms_from,
    twilio_settings,
)


@pytest.fixture(autouse=True)
def _small_waves(settings):
    """Alert two per wave, so there is always someone left to ask; accept signed webhooks."""
    settings.update(twilio_settings())
    settings["WAVE_SIZE"] = 2


@pytest.fixture
def room(rt):
    """A control room with a client and a bearer token."""
    return make_control_room(rt)


@pytest.fixture
def volunteers(rt):
    """Six volunteers north of the patient, 100 m apart: the nearer, the sooner asked."""
    return [make_volunteer(rt, north_m=100 * n) for n in range(1, 7)]


def open_incident(client, room, rt, external_id: str = "CAD-1") -> None:
    """Post an incident.created at the centre."""
    response = create_incident(client, room, rt, external_id)
    assert response.status_code == 202, response.json


def close(client, room, rt, external_id: str = "CAD-1") -> None:
    """Post an incident.closed."""
    now = rt.clock.now()
    response = post_event(client, room, event("incident.closed", {"id": external_id}, now),
                          at=now)
    assert response.status_code == 202, response.json


def texted(sms, since: int = 0) -> list[str]:
    """Return the addresses texted from message `since` on, in order."""
    return [m.to for m in sms.sent[since:]]


def states(rt, external_id: str = "CAD-1") -> dict[int, str]:
    """Return the state of each of an incident's alerts, by volunteer id."""
    with rt.transaction() as session:
        return dict(session.execute(
            select(Alert.responder_id, Alert.state).join(Incident)
            .where(Incident.external_id == external_id)
        ).all())


def test_unanswered_alerts_expire_after_the_timeout_and_as_many_are_asked(
    client, rt, sms, room, volunteers
):
    first, second, third, fourth, *rest = volunteers
    open_incident(client, room, rt)
    assert texted(sms) == [first.phone, second.phone]
    rt.clock.advance(seconds=31)

    assert timers.expire_overdue(rt) == 2

    assert texted(sms, 2) == [third.phone, fourth.phone]
    assert all(body.startswith("CPR ALERT") for body in (m.body for m in sms.sent[2:]))
    assert states(rt) == {
        first.id: "expired", second.id: "expired", third.id: "sent", fourth.id: "sent",
    }
    assert not any(sms.to(v.phone) for v in rest)


@pytest.mark.parametrize("seconds", [0, 29, 29.999])
def test_nothing_expires_before_the_timeout(client, rt, sms, room, volunteers, seconds):
    open_incident(client, room, rt)
    rt.clock.advance(seconds=seconds)

    assert timers.expire_overdue(rt) == 0

    assert len(sms.sent) == 2
    assert set(states(rt).values()) == {"sent"}


def test_alerts_expire_at_exactly_the_timeout(client, rt, sms, room, volunteers):
    open_incident(client, room, rt)
    rt.clock.advance(seconds=30)

    assert timers.expire_overdue(rt) == 2


def test_the_replacements_expire_in_turn(client, rt, sms, room, volunteers):
    open_incident(client, room, rt)
    rt.clock.advance(seconds=31)
    timers.expire_overdue(rt)
    rt.clock.advance(seconds=15)
    assert timers.expire_overdue(rt) == 0
    rt.clock.advance(seconds=16)

    assert timers.expire_overdue(rt) == 2

    assert texted(sms, 4) == [volunteers[4].phone, volunteers[5].phone]


def test_alerts_of_a_closed_incident_are_not_replaced(client, rt, sms, room, volunteers):
    open_incident(client, room, rt)
    close(client, room, rt)
    since = len(sms.sent)
    rt.clock.advance(seconds=31)

    assert timers.expire_overdue(rt) == 0

    assert texted(sms, since) == []
    assert set(states(rt).values()) == {"stood_down"}


def test_an_incident_closed_after_expiry_asks_nobody_more(client, rt, sms, room, volunteers):
    open_incident(client, room, rt)
    rt.clock.advance(seconds=31)
    timers.expire_overdue(rt)
    close(client, room, rt)
    since = len(sms.sent)
    rt.clock.advance(seconds=31)

    assert timers.expire_overdue(rt) == 0

    assert texted(sms, since) == []
    assert len(states(rt)) == 4


def test_a_late_yes_after_expiry_is_accepted_and_asks_nobody_more(
    client, rt, sms, room, volunteers
):
    first = volunteers[0]
    open_incident(client, room, rt)
    rt.clock.advance(seconds=31)
    timers.expire_overdue(rt)
    since = len(sms.sent)
    rt.clock.advance(seconds=10)

    assert sms_from(client, first, "YES").status_code == 200

    assert texted(sms, since) == [first.phone]
    assert sms.to(first.phone)[-1].startswith("GO NOW: Drottninggatan 53, 3 tr.")
    assert states(rt)[first.id] == "accepted"
    assert len(states(rt)) == 4
    # Their alert is answered now: the timer neither expires it again nor replaces it.
    assert timers.expire_overdue(rt) == 0
    assert texted(sms, since) == [first.phone]
    assert states(rt)[first.id] == "accepted"


def test_a_late_no_after_expiry_asks_nobody_more(client, rt, sms, room, volunteers):
    first = volunteers[0]
    open_incident(client, room, rt)
    rt.clock.advance(seconds=31)
    timers.expire_overdue(rt)
    since = len(sms.sent)

    assert sms_from(client, first, "NO").status_code == 200

    # Someone was asked in their place when the alert expired; once is enough.
    assert texted(sms, since) == [first.phone]
    assert sms.to(first.phone)[-1].startswith("Thank you for answering")
    assert states(rt)[first.id] == "declined"
    assert len(states(rt)) == 4


@pytest.fixture
def one_place(settings):
    """Let one volunteer go."""
    settings["MAX_ACCEPTED"] = 1


@pytest.mark.usefixtures("one_place")
def test_a_late_yes_after_the_targets_are_met_is_told_enough_are_going(
    client, rt, sms, room, volunteers
):
    first, second, third = volunteers[:3]
    open_incident(client, room, rt)
    rt.clock.advance(seconds=31)
    timers.expire_overdue(rt)
    assert sms_from(client, third, "YES").status_code == 200
    since = len(sms.sent)

    assert sms_from(client, first, "YES").status_code == 200

    assert texted(sms, since) == [first.phone]
    assert sms.to(first.phone)[-1].startswith("Thank you! Enough responders are on the way")
    assert states(rt)[first.id] == "stood_down"
    assert states(rt)[third.id] == "accepted"


def test_expiring_twice_expires_nothing_the_second_time(client, rt, sms, room, volunteers):
    open_incident(client, room, rt)
    rt.clock.advance(seconds=31)
    assert timers.expire_overdue(rt) == 2
    since = len(sms.sent)

    assert timers.expire_overdue(rt) == 0

    assert texted(sms, since) == []
    assert len(states(rt)) == 4


def test_expiring_with_no_incidents_does_nothing(rt, sms):
    assert timers.expire_overdue(rt) == 0
    assert sms.sent == []


def test_flask_tick_expires_overdue_alerts(app, client, rt, sms, room, volunteers):
    open_incident(client, room, rt)
    rt.clock.advance(seconds=31)

    result = app.test_cli_runner().invoke(args=["tick"])

    assert result.exit_code == 0, result.output
    assert result.output.strip() == "2 alerts expired"
    assert texted(sms, 2) == [volunteers[2].phone, volunteers[3].phone]
    again = app.test_cli_runner().invoke(args=["tick"])
    assert again.output.strip() == "0 alerts expired"
