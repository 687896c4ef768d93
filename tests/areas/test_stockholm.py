"""Per-district policy on the real districts of Stockholm (../shared/data), end to end.

Two districts get parameters of their own: NORRMALM, the inner city, a small radius and no
quiet hours; RINKEBY, a suburb, a wide radius and quiet hours 23:00-07:00. The file goes
through `flask areas load`, incidents through the signed control-room API, and each
district's rules show in what happens. Skipped where the data folder is absent.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from shapely.geometry import shape

from dispatcher.areas.files import read_areas
from geo import AreaIndex
from tests.builders import (
    create_incident,
    make_volunteer,
    offset,
    radii,
    status_of,
)

INNER = {"name": "NORRMALM", "radius_start_m": 800, "radius_max_m": 1500}
SUBURB = {"name": "RINKEBY", "radius_start_m": 2000, "radius_max_m": 4000,
          "quiet_hours": "23:00-07:00"}


@pytest.fixture
def districts(shared_data) -> dict[str, dict]:
    """The 117 district features of the City of Stockholm, by name."""
    with (shared_data / "stockholm_districts.geojson").open(encoding="utf-8") as stream:
        return {f["properties"]["name"]: f for f in json.load(stream)["features"]}


def inside(district: dict) -> tuple[float, float]:
    """Return a (lat, lon) point certainly inside a district."""
    point = shape(district["geometry"]).representative_point()
    return point.y, point.x


@pytest.fixture
def loaded(app, rt, districts, tmp_path):
    """Load NORRMALM and RINKEBY with their parameters through `flask areas load`."""
    features = [{"type": "Feature", "properties": properties,
                 "geometry": districts[properties["name"]]["geometry"]}
                for properties in (INNER, SUBURB)]
    path = tmp_path / "districts.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    result = app.test_cli_runner().invoke(args=["areas", "load", str(path)])
    assert result.exit_code == 0, result.output
    return {"NORRMALM": inside(districts["NORRMALM"]), "RINKEBY": inside(districts["RINKEBY"])}


def test_each_district_searches_from_its_own_radius(client, rt, room, loaded):
    """A volunteer 1.4 km away: the suburb finds them at once, the inner city widens to them."""
    for where in loaded.values():
        make_volunteer(rt, at=offset(1400, 0, where))

    for name, where in loaded.items():
        response = create_incident(client, room, rt, f"CAD-{name}", at=where)
        assert response.status_code == 202, response.json

    inner, suburb = status_of(client, room, "CAD-NORRMALM"), status_of(client, room, "CAD-RINKEBY")
    assert (inner["area"], suburb["area"]) == ("NORRMALM", "RINKEBY")
    assert radii(inner) == [800, 1300, 1500]
    assert radii(suburb) == [2000]
    assert inner["counts"]["alerted"] == suburb["counts"]["alerted"] == 1


def local(rt, hour: int, minute: int = 0) -> datetime:
    """Return Monday 2026-11-23 at a Stockholm local time."""
    return datetime(2026, 11, 23, hour, minute, tzinfo=rt.timezone)


@pytest.mark.parametrize("hour, minute, quiet", [
    (11, 0, False), (22, 59, False), (23, 0, True), (23, 30, True), (6, 59, True), (7, 0, False),
])
def test_quiet_hours_hold_back_the_suburb_and_never_the_inner_city(
    client, rt, room, clock, sms, loaded, hour, minute, quiet
):
    clock.set(local(rt, hour, minute))
    for where in loaded.values():
        make_volunteer(rt, at=offset(300, 0, where))

    inner = create_incident(client, room, rt, "CAD-NORRMALM", at=loaded["NORRMALM"])
    suburb = create_incident(client, room, rt, "CAD-RINKEBY", at=loaded["RINKEBY"])

    assert inner.json["dispatch"] == {"status": "alerting", "reason": None}
    if quiet:
        assert suburb.status_code == 202, suburb.json
        assert suburb.json["dispatch"] == {
            "status": "not_dispatched", "reason": "quiet hours in RINKEBY (23:00-07:00)"}
        assert len(sms.sent) == 1
    else:
        assert suburb.json["dispatch"] == {"status": "alerting", "reason": None}
        assert len(sms.sent) == 2
    assert status_of(client, room, "CAD-RINKEBY")["area"] == "RINKEBY"


def test_a_district_without_parameters_keeps_the_default_policy(client, rt, room, loaded,
                                                                districts):
    where = inside(districts["KUNGSHOLMEN"])

    create_incident(client, room, rt, "CAD-KUNGSHOLMEN", at=where)

    status = status_of(client, room, "CAD-KUNGSHOLMEN")
    assert status["area"] is None
    assert radii(status)[0] == rt.policy.radius_start_m


def test_every_one_of_the_117_districts_passes_the_loader(districts):
    features = [{**f, "properties": {"name": name, "radius_start_m": 1000,
                                     "radius_max_m": 3000}} for name, f in districts.items()]

    found = read_areas({"type": "FeatureCollection", "features": features})

    assert [str(p) for p in found.problems] == []
    assert len(found.records) == 117


def test_each_district_contains_its_own_inner_point_first(districts):
    index = AreaIndex((name, f["geometry"]) for name, f in districts.items())

    wrong = {name: index.containing(*inside(f))[0] for name, f in districts.items()
             if index.containing(*inside(f))[0] != name}

    assert wrong == {}


def test_where_two_simplified_districts_overlap_the_smaller_one_applies(districts):
    """The simplified outlines overlap by slivers along shared borders (e.g. NORRMALM and
    KUNGSHOLMEN); a point in such a sliver gets the smaller district, always the same one."""
    norrmalm, kungsholmen = (shape(districts[n]["geometry"]) for n in ("NORRMALM", "KUNGSHOLMEN"))
    sliver = norrmalm.intersection(kungsholmen).representative_point()
    index = AreaIndex([("NORRMALM", norrmalm), ("KUNGSHOLMEN", kungsholmen)])

    found = index.containing(sliver.y, sliver.x)

    smaller = min(("NORRMALM", "KUNGSHOLMEN"), key=index.area_m2)
    assert found[0] == smaller and len(found) == 2
