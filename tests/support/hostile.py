"""Hypothesis strategies for hostile input: request bodies shaped like the schema, with values
that are out of range, of the wrong type, too long, full of control characters or emoji, or
times from year 1 to 9999 with any offset; and missing or extra fields.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import strategies as st

# Times a control room or an app might send, and a few that no clock shows.
OFFSETS = st.sampled_from([
    UTC, timezone(timedelta(hours=5)), timezone(timedelta(hours=-5)),
    timezone(timedelta(hours=14)), timezone(-timedelta(hours=23, minutes=59)),
    timezone(timedelta(hours=23, minutes=59)),
])
EDGE_TEXTS = st.sampled_from([
    "", " ", "\x00", "a\x00b", "\x01", "\x07bell", "\x1b[31m", "\x7f", "line\nbreak",
    "tab\there", "\r\n", "\u2028", "\ufeff", "\ud7ff", "\U0001f600" * 30, "\U0010ffff",
    "𝔸𝔹ℂ", "ﷺ" * 50, "null", "None", "0", "-1", "1e309", "NaN", "../../etc", "%00", "'; --",
])

texts = st.one_of(
    EDGE_TEXTS,
    st.text(max_size=30),
    st.text(st.characters(max_codepoint=0x7f), max_size=12),
    st.text(st.characters(min_codepoint=0x10000), max_size=8),
    st.integers(min_value=90, max_value=5000).map(lambda n: "é" * n),
)
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=2**63 - 2, max_value=2**70),
    st.integers(min_value=-(2**70), max_value=-(2**63) + 2),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -0.0, 1e308, -1e308, 5e-324, 10**400]),
)


def iso(value: datetime) -> str:
    """Write a time in ISO 8601, its offset as given."""
    return value.isoformat()


extreme_times = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59),
                 timezones=OFFSETS).map(iso),
    st.sampled_from(["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00",
                     "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2026-11-23T10:00:00",
                     "2026-02-30T10:00:00Z", "2026-11-23", "10:00:00Z", "1999-12-31T23:00:00-02:00",
                     "2099-12-31T23:59:59-23:59"]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
anything = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(texts, inner, max_size=3)), max_leaves=6)


def around(now: datetime) -> st.SearchStrategy[str]:
    """Return times within a day of now, with any offset, as ISO text."""
    return st.builds(lambda s, tz: iso((now + timedelta(seconds=s)).astimezone(tz)),
                     st.integers(min_value=-86_400, max_value=86_400), OFFSETS)


def times(now: datetime) -> st.SearchStrategy:
    """Return times near now, far from it, malformed, or not times at all."""
    return st.one_of(around(now), extreme_times, texts, numbers)


def maybe(good: st.SearchStrategy) -> st.SearchStrategy:
    """Return mostly good values, sometimes hostile ones of any type."""
    return st.one_of(good, good, anything)


def shaped(required: dict, optional: dict | None = None,
           extras: st.SearchStrategy = anything) -> st.SearchStrategy[dict]:
    """Return objects with the fields of a schema, one of them sometimes missing, and extras."""
    names = sorted(required)
    return st.builds(
        lambda body, missing, extra: {**extra, **{k: v for k, v in body.items() if k != missing}},
        st.fixed_dictionaries(required, optional=optional or {}),
        st.one_of(st.none(), st.none(), st.sampled_from(names)),
        st.dictionaries(texts, extras, max_size=2),
    )


def location() -> st.SearchStrategy[dict]:
    """Return a location near Stockholm, or one with hostile coordinates."""
    return shaped(
        {"lat": maybe(st.floats(min_value=59.2, max_value=59.5)),
         "lon": maybe(st.floats(min_value=17.9, max_value=18.2))},
        {"accuracy_m": maybe(st.floats(min_value=0, max_value=500))},
    )


incident_ids = st.one_of(st.from_regex(r"CAD-[0-9]{1,4}", fullmatch=True), texts)


def incident_data(kind: str) -> st.SearchStrategy[dict]:
    """Return the data of an event of a kind, shaped like the schema with hostile values."""
    ident = maybe(incident_ids)
    if kind == "incident.created":
        return shaped(
            {"id": ident, "kind": maybe(st.sampled_from(["cardiac_arrest", "stroke"])),
             "location": maybe(location())},
            {"address": maybe(texts), "notes": maybe(texts), "patient_age": maybe(numbers),
             "ems_eta_s": maybe(numbers), "flags": maybe(st.lists(maybe(texts), max_size=25))},
        )
    if kind == "incident.updated":
        return shaped({"id": ident}, {"location": maybe(location()), "address": maybe(texts),
                                      "notes": maybe(texts), "ems_eta_s": maybe(numbers)})
    return shaped({"id": ident}, {"reason": maybe(texts)})


KINDS = ["incident.created", "incident.updated", "incident.cancelled", "incident.closed"]


def events(now: datetime) -> st.SearchStrategy[dict]:
    """Return event envelopes of every type (and unknown ones) with hostile data."""
    return st.sampled_from(KINDS).flatmap(lambda kind: shaped(
        {"type": maybe(st.just(kind)), "timestamp": maybe(times(now)),
         "data": maybe(incident_data(kind))}))


def positions(now: datetime) -> st.SearchStrategy[dict]:
    """Return position reports with hostile coordinates and times."""
    return shaped(
        {"lat": maybe(st.floats(min_value=59.2, max_value=59.5)),
         "lon": maybe(st.floats(min_value=17.9, max_value=18.2)), "at": maybe(times(now))},
        {"accuracy_m": maybe(st.floats(min_value=0, max_value=500))},
    )


# What a header may carry through a WSGI server: Latin-1 text without line breaks.
header_texts = st.text(st.characters(max_codepoint=0xff, exclude_characters="\r\n"), max_size=40)
path_texts = st.one_of(texts, st.integers(min_value=180, max_value=400).map(lambda n: "R" * n))
