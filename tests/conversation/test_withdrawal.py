"""STOP wins: a volunteer who opts out, or takes back a YES, is withdrawn and replaced at once.

A STOP is a NO to every open alert, also to one they had said YES to: they stop counting
toward the targets, the next volunteer is asked, and the control room is told with
`responder.withdrawn`. An alert still waiting for its turn to be sent when the STOP comes is
never sent.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dispatcher.messaging import sending
from dispatcher.store.models import Message
from tests.builders import (
    alert_of,
    make_volunteer,
    open_incident,
    say,
    sms_arrives,
    status_of,
    texted,
)

EVENTS_URL = "https://cad.example.org/events"
pytestmark = pytest.mark.usefixtures("twilio_hooks")


@pytest.fixture
def settings(settings):
    """One CPR volunteer and no AED runner are enough."""
    settings.update(TARGET_CPR=1, TARGET_AED=0, WAVE_SIZE=1)
    return settings


@pytest.fixture
def room_options():
    """The control room gave a URL for events."""
    return {"events_url": EVENTS_URL}


def withdrawals(poster) -> list[dict]:
    """Return the data of every responder.withdrawn event pushed."""
    return [p.event["data"] for p in poster.posts if p.event["type"] == "responder.withdrawn"]


def test_stop_after_yes_withdraws_the_volunteer_and_asks_the_next(client, rt, poster, room):
    going, next_one = make_volunteer(rt, north_m=100), make_volunteer(rt, north_m=300)
    open_incident(client, room, rt)
    say(client, going, "YES")
    assert status_of(client, room)["counts"]["accepted"] == 1

    say(client, going, "STOP")

    assert alert_of(rt, going).state == "declined"
    assert alert_of(rt, next_one).state in ("pending", "sent", "delivered")
    status = status_of(client, room)
    assert status["counts"]["accepted"] == 0 and status["responders"] == []
    assert [w["responder"] for w in withdrawals(poster)] == [going.ref]
    assert withdrawals(poster)[0]["reason"] == "opted out"
    assert withdrawals(poster)[0]["role"] == "cpr"
    [withdrawn] = [e for e in status["timeline"] if e["event"] == "responder.withdrawn"]
    assert withdrawn["detail"] == {"ref": going.ref, "role": "cpr", "reason": "opted out"}


def test_no_after_yes_withdraws_the_volunteer_too(client, rt, poster, room):
    going, next_one = make_volunteer(rt, north_m=100), make_volunteer(rt, north_m=300)
    open_incident(client, room, rt)
    say(client, going, "YES")

    say(client, going, "NO")

    assert alert_of(rt, next_one).state in ("pending", "sent", "delivered")
    assert [(w["responder"], w["reason"]) for w in withdrawals(poster)] == [
        (going.ref, "declined after accepting")]


def test_a_stop_before_any_yes_tells_the_control_room_nothing(client, rt, poster, room):
    asked = make_volunteer(rt, north_m=100)
    make_volunteer(rt, north_m=300)
    open_incident(client, room, rt)

    say(client, asked, "STOP")

    assert alert_of(rt, asked).state == "declined"
    assert withdrawals(poster) == []


def test_an_alert_waiting_for_its_send_when_stop_comes_is_never_sent(rt, sms, queue, client,
                                                                      room):
    volunteer = make_volunteer(rt, north_m=100)
    queue.down = True  # the alert waits for a sender, as in a large fan-out or an outage
    open_incident(client, room, rt)
    queue.down = False  # the reply is taken at once; the alert's doorbell was lost
    sms_arrives(rt, volunteer, "STOP")
    before = len(sms.sent) - 1  # the confirmation went at once
    with rt.transaction() as session:
        waiting = list(session.scalars(select(Message.id).where(Message.status == "queued")))

    sending.deliver(rt, waiting)

    assert texted(sms, before) == [volunteer.phone]  # the STOP's confirmation, nothing else
    with rt.transaction() as session:
        alert_sms = session.scalars(select(Message).where(Message.purpose == "alert")).one()
    assert alert_sms.status == "cancelled" and alert_sms.sid is None


def test_an_alert_to_a_volunteer_who_paused_meanwhile_is_not_sent(rt, sms, queue, client, room):
    volunteer = make_volunteer(rt, north_m=100)
    queue.down = True
    open_incident(client, room, rt)
    queue.down = False  # the reply is taken at once; the alert's doorbell was lost
    sms_arrives(rt, volunteer, "PAUSE 2")
    before = len(sms.sent) - 1  # the confirmation went at once
    with rt.transaction() as session:
        waiting = list(session.scalars(select(Message.id).where(Message.status == "queued")))

    sending.deliver(rt, waiting)

    assert len(texted(sms, before)) == 1  # the confirmation of the pause
    with rt.transaction() as session:
        alert_sms = session.scalars(select(Message).where(Message.purpose == "alert")).one()
    assert alert_sms.status == "cancelled"
