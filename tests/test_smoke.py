"""The spine, end to end: a signed incident in, the nearest eligible volunteers texted."""

from tests.builders import create_incident, make_control_room, make_volunteer


def test_signed_incident_texts_the_nearest_eligible_volunteers(client, rt, sms):
    near = make_volunteer(rt, north_m=200, phone="+46701000001")
    far = make_volunteer(rt, north_m=5000, phone="+46701000002")
    room = make_control_room(rt)

    response = create_incident(client, room, rt)

    assert response.status_code == 202, response.json
    assert response.json["counts"]["alerted"] == 1
    assert [m.to for m in sms.sent] == [near.phone]
    assert far.phone not in {m.to for m in sms.sent}
