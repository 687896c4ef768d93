"""The volunteer registry: checking volunteers and places, and the numbered position writes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from dispatcher.errors import InvalidPayload
from dispatcher.responders import registry
from dispatcher.store.models import Position, Responder
from tests.builders import make_volunteer, offset

TODAY = date(2026, 11, 23)


def positions_of(rt, responder) -> dict[str, Position]:
    """Return a volunteer's position rows, tombstones included, by label."""
    with rt.transaction() as session:
        rows = session.scalars(select(Position).where(Position.responder_id == responder.id))
        return {row.label: row for row in rows}


# --- phone numbers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("070-123 45 67", "SE", "+46701234567"),
        ("070 123 45 67", "SE", "+46701234567"),
        ("+46 70 123 45 67", "SE", "+46701234567"),
        ("+46 70 123 45 67", "NL", "+46701234567"),
        # 00 is the international prefix from Sweden (and the Netherlands).
        ("0046701234567", "SE", "+46701234567"),
        ("0046701234567", "NL", "+46701234567"),
        ("06 12345678", "NL", "+31612345678"),
        ("tel:+46701234567", "SE", "+46701234567"),
    ],
)
def test_normalise_phone_returns_e164(raw, region, expected):
    assert registry.normalise_phone(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("12345", "SE"),
        ("+4670123", "SE"),
        ("070 123 45 67", "US"),  # a Swedish national number read as American
        ("not a number", "SE"),
        ("", "SE"),
    ],
)
def test_normalise_phone_refuses_an_invalid_number_naming_the_phone_field(raw, region):
    with pytest.raises(InvalidPayload) as caught:
        registry.normalise_phone(raw, region)

    assert set(caught.value.fields) == {"phone"}
    assert caught.value.status == 422


# --- volunteers --------------------------------------------------------------------------


def check(**changes):
    """Check a volunteer that is valid unless changed."""
    fields = dict(phone="070-123 45 67", name=" Anna Svensson ", language="SV",
                  birth_year="1985", cert_expires="2027-01-31", travel_mode=" Bike ",
                  region="SE", today=TODAY)
    fields.update(changes)
    return registry.check_volunteer(**fields)


def test_check_volunteer_returns_the_volunteer_normalised():
    assert check() == registry.VolunteerData(
        phone="+46701234567", name="Anna Svensson", language="sv", birth_year=1985,
        cert_expires=date(2027, 1, 31), travel_mode="bike",
    )


def test_check_volunteer_takes_a_date_object_and_defaults_language_and_travel_mode():
    data = check(cert_expires=date(2027, 1, 31), language=None, travel_mode=None)

    assert (data.cert_expires, data.language, data.travel_mode) == (date(2027, 1, 31), "en",
                                                                    "walk")


def test_check_volunteer_reports_every_bad_field_at_once():
    with pytest.raises(InvalidPayload) as caught:
        check(phone="12345", name="  ", language="xx", birth_year="19x5",
              cert_expires="next year", travel_mode="horse")

    assert set(caught.value.fields) == {
        "phone", "name", "language", "birth_year", "cert_expires", "travel_mode",
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("birth_year", 1899),
        ("birth_year", 2027),
        ("birth_year", "nineteen"),
        ("cert_expires", "31/01/2027"),
        ("cert_expires", ""),
        ("language", "es"),
        ("travel_mode", "scooter"),
        ("name", ""),
        ("phone", "+46 70"),
    ],
)
def test_check_volunteer_names_the_one_bad_field(field, value):
    with pytest.raises(InvalidPayload) as caught:
        check(**{field: value})

    assert set(caught.value.fields) == {field}


# --- places and schedules ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("Mo-Fr 08:00-17:00", "Mo-Fr 08:00-17:00"),
        ("  Sa-Su 10:00-12:00 ", "Sa-Su 10:00-12:00"),
        ("24/7", "24/7"),
        ("Mo-Fr 08:00-17:00; PH off", "Mo-Fr 08:00-17:00; PH off"),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_check_place_takes_osm_opening_hours_schedules(schedule, expected):
    assert registry.check_place("59.3326", 18.0649, schedule) == (59.3326, 18.0649, expected)


@pytest.mark.parametrize(
    "schedule",
    ["weekdays", "Mon-Fri 08:00-17:00", "Mo-Fr 8-17", "9-5", "Mo-Fr 08:00-"],
)
def test_check_place_rejects_a_schedule_that_is_not_osm_syntax(schedule):
    with pytest.raises(InvalidPayload) as caught:
        registry.check_place(59.3326, 18.0649, schedule)

    assert set(caught.value.fields) == {"schedule"}
    assert caught.value.fields["schedule"].startswith("not OSM opening_hours syntax")


@pytest.mark.parametrize(
    ("lat", "lon", "bad"),
    [
        (91, 18.0, {"lat"}),
        (-90.5, 18.0, {"lat"}),
        (59.3, 180.5, {"lon"}),
        ("north", "east", {"lat", "lon"}),
        ("nan", 18.0, {"lat"}),
        (59.3, "inf", {"lon"}),
        (None, 18.0, {"lat"}),
    ],
)
def test_check_place_rejects_coordinates_that_are_not_finite_and_in_bounds(lat, lon, bad):
    with pytest.raises(InvalidPayload) as caught:
        registry.check_place(lat, lon, None)

    assert set(caught.value.fields) == bad


def test_check_place_reports_coordinates_and_schedule_together():
    with pytest.raises(InvalidPayload) as caught:
        registry.check_place(100, -200, "whenever")

    assert set(caught.value.fields) == {"lat", "lon", "schedule"}


def test_put_place_refuses_an_unknown_kind(rt):
    responder = make_volunteer(rt)

    with pytest.raises(InvalidPayload) as caught, rt.transaction() as session:
        registry.put_place(session, session.get(Responder, responder.id), label="gym",
                           kind="gym", lat=59.3, lon=18.0)

    assert set(caught.value.fields) == {"kind"}
    assert positions_of(rt, responder) == {}


# --- the change sequence -----------------------------------------------------------------


def test_next_seq_strictly_increases_within_and_across_transactions(rt):
    with rt.transaction() as session:
        first = [registry.next_seq(session) for _ in range(3)]
    with rt.transaction() as session:
        second = [registry.next_seq(session) for _ in range(3)]

    numbers = first + second
    assert numbers == sorted(set(numbers))
    assert numbers[0] >= 1


def test_next_seq_is_not_taken_by_a_transaction_that_rolls_back(rt):
    with rt.transaction() as session:
        before = registry.next_seq(session)
    with pytest.raises(RuntimeError, match="abandon"), rt.transaction() as session:
        registry.next_seq(session)
        raise RuntimeError("abandon")
    with rt.transaction() as session:
        after = registry.next_seq(session)

    assert after == before + 1


def test_every_position_write_takes_a_new_higher_seq(rt):
    responder = make_volunteer(rt, north_m=100)
    home_seq = positions_of(rt, responder)["home"].seq

    with rt.transaction() as session:
        responder = session.get(Responder, responder.id)
        moved = registry.put_place(session, responder, label="home", kind="home",
                                   lat=offset(200)[0], lon=offset(200)[1])
        work = registry.put_place(session, responder, label="work", kind="work",
                                  lat=offset(300)[0], lon=offset(300)[1],
                                  schedule="Mo-Fr 08:00-17:00")
        moved_seq, work_seq = moved.seq, work.seq

    assert home_seq < moved_seq < work_seq
    rows = positions_of(rt, responder)
    assert set(rows) == {"home", "work"}
    assert rows["home"].lat == pytest.approx(offset(200)[0])


# --- live positions ----------------------------------------------------------------------


def put_live(rt, responder, north_m, at):
    """Report a live position so many metres north of the centre; return whether it applied."""
    lat, lon = offset(north_m)
    with rt.transaction() as session:
        row = session.get(Responder, responder.id)
        return registry.put_live_position(session, row, lat=lat, lon=lon, accuracy_m=10, at=at)


def test_put_live_position_ignores_an_older_report(rt, clock):
    responder = make_volunteer(rt)
    now = clock.now()
    assert put_live(rt, responder, 100, now) is True
    stored = positions_of(rt, responder)["live"]

    assert put_live(rt, responder, 900, now - timedelta(minutes=1)) is False
    assert put_live(rt, responder, 900, now) is False  # the same moment is no news either

    row = positions_of(rt, responder)["live"]
    assert (row.lat, row.seq, row.observed_at) == (stored.lat, stored.seq, now)


def test_put_live_position_applies_a_newer_report_in_the_same_row(rt, clock):
    responder = make_volunteer(rt)
    now = clock.now()
    put_live(rt, responder, 100, now)
    first = positions_of(rt, responder)["live"]

    assert put_live(rt, responder, 900, now + timedelta(seconds=30)) is True

    row = positions_of(rt, responder)["live"]
    assert row.id == first.id
    assert row.seq > first.seq
    assert row.lat == pytest.approx(offset(900)[0])
    assert row.observed_at == now + timedelta(seconds=30)
    assert (row.kind, row.accuracy_m) == ("live", 10)


# --- tombstones --------------------------------------------------------------------------


def test_remove_position_leaves_a_tombstone_with_a_new_seq(rt):
    responder = make_volunteer(rt, north_m=100)
    home = positions_of(rt, responder)["home"]

    with rt.transaction() as session:
        registry.remove_position(session, session.get(Position, home.id))

    row = positions_of(rt, responder)["home"]
    assert row.deleted is True
    assert row.seq > home.seq
    with rt.transaction() as session:
        assert registry.next_seq(session) == row.seq + 1


def test_a_removed_place_can_be_registered_again(rt):
    responder = make_volunteer(rt, north_m=100)
    home = positions_of(rt, responder)["home"]
    with rt.transaction() as session:
        registry.remove_position(session, session.get(Position, home.id))
    tombstone = positions_of(rt, responder)["home"]

    with rt.transaction() as session:
        registry.put_place(session, session.get(Responder, responder.id), label="home",
                           kind="home", lat=offset(500)[0], lon=offset(500)[1])

    row = positions_of(rt, responder)["home"]
    assert (row.id, row.deleted) == (home.id, False)
    assert row.seq > tombstone.seq
