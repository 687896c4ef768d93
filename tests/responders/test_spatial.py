"""Each process's spatial index follows the database through the position change sequence.

Two apps built on one database stand for two processes (or hosts) sharing it: what one writes,
the other's index must pull before it answers a query.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from dispatcher.responders import registry, spatial
from dispatcher.store.models import Alert, Incident, Position, Responder
from geo import ResponderIndex
from tests.builders import (
    CENTRE,
    create_incident,
    event,
    make_control_room,
    make_volunteer,
    offset,
    post_event,
)


def runtime_and_client(app):
    """Return an app's runtime and a test client of it."""
    return app.extensions["dispatcher"], app.test_client()


def sync(rt, index: ResponderIndex | None = None) -> int:
    """Bring an index (the app's own by default) up to date; return how many changes applied."""
    with rt.transaction() as session:
        return spatial.sync(rt.index if index is None else index, session)


def snapshot(index: ResponderIndex) -> list[tuple]:
    """Return what an index answers around the centre, as comparable tuples."""
    return [
        (hit.responder_id, hit.position, round(hit.distance_m, 6))
        for hit in index.nearest_responders(*CENTRE, 10_000)
    ]


def position_of(rt, responder, label: str = "home") -> Position:
    """Return one of a volunteer's position rows."""
    with rt.transaction() as session:
        return session.scalars(
            select(Position).where(Position.responder_id == responder.id,
                                   Position.label == label)
        ).one()


def put_position(http, token: str, ref: str, at, point):
    """Report a live position through the control-room API."""
    body = {"lat": point[0], "lon": point[1], "accuracy_m": 10,
            "at": at.isoformat().replace("+00:00", "Z")}
    return http.put(f"/api/v1/responders/{ref}/position", json=body,
                    headers={"Authorization": f"Bearer {token}"})


# --- two processes, one database ---------------------------------------------------------


def test_a_live_position_reported_to_one_process_is_used_by_another(make_app, sms, clock):
    rt_one, http_one = runtime_and_client(make_app())
    rt_two, http_two = runtime_and_client(make_app())
    feed = make_control_room(rt_one, scopes=("positions:write",))
    a = make_volunteer(rt_one, north_m=800, owner=feed)
    b = make_volunteer(rt_one, north_m=300)
    room = make_control_room(rt_one)

    first = create_incident(http_two, room, rt_two, external_id="CAD-1")

    assert first.status_code == 202, first.json
    assert [m.to for m in sms.sent] == [b.phone, a.phone]
    assert rt_two.index.live_position(a.id) is None
    now = clock.now()
    closed = post_event(http_two, room, event("incident.closed", {"id": "CAD-1"}, now), at=now)
    assert closed.status_code == 202, closed.json

    # A walks to within 50 m of where the second incident will be (200 m south of the
    # centre); their home is 1,000 m from it and B's is 500 m.
    reported = put_position(http_one, feed.token, a.ref, now, offset(-250))
    assert reported.status_code == 200, reported.json
    assert reported.json["applied"] is True
    mark = len(sms.sent)

    second = create_incident(http_two, room, rt_two, external_id="CAD-2", at=offset(-200))

    assert second.status_code == 202, second.json
    assert [m.to for m in sms.sent[mark:]] == [a.phone, b.phone]
    assert rt_two.index.live_position(a.id) is not None
    with rt_two.transaction() as session:
        first_alert = session.scalars(
            select(Alert).join(Incident).where(Incident.external_id == "CAD-2")
            .order_by(Alert.id)
        ).first()
        assert (first_alert.responder_id, first_alert.position_kind) == (a.id, "live")
        assert first_alert.distance_m == pytest.approx(50, abs=1)


def test_a_place_removed_through_one_process_leaves_the_other_process_index(make_app, sms):
    rt_one, _ = runtime_and_client(make_app())
    rt_two, http_two = runtime_and_client(make_app())
    volunteer = make_volunteer(rt_one, north_m=300)
    home = position_of(rt_one, volunteer)
    sync(rt_two)
    assert rt_two.index.position(home.id) is not None

    with rt_one.transaction() as session:
        registry.remove_position(session, session.get(Position, home.id))
    response = create_incident(http_two, make_control_room(rt_one), rt_two)

    assert response.json["dispatch"]["status"] == "no_responders"
    assert sms.sent == []
    assert rt_two.index.position(home.id) is None
    assert len(rt_two.index) == 0


def test_a_place_moved_through_one_process_moves_in_the_other_process_index(make_app, sms):
    rt_one, _ = runtime_and_client(make_app())
    rt_two, http_two = runtime_and_client(make_app())
    volunteer = make_volunteer(rt_one, north_m=2500)
    sync(rt_two)

    with rt_one.transaction() as session:
        lat, lon = offset(400)
        registry.put_place(session, session.get(Responder, volunteer.id), label="home",
                           kind="home", lat=lat, lon=lon)
    response = create_incident(http_two, make_control_room(rt_one), rt_two)

    assert response.status_code == 202, response.json
    assert [m.to for m in sms.sent] == [volunteer.phone]
    assert len(rt_two.index) == 1


# --- sync --------------------------------------------------------------------------------


def test_sync_applies_only_what_is_new(rt, clock):
    volunteers = [make_volunteer(rt, north_m=100 * n) for n in (1, 2, 3)]

    assert sync(rt) == 3
    assert sync(rt) == 0
    assert len(rt.index) == 3

    with rt.transaction() as session:
        registry.put_live_position(session, session.get(Responder, volunteers[0].id),
                                   lat=CENTRE[0], lon=CENTRE[1], accuracy_m=5, at=clock.now())
    assert sync(rt) == 1
    assert sync(rt) == 0
    assert rt.index.last_seq == position_of(rt, volunteers[0], "live").seq
    assert rt.index.live_position(volunteers[0].id) is not None


def test_sync_of_an_empty_database_applies_nothing(rt):
    assert sync(rt) == 0
    assert (rt.index.last_seq, len(rt.index)) == (0, 0)


def test_sync_advances_past_a_tombstone(rt):
    volunteer = make_volunteer(rt, north_m=100)
    sync(rt)
    home = position_of(rt, volunteer)
    with rt.transaction() as session:
        registry.remove_position(session, session.get(Position, home.id))

    assert sync(rt) == 1
    assert rt.index.last_seq == position_of(rt, volunteer).seq
    assert len(rt.index) == 0


def test_reapplying_every_change_leaves_the_index_as_it_was(rt, clock):
    a = make_volunteer(rt, north_m=100)
    b = make_volunteer(rt, north_m=200, live=offset(-300), live_at=clock.now())
    make_volunteer(rt, north_m=300, place_kind="work", schedule="Mo-Fr 08:00-17:00")
    with rt.transaction() as session:
        registry.remove_position(session, session.get(Position, position_of(rt, a).id))
        registry.put_live_position(session, session.get(Responder, b.id), lat=offset(-350)[0],
                                   lon=offset(-350)[1], accuracy_m=5,
                                   at=clock.now() + timedelta(seconds=10))
    changes = sync(rt)
    before = (snapshot(rt.index), len(rt.index), rt.index.last_seq)

    rt.index.last_seq = 0  # as if every change were delivered again
    assert sync(rt) == changes

    assert (snapshot(rt.index), len(rt.index), rt.index.last_seq) == before


def test_an_index_synced_step_by_step_equals_one_synced_at_once(rt, clock):
    stepwise = rt.index
    a = make_volunteer(rt, north_m=100)
    sync(rt)
    b = make_volunteer(rt, north_m=200)
    sync(rt)
    with rt.transaction() as session:
        registry.remove_position(session, session.get(Position, position_of(rt, a).id))
        registry.put_live_position(session, session.get(Responder, b.id), lat=CENTRE[0],
                                   lon=CENTRE[1], accuracy_m=5, at=clock.now())
    sync(rt)

    at_once = ResponderIndex()
    sync(rt, at_once)

    assert snapshot(at_once) == snapshot(stepwise)
    assert at_once.last_seq == stepwise.last_seq
    assert at_once.live_position(b.id) == stepwise.live_position(b.id)


def test_a_process_far_behind_loads_everything_again_in_bulk(rt, monkeypatch):
    make_volunteer(rt, north_m=50)
    sync(rt)
    monkeypatch.setattr(spatial, "BULK_AFTER", 3)
    for n in range(1, 6):
        make_volunteer(rt, north_m=100 * n)
    fresh = ResponderIndex()
    sync(rt, fresh)

    assert sync(rt) == 6  # five volunteers and their places are ten changes: a reload
    assert len(rt.index) == 6
    assert snapshot(rt.index) == snapshot(fresh)
    assert sync(rt) == 0


