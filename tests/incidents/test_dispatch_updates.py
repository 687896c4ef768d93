"""A control room's incident.updated: a corrected location searches again, and those going
are told the new address in their language; nothing changes for an update that changes nothing.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.builders import (
    CENTRE,
    create_incident,
    make_volunteer,
    offset,
    post_about,
    say,
    texted,
    wave_details,
)

# The corrected location: 700 m north of where the incident was first reported.
MOVED = offset(700)


@pytest.fixture(autouse=True)
def _small_waves(settings, twilio_hooks):
    """Alert two per wave; accept the signed Twilio webhooks."""
    settings["WAVE_SIZE"] = 2


def location(at, accuracy_m: int = 10) -> dict:
    """Return the location field of an event."""
    return {"lat": at[0], "lon": at[1], "accuracy_m": accuracy_m}


def waves(status: dict) -> list[tuple[int, int, int, str]]:
    """Return (wave, radius, alerted, why) of each search the timeline records."""
    return [(w["wave"], w["radius_m"], w["alerted"], w["why"]) for w in wave_details(status)]


# --- a corrected location ------------------------------------------------------------------


def test_a_corrected_location_sends_a_wave_to_the_nearest_to_the_new_spot(
    client, rt, sms, queue, room
):
    south = [make_volunteer(rt, north_m=m) for m in (-200, -300)]
    # From the new spot these are 50, 100, 300 and 600 m away.
    north = [make_volunteer(rt, north_m=m) for m in (650, 800, 1000, 1300)]
    create_incident(client, room, rt)
    assert texted(sms) == [v.phone for v in south]
    rt.clock.advance(seconds=10)

    status = post_about(client, room, rt, "incident.updated", location=location(MOVED))

    assert texted(sms, 2) == [north[0].phone, north[1].phone]
    assert waves(status)[-1] == (2, 1000, 2, "location corrected")
    assert status["wave"] == 2
    # The new wave has a full timeout of its own.
    assert status["next_wave_at"] == "2026-11-23T10:00:40Z"
    rt.clock.advance(seconds=30)
    queue.run_due(rt.clock.now())
    assert texted(sms, 4) == [north[2].phone, north[3].phone]


def test_a_corrected_location_after_the_targets_are_met_asks_nobody_new(
    client, rt, sms, room
):
    rt.policy = replace(rt.policy, target_aed=0)
    first, second = (make_volunteer(rt, north_m=m) for m in (100, 200))
    make_volunteer(rt, north_m=650)
    create_incident(client, room, rt)
    say(client, first, "YES")
    since = len(sms.sent)

    status = post_about(client, room, rt, "incident.updated", location=location(MOVED))

    assert texted(sms, since) == [first.phone]  # the one going, told where to go
    assert status["wave"] == 1
    assert status["next_wave_at"] is None


def test_a_better_accuracy_for_the_same_spot_searches_nothing_again(client, rt, sms, room):
    make_volunteer(rt, north_m=100)
    make_volunteer(rt, north_m=200)
    make_volunteer(rt, north_m=300)
    create_incident(client, room, rt)

    status = post_about(client, room, rt, "incident.updated",
                        location=location(CENTRE, accuracy_m=5))

    assert len(sms.sent) == 2
    assert status["wave"] == 1
    assert status["timeline"][-1] == {
        "at": "2026-11-23T10:00:00Z", "event": "incident.updated",
        "detail": {"fields": ["accuracy_m"]},
    }


# --- telling those who are going -----------------------------------------------------------


@pytest.fixture
def going(client, rt, room):
    """An English and a Swedish volunteer who said YES, and one alerted who has not answered."""
    english = make_volunteer(rt, north_m=100, language="en")
    swedish = make_volunteer(rt, north_m=200, language="sv")
    silent = make_volunteer(rt, north_m=300)
    rt.policy = replace(rt.policy, wave_size=3)
    create_incident(client, room, rt)
    say(client, english, "YES")
    say(client, swedish, "JA")
    return english, swedish, silent


def test_those_going_get_the_new_address_in_their_language_and_nobody_else_does(
    client, rt, sms, room, going
):
    english, swedish, silent = going
    since = len(sms.sent)

    post_about(client, room, rt, "incident.updated", address="Vasagatan 1, 2 tr",
               notes="Gate code 9999")

    assert sorted(texted(sms, since)) == sorted([english.phone, swedish.phone])
    to_english, to_swedish = sms.to(english.phone)[-1], sms.to(swedish.phone)[-1]
    assert to_english.startswith("UPDATE for alert ")
    assert "the patient is at Vasagatan 1, 2 tr. Gate code 9999." in to_english
    assert to_swedish.startswith("NY INFO om larm ")
    assert "patienten finns på Vasagatan 1, 2 tr." in to_swedish
    assert not any("Vasagatan" in body for body in sms.to(silent.phone))


def test_those_going_get_the_map_link_of_a_corrected_location(client, rt, sms, room, going):
    english, swedish, _ = going

    post_about(client, room, rt, "incident.updated", location=location(MOVED))

    for volunteer in (english, swedish):
        body = sms.to(volunteer.phone)[-1]
        assert f"mlat={MOVED[0]:.5f}&mlon={MOVED[1]:.5f}" in body
        assert "Drottninggatan 53, 3 tr" in body


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"address": "Drottninggatan 53, 3 tr", "notes": "Door code 1234"},
        {"location": location(CENTRE, accuracy_m=20)},
        {"ems_eta_s": 300},
    ],
    ids=["nothing", "same-address-and-notes", "same-location", "ambulance-eta-only"],
)
def test_an_update_that_changes_nothing_for_volunteers_texts_nobody(
    client, rt, sms, room, going, change
):
    since = len(sms.sent)

    status = post_about(client, room, rt, "incident.updated", **change)

    assert texted(sms, since) == []
    assert status["wave"] == 1
    assert [w[0] for w in waves(status)] == [1]


def test_a_corrected_location_of_an_incident_not_for_volunteers_alerts_nobody(
    client, rt, sms, room
):
    make_volunteer(rt, north_m=100)
    make_volunteer(rt, north_m=650)
    create_incident(client, room, rt, patient_age=7)

    status = post_about(client, room, rt, "incident.updated", location=location(MOVED))

    assert sms.sent == []
    assert status["dispatch"] == {"status": "not_dispatched", "reason": "patient under 8"}
    assert status["counts"]["alerted"] == 0
    assert status["next_wave_at"] is None
