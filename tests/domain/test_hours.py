"""OSM opening_hours: which expressions can be used, whether they are open, and today's hours.

Pure: every time is a naive local time, as `dispatcher.hours` takes it.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from dispatcher.domain import hours

SUNDAY_11 = datetime(2026, 11, 22, 11, 0)
MONDAY_11 = datetime(2026, 11, 23, 11, 0)
MONDAY_19 = datetime(2026, 11, 23, 19, 0)
TUESDAY_0130 = datetime(2026, 11, 24, 1, 30)
TUESDAY_0200 = datetime(2026, 11, 24, 2, 0)
TUESDAY_0230 = datetime(2026, 11, 24, 2, 30)
SATURDAY_10 = datetime(2026, 11, 28, 10, 0)

READABLE = {
    "always": "24/7",
    "weekdays": "Mo-Fr 08:00-17:00",
    "across midnight": "Mo-Su 18:00-02:00",
    "two spans a day": "Mo-Fr 08:00-12:00,13:00-17:00",
    "times and a comment": 'Mo-Fr 08:00-17:00 "staff only after 16:00"',
    "line break between rules": "Mo-Fr 08:00-12:00;\nSa 09:00-12:00",
    "line break inside a rule": "Mo-Fr\n08:00-17:00",
    "trailing CRLF": "Mo-Fr 08:00-17:00\r\n",
    "closed days": "Mo-Fr 08:00-17:00; Sa,Su off",
}


@pytest.mark.parametrize("expression", READABLE.values(), ids=READABLE.keys())
def test_a_readable_expression_is_valid_and_has_no_parse_error(expression):
    assert hours.is_valid(expression) is True
    assert hours.parse_error(expression) is None


COMMENT_ONLY = {
    "a word in quotes": '"jederzeit"',
    "times written in a comment": 'Mo-Fr "7.00-17.00"',
}


@pytest.mark.parametrize("expression", COMMENT_ONLY.values(), ids=COMMENT_ONLY.keys())
def test_hours_given_only_in_a_comment_are_unknown_not_open(expression):
    assert hours.is_valid(expression) is False
    assert hours.parse_error(expression) == "the times are only given in a comment"
    assert hours.is_open(expression, MONDAY_11) is None
    assert hours.today(expression, MONDAY_11) is None


GARBAGE = {
    "words": "garbage!!",
    "hours past 24": "Mo-Fr 25:00-26:00",
    "unclosed quote": 'Mo-Fr "08:00-17:00',
}


@pytest.mark.parametrize("expression", GARBAGE.values(), ids=GARBAGE.keys())
def test_an_unparseable_expression_says_why_and_is_neither_open_nor_closed(expression):
    error = hours.parse_error(expression)

    assert hours.is_valid(expression) is False
    assert isinstance(error, str) and error
    assert "\n" not in error and len(error) <= 200
    assert hours.is_open(expression, MONDAY_11) is None
    assert hours.today(expression, MONDAY_11) is None


OPEN_AT = [
    # (expression, local time, open?)
    ("24/7", MONDAY_11, True),
    ("24/7", SUNDAY_11, True),
    ("Mo-Fr 08:00-17:00", MONDAY_11, True),
    ("Mo-Fr 08:00-17:00", MONDAY_19, False),
    ("Mo-Fr 08:00-17:00", SUNDAY_11, False),
    ("Mo-Fr 08:00-17:00", datetime(2026, 11, 23, 8, 0), True),  # the opening minute
    ("Mo-Fr 08:00-17:00", datetime(2026, 11, 23, 17, 0), False),  # the closing minute
    ("Mo-Su 18:00-02:00", MONDAY_19, True),
    ("Mo-Su 18:00-02:00", TUESDAY_0130, True),
    ("Mo-Su 18:00-02:00", TUESDAY_0230, False),
    ("Mo-Su 18:00-02:00", MONDAY_11, False),
    ("Mo 18:00-02:00", TUESDAY_0130, True),  # Monday's evening runs on into Tuesday
    ("Mo 18:00-02:00", TUESDAY_0200, False),
    ("Mo-Fr\n08:00-17:00", MONDAY_11, True),
    ("Mo-Fr 08:00-12:00;\nSa 09:00-12:00", SATURDAY_10, True),
    ("Mo-Fr 08:00-17:00; Sa,Su off", SATURDAY_10, False),
    ("off", MONDAY_11, False),
]


@pytest.mark.parametrize(("expression", "at", "expected"), OPEN_AT)
def test_is_open_at_a_local_time(expression, at, expected):
    assert hours.is_open(expression, at) is expected


@pytest.mark.parametrize("expression", [None, "", "   "])
def test_a_place_without_a_schedule_is_always_open(expression):
    assert hours.is_open(expression, SUNDAY_11) is True
    assert hours.today(expression, SUNDAY_11) == "24h"


def test_is_open_ignores_the_time_zone_of_an_aware_time():
    """The caller converts to local time first; the tzinfo left on it is not applied again."""
    from zoneinfo import ZoneInfo

    aware = MONDAY_19.replace(tzinfo=ZoneInfo("Asia/Tokyo"))
    assert hours.is_open("Mo-Fr 08:00-17:00", aware) is False
    assert hours.is_open("Mo-Su 18:00-02:00", aware) is True


TODAY = [
    # (expression, local time, what today() says)
    ("24/7", MONDAY_11, "24h"),
    ("Mo-Su 00:00-24:00", MONDAY_11, "24h"),
    ("Mo-Fr 08:00-17:00", MONDAY_11, "08:00-17:00"),
    ("Mo-Fr 08:00-17:00", MONDAY_19, "08:00-17:00"),  # the whole day, even after closing
    ("Mo-Fr 08:00-12:00,13:00-17:00", MONDAY_11, "08:00-12:00, 13:00-17:00"),
    ("Mo-Fr 08:00-17:00", SUNDAY_11, None),  # closed all day
    ("Mo-Fr 08:00-17:00; Sa,Su off", SATURDAY_10, None),
    ("Mo-Su 18:00-02:00", MONDAY_11, "00:00-02:00, 18:00-24:00"),
    ("Mo 18:00-02:00", TUESDAY_0130, "00:00-02:00"),
    ("Mo-Fr 08:00-12:00;\nSa 09:00-12:00", SATURDAY_10, "09:00-12:00"),
]


@pytest.mark.parametrize(("expression", "at", "expected"), TODAY)
def test_today_gives_the_open_hours_of_the_local_day(expression, at, expected):
    assert hours.today(expression, at) == expected


# --- holidays, sunrise and sunset, and rules that parse but mislead ------------------------

STOCKHOLM_CENTRAL = (59.3303, 18.0586)
HOLIDAYS = [
    # (local time, open?) for "24/7; PH off" in Sweden
    (datetime(2026, 6, 18, 11, 0), True),  # the day before Midsummer Eve
    (datetime(2026, 6, 19, 11, 0), False),  # Midsummer Eve
    (datetime(2026, 1, 5, 11, 0), True),
    (datetime(2026, 1, 6, 11, 0), False),  # Epiphany
    (datetime(2026, 12, 25, 11, 0), False),  # Christmas Day
]


@pytest.mark.parametrize(("at", "expected"), HOLIDAYS)
def test_ph_off_is_closed_on_a_swedish_public_holiday_and_open_the_day_before(at, expected):
    assert hours.is_open("24/7; PH off", at, region="SE") is expected
    assert hours.is_open("24/7; PH off", at, coords=STOCKHOLM_CENTRAL) is expected


def test_the_region_decides_which_days_are_holidays():
    swiss_national_day = datetime(2026, 8, 1, 11, 0)

    assert hours.is_open("24/7; PH off", swiss_national_day, region="SE") is True
    assert hours.is_open("24/7; PH off", swiss_national_day, region="CH") is False
    assert hours.is_open("24/7; PH off", swiss_national_day, coords=(47.37, 8.54)) is False


def test_sunrise_and_sunset_are_those_at_the_place():
    from zoneinfo import ZoneInfo

    december_0830 = datetime(2026, 12, 21, 8, 30, tzinfo=ZoneInfo("Europe/Stockholm"))

    # Stockholm's sun rises at 08:43 that day; without a position the library assumes 07:00.
    assert hours.is_open("sunrise-sunset", december_0830, coords=STOCKHOLM_CENTRAL) is False
    assert hours.today("sunrise-sunset", december_0830, coords=STOCKHOLM_CENTRAL) == (
        "08:43-14:48")


UNCERTAIN = [
    # (expression, local time): open by the letter of OSM, but not certainly
    ('Mo-Fr 08:00-17:00 || "on request"', SUNDAY_11),
    ('Mo-Fr 08:00-17:00; Sa "by appointment"', SATURDAY_10),
    ("Mo-Fr 07:30-12:00; 13:00-17:00", datetime(2026, 11, 28, 14, 0)),  # Saturday afternoon
    ("Mo-Fr 07:30-12:00; 13:00-17:00", datetime(2026, 11, 23, 8, 0)),  # Monday morning
]


@pytest.mark.parametrize(("expression", "at"), UNCERTAIN)
def test_comment_only_and_misleading_rules_are_not_certainly_open(expression, at):
    assert hours.is_valid(expression) is True
    assert hours.is_open(expression, at) is not True


@pytest.mark.parametrize(("expression", "at", "expected"), [
    ('Mo-Fr 08:00-17:00 || "on request"', MONDAY_11, True),
    ("Mo-Fr 07:30-12:00; 13:00-17:00", datetime(2026, 11, 23, 14, 0), True),
    ("Mo-Fr 07:30-12:00; 13:00-17:00", datetime(2026, 11, 23, 12, 30), False),
    ("24/7 || \"on request\"", SUNDAY_11, True),
])
def test_the_certain_part_of_such_rules_still_counts(expression, at, expected):
    assert hours.is_open(expression, at) is expected


WARNINGS = {
    "Mo-Fr 07:30-12:00; 13:00-17:00": "has no weekdays",
    'Mo-Fr 08:00-17:00 open "call first"': "open with a comment",
    'Mo-Fr 08:00-17:00 || "on request"': "only a comment",
}


@pytest.mark.parametrize(("expression", "says"), WARNINGS.items(), ids=WARNINGS.keys())
def test_rules_that_parse_but_mislead_are_warned_about(expression, says):
    [warning] = hours.warnings(expression)
    assert says in warning


@pytest.mark.parametrize("expression", ["24/7", "Mo-Fr 08:00-17:00; PH off", "garbage!!",
                                        "Mo-Fr 08:00-12:00; Sa 09:00-12:00"])
def test_plain_or_unreadable_rules_get_no_warning(expression):
    assert hours.warnings(expression) == []
