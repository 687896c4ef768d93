"""Service areas in the database: which policy applies where, and what an incident then gets.

Areas are squares around points near the centre of Stockholm, loaded through the same
checks and writer as `flask areas load`. The clock stands on Monday 10:00 UTC, 11:00 local.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from dispatcher.areas.directory import Placement, replace_areas
from dispatcher.areas.files import read_areas
from dispatcher.store.models import ServiceArea
from tests.builders import (
    CENTRE,
    create_incident,
    make_control_room,
    make_volunteer,
    offset,
    radii,
    status_of,
)

EAST = offset(0, 5000)  # a point 5 km east of the centre


def square(half_m: float, around=CENTRE) -> dict:
    """Return a GeoJSON Polygon: a square `half_m` metres each way around a point."""
    south_west, north_east = offset(-half_m, -half_m, around), offset(half_m, half_m, around)
    (s, w), (n, e) = south_west, north_east
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


def area(name: str, half_m: float = 2000, around=CENTRE, **params) -> dict:
    """Return a feature of kind area; radius 800 -> 1600 m unless given."""
    properties = {"name": name, "radius_start_m": 800, "radius_max_m": 1600, **params}
    return {"type": "Feature", "properties": properties, "geometry": square(half_m, around)}


def zone(name: str, half_m: float = 200, around=CENTRE, **params) -> dict:
    """Return a feature of kind exclusion."""
    properties = {"name": name, "kind": "exclusion", **params}
    return {"type": "Feature", "properties": properties, "geometry": square(half_m, around)}


def load(rt, *features: dict) -> int:
    """Check and store a collection of features as `flask areas load` does; return removed."""
    found = read_areas({"type": "FeatureCollection", "features": list(features)})
    assert found.ok, [str(p) for p in found.problems]
    with rt.transaction() as session:
        return replace_areas(session, found.records, rt.clock.now())


def place(rt, at=CENTRE) -> Placement:
    """Return the placement at a point."""
    with rt.transaction() as session:
        return rt.place(session, *at)


# --- the directory ------------------------------------------------------------------------


def test_without_areas_the_default_policy_applies_everywhere(rt):
    assert place(rt) == Placement(rt.policy, None)


def test_inside_an_area_its_parameters_apply_and_the_rest_is_the_default(rt):
    load(rt, area("Norrmalm", radius_start_m=500, radius_max_m=1300, radius_step_m=400,
                  wave_size=4, wave_timeout_s=45, target_cpr=2, target_aed=0, max_accepted=3,
                  max_alerted=12, fatigue_max_24h=2, quiet_hours="Mo-Su 23:00-07:00",
                  excluded_kinds=["drowning"]))

    policy = place(rt).policy

    assert (policy.area, policy.radius_start_m, policy.radius_max_m, policy.radius_step_m) == (
        "Norrmalm", 500, 1300, 400)
    assert (policy.wave_size, policy.wave_timeout, policy.max_alerted) == (
        4, timedelta(seconds=45), 12)
    assert (policy.target_cpr, policy.target_aed, policy.max_accepted) == (2, 0, 3)
    assert policy.fatigue_max_24h == 2
    assert policy.quiet_hours == "Mo-Su 23:00-07:00"
    assert policy.excluded_kinds == frozenset({"drowning"})
    assert (policy.min_age, policy.dispatchable_kinds) == (rt.policy.min_age,
                                                           rt.policy.dispatchable_kinds)


def test_parameters_an_area_leaves_out_keep_the_default(rt):
    load(rt, area("Norrmalm"))

    policy = place(rt).policy

    assert policy.wave_size == rt.policy.wave_size
    assert policy.wave_timeout == rt.policy.wave_timeout
    assert policy.quiet_hours is None and policy.excluded_kinds == frozenset()


def test_outside_every_area_the_default_applies(rt):
    load(rt, area("Norrmalm"))

    assert place(rt, EAST) == Placement(rt.policy, None)


def test_the_smallest_area_containing_the_point_wins(rt):
    load(rt, area("Stockholm", half_m=20_000, radius_start_m=2000, radius_max_m=5000),
         area("Norrmalm", half_m=1000, radius_start_m=600, radius_max_m=900),
         area("Sergels torg", half_m=100, radius_start_m=300, radius_max_m=300))

    assert place(rt).policy.area == "Sergels torg"
    assert place(rt, offset(500)).policy.area == "Norrmalm"
    assert place(rt, EAST).policy.radius_start_m == 2000


def test_an_exclusion_zone_applies_inside_an_area_and_outside_every_area(rt):
    load(rt, area("Norrmalm"), zone("Sabbatsberg sjukhus", around=offset(300)),
         zone("Danderyds sjukhus", around=EAST, reason="hospital"))

    inside, outside, beside = place(rt, offset(300)), place(rt, EAST), place(rt)

    assert (inside.policy.area, inside.exclusion_zone) == ("Norrmalm", "Sabbatsberg sjukhus")
    assert outside == Placement(rt.policy, "Danderyds sjukhus")
    assert (beside.policy.area, beside.exclusion_zone) == ("Norrmalm", None)


def test_a_new_load_replaces_the_whole_set_and_the_running_process_sees_it(rt):
    load(rt, area("Norrmalm", radius_start_m=500), area("Östermalm", around=EAST))
    assert place(rt).policy.radius_start_m == 500

    removed = load(rt, area("Norrmalm", radius_start_m=700), area("Vasastan", around=EAST))

    assert removed == 2
    assert place(rt).policy.radius_start_m == 700
    assert place(rt, EAST).policy.area == "Vasastan"
    with rt.transaction() as session:
        assert sorted(session.scalars(select(ServiceArea.name))) == ["Norrmalm", "Vasastan"]


def test_another_process_sees_a_load_made_through_this_one(make_app):
    one, two = (make_app().extensions["dispatcher"] for _ in range(2))
    assert place(two).policy.area is None

    load(one, area("Norrmalm", radius_start_m=600))

    assert place(two).policy.radius_start_m == 600


def test_loading_an_empty_collection_removes_every_area(rt):
    load(rt, area("Norrmalm"))

    assert load(rt) == 1

    assert place(rt) == Placement(rt.policy, None)


def test_a_stored_area_the_loader_would_refuse_is_left_out_and_logged(rt, caplog):
    load(rt, area("Stockholm", half_m=20_000, radius_start_m=2000, radius_max_m=5000))
    with rt.transaction() as session:
        bow_tie = {"type": "Polygon", "coordinates": [[[18.0, 59.3], [18.1, 59.4], [18.1, 59.3],
                                                       [18.0, 59.4], [18.0, 59.3]]]}
        session.add(ServiceArea(name="Hand edited", kind="area", geometry=bow_tie,
                                params={"radius_start_m": 100, "radius_max_m": 100},
                                created_at=rt.clock.now()))
        session.add(ServiceArea(name="Bad params", kind="area", geometry=square(100),
                                params={"radius_start_m": "100"}, created_at=rt.clock.now()))

    with caplog.at_level(logging.ERROR, logger="dispatcher.areas.directory"):
        policy = place(rt).policy

    assert policy.area == "Stockholm"
    assert "'Hand edited' left out: self-intersection" in caplog.text
    assert "'Bad params' left out" in caplog.text


# --- through the API ----------------------------------------------------------------------


def test_an_incident_in_an_area_searches_its_radius_and_names_the_area(client, rt, sms, room):
    load(rt, area("Norrmalm", radius_start_m=600, radius_max_m=600))
    volunteer = make_volunteer(rt, north_m=500)

    response = create_incident(client, room, rt)

    assert response.status_code == 202, response.json
    status = status_of(client, room)
    assert status["area"] == "Norrmalm"
    assert radii(status) == [600]
    assert status["counts"]["alerted"] == 1
    assert ", Norrmalm." in sms.to(volunteer.phone)[0]


def test_an_incident_outside_every_area_searches_the_default_radius(client, rt, room):
    load(rt, area("Norrmalm", radius_start_m=600, radius_max_m=600))
    make_volunteer(rt, at=offset(500, 0, EAST))

    create_incident(client, room, rt, at=EAST)

    status = status_of(client, room)
    assert status["area"] is None
    assert radii(status)[0] == rt.policy.radius_start_m


def test_waves_widen_by_the_areas_step_on_the_areas_timer_up_to_its_maximum(
    client, rt, room, queue
):
    load(rt, area("Norrmalm", radius_start_m=400, radius_max_m=800, radius_step_m=200,
                  wave_timeout_s=60))
    for north_m in (300, 500, 700, 900):
        make_volunteer(rt, north_m=north_m)
    create_incident(client, room, rt)

    rt.clock.advance(seconds=59)
    queue.run_due(rt.clock.now())
    assert radii(status_of(client, room)) == [400]
    for _ in range(2):
        rt.clock.advance(seconds=60)
        queue.run_due(rt.clock.now())
    assert radii(status_of(client, room)) == [400, 600, 800]
    rt.clock.advance(seconds=60)
    queue.run_due(rt.clock.now())

    status = status_of(client, room)
    assert max(radii(status)) == 800
    assert status["counts"]["alerted"] == 3  # the volunteer 900 m away is never asked


def test_an_incident_in_quiet_hours_is_stored_and_not_dispatched(client, rt, sms, room):
    load(rt, area("Norrmalm", quiet_hours="10:00-12:00"))  # 11:00 local now
    make_volunteer(rt, north_m=300)

    response = create_incident(client, room, rt)

    assert response.status_code == 202, response.json
    assert response.json["dispatch"] == {
        "status": "not_dispatched", "reason": "quiet hours in Norrmalm (10:00-12:00)"}
    assert sms.sent == []
    assert status_of(client, room)["area"] == "Norrmalm"


def test_an_incident_outside_the_quiet_hours_is_dispatched(client, rt, sms, room):
    load(rt, area("Norrmalm", quiet_hours="23:00-07:00"))
    make_volunteer(rt, north_m=300)

    response = create_incident(client, room, rt)

    assert response.json["dispatch"]["status"] == "alerting"
    assert len(sms.sent) == 1


def test_a_kind_the_area_excludes_is_not_dispatched_there_but_is_elsewhere(make_app, sms):
    app = make_app(DISPATCHABLE_KINDS="cardiac_arrest,drowning")
    rt, client = app.extensions["dispatcher"], app.test_client()
    room = make_control_room(rt)
    load(rt, area("Norrmalm", excluded_kinds=["drowning"]))
    make_volunteer(rt, north_m=300)
    make_volunteer(rt, at=offset(300, 0, EAST))

    inside = create_incident(client, room, rt, "CAD-1", kind="drowning")
    elsewhere = create_incident(client, room, rt, "CAD-2", at=EAST, kind="drowning")

    assert inside.json["dispatch"] == {
        "status": "not_dispatched",
        "reason": "kind 'drowning' is not dispatched to volunteers in Norrmalm"}
    assert elsewhere.json["dispatch"]["status"] == "alerting"
    assert len(sms.sent) == 1


def test_an_incident_in_an_exclusion_zone_is_not_dispatched(client, rt, sms, room):
    load(rt, area("Norrmalm"), zone("Sabbatsberg sjukhus", around=offset(300)))
    make_volunteer(rt, north_m=500)

    response = create_incident(client, room, rt, at=offset(300))

    assert response.status_code == 202, response.json
    assert response.json["dispatch"] == {
        "status": "not_dispatched", "reason": "in the exclusion zone Sabbatsberg sjukhus"}
    assert sms.sent == []
    assert status_of(client, room)["area"] == "Norrmalm"
