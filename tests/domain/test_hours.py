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
