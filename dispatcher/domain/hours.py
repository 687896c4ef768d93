"""OSM opening_hours expressions: for AEDs and for the weekly schedules of volunteers' places."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import lru_cache

from opening_hours import OpeningHours, ParserError, State

_COMMENT = re.compile(r'"[^"]*"')
# What gives a rule its times outside comments: a clock time, 24/7, or a solar event.
_TIMES = re.compile(r"\d{1,2}:\d{2}|24/7|sunrise|sunset|dawn|dusk|\boff\b|\bclosed\b", re.I)


def _clean(expression: str) -> str:
    """Fold line breaks and runs of spaces, which exports leave in and the syntax forbids."""
    return " ".join(expression.split())


@lru_cache(maxsize=4096)
def _read(expression: str) -> tuple[OpeningHours | None, str | None]:
    """Parse once per distinct expression; return the parsed rules or why they can't be used."""
    text = _clean(expression)
    try:
        parsed = OpeningHours(text, auto_country=False, auto_timezone=False)
    except ParserError as exc:
        return None, " ".join(str(exc).split())[:200]
    # `Mo-Fr "7.00-17.00"` and `"jederzeit"` parse, but as open all day with a comment:
    # when the only times are inside comments, the hours are unknown, not open.
    if _COMMENT.search(text) and not _TIMES.search(_COMMENT.sub("", text)):
        return None, "the times are only given in a comment"
    return parsed, None


def parse_error(expression: str) -> str | None:
    """Return why an expression can't be used as opening hours, or None when it can."""
    return _read(expression)[1]


def is_valid(expression: str) -> bool:
    """Tell whether an expression can be evaluated as opening hours."""
    return _read(expression)[0] is not None


def is_open(expression: str | None, local_time: datetime) -> bool | None:
    """Tell whether the expression is open at a naive local time; None when it can't be read.

    An empty expression means always open: a place without a schedule is always in use.
    """
    if expression is None or not expression.strip():
        return True
    parsed = _read(expression)[0]
    if parsed is None:
        return None
    return parsed.is_open(local_time.replace(tzinfo=None))


def today(expression: str | None, local_time: datetime) -> str | None:
    """Return the open hours of the local day, e.g. "08:00-12:00, 13:00-17:00", or "24h".

    None when the expression cannot be read or there are no open hours that day.
    """
    if expression is None or not expression.strip():
        return "24h"
    parsed = _read(expression)[0]
    if parsed is None:
        return None
    start = local_time.replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
    end = start + timedelta(days=1)
    spans = [
        (max(a, start), min(b or end, end))
        for a, b, state, _ in parsed.intervals(start, end)
        if state == State.OPEN
    ]
    if not spans:
        return None
    if spans == [(start, end)]:
        return "24h"
    return ", ".join(f"{a:%H:%M}-{'24:00' if b == end else f'{b:%H:%M}'}" for a, b in spans)
