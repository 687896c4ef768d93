"""OSM opening_hours expressions: for AEDs and for the weekly schedules of volunteers' places."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from opening_hours import OpeningHours, ParserError


@lru_cache(maxsize=4096)
def _parse(expression: str) -> OpeningHours | None:
    """Parse once per distinct expression; None when it is not valid OSM syntax."""
    try:
        return OpeningHours(expression, auto_country=False, auto_timezone=False)
    except ParserError:
        return None


def parse_error(expression: str) -> str | None:
    """Return why an expression is not valid OSM opening_hours syntax, or None when it is."""
    try:
        OpeningHours(expression, auto_country=False, auto_timezone=False)
    except ParserError as exc:
        return " ".join(str(exc).split())[:200]
    return None


def is_valid(expression: str) -> bool:
    """Tell whether an expression is valid OSM opening_hours syntax."""
    return _parse(expression) is not None


def is_open(expression: str | None, local_time: datetime) -> bool | None:
    """Tell whether the expression is open at a naive local time; None when it can't be read.

    An empty expression means always open: a place without a schedule is always in use.
    """
    if expression is None or not expression.strip():
        return True
    parsed = _parse(expression)
    if parsed is None:
        return None
    return parsed.is_open(local_time.replace(tzinfo=None))
