"""Volunteer imports from CSV: good rows are written, each bad one is reported where it is."""

from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import select

from dispatcher.responders import imports
from dispatcher.store.models import Position, Responder
from tests.builders import count_rows, make_control_room

HEADER = ("phone,name,language,birth_year,cert_expires,travel_mode,"
          "home_lat,home_lon,home_schedule,work_lat,work_lon,work_schedule")
GOOD = ("+46701110001,Anna Andersson,sv,1980,2027-06-30,bike,59.3326,18.0649,,"
        "59.34,18.05,Mo-Fr 08:00-17:00")


def import_volunteers(rt, clock, text: str, **kwargs):
    """Import volunteers from CSV text, in Sweden, at the test clock's time."""
    return imports.import_volunteers(
        rt.sessions, io.StringIO(text), region="SE", now=clock.now(), **kwargs
    )


def csv_text(*rows: str) -> str:
    """Join a header and rows into a CSV text."""
    return "\n".join((HEADER, *rows)) + "\n"


# ---------------------------------------------------------------- volunteers


def test_good_volunteer_rows_are_written_with_their_places(rt, clock):
    text = csv_text(
        GOOD,
        "070-111 00 02,Erik Eriksson,en,1975,2026-12-31,walk,59.30,18.10,"
        "Mo-Su 00:00-24:00,,,",
    )

    report = import_volunteers(rt, clock, text)

    assert report.problems == []
    assert (report.written, report.rejected) == (2, 0)
    with rt.transaction() as session:
        anna = session.scalars(select(Responder).where(Responder.phone == "+46701110001")).one()
        erik = session.scalars(select(Responder).where(Responder.phone == "+46701110002")).one()
        assert (anna.name, anna.language, anna.birth_year, anna.travel_mode) == (
            "Anna Andersson", "sv", 1980, "bike")
        assert anna.cert_expires == date(2027, 6, 30)
        assert anna.status == "active" and anna.ref.startswith("R")
        places = {p.label: p for p in session.scalars(
            select(Position).where(Position.responder_id == anna.id))}
        assert set(places) == {"home", "work"}
        assert (places["home"].lat, places["home"].lon) == (59.3326, 18.0649)
        assert places["home"].schedule is None
        assert places["work"].schedule == "Mo-Fr 08:00-17:00"
        assert all(p.kind == p.label and not p.deleted for p in places.values())
        [home] = session.scalars(select(Position).where(Position.responder_id == erik.id))
        assert (home.label, home.schedule) == ("home", "Mo-Su 00:00-24:00")


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        ("12345,Bad Phone,sv,1980,2027-06-30,walk,,,,,,", "phone", "not a valid number"),
        ("not a number,Bad Phone,sv,1980,2027-06-30,walk,,,,,,", "phone", ""),
        ("+46701110009,Bad Year,sv,19x0,2027-06-30,walk,,,,,,", "birth_year", "1900"),
        ("+46701110009,Old,sv,1850,2027-06-30,walk,,,,,,", "birth_year", "1900"),
        ("+46701110009,Unborn,sv,2031,2027-06-30,walk,,,,,,", "birth_year", "2026"),
        ("+46701110009,Bad Language,pt,1980,2027-06-30,walk,,,,,,", "language", "sv"),
        ("+46701110009,Bad Cert,sv,1980,30/06/2027,walk,,,,,,", "cert_expires", "YYYY-MM-DD"),
        ("+46701110009,Bad Cert,sv,1980,2027-02-30,walk,,,,,,", "cert_expires", "YYYY-MM-DD"),
        ("+46701110009,Bad Mode,sv,1980,2027-06-30,plane,,,,,,", "travel_mode", "walk"),
        ("+46701110009,,sv,1980,2027-06-30,walk,,,,,,", "name", "required"),
        ("+46701110009,Bad Lat,sv,1980,2027-06-30,walk,north,18.06,,,,", "home_lat", "number"),
        ("+46701110009,Bad Lat,sv,1980,2027-06-30,walk,95.0,18.06,,,,", "home_lat", "90"),
        ("+46701110009,No Lon,sv,1980,2027-06-30,walk,59.33,,,,,", "home_lon", "number"),
        ("+46701110009,Bad Work,sv,1980,2027-06-30,walk,,,,59.3,nan,", "work_lon", "180"),
        ("+46701110009,Bad Hours,sv,1980,2027-06-30,walk,59.33,18.06,whenever,,,",
         "home_schedule", "opening_hours"),
    ],
)
def test_each_bad_volunteer_row_is_reported_with_its_line_field_and_reason(
    rt, clock, row, field, reason
):
    text = csv_text(GOOD, row, "+46701110003,Cecilia Carlsson,fi,1990,2027-01-01,car,,,,,,")

    report = import_volunteers(rt, clock, text)

    assert report.written == 2
    assert report.rejected == 1
    [problem] = report.problems
    assert (problem.line, problem.field, problem.written) == (3, field, False)
    assert reason in problem.reason
    assert count_rows(rt, Responder) == 2
    with rt.transaction() as session:
        assert session.scalars(
            select(Responder).where(Responder.phone == "+46701110009")).first() is None


def test_a_bad_first_row_is_reported_on_line_two_below_the_header(rt, clock):
    report = import_volunteers(rt, clock, csv_text("12345,Bad Phone,sv,1980,2027-06-30,walk"))

    assert [(p.line, p.field) for p in report.problems] == [(2, "phone")]


def test_every_bad_field_of_a_row_is_reported_at_once(rt, clock):
    row = "12345,Several Faults,xx,1980,2027-06-30,walk,95.0,18.06,whenever,,,"

    report = import_volunteers(rt, clock, csv_text(GOOD, row))

    assert {p.field for p in report.problems} == {
        "phone", "language", "home_lat", "home_schedule"}
    assert {p.line for p in report.problems} == {3}
    assert report.rejected == 1


def test_a_quoted_field_spanning_lines_keeps_the_line_numbers_right(rt, clock):
    text = csv_text(
        GOOD,                                                                     # line 2
        '+46701110004,"Dora\nDoe\nDahl",sv,1980,2027-06-30,walk,,,,,,',           # lines 3-5
        "+46701110005,Bad Year,sv,19x0,2027-06-30,walk,,,,,,",                    # line 6
        '+46701110006,"Eve\nEdwards",sv,1980,2027-06-30,walk,,,,,,',              # lines 7-8
        "12345,Bad Phone,sv,1980,2027-06-30,walk,,,,,,",                          # line 9
    )

    report = import_volunteers(rt, clock, text)

    assert [(p.line, p.field) for p in report.problems] == [(6, "birth_year"), (9, "phone")]
    assert report.written == 3
    with rt.transaction() as session:
        dora = session.scalars(select(Responder).where(Responder.phone == "+46701110004")).one()
        assert dora.name == "Dora\nDoe\nDahl"


def test_a_reimport_updates_volunteers_by_phone_rather_than_duplicating_them(rt, clock):
    import_volunteers(rt, clock, csv_text(GOOD))
    with rt.transaction() as session:
        first = session.scalars(select(Responder)).one()
        ref, created = first.ref, first.created_at
    clock.advance(minutes=5)
    again = ("070-111 00 01,Anna Berg,en,1980,2029-01-31,walk,59.35,18.07,,"
             "59.34,18.05,Mo-Fr 09:00-18:00")

    report = import_volunteers(rt, clock, csv_text(again))

    assert (report.written, report.problems) == (1, [])
    assert count_rows(rt, Responder) == 1
    assert count_rows(rt, Position) == 2
    with rt.transaction() as session:
        anna = session.scalars(select(Responder)).one()
        assert (anna.ref, anna.created_at) == (ref, created)
        assert anna.updated_at == clock.now()
        assert (anna.name, anna.language, anna.travel_mode) == ("Anna Berg", "en", "walk")
        assert anna.cert_expires == date(2029, 1, 31)
        places = {p.label: p for p in session.scalars(select(Position))}
        assert (places["home"].lat, places["home"].lon) == (59.35, 18.07)
        assert places["work"].schedule == "Mo-Fr 09:00-18:00"


def test_a_reimport_moves_the_places_forward_in_the_change_sequence(rt, clock):
    import_volunteers(rt, clock, csv_text(GOOD))
    with rt.transaction() as session:
        before = max(session.scalars(select(Position.seq)))

    import_volunteers(rt, clock, csv_text(GOOD))

    with rt.transaction() as session:
        assert min(session.scalars(select(Position.seq))) > before


def owners(rt) -> dict[str, int | None]:
    """Return each volunteer's owner (the client id that registered them), by phone."""
    with rt.transaction() as session:
        return dict(session.execute(select(Responder.phone, Responder.owner_id)).all())


def test_an_import_for_an_owner_registers_every_volunteer_it_adds_or_updates_to_it(rt, clock):
    first, second = make_control_room(rt), make_control_room(rt)
    import_volunteers(rt, clock, csv_text(GOOD))
    other = "+46701110002,Erik Eriksson,en,1975,2026-12-31,walk,,,,,,"

    import_volunteers(rt, clock, csv_text(GOOD, other), owner_id=first.client.id)
    import_volunteers(rt, clock, csv_text(other), owner_id=second.client.id)

    assert owners(rt) == {"+46701110001": first.client.id, "+46701110002": second.client.id}


def test_an_import_without_an_owner_keeps_the_owner_a_volunteer_has(rt, clock):
    room = make_control_room(rt)
    import_volunteers(rt, clock, csv_text(GOOD), owner_id=room.client.id)

    import_volunteers(rt, clock, csv_text(GOOD))
    import_volunteers(rt, clock, csv_text("+46701110002,Erik Eriksson,en,1975,2026-12-31,walk"
                                          ",,,,,,"))

    assert owners(rt) == {"+46701110001": room.client.id, "+46701110002": None}


def test_the_progress_callback_is_called_every_batch_on_long_files(rt, clock):
    rows = [f"+4670{2_000_000 + i:07d},Volunteer {i},sv,1980,2027-06-30,walk,,,,,,"
            for i in range(1100)]
    calls: list[int] = []

    report = import_volunteers(rt, clock, csv_text(*rows), progress=calls.append)

    assert report.problems == []
    assert report.written == 1100
    assert calls == [500, 1000]
    assert count_rows(rt, Responder) == 1100


def test_a_short_file_never_calls_progress(rt, clock):
    calls: list[int] = []

    import_volunteers(rt, clock, csv_text(GOOD), progress=calls.append)

    assert calls == []


def test_a_header_only_file_writes_nothing(rt, clock):
    report = import_volunteers(rt, clock, HEADER + "\n")

    assert (report.written, report.problems) == (0, [])
