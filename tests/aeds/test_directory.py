"""The AED directory: which AEDs are offered for a run, and when it reloads from the table.

Every test runs on SQLite and on PostgreSQL. AEDs are placed in metres from CENTRE.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select

from dispatcher.aeds.directory import AedDirectory
from dispatcher.store.models import Aed
from tests.builders import CENTRE, make_aed, offset

STOCKHOLM = ZoneInfo("Europe/Stockholm")
MONDAY_11 = datetime(2026, 11, 23, 11, 0, tzinfo=STOCKHOLM)
SUNDAY_11 = datetime(2026, 11, 22, 11, 0, tzinfo=STOCKHOLM)


def open_ids(rt, directory: AedDirectory, at: datetime, radius_m: float = 1000) -> list[int]:
    """Return the ids of the AEDs the directory offers around CENTRE at a local time."""
    with rt.transaction() as session:
        return [a.id for a in directory.open_near(session, *CENTRE, radius_m, at)]


@contextmanager
def row_loads(rt):
    """Count the queries that read whole AED rows (not the aggregate version check)."""
    loads: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        sql = " ".join(statement.lower().split())
        if "from aeds" in sql and "count(" not in sql:
            loads.append(sql)

    event.listen(rt.engine, "before_cursor_execute", count)
    try:
        yield loads
    finally:
        event.remove(rt.engine, "before_cursor_execute", count)


# --- which AEDs are offered ------------------------------------------------------------------


OFFERED = {
    # name: (make_aed arguments, local time, offered?)
    "24/7 on a Monday": ({"opening_hours": "24/7"}, MONDAY_11, True),
    "24/7 on a Sunday": ({"opening_hours": "24/7"}, SUNDAY_11, True),
    "office hours on a Monday morning": ({"opening_hours": "Mo-Fr 08:00-17:00"}, MONDAY_11,
                                         True),
    "office hours on a Sunday": ({"opening_hours": "Mo-Fr 08:00-17:00"}, SUNDAY_11, False),
    "office hours on a Monday evening": ({"opening_hours": "Mo-Fr 08:00-17:00"},
                                         MONDAY_11.replace(hour=19), False),
    "hours only in a comment": ({"opening_hours": '"jederzeit"'}, MONDAY_11, False),
    "times only in a comment": ({"opening_hours": 'Mo-Fr "7.00-17.00"'}, MONDAY_11, False),
    "unparseable hours": ({"opening_hours": "nach Absprache"}, MONDAY_11, False),
    "restricted access, open 24/7": ({"access": "restricted"}, MONDAY_11, False),
    "by appointment": ({"opening_hours": '"by appointment"'}, MONDAY_11, False),
    "on request outside its hours": ({"opening_hours": 'Mo-Fr 08:00-17:00 || "on request"'},
                                     SUNDAY_11, False),
    "open with a comment only": ({"opening_hours": 'open "call first"'}, MONDAY_11, False),
    "a lunch break written as a second rule, Saturday": (
        {"opening_hours": "Mo-Fr 07:30-12:00; 13:00-17:00"},
        datetime(2026, 11, 28, 14, 0, tzinfo=STOCKHOLM), False),
    "a lunch break written as a second rule, Monday": (
        {"opening_hours": "Mo-Fr 07:30-12:00; 13:00-17:00"}, MONDAY_11.replace(hour=14), True),
    "sunrise-sunset before a December sunrise": (
        {"opening_hours": "sunrise-sunset"}, datetime(2026, 12, 21, 8, 30, tzinfo=STOCKHOLM),
        False),
    "sunrise-sunset at a December noon": (
        {"opening_hours": "sunrise-sunset"}, datetime(2026, 12, 21, 12, 0, tzinfo=STOCKHOLM),
        True),
}


@pytest.mark.parametrize(("kwargs", "at", "offered"), OFFERED.values(), ids=OFFERED.keys())
def test_only_public_aeds_certainly_open_at_the_local_time_are_offered(rt, kwargs, at, offered):
    aed_id = make_aed(rt, at=offset(200), **kwargs)

    assert open_ids(rt, AedDirectory(), at) == ([aed_id] if offered else [])


@pytest.mark.parametrize("region", [None, "SE"])
def test_a_ph_off_aed_is_closed_on_a_swedish_holiday_and_open_the_day_before(rt, region):
    aed_id = make_aed(rt, at=offset(200), opening_hours="Mo-Su 08:00-20:00; PH off")
    directory = AedDirectory(region=region)
    midsummer_eve = datetime(2026, 6, 19, 11, 0, tzinfo=STOCKHOLM)
    christmas_day = datetime(2026, 12, 25, 11, 0, tzinfo=STOCKHOLM)

    assert open_ids(rt, directory, midsummer_eve - timedelta(days=1)) == [aed_id]
    assert open_ids(rt, directory, midsummer_eve) == []
    assert open_ids(rt, directory, christmas_day) == []


def test_the_configured_region_gives_the_holidays(rt):
    aed_id = make_aed(rt, at=offset(200), opening_hours="24/7; PH off")
    swiss_national_day = datetime(2026, 8, 1, 11, 0, tzinfo=STOCKHOLM)

    assert open_ids(rt, AedDirectory(region="SE"), swiss_national_day) == [aed_id]
    assert open_ids(rt, AedDirectory(region="CH"), swiss_national_day) == []


def test_an_aed_without_opening_hours_is_not_offered_as_its_availability_is_unknown(rt):
    """No opening_hours tag is not "24/7": in OSM most such AEDs are indoors (257 of the 280
    without hours in the Zürich export), behind doors that may be locked. DESIGN.md section 6:
    the AED role only with an AED open now; a locked door costs the patient minutes."""
    make_aed(rt, at=offset(200), opening_hours=None)
    always = make_aed(rt, at=offset(300), opening_hours="24/7")

    assert open_ids(rt, AedDirectory(), SUNDAY_11) == [always]


def test_only_aeds_within_the_radius_are_offered_nearest_first(rt):
    far = make_aed(rt, at=offset(0, 600))
    near = make_aed(rt, at=offset(-150))
    middle = make_aed(rt, at=offset(400))
    make_aed(rt, at=offset(0, -1200))

    assert open_ids(rt, AedDirectory(), MONDAY_11, radius_m=1000) == [near, middle, far]
    assert open_ids(rt, AedDirectory(), MONDAY_11, radius_m=500) == [near, middle]
    assert open_ids(rt, AedDirectory(), MONDAY_11, radius_m=100) == []


def test_an_empty_table_offers_nothing(rt):
    assert open_ids(rt, AedDirectory(), MONDAY_11) == []


def test_the_local_time_decides_not_utc(rt):
    # 07:30 UTC on a Monday is 08:30 in Stockholm: open for Mo-Fr 08:00-17:00.
    aed_id = make_aed(rt, at=offset(200), opening_hours="Mo-Fr 08:00-17:00")
    utc_0730 = datetime(2026, 11, 23, 7, 30, tzinfo=ZoneInfo("UTC"))

    assert open_ids(rt, AedDirectory(), utc_0730.astimezone(STOCKHOLM)) == [aed_id]


def test_get_returns_an_aed_as_last_loaded(rt):
    aed_id = make_aed(rt, at=offset(200), name="Central Station",
                      opening_hours="Mo-Fr 08:00-17:00", access_notes="By the ticket hall")
    directory = AedDirectory()
    open_ids(rt, directory, MONDAY_11)

    record = directory.get(aed_id)

    assert (record.name, record.opening_hours, record.access_notes, record.public) == (
        "Central Station", "Mo-Fr 08:00-17:00", "By the ticket hall", True)
    assert directory.get(aed_id + 1) is None


# --- reloading -------------------------------------------------------------------------------


def test_the_directory_does_not_reload_while_the_table_is_unchanged(rt):
    make_aed(rt, at=offset(200))
    directory = AedDirectory()
    open_ids(rt, directory, MONDAY_11)

    with row_loads(rt) as loads:
        open_ids(rt, directory, MONDAY_11)
        open_ids(rt, directory, SUNDAY_11)

    assert loads == []


def test_the_directory_reloads_after_an_aed_is_added(rt):
    first = make_aed(rt, at=offset(200))
    directory = AedDirectory()
    assert open_ids(rt, directory, MONDAY_11) == [first]

    second = make_aed(rt, at=offset(300))  # created at the same instant: the count moves

    with row_loads(rt) as loads:
        assert open_ids(rt, directory, MONDAY_11) == [first, second]
    assert len(loads) == 1


def test_the_directory_reloads_after_an_aed_is_moved(rt, clock):
    aed_id = make_aed(rt, at=offset(200))
    directory = AedDirectory()
    assert open_ids(rt, directory, MONDAY_11, radius_m=500) == [aed_id]

    clock.advance(minutes=5)
    with rt.transaction() as session:  # as a correction or a re-import moves it
        aed = session.get(Aed, aed_id)
        aed.lat, aed.lon = offset(2000)
        aed.updated_at = clock.now()

    assert open_ids(rt, directory, MONDAY_11, radius_m=500) == []
    assert open_ids(rt, directory, MONDAY_11, radius_m=2500) == [aed_id]


def test_the_directory_reloads_after_an_aed_is_removed(rt):
    kept = make_aed(rt, at=offset(200))
    gone = make_aed(rt, at=offset(300))
    directory = AedDirectory()
    assert open_ids(rt, directory, MONDAY_11) == [kept, gone]

    with rt.transaction() as session:
        session.delete(session.get(Aed, gone))

    assert open_ids(rt, directory, MONDAY_11) == [kept]
    assert directory.get(gone) is None


def test_a_new_hours_value_is_used_after_the_reload(rt, clock):
    aed_id = make_aed(rt, at=offset(200), opening_hours="24/7")
    directory = AedDirectory()
    assert open_ids(rt, directory, SUNDAY_11) == [aed_id]

    with rt.transaction() as session:
        aed = session.scalars(select(Aed).where(Aed.id == aed_id)).one()
        aed.opening_hours, aed.updated_at = "Mo-Fr 08:00-17:00", clock.advance(seconds=1)

    assert open_ids(rt, directory, SUNDAY_11) == []
