"""The `flask areas` commands: load a GeoJSON file all or nothing, list it, check a place."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from dispatcher.store.models import ServiceArea
from tests.builders import CENTRE, offset

EAST = offset(0, 5000)


def square(half_m: float, around=CENTRE) -> dict:
    """Return a GeoJSON Polygon: a square `half_m` metres each way around a point."""
    (s, w), (n, e) = offset(-half_m, -half_m, around), offset(half_m, half_m, around)
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


def feature(properties: dict, geometry: dict | None = None) -> dict:
    """Return a GeoJSON feature (a 2 km square around the centre unless given)."""
    return {"type": "Feature", "properties": properties,
            "geometry": geometry if geometry is not None else square(2000)}


NORRMALM = feature({"name": "Norrmalm", "radius_start_m": 800, "radius_max_m": 1600,
                    "quiet_hours": "23:00-07:00", "excluded_kinds": ["drowning"],
                    "description": "inner city, drawn by hand"})
SUBURB = feature({"name": "Rinkeby", "radius_start_m": 2000, "radius_max_m": 4000},
                 square(2000, EAST))
HOSPITAL = feature({"name": "Sabbatsberg", "kind": "exclusion", "reason": "hospital"},
                   square(200, offset(300)))
GOOD = {"type": "FeatureCollection", "features": [NORRMALM, SUBURB, HOSPITAL]}


@pytest.fixture
def cli(app, tmp_path):
    """Run `flask areas ...`; a dict, text or bytes given as `file` is written to a file first.

    It stands in for conftest's `cli`: every command here is an `areas` one, and most read a file.
    """
    runner = app.test_cli_runner()

    def run(*args: str, file: dict | str | bytes | None = None):
        if file is not None:
            path = tmp_path / "areas.geojson"
            if not isinstance(file, bytes):
                file = (file if isinstance(file, str) else json.dumps(file)).encode()
            path.write_bytes(file)
            args = (*args, str(path))
        return runner.invoke(args=["areas", *args])

    return run


def stored(rt) -> list[str]:
    """Return the names of the stored areas."""
    with rt.transaction() as session:
        return sorted(session.scalars(select(ServiceArea.name)))


def test_loading_a_good_file_stores_every_area_and_says_what_it_loaded(cli, rt):
    result = cli("load", file=GOOD)

    assert result.exit_code == 0, result.output
    assert "loaded 2 areas and 1 exclusion zone from areas.geojson, replacing 0" in result.output
    assert stored(rt) == ["Norrmalm", "Rinkeby", "Sabbatsberg"]
    with rt.transaction() as session:
        row = session.scalars(select(ServiceArea).where(ServiceArea.name == "Norrmalm")).one()
        assert row.params == {"radius_start_m": 800, "radius_max_m": 1600,
                              "quiet_hours": "23:00-07:00", "excluded_kinds": ["drowning"]}


def test_loading_again_replaces_the_whole_set(cli, rt):
    cli("load", file=GOOD)

    result = cli("load", file={"type": "FeatureCollection", "features": [SUBURB]})

    assert result.exit_code == 0, result.output
    assert "loaded 1 area and 0 exclusion zones from areas.geojson, replacing 3" in result.output
    assert stored(rt) == ["Rinkeby"]


def test_a_dry_run_checks_the_file_and_writes_nothing(cli, rt):
    result = cli("load", "--dry-run", file=GOOD)

    assert result.exit_code == 0, result.output
    assert "is valid: 2 areas and 1 exclusion zone; nothing written (dry run)" in result.output
    assert stored(rt) == []


def with_properties(**changes) -> dict:
    """Return the good file with Norrmalm's properties changed (None removes a key)."""
    properties = {**NORRMALM["properties"], **changes}
    properties = {k: v for k, v in properties.items() if v is not None}
    return {"type": "FeatureCollection",
            "features": [feature(properties), SUBURB, HOSPITAL]}


BOW_TIE = {"type": "Polygon", "coordinates": [[[18.0, 59.3], [18.1, 59.4], [18.1, 59.3],
                                               [18.0, 59.4], [18.0, 59.3]]]}

BAD_FILES = {
    # name: (file, the line the report must hold)
    "not json": ("{\"type\": ", "file: json: Expecting value at line 1 column 10"),
    "not utf-8": (b'{"type": "Feature\xff"}', "file: json: not UTF-8 text (byte 17)"),
    "not a collection": ({"type": "Feature"}, "file: type: the file must be a GeoJSON "
                                              "FeatureCollection"),
    "projected coordinates": (
        {**GOOD, "crs": {"type": "name", "properties": {"name": "EPSG:3006"}}},
        "file: crs: coordinates must be WGS 84 longitude, latitude; got EPSG:3006"),
    "self-intersection": (
        {"type": "FeatureCollection", "features": [feature(NORRMALM["properties"], BOW_TIE)]},
        "feature 0 (Norrmalm): geometry: self-intersection at [18.05, 59.35] ([lon, lat])"),
    "a point": (
        {"type": "FeatureCollection", "features": [
            feature(NORRMALM["properties"], {"type": "Point", "coordinates": [18.0, 59.3]})]},
        "feature 0 (Norrmalm): geometry: type must be Polygon or MultiPolygon, got 'Point'"),
    "missing radius": (with_properties(radius_max_m=None),
                       "feature 0 (Norrmalm): radius_max_m: required for an area"),
    "missing name": (with_properties(name=None), "feature 0: name: required for an area"),
    "radius as text": (with_properties(radius_start_m="800"),
                       "feature 0 (Norrmalm): radius_start_m: Input should be a valid integer "
                       "(got \"800\")"),
    "radius as float": (with_properties(radius_start_m=800.5),
                        "radius_start_m: Input should be a valid integer (got 800.5)"),
    "negative radius": (with_properties(radius_start_m=-5),
                        "radius_start_m: Input should be greater than 0 (got -5)"),
    "maximum below start": (with_properties(radius_max_m=500),
                            "feature 0 (Norrmalm): radius_max_m: must be at least "
                            "radius_start_m (800)"),
    "bad quiet hours": (with_properties(quiet_hours="11pm-7am"),
                        "feature 0 (Norrmalm): quiet_hours: not OSM opening_hours syntax"),
    "empty quiet hours": (with_properties(quiet_hours=" "), "quiet_hours: not OSM opening_hours"),
    "kinds as text": (with_properties(excluded_kinds="drowning"),
                      "excluded_kinds: Input should be a valid list"),
    "a typo": (with_properties(wave_sise=5),
               "feature 0 (Norrmalm): wave_sise: unknown property; did you mean wave_size?"),
    "unknown kind": (with_properties(kind="hospital"),
                     "feature 0 (Norrmalm): kind: must be \"area\" or \"exclusion\", "
                     "got 'hospital'"),
    "area parameter on a zone": (
        {"type": "FeatureCollection", "features": [
            feature({**HOSPITAL["properties"], "radius_start_m": 100})]},
        "feature 0 (Sabbatsberg): radius_start_m: applies to areas only"),
    "repeated name": (
        {"type": "FeatureCollection", "features": [NORRMALM, SUBURB, NORRMALM]},
        "feature 2 (Norrmalm): name: repeats the name of feature 0"),
    "not a feature": ({"type": "FeatureCollection", "features": [NORRMALM, []]},
                      "feature 1: type: must be a GeoJSON Feature"),
}


@pytest.mark.parametrize("file, line", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_a_bad_file_is_reported_and_nothing_is_written(cli, rt, file, line):
    cli("load", file={"type": "FeatureCollection", "features": [SUBURB]})

    result = cli("load", file=file)

    assert result.exit_code == 1, result.output
    assert line in result.output
    assert "nothing was loaded" in result.output
    assert stored(rt) == ["Rinkeby"]


def test_every_problem_of_a_file_is_reported_at_once(cli, rt):
    bad_zone = feature({"name": "Sabbatsberg", "kind": "exclusion", "wave_size": 3}, BOW_TIE)
    file = {"type": "FeatureCollection",
            "features": [feature({**NORRMALM["properties"], "radius_start_m": "800",
                                  "quiet_hours": "nonsense"}), SUBURB, bad_zone]}

    result = cli("load", file=file)

    problems = [line for line in result.output.splitlines() if line.startswith("feature")]
    assert [": ".join(p.split(": ")[:2]) for p in problems] == [
        "feature 0 (Norrmalm): radius_start_m",
        "feature 0 (Norrmalm): quiet_hours",
        "feature 2 (Sabbatsberg): geometry",
        "feature 2 (Sabbatsberg): wave_size",
    ]
    assert "4 problems in areas.geojson; nothing was loaded" in result.output
    with rt.transaction() as session:
        assert session.scalar(select(func.count()).select_from(ServiceArea)) == 0


def test_a_dry_run_of_a_bad_file_reports_it_and_fails(cli, rt):
    result = cli("load", "--dry-run", file=with_properties(radius_max_m=None))

    assert result.exit_code == 1
    assert "radius_max_m: required for an area" in result.output


def test_the_list_shows_each_area_with_its_radius_quiet_hours_and_excluded_kinds(cli):
    cli("load", file=GOOD)

    result = cli("list")

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("Norrmalm: area, 16.00 km2, radius 800 -> 1600 m, "
                               "quiet hours 23:00-07:00, excluded kinds drowning")
    assert lines[1].startswith("Rinkeby: area, 16.00 km2, radius 2000 -> 4000 m, "
                               "quiet hours -, excluded kinds -")
    assert lines[2] == "Sabbatsberg: exclusion zone, 0.16 km2 (hospital)"


def test_the_list_says_when_nothing_is_loaded(cli):
    assert "no service areas: the default policy applies everywhere" in cli("list").output


def test_check_says_which_policy_applies_at_a_place_and_whether_it_is_quiet_now(cli):
    cli("load", file=GOOD)

    inside = cli("check", *map(str, offset(300)))
    outside = cli("check", "59.0", "17.0")

    assert inside.exit_code == 0, inside.output
    assert "area:        Norrmalm" in inside.output
    assert "exclusion:   Sabbatsberg (no incident dispatches here)" in inside.output
    assert "radius:      800 -> 1600 m" in inside.output
    assert "quiet hours: 23:00-07:00 (not quiet now, Mon 11:00 local)" in inside.output
    assert "excluded:    drowning" in inside.output
    assert "area:        (none: the default policy)" in outside.output
    assert "exclusion:" not in outside.output


def test_check_refuses_a_place_off_the_globe(cli):
    result = cli("check", "--", "-91", "18")

    assert result.exit_code == 2
    assert "latitude must be within [-90, 90]" in result.output
