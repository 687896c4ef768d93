"""Who a wave asks, through the real path: fairness between equals, rest after going.

Incidents are posted as a control room posts them; the clock moves between incidents.
"""

from __future__ import annotations

import pytest

from dispatcher.errors import SmsSendError
from tests.builders import (
    create_incident,
    make_volunteer,
    offset,
    post_about,
    sms_from,
    texted,
    wave_details,
)


@pytest.fixture(autouse=True)
def _one_per_wave(settings, twilio_hooks):
    """Ask one volunteer per wave, so the order of asking shows."""
    settings["WAVE_SIZE"] = 1


def first_wave(status: dict) -> dict:
    """Return the detail of the first search the timeline records."""
    return wave_details(status)[0]


def test_of_two_at_the_same_distance_the_one_alerted_more_recently_goes_second(
    client, rt, sms, queue, room
):
    # A is a few metres nearer: without the fairness rule A would be asked first.
    a = make_volunteer(rt, north_m=298)
    b = make_volunteer(rt, at=offset(0, 300))
    create_incident(client, room, rt, "CAD-0", at=offset(298))  # A is asked for this one
    assert texted(sms) == [a.phone]
    post_about(client, room, rt, "incident.closed", "CAD-0")
    rt.clock.advance(hours=1)
    since = len(sms.sent)

    create_incident(client, room, rt, "CAD-1")
    rt.clock.advance(seconds=30)
    queue.run_due(rt.clock.now())

    alerts = [m.to for m in sms.sent[since:] if m.body.startswith("CPR ALERT")]
    assert alerts == [b.phone, a.phone]


def test_fairness_does_not_put_a_clearly_farther_volunteer_first(client, rt, sms, room):
    near = make_volunteer(rt, north_m=100)
    far = make_volunteer(rt, north_m=600)
    create_incident(client, room, rt, "CAD-0", at=offset(100))
    post_about(client, room, rt, "incident.closed", "CAD-0")
    rt.clock.advance(hours=1)
    since = len(sms.sent)

    create_incident(client, room, rt, "CAD-1")

    assert texted(sms, since) == [near.phone]
    assert not sms.to(far.phone)


def went_to_an_incident(client, room, rt, volunteer, *, lasting_hours: float) -> None:
    """Alert the volunteer, have them say YES, and close the incident hours later."""
    create_incident(client, room, rt, "CAD-0")
    assert sms_from(client, volunteer, "YES").status_code == 200
    rt.clock.advance(hours=lasting_hours)
    post_about(client, room, rt, "incident.closed", "CAD-0")


@pytest.mark.parametrize(
    ("hours_after_close", "asked"), [(1, False), (3.9, False), (4, True), (6, True)]
)
def test_a_volunteer_who_went_rests_four_hours_after_the_incident_ends(
    client, rt, sms, room, hours_after_close, asked
):
    volunteer = make_volunteer(rt, north_m=300)
    # The incident lasts three hours: the rest counts from its end, not from the YES.
    went_to_an_incident(client, room, rt, volunteer, lasting_hours=3)
    rt.clock.advance(hours=hours_after_close)
    since = len(sms.sent)

    status = post_and_read(client, room, rt, "CAD-1")

    assert (texted(sms, since) == [volunteer.phone]) is asked
    if not asked:
        assert first_wave(status)["passed_over"] == {"resting after an incident": 1}


def post_and_read(client, room, rt, external_id: str) -> dict:
    """Post an incident.created at the centre; return its status."""
    response = create_incident(client, room, rt, external_id)
    assert response.status_code == 202, response.json
    return response.json


def test_a_volunteer_who_said_no_does_not_rest(client, rt, sms, room):
    volunteer = make_volunteer(rt, north_m=300)
    create_incident(client, room, rt, "CAD-0")
    assert sms_from(client, volunteer, "NO").status_code == 200
    post_about(client, room, rt, "incident.closed", "CAD-0")
    rt.clock.advance(minutes=10)
    since = len(sms.sent)

    create_incident(client, room, rt, "CAD-1")

    assert texted(sms, since) == [volunteer.phone]


def test_an_alert_that_never_reached_a_volunteer_does_not_tire_them(client, rt, sms, room):
    volunteer = make_volunteer(rt, north_m=300)
    sms.failures[volunteer.phone] = SmsSendError("unreachable", provider_code=30003)
    for n in range(3):
        create_incident(client, room, rt, f"CAD-FAILED-{n}")
        post_about(client, room, rt, "incident.closed", f"CAD-FAILED-{n}")
    del sms.failures[volunteer.phone]

    create_incident(client, room, rt, "CAD-1")

    assert sms.to(volunteer.phone)[-1].startswith("CPR ALERT")
