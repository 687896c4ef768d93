"""AED imports (CSV of OSM tags, GeoJSON): every AED with a position is kept, problems reported."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import func, select

from dispatcher.aeds import imports
from dispatcher.domain import hours
from dispatcher.errors import InvalidPayload
from dispatcher.store.batches import ImportReport, decode
from dispatcher.store.models import Aed
from tests.builders import count_rows

# ---------------------------------------------------------------- AEDs, the real Zürich file


def record_lines(path) -> list[tuple[int, dict]]:
    """Read a CSV file independently: (first physical line, row) for each record."""
    with path.open(newline="", encoding="utf-8-sig") as stream:
        reader = csv.reader(stream)
        header = next(reader)
        out, line = [], reader.line_num + 1
        for values in reader:
            out.append((line, dict(zip(header, values, strict=True))))
            line = reader.line_num + 1
    return out


@pytest.fixture
def zurich(shared_data):
    """The real AED export of the City of Zürich."""
    return shared_data / "aeds_zurich_osm.csv"


def import_zurich(rt, clock, path):
    """Import the Zürich AED file as the CLI does."""
    with path.open(newline="", encoding="utf-8-sig") as stream:
        return imports.import_aeds_csv(rt.sessions, stream, now=clock.now())


def test_every_zurich_aed_with_a_position_is_imported(rt, clock, zurich):
    report = import_zurich(rt, clock, zurich)

    assert report.written == 865
    assert report.rejected == 0
    assert count_rows(rt, Aed) == 865
    with rt.transaction() as session:
        refs = set(session.scalars(select(Aed.source_ref)))
        assert "node/2450774413" in refs and len(refs) == 865
        first = session.scalars(select(Aed).where(Aed.source_ref == "node/3561848903")).one()
        assert (first.lat, first.lon) == (47.4131981, 8.5408312)
        assert first.opening_hours == "Mo-Fr 08:00-21:00" and first.hours_valid is True
        assert first.access_notes == "at pillar in front of the pharmacy"


def test_unreadable_zurich_hours_are_reported_as_warnings_and_stored_as_unknown(
    rt, clock, zurich
):
    by_line = dict(record_lines(zurich))

    report = import_zurich(rt, clock, zurich)

    warned = {p.line: p for p in report.problems}
    # 14 not OSM syntax, plus 3 whose only times are in a comment ("jederzeit", "7.00-17.00").
    assert len(warned) == len(report.problems) == 17
    assert all(p.field == "opening_hours" and p.written for p in warned.values())
    assert all("hours unknown" in p.reason for p in warned.values())
    warned_refs = {by_line[line]["id"] for line in warned}
    with rt.transaction() as session:
        invalid = {a.source_ref: a for a in session.scalars(
            select(Aed).where(Aed.hours_valid.is_(False)))}
        without = session.scalar(
            select(func.count()).select_from(Aed).where(Aed.opening_hours.is_(None)))
    assert set(invalid) == warned_refs
    assert without == 280
    for aed in invalid.values():
        assert aed.opening_hours  # kept as given, for a person to fix
        assert hours.is_open(aed.opening_hours, clock.now().replace(tzinfo=None)) is None


def test_the_zurich_hours_value_with_a_line_break_is_folded_and_read(rt, clock, zurich):
    [(line, row)] = [(n, r) for n, r in record_lines(zurich) if "\n" in r["opening_hours"]]

    report = import_zurich(rt, clock, zurich)

    assert line == 656
    assert not [p for p in report.problems if p.line == line]
    with rt.transaction() as session:
        aed = session.scalars(select(Aed).where(Aed.source_ref == row["id"])).one()
        assert aed.opening_hours == row["opening_hours"].strip()
        assert aed.hours_valid is True


@pytest.mark.parametrize("value", ['"jederzeit"', 'Mo-Fr "7.00-17.00"'])
def test_zurich_hours_given_only_in_a_comment_are_unknown_not_open(rt, clock, zurich, value):
    by_line = dict(record_lines(zurich))
    report = import_zurich(rt, clock, zurich)

    lines = [n for n, r in by_line.items() if r["opening_hours"] == value]
    assert lines
    reported = {p.line for p in report.problems if p.field == "opening_hours" and p.written}
    assert set(lines) <= reported
    monday_3am = clock.now().replace(hour=3, tzinfo=None)
    assert hours.is_open(value, monday_3am) is None


def test_quoted_multi_line_location_notes_are_kept_whole(rt, clock, zurich):
    notes = {r["id"]: r["defibrillator:location"] for _, r in record_lines(zurich)
             if "\n" in r["defibrillator:location"]}

    import_zurich(rt, clock, zurich)

    assert notes
    with rt.transaction() as session:
        for ref, note in notes.items():
            aed = session.scalars(select(Aed).where(Aed.source_ref == ref)).one()
            assert aed.access_notes.startswith(note.strip())


# OSM access values in the Zürich file and what the importer makes of them.
ACCESS = {"yes": "public", "permissive": "public", "no": "restricted",
          "private": "restricted", "customers": "restricted"}


def test_zurich_access_tags_map_to_public_or_restricted(rt, clock, zurich):
    refs = {access: [r["id"] for _, r in record_lines(zurich) if r["access"] == access]
            for access in ACCESS}

    import_zurich(rt, clock, zurich)

    with rt.transaction() as session:
        stored = {access: set(session.scalars(select(Aed.access).where(Aed.source_ref.in_(ids))))
                  for access, ids in refs.items()}
    assert all(refs.values())
    assert stored == {access: {expected} for access, expected in ACCESS.items()}


def test_importing_the_zurich_file_twice_does_not_duplicate_aeds(rt, clock, zurich):
    import_zurich(rt, clock, zurich)

    report = import_zurich(rt, clock, zurich)

    assert report.written == 865
    assert count_rows(rt, Aed) == 865


# ---------------------------------------------------------------- AEDs, small inline files

AED_CSV = (
    "id,lat,lon,name,opening_hours,access,defibrillator:location\n"
    "node/1,47.37,8.54,Hauptbahnhof,24/7,yes,By the ticket machines\n"
    "node/2,,,No Position,24/7,yes,\n"
    "node/3,47.38,nowhere,Bad Lon,24/7,yes,\n"
    'node/4,47.39,8.55,Library,"Mo-Fr ""9.00-17.00"" ;;",private,\n'
)


def test_aed_csv_rows_without_a_usable_position_are_reported_not_written(rt, clock):
    report = imports.import_aeds_csv(rt.sessions, io.StringIO(AED_CSV), now=clock.now())

    assert report.written == 2
    assert [(p.line, p.field, p.written) for p in report.problems] == [
        (3, "lat", False), (4, "lon", False), (5, "opening_hours", True)]
    with rt.transaction() as session:
        stored = {a.source_ref: a for a in session.scalars(select(Aed))}
    assert set(stored) == {"node/1", "node/4"}
    assert (stored["node/1"].hours_valid, stored["node/1"].access) == (True, "public")
    assert (stored["node/4"].hours_valid, stored["node/4"].access) == (False, "restricted")


def feature(ref, lon, lat, **tags) -> dict:
    """Return an OSM-style GeoJSON Point feature."""
    return {"type": "Feature", "id": ref, "properties": {"emergency": "defibrillator", **tags},
            "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def import_geojson(rt, clock, document) -> ImportReport:
    """Import AEDs from a GeoJSON document (a dict, or raw text)."""
    text = document if isinstance(document, str) else json.dumps(document)
    return imports.import_aeds_geojson(rt.sessions, io.StringIO(text), now=clock.now())


def test_geojson_point_features_are_imported_and_one_without_geometry_is_reported(rt, clock):
    collection = {"type": "FeatureCollection", "features": [
        feature("node/10", 8.54, 47.37, name="Bahnhof", opening_hours="24/7", access="yes"),
        feature("node/11", 8.55, 47.38, name="Gym", opening_hours="Mo-Fr 06:00-22:00",
                access="customers", **{"defibrillator:location": "At reception"}),
        {"type": "Feature", "id": "node/12", "properties": {"name": "Lost"}, "geometry": None},
        feature("node/13", 8.56, 47.39, operator="City of Zürich", opening_hours="jeden Tag"),
    ]}

    report = import_geojson(rt, clock, collection)

    assert report.written == 3
    assert [(p.line, p.field, p.written) for p in report.problems] == [
        (3, "lat", False), (4, "opening_hours", True)]
    with rt.transaction() as session:
        stored = {a.source_ref: a for a in session.scalars(select(Aed))}
    assert set(stored) == {"node/10", "node/11", "node/13"}
    gym = stored["node/11"]
    assert (gym.lat, gym.lon, gym.name) == (47.38, 8.55, "Gym")
    assert (gym.access, gym.access_notes, gym.hours_valid) == ("restricted", "At reception", True)
    assert (stored["node/10"].access, stored["node/10"].hours_valid) == ("public", True)
    assert stored["node/13"].name == "City of Zürich"
    assert stored["node/13"].hours_valid is False


def test_a_null_feature_is_reported_and_the_others_still_imported(rt, clock):
    collection = {"type": "FeatureCollection", "features": [
        feature("node/20", 8.54, 47.37, name="One"), None, feature("node/21", 8.55, 47.38)]}

    report = import_geojson(rt, clock, collection)

    assert report.written == 2
    assert [(p.line, p.written) for p in report.problems] == [(2, False)]


def test_reimporting_geojson_updates_aeds_by_their_osm_id(rt, clock):
    import_geojson(rt, clock, {"type": "FeatureCollection", "features": [
        feature("node/30", 8.54, 47.37, name="Old name", opening_hours="24/7")]})

    import_geojson(rt, clock, {"type": "FeatureCollection", "features": [
        feature("node/30", 8.541, 47.371, name="New name", opening_hours="Mo-Fr 08:00-17:00")]})

    with rt.transaction() as session:
        [aed] = session.scalars(select(Aed))
    assert (aed.name, aed.lat, aed.lon, aed.opening_hours) == (
        "New name", 47.371, 8.541, "Mo-Fr 08:00-17:00")


@pytest.mark.parametrize(
    "document",
    [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [8.5, 47.3]}},
        [{"type": "Feature"}],
        {"type": "FeatureCollection"},
        {"type": "FeatureCollection", "features": {"a": 1}},
        "not json at all {",
    ],
    ids=["feature", "list", "no-features", "features-not-a-list", "not-json"],
)
def test_a_file_that_is_not_a_feature_collection_is_one_problem(rt, clock, document):
    report = import_geojson(rt, clock, document)

    assert report.written == 0
    assert len(report.problems) == 1
    assert report.problems[0].written is False
    assert report.rejected == 1
    assert count_rows(rt, Aed) == 0


# ---------------------------------------------------------------- encodings, outlines, hours

WINDOWS_CSV = (
    "id,lat,lon,name,opening_hours\n"
    "node/40,47.37,8.54,Café Zürich,24/7\n"
    "node/41,47.38,8.55,Bäckerei Müller €,\n"
).encode("cp1252")


def test_a_windows_1252_csv_imports_with_the_right_names(rt, clock):
    report = imports.import_aeds_csv(rt.sessions, io.StringIO(decode(WINDOWS_CSV)),
                                     now=clock.now())

    assert (report.written, report.without_hours) == (2, 1)
    with rt.transaction() as session:
        assert set(session.scalars(select(Aed.name))) == {"Café Zürich", "Bäckerei Müller €"}


@pytest.mark.parametrize("data", [b"\xef\xbb\xbfname\nCaf\xc3\xa9", b"name\nCaf\xc3\xa9",
                                  b"name\nCaf\xe9"])
def test_utf8_with_or_without_bom_and_latin_1_are_read(data):
    assert decode(data) == "name\nCafé"


def test_a_file_in_no_known_encoding_is_refused():
    with pytest.raises(InvalidPayload, match="neither UTF-8 nor Windows-1252"):
        decode(b"name\nCaf\xe9 \x81")


def test_a_polygon_aed_is_imported_at_a_point_inside_it_and_reported(rt, clock):
    outline = {"type": "Polygon", "coordinates": [[[8.54, 47.37], [8.541, 47.37],
                                                   [8.541, 47.371], [8.54, 47.371],
                                                   [8.54, 47.37]]]}
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "way/50", "properties": {"name": "Hall"},
         "geometry": outline},
        {"type": "Feature", "id": "way/51", "properties": {"name": "Wings"},
         "geometry": {"type": "MultiPolygon", "coordinates": [outline["coordinates"]]}},
    ]}

    report = import_geojson(rt, clock, collection)

    assert report.written == 2
    assert [(p.line, p.field, p.written) for p in report.problems] == [
        (1, "geometry", True), (2, "geometry", True)]
    with rt.transaction() as session:
        for aed in session.scalars(select(Aed)):
            assert 47.37 < aed.lat < 47.371 and 8.54 < aed.lon < 8.541


def test_rules_that_parse_but_mislead_are_warned_and_aeds_without_hours_counted(rt, clock):
    text = ("id,lat,lon,opening_hours\n"
            "node/60,47.37,8.54,Mo-Fr 07:30-12:00; 13:00-17:00\n"
            'node/61,47.37,8.54,"Mo-Fr 08:00-17:00 open ""call first"""\n'
            "node/62,47.37,8.54,\n")

    report = imports.import_aeds_csv(rt.sessions, io.StringIO(text), now=clock.now())

    assert report.written == 3 and report.without_hours == 1
    assert [(p.line, p.field, p.written) for p in report.problems] == [
        (2, "opening_hours", True), (3, "opening_hours", True)]
