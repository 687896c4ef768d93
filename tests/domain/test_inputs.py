"""Values from outside: text without control characters, times within 2000 to 2100."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, ValidationError

from dispatcher.domain.inputs import (
    EARLIEST,
    LATEST,
    FreeText,
    Line,
    SaneTime,
    checked_parameter,
    has_controls,
    sane_time,
    strip_controls,
)
from dispatcher.errors import InvalidPayload

EAST, WEST = timezone(timedelta(hours=23, minutes=59)), timezone(-timedelta(hours=23, minutes=59))


class Sample(BaseModel):
    """A body with one field of each kind."""

    model_config = ConfigDict(strict=True)
    name: Line(10, min_length=1) = "x"
    notes: FreeText(20) = ""
    at: SaneTime | None = None


def parse(**body) -> Sample:
    """Parse a sample from JSON, as a request body is."""
    return Sample.model_validate_json(json.dumps(body))


def field_errors(**body) -> dict[str, str]:
    """Return the message of each field the sample refuses."""
    try:
        parse(**body)
    except ValidationError as exc:
        return {".".join(map(str, e["loc"])): e["msg"] for e in exc.errors()}
    return {}


@pytest.mark.parametrize("text", ["a\x00b", "a\x01", "tab\there", "line\nbreak", "a\rb",
                                  "\x1b[0m", "del\x7fete"])
def test_a_one_line_value_refuses_every_control_character(text):
    assert "control characters" in field_errors(name=text)["name"]


@pytest.mark.parametrize("text", ["a\x00b", "\x07", "a\x0bb", "a\x0cb", "a\x1fb", "\x7f"])
def test_free_text_refuses_control_characters_other_than_tab_and_line_breaks(text):
    assert "control characters" in field_errors(notes=text)["notes"]


@pytest.mark.parametrize("text", ["Door code\t1234", "3 tr\nleft", "a\r\nb", "😀 é ﷺ \u2028"])
def test_free_text_keeps_tab_line_breaks_and_any_printable_character(text):
    assert parse(notes=text).notes == text.strip()


def test_strings_are_bounded_after_trimming():
    assert "at most 10" in field_errors(name="x" * 11)["name"]
    assert parse(name="  " + "x" * 10 + "  ").name == "x" * 10


@pytest.mark.parametrize("at", [
    datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))),
    datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(-timedelta(hours=5))),
    datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC),
    datetime(2000, 1, 1, 0, 30, tzinfo=EAST),  # 1999 in UTC
    datetime(2099, 12, 31, 23, 0, tzinfo=WEST),  # 2100 in UTC
    datetime(2100, 1, 1, tzinfo=UTC),
])
def test_a_time_outside_2000_to_2100_is_refused_without_overflowing(at):
    with pytest.raises(ValueError, match="between 2000 and 2100"):
        sane_time(at)


def test_a_time_without_a_timezone_is_refused():
    with pytest.raises(ValueError, match="timezone"):
        sane_time(datetime(2026, 11, 23, 10, 0))


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                    timezones=st.sampled_from([UTC, EAST, WEST])))
def test_any_aware_time_is_either_refused_or_returned_as_the_same_instant_in_utc(at):
    try:
        utc = sane_time(at)
    except ValueError:
        assert not EARLIEST <= at < LATEST
    else:
        assert utc == at and utc.tzinfo is UTC and EARLIEST <= utc < LATEST


def test_a_time_field_names_itself_when_refused():
    assert "between 2000 and 2100" in field_errors(at="0001-01-01T00:00:00+05:00")["at"]
    assert parse(at="2026-11-23T12:00:00+02:00").at == datetime(
        2026, 11, 23, 10, 0, tzinfo=UTC)


def test_strip_controls_keeps_tab_and_line_breaks_only():
    assert strip_controls("JA\x00\x07\x1b\x7f\tok\r\n") == "JA\tok\r\n"


@given(st.text())
def test_stripped_text_has_no_control_characters_but_lines(text):
    stripped = strip_controls(text)
    assert not has_controls(stripped, lines=True)
    dropped = [c for c in text if has_controls(c, lines=True)]
    assert stripped == "".join(c for c in text if c not in dropped)


@pytest.mark.parametrize(("value", "problem"), [
    ("R\x00", "control characters"), ("", "1 to 16"), ("R" * 17, "1 to 16"),
])
def test_a_path_parameter_that_cannot_fit_is_refused_by_name(value, problem):
    with pytest.raises(InvalidPayload) as refused:
        checked_parameter("ref", value, 16)
    assert problem in refused.value.fields["ref"]


def test_a_path_parameter_that_fits_is_returned_as_it_is():
    assert checked_parameter("ref", "R7KQ2M9X", 16) == "R7KQ2M9X"
