"""The details after YES: complete where it matters, shortened where it may be, within budget."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dispatcher.config import DEFAULTS
from dispatcher.domain import briefing, gsm7
from dispatcher.domain.roles import AedRecord
from dispatcher.domain.templates import LANGUAGES
from dispatcher.store.models import Alert, Incident

MONDAY_11 = datetime(2026, 11, 23, 11, 0)
ADDRESS = "Drottninggatan 53, 3 tr, Norrmalm, 111 21 Stockholm (courtyard B)"


def incident(notes: str = "Door code 1234, courtyard entrance") -> Incident:
    """An incident as the details read it (never stored)."""
    return Incident(lat=59.3326, lon=18.0649, address=ADDRESS, notes=notes,
                    created_at=datetime(2026, 11, 23, 10, 0, tzinfo=UTC))


def aed(access: str = "In the yellow cabinet left of the main entrance") -> AedRecord:
    """An AED open Monday to Friday."""
    return AedRecord(7, "Stockholm Central Station, hall", 59.33, 18.058, access,
                     "Mo-Fr 06:00-22:00; Sa-Su 08:00-20:00", True)


def render(language: str, notes: str, with_aed: AedRecord | None) -> str:
    """Render the details for a test incident."""
    return briefing.details(
        language=language, incident=incident(notes), alert=Alert(code="4821"), aed=with_aed,
        map_template=DEFAULTS["MAP_LINK_TEMPLATE"], local_now=MONDAY_11,
    )


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("with_aed", [None, aed()], ids=["cpr", "aed"])
def test_details_fit_three_segments_even_with_long_notes(language, with_aed):
    text = render(language, "Ring twice. " * 40, with_aed)

    assert gsm7.segments(text) <= 3, (gsm7.segments(text), text)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("with_aed", [None, aed()], ids=["cpr", "aed"])
def test_the_address_map_link_and_code_are_never_cut(language, with_aed):
    text = render(language, "Ring twice. " * 40, with_aed)

    assert ADDRESS in text
    assert "https://www.openstreetmap.org/?mlat=59.33260&mlon=18.06490" in text
    assert "4821" in text


def test_short_notes_are_given_whole():
    text = render("en", "Door code 1234, courtyard entrance", None)

    assert "Door code 1234, courtyard entrance." in text
    assert text.startswith("GO NOW: " + ADDRESS)


def test_long_notes_are_shortened_with_a_mark_of_the_cut():
    text = render("en", "Door code 1234. " + "Lift to the third floor, flat on the left. " * 8,
                  None)

    assert "Door code 1234." in text
    assert "..." in text


def test_the_aed_details_name_it_say_where_it_is_and_its_hours_today():
    text = render("en", "", aed())

    assert "FETCH THE DEFIBRILLATOR first: Stockholm Central Station, hall" in text
    assert "In the yellow cabinet left of the main entrance" in text
    assert "(open today 06:00-22:00)" in text


def test_an_aed_without_access_notes_leaves_no_stray_comma():
    text = render("en", "", aed(access=""))

    assert "Stockholm Central Station, hall (open today 06:00-22:00)." in text


def test_notes_outside_gsm7_are_rewritten_into_it_rather_than_shrinking_the_room():
    text = render("en", "Portkod 1234 — gå in via gården ☎, “B” hus", aed())

    assert gsm7.is_gsm7(text)
    assert gsm7.segments(text) <= 3
    assert 'Portkod 1234 - gå in via gården, "B" hus.' in text
