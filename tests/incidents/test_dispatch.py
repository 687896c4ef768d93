"""Opening an incident through the control-room API: who is texted, in what order, what is kept.

Every test posts signed events as a control room does and reads what the recording SMS fake
was asked to send; the clock stands on Monday 2026-11-23 10:00 UTC (11:00 in Stockholm).
"""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest
from sqlalchemy import select

from dispatcher.errors import SmsSendError
from dispatcher.store.models import Alert, Incident, Message
from tests.builders import (
    create_incident,
    make_control_room,
    make_volunteer,
    offset,
    post_about,
    texted,
    wave_details,
)


def wave_entry(status: dict, wave: int = 1) -> dict:
    """Return the detail of a wave's timeline entry from an incident status."""
    return next(w for w in wave_details(status) if w["wave"] == wave)


def alerts_of(rt, external_id: str = "CAD-1") -> list[Alert]:
    """Return the alerts of an incident, oldest first."""
    with rt.transaction() as session:
        return list(session.scalars(
            select(Alert).join(Incident).where(Incident.external_id == external_id)
            .order_by(Alert.id)
        ))


# --- eligibility, end to end -------------------------------------------------------------


INELIGIBLE = {
    # name: (builder arguments given the clock's now, reason counted in the wave's timeline)
    "certificate expired": (
        lambda now: {"north_m": 300, "cert_expires": now.date() - timedelta(days=1)},
        "certificate expired"),
    "under 18": (lambda now: {"north_m": 300, "birth_year": 2008}, "under age"),
    "opted out": (lambda now: {"north_m": 300, "status": "opted_out"}, "opted out"),
    "paused": (lambda now: {"north_m": 300, "paused_until": now + timedelta(hours=1)},
               "paused"),
    "too far": (lambda now: {"north_m": 1200}, None),
    "stale live position and no place": (
        lambda now: {"live": offset(300), "live_at": now - timedelta(minutes=20)}, None),
    "work place outside its schedule": (
        lambda now: {"north_m": 300, "place_kind": "work", "schedule": "Sa-Su 10:00-12:00"},
        None),
    "work place whose schedule ended an hour ago in local time": (
        lambda now: {"north_m": 300, "place_kind": "work", "schedule": "Mo 08:00-10:30"},
        None),
}


@pytest.mark.parametrize(("builder", "reason"), INELIGIBLE.values(), ids=INELIGIBLE.keys())
def test_an_ineligible_volunteer_is_not_texted_while_an_eligible_one_is(
    client, rt, sms, builder, reason
):
    # The ineligible one is registered first, so on a tie of distance it ranks first.
    ineligible = make_volunteer(rt, **builder(rt.clock.now()))
    eligible = make_volunteer(rt, north_m=300)
    room = make_control_room(rt)

    response = create_incident(client, room, rt)

    assert response.status_code == 202, response.json
    assert texted(sms) == [eligible.phone]
    assert ineligible.phone not in texted(sms)
    wave = wave_entry(response.json)
    if reason is None:  # the index never offers them: not found at all
        assert (wave["looked_at"], wave["passed_over"]) == (1, {})
    else:
        assert (wave["looked_at"], wave["passed_over"]) == (2, {reason: 1})
    assert [a.responder_id for a in alerts_of(rt)] == [eligible.id]


ELIGIBLE_AT_THE_EDGE = {
    "certificate expiring today": lambda now: {"cert_expires": now.date()},
    "born 2007, so at least 18": lambda now: {"birth_year": 2007},
    "pause ended a minute ago": lambda now: {"paused_until": now - timedelta(minutes=1)},
    "work place open now (Mo-Fr 08:00-17:00)": lambda now: {
        "place_kind": "work", "schedule": "Mo-Fr 08:00-17:00"},
    "work place open now in local time only (Mo 10:30-11:30)": lambda now: {
        "place_kind": "work", "schedule": "Mo 10:30-11:30"},
    "live position 10 minutes old": lambda now: {
        "north_m": None, "live": offset(300), "live_at": now - timedelta(minutes=10)},
}


@pytest.mark.parametrize("builder", ELIGIBLE_AT_THE_EDGE.values(),
                         ids=ELIGIBLE_AT_THE_EDGE.keys())
def test_a_volunteer_at_the_edge_of_a_rule_is_still_texted(client, rt, sms, builder):
    volunteer = make_volunteer(rt, **{"north_m": 300, **builder(rt.clock.now())})
    room = make_control_room(rt)

    response = create_incident(client, room, rt)

    assert response.status_code == 202, response.json
    assert texted(sms) == [volunteer.phone]


def test_a_volunteer_just_inside_the_radius_is_texted_and_just_outside_is_not(client, rt, sms):
    inside = make_volunteer(rt, north_m=990)
    make_volunteer(rt, north_m=1010)
    room = make_control_room(rt)

    create_incident(client, room, rt)

    assert texted(sms) == [inside.phone]


def test_a_volunteer_engaged_on_another_open_incident_is_not_texted(client, rt, sms):
    busy = make_volunteer(rt, north_m=300)
    room = make_control_room(rt)
    create_incident(client, room, rt, external_id="CAD-EARLIER")
    assert texted(sms) == [busy.phone]
    free = make_volunteer(rt, north_m=300)
    mark = len(sms.sent)

    response = create_incident(client, room, rt, external_id="CAD-1", at=offset(-50))

    assert texted(sms, mark) == [free.phone]
    assert wave_entry(response.json)["passed_over"] == {"engaged elsewhere": 1}


def test_a_volunteer_is_free_again_once_the_other_incident_is_closed(client, rt, sms):
    volunteer = make_volunteer(rt, north_m=300)
    room = make_control_room(rt)
    create_incident(client, room, rt, external_id="CAD-EARLIER")
    post_about(client, room, rt, "incident.closed", "CAD-EARLIER")
    mark = len(sms.sent)

    create_incident(client, room, rt, external_id="CAD-1")

    assert texted(sms, mark) == [volunteer.phone]


def alert_three_times(client, room, rt, clock, *, hours_apart: int):
    """Alert the volunteers near the centre in three incidents, each closed, hours apart."""
    for n in range(3):
        create_incident(client, room, rt, external_id=f"CAD-EARLIER-{n}")
        post_about(client, room, rt, "incident.closed", f"CAD-EARLIER-{n}")
        clock.advance(hours=hours_apart)


def test_a_volunteer_at_the_fatigue_cap_is_not_texted(client, rt, sms, clock):
    tired = make_volunteer(rt, north_m=300)
    room = make_control_room(rt)
    alert_three_times(client, room, rt, clock, hours_apart=3)
    assert len(alerts_of(rt, "CAD-EARLIER-2")) == 1
    rested = make_volunteer(rt, north_m=300)
    mark = len(sms.sent)

    response = create_incident(client, room, rt, external_id="CAD-1")

    assert texted(sms, mark) == [rested.phone]
    assert tired.phone not in texted(sms, mark)
    assert wave_entry(response.json)["passed_over"] == {"fatigue cap": 1}


def test_the_fatigue_cap_counts_only_the_last_24_hours(client, rt, sms, clock):
    volunteer = make_volunteer(rt, north_m=300)
    room = make_control_room(rt)
    alert_three_times(client, room, rt, clock, hours_apart=9)
    # The first alert was 27 hours ago, the other two 18 and 9 hours ago.
    mark = len(sms.sent)

    create_incident(client, room, rt, external_id="CAD-1")

    assert texted(sms, mark) == [volunteer.phone]


# --- order ------------------------------------------------------------------------------


def test_the_nearest_ten_of_twelve_walkers_are_texted_nearest_first(client, rt, sms):
    distances = [75 * n for n in range(1, 13)]  # 75 m ... 900 m, all within 1,000 m
    shuffled = random.Random(4).sample(distances, len(distances))
    assert shuffled != distances  # so ids do not follow distance
    by_distance = {d: make_volunteer(rt, north_m=d) for d in shuffled}
    room = make_control_room(rt)

    response = create_incident(client, room, rt)

    nearest_ten = [by_distance[d] for d in distances[:10]]
    assert texted(sms) == [v.phone for v in nearest_ten]
    alerts = alerts_of(rt)
    assert [a.responder_id for a in alerts] == [v.id for v in nearest_ten]
    assert [round(a.distance_m) for a in alerts] == distances[:10]
    assert response.json["counts"]["alerted"] == 10
    assert wave_entry(response.json) == {
        "why": "first wave", "wave": 1, "radius_m": 1000, "looked_at": 10, "alerted": 10,
        "passed_over": {},
    }  # the two farthest are never looked at: the search stops when the wave is full


def test_a_wave_never_exceeds_the_wave_size_when_candidates_span_several_chunks(
    client, rt, sms
):
    # More than 200 candidates are checked in chunks of 200. Four eligible volunteers are in
    # the first chunk among 196 who opted out; twelve more come after it.
    early = [make_volunteer(rt, north_m=10 + n) for n in range(4)]
    for n in range(196):
        make_volunteer(rt, north_m=100 + n, status="opted_out")
    late = [make_volunteer(rt, north_m=400 + 10 * n) for n in range(12)]
    room = make_control_room(rt)

    response = create_incident(client, room, rt)

    assert texted(sms) == [v.phone for v in early + late[:6]]
    assert response.json["counts"]["alerted"] == 10


def test_a_cyclist_slightly_farther_is_texted_before_a_walker(make_app, sms):
    # ETA ranks, not distance: 900 m by bike is 900 x 1.3 / 4.5 = 260 s, while 600 m on foot
    # is 600 x 1.3 / 1.6 = 487.5 s. With a wave of one, only the cyclist is texted.
    app = make_app(WAVE_SIZE=1)
    rt, client = app.extensions["dispatcher"], app.test_client()
    make_volunteer(rt, north_m=600, travel_mode="walk")
    cyclist = make_volunteer(rt, north_m=900, travel_mode="bike")
    room = make_control_room(rt)

    create_incident(client, room, rt)

    assert texted(sms) == [cyclist.phone]
    [alert] = alerts_of(rt)
    assert (round(alert.distance_m), round(alert.eta_s)) == (900, 260)


def test_a_walker_and_a_cyclist_are_both_texted_cyclist_first(client, rt, sms):
    walker = make_volunteer(rt, north_m=600, travel_mode="walk")
    cyclist = make_volunteer(rt, north_m=900, travel_mode="bike")
    room = make_control_room(rt)

    create_incident(client, room, rt)

    assert texted(sms) == [cyclist.phone, walker.phone]


# --- positions --------------------------------------------------------------------------


def test_a_fresh_live_position_supersedes_the_registered_home(client, rt, sms, clock):
    away = make_volunteer(rt, north_m=300, live=offset(3000),
                          live_at=clock.now() - timedelta(minutes=2))
    at_home = make_volunteer(rt, north_m=300)
    room = make_control_room(rt)

    response = create_incident(client, room, rt)

    assert texted(sms) == [at_home.phone]
    assert away.phone not in texted(sms)
    assert wave_entry(response.json)["looked_at"] == 1


def test_a_stale_live_position_gives_way_to_the_registered_home(client, rt, sms, clock):
    volunteer = make_volunteer(rt, north_m=300, live=offset(3000),
                               live_at=clock.now() - timedelta(minutes=20))
    room = make_control_room(rt)

    create_incident(client, room, rt)

    assert texted(sms) == [volunteer.phone]
    [alert] = alerts_of(rt)
    assert (alert.position_kind, round(alert.distance_m)) == ("home", 300)


def test_a_volunteer_is_found_at_a_fresh_live_position_away_from_home(client, rt, sms, clock):
    volunteer = make_volunteer(rt, north_m=5000, live=offset(200),
                               live_at=clock.now() - timedelta(minutes=1))
    room = make_control_room(rt)

    create_incident(client, room, rt)

    assert texted(sms) == [volunteer.phone]
    [alert] = alerts_of(rt)
    assert (alert.position_kind, round(alert.distance_m)) == ("live", 200)


def test_the_alert_sms_gives_distance_and_direction_but_not_the_address(client, rt, sms):
    volunteer = make_volunteer(rt, north_m=300)
    room = make_control_room(rt)

    create_incident(client, room, rt, address="Drottninggatan 53, 3 tr", notes="Door code 1234")

    [body] = sms.to(volunteer.phone)
    assert "300 m S" in body  # the incident is south of the volunteer
    assert "Drottninggatan" not in body
    assert "Door code" not in body
    assert len(body) <= 160


# --- the outbox --------------------------------------------------------------------------


def test_a_provider_failure_for_one_volunteer_leaves_the_incident_and_every_alert(
    client, rt, sms
):
    first = make_volunteer(rt, north_m=100)
    unreachable = make_volunteer(rt, north_m=200)
    third = make_volunteer(rt, north_m=300)
    sms.failures[unreachable.phone] = SmsSendError("x", provider_code=21211, permanent=True)
    room = make_control_room(rt)

    response = create_incident(client, room, rt)

    assert response.status_code == 202, response.json
    assert texted(sms) == [first.phone, third.phone]
    states = {a.responder_id: a.state for a in alerts_of(rt)}
    assert states == {first.id: "sent", unreachable.id: "failed", third.id: "sent"}
    with rt.transaction() as session:
        assert session.scalars(select(Incident.state)).all() == ["open"]
        messages = {
            m.responder_id: m
            for m in session.scalars(select(Message).where(Message.purpose == "alert"))
        }
    failed = messages[unreachable.id]
    assert (failed.status, failed.error_code, failed.sid) == ("failed", 21211, None)
    assert {messages[first.id].status, messages[third.id].status} == {"sent"}
    assert messages[first.id].sid == sms.sent[0].sid


def test_alert_rows_are_written_with_the_incident_before_any_sms_is_sent(client, rt, sms):
    # Every send fails: the incident and its alerts were committed before the provider was
    # asked, so they all survive.
    volunteers = [make_volunteer(rt, north_m=100 * n) for n in (1, 2, 3)]
    for v in volunteers:
        sms.failures[v.phone] = SmsSendError("down", provider_code=30003)
    room = make_control_room(rt)

    response = create_incident(client, room, rt)

    assert response.status_code == 202, response.json
    assert sms.sent == []
    alerts = alerts_of(rt)
    assert [a.responder_id for a in alerts] == [v.id for v in volunteers]
    assert {a.state for a in alerts} == {"failed"}
    with rt.transaction() as session:
        assert session.scalars(select(Incident.external_id)).all() == ["CAD-1"]
        failed = session.scalars(select(Message.status).where(Message.purpose == "alert")).all()
    # 30003 is transient: each alert is tried once more before it counts as failed.
    assert failed == ["failed"] * 6


# --- nobody to text ----------------------------------------------------------------------


def test_no_volunteer_within_the_maximum_radius_is_accepted_with_no_responders(client, rt, sms):
    make_volunteer(rt, north_m=5000)
    room = make_control_room(rt)

    response = create_incident(client, room, rt)

    assert response.status_code == 202, response.json
    assert response.json["dispatch"] == {
        "status": "no_responders", "reason": "no more eligible volunteers within 3000 m",
    }
    radii = [e["detail"]["radius_m"] for e in response.json["timeline"] if e["event"] == "wave"]
    assert radii == [1000, 1500, 2000, 2500, 3000]
    assert response.json["counts"]["alerted"] == 0
    assert sms.sent == []


def test_only_ineligible_volunteers_within_the_radius_is_no_responders(client, rt, sms):
    make_volunteer(rt, north_m=100, status="opted_out")
    make_volunteer(rt, north_m=200, birth_year=2010)
    room = make_control_room(rt)

    response = create_incident(client, room, rt)

    assert response.json["dispatch"]["status"] == "no_responders"
    assert wave_entry(response.json)["passed_over"] == {"opted out": 1, "under age": 1}
    assert sms.sent == []


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"patient_age": 7}, "patient under 8"),
        ({"kind": "stroke"}, "kind 'stroke' is not dispatched to volunteers"),
        ({"flags": ["unsafe_scene"]}, "excluded: unsafe scene"),
    ],
)
def test_an_excluded_incident_is_accepted_and_says_why_nobody_was_texted(
    client, rt, sms, overrides, reason
):
    make_volunteer(rt, north_m=100)
    room = make_control_room(rt)

    response = create_incident(client, room, rt, **overrides)

    assert response.status_code == 202, response.json
    assert response.json["dispatch"] == {"status": "not_dispatched", "reason": reason}
    assert sms.sent == []
    assert alerts_of(rt) == []


# --- the timeline -----------------------------------------------------------------------


def test_the_wave_timeline_entry_counts_without_personal_data(client, rt, sms):
    volunteers = [
        make_volunteer(rt, north_m=100, name="Anna Alpha", phone="+46701110001"),
        make_volunteer(rt, north_m=200, name="Bertil Beta", phone="+46701110002",
                       status="opted_out"),
        make_volunteer(rt, north_m=300, name="Cecilia Gamma", phone="+46701110003",
                       birth_year=2010),
        make_volunteer(rt, north_m=400, name="David Delta", phone="+46701110004"),
        make_volunteer(rt, north_m=4000, name="Erik Epsilon", phone="+46701110005"),
    ]
    room = make_control_room(rt)
    create_incident(client, room, rt)

    status = client.get("/api/v1/incidents/CAD-1",
                        headers={"Authorization": f"Bearer {room.token}"})

    assert status.status_code == 200, status.json
    assert wave_entry(status.json) == {
        "why": "first wave", "wave": 1, "radius_m": 1000, "looked_at": 4, "alerted": 2,
        "passed_over": {"opted out": 1, "under age": 1},
    }
    timeline = json.dumps(status.json["timeline"])
    for v in volunteers:
        for personal in (v.phone, v.phone[1:], v.name, v.ref):
            assert personal not in timeline
    assert "Drottninggatan" not in timeline


# --- closing ------------------------------------------------------------------------------


def test_closing_an_incident_texts_a_stand_down_to_every_volunteer_texted(client, rt, sms):
    # The provider answers "queued" for a message it accepted (Twilio does too), so a message
    # with a provider SID has been sent whatever its status says.
    volunteers = [make_volunteer(rt, north_m=100 * n) for n in (1, 2)]
    room = make_control_room(rt)
    create_incident(client, room, rt)
    mark = len(sms.sent)

    post_about(client, room, rt, "incident.closed", "CAD-1")

    assert sorted(texted(sms, mark)) == sorted(v.phone for v in volunteers)
    assert {a.state for a in alerts_of(rt)} == {"stood_down"}
    with rt.transaction() as session:
        alert_messages = session.scalars(select(Message).where(Message.purpose == "alert")).all()
    assert all(m.sid for m in alert_messages)
    assert "cancelled" not in {m.status for m in alert_messages}  # they were sent, not withdrawn
