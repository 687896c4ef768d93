"""Message texts: every alert, in every language, fits one GSM-7 segment."""

from __future__ import annotations

import itertools

import pytest

from dispatcher.domain import gsm7, templates
from dispatcher.domain.templates import LANGUAGES, format_distance, render, render_alert

COMPASS_POINTS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
DISTANCES = (2999, 999, 5)
AREAS = (
    None,
    "",
    "Norrmalm",
    "A" * 60,
    "Kungsholmen-Stadshagen-Marieberg-Fredhäll-Kristineberg-Lilla",  # 60 characters
    "€[]{}|^~\\" * 6 + "€[]{}|",  # 60 extension characters: 120 septets
    "Łódź ☃",
    "Café “Zum Löwen” – Zürich’s 24/7 🏥 centre",
)


def fits_one_gsm7_segment(text: str) -> bool:
    """Tell whether a text is GSM-7 and at most 160 septets."""
    return gsm7.is_gsm7(text) and gsm7.septets(text) <= 160 and gsm7.segments(text) == 1


def test_the_worst_case_area_names_are_sixty_characters():
    assert [len(a) for a in AREAS[3:6]] == [60, 60, 60]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("area", AREAS, ids=lambda a: repr(a)[:14])
def test_every_alert_is_one_gsm7_segment_at_worst_case_values(language, area):
    for distance, compass in itertools.product(DISTANCES, COMPASS_POINTS):
        text = render_alert(language, distance_m=distance, compass=compass, area=area,
                            code="9999")

        assert fits_one_gsm7_segment(text), (language, distance, compass, len(text), text)
        assert text.endswith("9999"), text
        assert templates.COMPASS[language][compass] in text
        assert format_distance(distance, language) in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_short_area_name_is_kept_whole(language):
    text = render_alert(language, distance_m=2999, compass="NW", area="Norrmalm", code="9999")

    assert ", Norrmalm" in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_long_area_name_is_shortened_rather_than_dropped(language):
    text = render_alert(language, distance_m=2999, compass="NW", area="B" * 60, code="9999")

    assert ", BBB" in text
    assert fits_one_gsm7_segment(text)


@pytest.mark.parametrize("language", LANGUAGES)
def test_characters_outside_gsm7_in_an_area_name_are_replaced_not_sent(language):
    text = render_alert(language, distance_m=350, compass="N", area="Łódź ☃", code="1234")

    assert fits_one_gsm7_segment(text)
    assert "odz" in text  # accents are stripped where the letter has a plain base


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_alert_carries_no_area_when_there_is_none(language):
    with_none = render_alert(language, distance_m=350, compass="N", area=None, code="1234")
    with_empty = render_alert(language, distance_m=350, compass="N", area="", code="1234")

    assert with_none == with_empty
    assert ", ," not in with_none and ", ." not in with_none


@pytest.mark.parametrize(
    ("name", "language"),
    list(itertools.product(("stand_down_cancelled", "stand_down_closed"), LANGUAGES)),
)
def test_every_stand_down_is_one_gsm7_segment(name, language):
    text = render(name, language, code="9999")

    assert fits_one_gsm7_segment(text), (len(text), text)
    assert "9999" in text


@pytest.mark.parametrize(
    ("metres", "language", "expected"),
    [
        (350, "en", "350 m"),
        (354, "sv", "350 m"),
        (5, "en", "10 m"),
        (0, "en", "10 m"),
        (994, "en", "990 m"),
        (999, "en", "1.0 km"),
        (1400, "en", "1.4 km"),
        (1400, "sv", "1,4 km"),
        (1449, "de", "1,4 km"),
        (2999, "en", "3.0 km"),
        (2999, "fi", "3,0 km"),
        (2999, "nl", "3,0 km"),
        (2999, "fr", "3,0 km"),
    ],
)
def test_format_distance_rounds_and_uses_the_languages_decimal_mark(metres, language, expected):
    assert format_distance(metres, language) == expected


@pytest.mark.parametrize("language", ["xx", "", None, "pt-BR", "EN"])
def test_an_unknown_or_missing_language_falls_back_to_english(language):
    english = render_alert("en", distance_m=350, compass="N", area="Norrmalm", code="1234")

    assert render_alert(language, distance_m=350, compass="N", area="Norrmalm",
                        code="1234") == english
    assert render("stand_down_cancelled", language, code="1234") == render(
        "stand_down_cancelled", "en", code="1234")


@pytest.mark.parametrize(
    ("code", "expected"),
    [("sv", "sv"), ("SV", "sv"), ("sv-SE", "sv"), ("fi_FI", "fi"), ("pt", "en"), (None, "en")],
)
def test_language_of_takes_the_first_two_letters_of_a_supported_language(code, expected):
    assert templates.language_of(code) == expected


def test_every_language_has_every_template_and_every_compass_point():
    names = set(templates.TEMPLATES["en"])
    for language in LANGUAGES:
        assert set(templates.TEMPLATES[language]) == names, language
        assert set(templates.COMPASS[language]) == set(COMPASS_POINTS), language
        assert all(gsm7.is_gsm7(text) for text in templates.TEMPLATES[language].values())
