"""Reply and details texts: every language has English's templates, and each fits its budget."""

from __future__ import annotations

import itertools
import string

import pytest

from dispatcher.domain import gsm7
from dispatcher.domain.templates import BUDGET, LANGUAGES, TEMPLATES

NAMES = tuple(TEMPLATES["en"])
DETAILS = ("details_cpr", "details_aed")
# The alert's area is shortened by render_alert to fit (test_templates.py checks it), and the
# details' free text by briefing.details (test_briefing.py checks it).
BUDGETED = tuple(name for name in NAMES if name != "alert" and name not in DETAILS)

WORST_CASE = dict(
    code="9999",
    until="23:59",
    hours="Mo-Fr 08:00-17:00",
    address="A" * 60,
    notes="N" * 98 + ". ",  # the caller passes notes ending with ". "
    map="https://maps.example.org/?" + "m" * 69,
    aed_name="D" * 40,
    aed_access="E" * 60,
)
EMPTY_DETAILS = dict(code="", address="", notes="", map="", aed_name="", aed_access="",
                     aed_hours="")


def placeholders(text: str) -> set[str]:
    """Name the fields a template fills in."""
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def render_worst_case(language: str, name: str) -> str:
    """Render a template with the longest values it is expected to carry."""
    hours = TEMPLATES[language]["aed_hours_today"].format(**WORST_CASE)
    return TEMPLATES[language][name].format(aed_hours=hours, **WORST_CASE)


def test_the_worst_case_values_have_their_stated_lengths():
    lengths = {key: len(WORST_CASE[key]) for key in ("address", "notes", "map", "aed_name",
                                                       "aed_access")}

    assert lengths == dict(address=60, notes=100, map=95, aed_name=40, aed_access=60)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_has_exactly_the_same_templates_as_english(language):
    assert set(TEMPLATES[language]) == set(NAMES)


def test_every_template_has_a_budget():
    assert set(BUDGETED) | set(DETAILS) <= set(BUDGET)


@pytest.mark.parametrize(("language", "name"), list(itertools.product(LANGUAGES, NAMES)))
def test_a_template_has_the_same_placeholders_as_english(language, name):
    assert placeholders(TEMPLATES[language][name]) == placeholders(TEMPLATES["en"][name])


@pytest.mark.parametrize(("language", "name"), list(itertools.product(LANGUAGES, BUDGETED)))
def test_a_template_at_its_worst_case_values_fits_its_budget(language, name):
    text = render_worst_case(language, name)

    assert gsm7.segments(text) <= BUDGET[name], (gsm7.septets(text), text)


@pytest.mark.parametrize(
    ("language", "name"),
    list(itertools.product(LANGUAGES, (n for n in NAMES if n not in DETAILS))),
)
def test_a_template_other_than_the_details_is_gsm7(language, name):
    text = TEMPLATES[language][name]

    assert gsm7.is_gsm7(text), [ch for ch in text if not gsm7.is_gsm7(ch)]


@pytest.mark.parametrize(("language", "name"), list(itertools.product(LANGUAGES, DETAILS)))
def test_the_fixed_text_of_a_details_template_is_gsm7(language, name):
    text = TEMPLATES[language][name].format(**EMPTY_DETAILS)

    assert gsm7.is_gsm7(text), [ch for ch in text if not gsm7.is_gsm7(ch)]
