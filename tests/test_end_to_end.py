"""One incident from the control room's call to the stand-down, all through HTTP.

Signed control-room events in, signed Twilio webhooks for the volunteers' replies, the
recording SMS fake for what they receive, and the status a control room reads back.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dispatcher.store.models import Alert, Responder
from tests.builders import (
    create_incident,
    event,
    last_text,
    make_aed,
    make_control_room,
    make_volunteer,
    offset,
    post_event,
    sms_from,
)

pytestmark = pytest.mark.usefixtures("twilio_hooks")


def test_an_incident_from_alert_to_stand_down(client, rt, sms):
    # Fourteen volunteers north of the patient, 70 m apart, all within the 1,000 m radius.
    volunteers = [
        make_volunteer(rt, north_m=70 * n, phone=f"+4670100{n:04d}", name=f"Volunteer {n}")
        for n in range(1, 15)
    ]
    v = {n: volunteers[n - 1] for n in range(1, 15)}
    # Two public AEDs open around the clock, a little off the volunteers' way to the patient.
    station = make_aed(rt, at=offset(200, 30), name="Central Station", opening_hours="24/7")
    library = make_aed(rt, at=offset(300, -30), name="City Library",
                       opening_hours="Mo-Fr 08:00-20:00")
    room = make_control_room(rt)
    bearer = {"Authorization": f"Bearer {room.token}"}

    # The control room reports a cardiac arrest: the ten nearest are alerted.
    response = create_incident(client, room, rt, "CAD-E2E", ems_eta_s=540)
    assert response.status_code == 202, response.json
    assert response.json["counts"]["alerted"] == 10
    alerted = {m.to for m in sms.sent}
    assert alerted == {v[n].phone for n in range(1, 11)}
    assert all("Drottninggatan" not in body for body in (m.body for m in sms.sent))

    # Two decline; each is replaced by the next nearest.
    for n in (1, 2):
        assert sms_from(client, v[n], "No, sorry").status_code == 200
        assert last_text(sms, v[n]).startswith("Thank you for answering")
    assert sms.to(v[11].phone) and sms.to(v[12].phone)
    assert not sms.to(v[13].phone)

    # Three accept: the first does CPR, the next two fetch the two open AEDs.
    sms_from(client, v[3], "YES!")
    cpr = last_text(sms, v[3])
    assert cpr.startswith("GO NOW: Drottninggatan 53, 3 tr.")
    assert "Door code 1234" in cpr and "openstreetmap.org" in cpr
    sms_from(client, v[4], "ja")
    sms_from(client, v[5], "ok")
    runs = {last_text(sms, v[4]), last_text(sms, v[5])}
    assert all(text.startswith("FETCH THE DEFIBRILLATOR first") for text in runs)
    assert {"Central Station" in t for t in runs} == {True, False}
    assert any("City Library" in t and "open today 08:00-20:00" in t for t in runs)

    # The targets are met: a late YES is thanked and told it is not needed.
    sms_from(client, v[6], "Yes")
    assert last_text(sms, v[6]).startswith("Thank you! Enough responders are on the way")

    # One volunteer texts STOP: one confirmation, then never another message.
    sms_from(client, v[7], "STOP")
    assert last_text(sms, v[7]).startswith("You will get no more alerts")
    texts_to_v7 = len(sms.to(v[7].phone))

    # The first runner reaches the patient.
    sms_from(client, v[3], "HERE")

    status = client.get("/api/v1/incidents/CAD-E2E", headers=bearer).json
    assert status["counts"] == {
        "alerted": 12, "pending": 5, "accepted": 3, "declined": 3, "failed": 0,
    }
    going = {r["ref"]: r for r in status["responders"]}
    with rt.transaction() as session:
        refs = {r.id: r.ref for r in session.scalars(select(Responder))}
    assert going[refs[v[3].id]]["role"] == "cpr"
    assert going[refs[v[3].id]]["arrived_at"] is not None
    assert {going[refs[v[n].id]]["role"] for n in (4, 5)} == {"aed"}
    assert {going[refs[v[n].id]]["aed"] for n in (4, 5)} == {"Central Station", "City Library"}
    for entry in going.values():
        assert entry["distance_m"] > 0 and entry["eta_s"] > 0
    assert "+4670" not in str(status)

    # EMS takes over: everyone going or still pending is stood down, once; nobody else.
    before = {r.phone: len(sms.to(r.phone)) for r in volunteers}
    closed = post_event(client, room, event("incident.closed", {"id": "CAD-E2E"}, rt.clock.now()),
                        at=rt.clock.now())
    assert closed.status_code == 202
    stood_down = {phone for phone, count in before.items() if len(sms.to(phone)) > count}
    assert stood_down == {v[n].phone for n in (3, 4, 5, 8, 9, 10, 11, 12)}
    assert all(len(sms.to(p)) == before[p] + 1 for p in stood_down)
    assert len(sms.to(v[7].phone)) == texts_to_v7

    # A YES after the end is thanked and told it is no longer needed.
    sms_from(client, v[8], "YES")
    assert last_text(sms, v[8]).startswith("Thank you! Alert")
    assert "no longer needed" in last_text(sms, v[8])
    with rt.transaction() as session:
        states = dict(session.execute(select(Alert.responder_id, Alert.state)).all())
    assert states[v[3].id] == states[v[4].id] == "stood_down"
    assert states[v[1].id] == "declined" and states[v[6].id] == "stood_down"
    with rt.transaction() as session:
        runs = set(session.scalars(select(Alert.aed_id).where(Alert.aed_id.is_not(None))))
    assert runs == {station, library}
