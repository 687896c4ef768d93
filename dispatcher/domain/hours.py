"""OSM opening_hours expressions: for AEDs and for the weekly schedules of volunteers' places.

"Open" here means certainly open: open on the place's public holidays and at its own sunrise
and sunset, and open under every plausible reading of a rule that parses but misleads.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from opening_hours import (
    InvalidCoordinatesError,
    OpeningHours,
    ParserError,
    State,
    UnknownCountryError,
)

_COMMENT = re.compile(r'"[^"]*"')
# What gives a rule its times outside comments: a clock time, 24/7, or a solar event.
_TIMES = re.compile(r"\d{1,2}:\d{2}|24/7|sunrise|sunset|dawn|dusk|\boff\b|\bclosed\b", re.I)
_SEPARATOR = re.compile(r"(\|\||;)")
_WEEKDAY = re.compile(r"\b(Mo|Tu|We|Th|Fr|Sa|Su)\b")
_STARTS_WITH_TIME = re.compile(r"^\s*(\d{1,2}:\d{2}|sunrise|sunset|dawn|dusk|\()", re.I)
_TIME_LIST = re.compile(r"^[\d:+,\s-]+$")
_OPEN = re.compile(r"\bopen\b", re.I)


def _clean(expression: str) -> str:
    """Fold line breaks and runs of spaces, which exports leave in and the syntax forbids."""
    return " ".join(expression.split())


def _rules(text: str) -> list[tuple[str, str]]:
    """Split into (separator before it, rule) pairs, never inside a comment."""
    pieces = [""]
    for n, part in enumerate(re.split(r'("[^"]*")', text)):
        if n % 2:  # a comment, kept whole
            pieces[-1] += part
            continue
        for m, bit in enumerate(_SEPARATOR.split(part)):
            if m % 2:
                pieces += [bit, ""]
            else:
                pieces[-1] += bit
    return [(pieces[i - 1] if i else "", pieces[i].strip()) for i in range(0, len(pieces), 2)]


def _join(rules: list[tuple[str, str]]) -> str:
    """Put rules back together."""
    return "".join(f" {sep} {rule}" if sep else rule for sep, rule in rules).strip()


def _comment_only(rule: str) -> bool:
    """Tell whether a rule's only times are a comment, as `"by appointment"` or `open "call"`."""
    bare = _COMMENT.sub("", rule)
    return bool(_COMMENT.search(rule)) and not _TIMES.search(bare) and "unknown" not in bare


def _as_unknown(rule: str) -> str:
    """Rewrite a comment-only rule as `unknown`: `Sa "by appointment"` is no promise."""
    cut = rule.index('"')
    return f"{_OPEN.sub('', rule[:cut]).strip()} unknown {rule[cut:]}".strip()


def _bare_after_weekday(rules: list[tuple[str, str]]) -> list[int]:
    """Return the rules without any selector that follow a rule for certain weekdays.

    By OSM's rules `Mo-Fr 07:30-12:00; 13:00-17:00` is open 13:00-17:00 every day: the second
    rule replaces the first on all days, which is rarely what was meant.
    """
    found, weekday_seen = [], False
    for i, (sep, rule) in enumerate(rules):
        bare = _COMMENT.sub("", rule)
        if i and sep == ";" and weekday_seen and _STARTS_WITH_TIME.match(bare):
            found.append(i)
        weekday_seen = weekday_seen or bool(_WEEKDAY.search(bare))
    return found


def _readings(text: str) -> list[str]:
    """Return the readings an expression must be open under to be certainly open.

    Comment-only rules become `unknown`; a times-only rule after a weekday rule is read both
    as OSM says (it replaces) and as was likely meant (more times for the same days).
    """
    rules = [(sep, _as_unknown(rule) if _comment_only(rule) else rule)
             for sep, rule in rules_of(text)]
    readings = [_join(rules)]
    bare = [i for i in _bare_after_weekday(rules) if _TIME_LIST.match(rules[i][1])]
    if bare:
        meant = list(rules)
        for i in reversed(bare):
            meant[i - 1] = (meant[i - 1][0], f"{meant[i - 1][1]},{meant[i][1].replace(' ', '')}")
            del meant[i]
        readings.append(_join(meant))
    return readings


def rules_of(text: str) -> list[tuple[str, str]]:
    """Return an expression's rules as (separator before it, rule) pairs."""
    return _rules(_clean(text))


def _parse(text: str, region: str | None, coords: tuple | None, zone: tzinfo | None):
    """Parse with the place's holidays, position and time zone; drop what the library refuses."""
    try:
        return OpeningHours(text, timezone=zone, country=region, coords=coords,
                            auto_country=region is None and coords is not None,
                            auto_timezone=coords is not None)
    except (UnknownCountryError, InvalidCoordinatesError):
        return OpeningHours(text, timezone=zone, auto_country=False, auto_timezone=False)


@lru_cache(maxsize=16384)
def _read(
    expression: str,
    region: str | None = None,
    coords: tuple[float, float] | None = None,
    zone: tzinfo | None = None,
) -> tuple[tuple[OpeningHours, ...], str | None]:
    """Parse once per expression and place; return its readings or why it can't be used."""
    text = _clean(expression)
    try:
        _parse(text, None, None, None)
    except ParserError as exc:
        return (), " ".join(str(exc).split())[:200]
    # `Mo-Fr "7.00-17.00"` and `"jederzeit"` parse, but as open all day with a comment:
    # when the only times are inside comments, the hours are unknown, not open.
    if _COMMENT.search(text) and not _TIMES.search(_COMMENT.sub("", text)):
        return (), "the times are only given in a comment"
    try:
        return tuple(_parse(r, region, coords, zone) for r in _readings(text)), None
    except ParserError:  # a rewrite the library refuses: readable, but never certainly open
        return (), None


def _place(local_time: datetime, region: str | None, coords: tuple | None) -> tuple:
    """Return the cache key of a place: region, position to about 100 m, and time zone."""
    zone = local_time.tzinfo if isinstance(local_time.tzinfo, ZoneInfo) else None
    point = None if coords is None else (round(coords[0], 3), round(coords[1], 3))
    return (region or None, point, zone if point else None)


def parse_error(expression: str) -> str | None:
    """Return why an expression can't be used as opening hours, or None when it can."""
    return _read(expression)[1]


def is_valid(expression: str) -> bool:
    """Tell whether an expression can be evaluated as opening hours."""
    return _read(expression)[1] is None


def warnings(expression: str) -> list[str]:
    """Return why a readable expression may mislead: rules that parse but were likely meant
    otherwise."""
    if not is_valid(expression):
        return []
    rules, found = rules_of(expression), []
    for i in _bare_after_weekday(rules):
        found.append(f"'{rules[i][1]}' has no weekdays, so it replaces "
                     f"'{rules[i - 1][1]}' on every day; hours uncertain")
    for _, rule in rules:
        if _comment_only(rule):
            found.append(f"'{rule}' gives no times, only a comment; never offered then")
        elif _OPEN.search(_COMMENT.sub("", rule)) and _COMMENT.search(rule):
            found.append(f"'{rule}' is open with a comment; check the comment does not "
                         "restrict it")
    return found


def is_open(
    expression: str | None,
    local_time: datetime,
    *,
    region: str | None = None,
    coords: tuple[float, float] | None = None,
) -> bool | None:
    """Tell whether the expression is certainly open at a local time; None when unknown.

    `region` is the country whose public holidays apply (None: from `coords`, when given);
    `coords` (lat, lon) place sunrise and sunset. An empty expression means always open: a
    place without a schedule is always in use.
    """
    if expression is None or not expression.strip():
        return True
    readings, error = _read(expression, *_place(local_time, region, coords))
    if error or not readings:
        return None
    states = {r.is_open(local_time.replace(tzinfo=None)) for r in readings}
    return states.pop() if len(states) == 1 else None


def today(
    expression: str | None,
    local_time: datetime,
    *,
    region: str | None = None,
    coords: tuple[float, float] | None = None,
) -> str | None:
    """Return the open hours of the local day, e.g. "08:00-12:00, 13:00-17:00", or "24h".

    None when the expression cannot be read or there are no open hours that day.
    """
    if expression is None or not expression.strip():
        return "24h"
    readings, error = _read(expression, *_place(local_time, region, coords))
    if error or not readings:
        return None
    start = local_time.replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
    end = start + timedelta(days=1)
    spans = [
        (max(a.replace(tzinfo=None), start), min((b or end).replace(tzinfo=None), end))
        for a, b, state, _ in readings[0].intervals(start, end)
        if state == State.OPEN
    ]
    if not spans:
        return None
    if spans == [(start, end)]:
        return "24h"
    return ", ".join(f"{a:%H:%M}-{'24:00' if b == end else f'{b:%H:%M}'}" for a, b in spans)
