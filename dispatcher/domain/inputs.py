"""Values from outside, bounded: text without control characters and times within reason.

Every string a control room or an app sends is bounded in length and may not carry C0 control
characters (U+0000 to U+001F) or DEL (U+007F): a NUL cannot be stored by PostgreSQL, and the
others only hide what a text says. Free text (an address, notes) may keep tab, line feed and
carriage return. A volunteer's SMS is never refused for them: `strip_controls` removes them.

Times must lie between EARLIEST and LATEST: a year-1 or year-9999 time with an offset is
refused before anything converts it, so no arithmetic on it can overflow.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, StringConstraints

from dispatcher.errors import InvalidPayload

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)

_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")
_CONTROLS_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
NO_CONTROLS = "may not contain control characters"
NO_CONTROLS_BUT_LINES = "may not contain control characters other than tab and line breaks"


def has_controls(text: str, *, lines: bool = False) -> bool:
    """Say whether a text holds a control character (tab and line breaks allowed with lines)."""
    return (_CONTROLS_BUT_LINES if lines else _CONTROLS).search(text) is not None


def strip_controls(text: str) -> str:
    """Remove the control characters from a text, keeping tab and line breaks."""
    return _CONTROLS_BUT_LINES.sub("", text)


def _one_line(value: str) -> str:
    """Refuse a name or identifier that holds any control character."""
    if has_controls(value):
        raise ValueError(NO_CONTROLS)
    return value


def _free_text(value: str) -> str:
    """Refuse free text that holds a control character other than tab and line breaks."""
    if has_controls(value, lines=True):
        raise ValueError(NO_CONTROLS_BUT_LINES)
    return value


def sane_time(value: datetime) -> datetime:
    """Return an aware time in UTC; raise ValueError outside EARLIEST to LATEST."""
    # The local year first: converting year 1 or 9999 with an offset would overflow.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must carry a timezone")
    if not EARLIEST.year <= value.year < LATEST.year:
        raise ValueError(f"must lie between {EARLIEST.year} and {LATEST.year}")
    utc = value.astimezone(UTC)
    if not EARLIEST <= utc < LATEST:
        raise ValueError(f"must lie between {EARLIEST.year} and {LATEST.year}")
    return utc


def Line(max_length: int, min_length: int = 0):  # noqa: N802 - it names a type
    """Return the type of a one-line string: stripped, bounded, without control characters."""
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=min_length,
                                            max_length=max_length), AfterValidator(_one_line)]


def FreeText(max_length: int):  # noqa: N802 - it names a type
    """Return the type of free text: stripped, bounded, tab and line breaks its only controls."""
    return Annotated[str, StringConstraints(strip_whitespace=True, max_length=max_length),
                     AfterValidator(_free_text)]


SaneTime = Annotated[AwareDatetime, AfterValidator(sane_time)]


def checked_parameter(name: str, value: str, max_length: int) -> str:
    """Return a path parameter or header that fits; raise InvalidPayload naming it otherwise."""
    if has_controls(value):
        raise InvalidPayload(f"{name} is not valid", fields={name: NO_CONTROLS})
    if not 0 < len(value) <= max_length:
        raise InvalidPayload(f"{name} is not valid",
                             fields={name: f"must be 1 to {max_length} characters"})
    return value
