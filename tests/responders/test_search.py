"""responders.search.stream: volunteers by arrival time, each batch complete up to its horizon.

Pure index, no database: a random registry of walkers, cyclists and drivers, and a
brute-force list of who is within the radius at their nearest usable place.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatcher.domain import policy as rules
from dispatcher.responders import search
from geo import Position, PositionChange, ResponderChange, ResponderIndex, haversine_m
from tests.builders import CENTRE, offset

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
POLICY = rules.Policy()

people = st.lists(st.tuples(
    st.integers(-4000, 4000), st.integers(-4000, 4000), st.sampled_from(["walk", "bike", "car"]),
    st.sampled_from([None, "Mo-Su 00:00-24:00", "Mo-Su 00:00-00:01"]),
    st.sampled_from([None, 3, 30]),  # a live position so many minutes old
), max_size=60)


def build(registry) -> ResponderIndex:
    index = ResponderIndex()
    changes = []
    for rid, (north, east, mode, schedule, live) in enumerate(registry, start=1):
        lat, lon = offset(north, east)
        changes.append(ResponderChange(len(changes) + 1, rid, mode))
        home = Position(id=rid, responder_id=rid, lat=lat, lon=lon, kind="home",
                        schedule=schedule)
        changes.append(PositionChange(len(changes) + 1, home, rid, False))
        if live is not None:
            lat, lon = offset(north / 2, east / 2)
            point = Position(id=1000 + rid, responder_id=rid, lat=lat, lon=lon, kind="live",
                             observed_at=NOW - timedelta(minutes=live), accuracy_m=5.0)
            changes.append(PositionChange(len(changes) + 1, point, 1000 + rid, False))
    index.apply(changes)
    return index


def everyone(index, radius_m, registry):
    """Brute force: each volunteer at their nearest usable position within the radius."""
    found = {}
    for rid in range(1, len(registry) + 1):
        live = index.live_position(rid)
        fresh = rules.is_fresh(live, now=NOW, live_ttl=POLICY.live_ttl)
        for position in filter(None, (index.position(rid), live)):
            usable = rules.position_usable(position, now=NOW, local_now=NOW,
                                           live_ttl=POLICY.live_ttl, has_fresh_live=fresh)
            distance = haversine_m(*CENTRE, position.lat, position.lon)
            if usable and distance <= radius_m and (
                    rid not in found or distance < found[rid].distance_m):
                found[rid] = rules.candidate(rid, distance, position, registry[rid - 1][2])
    return sorted(found.values(), key=search.order_key)


@settings(max_examples=150, deadline=None)
@given(registry=people, radius_m=st.integers(0, 5000), exclude=st.sets(st.integers(1, 60)))
def test_the_stream_yields_everyone_in_the_radius_once_by_eta_and_each_horizon_is_complete(
        registry, radius_m, exclude):
    index = build(registry)
    streamed, horizons = [], []
    for batch in search.stream(index, POLICY, lat=CENTRE[0], lon=CENTRE[1], radius_m=radius_m,
                               now=NOW, local_now=NOW, exclude=exclude):
        assert batch.candidates == sorted(batch.candidates, key=search.order_key)
        streamed += batch.candidates
        horizons.append(batch.horizon_s)
        # Nobody yet to come could arrive by this horizon.
        assert all(c.eta_s <= batch.horizon_s + 1e-6 for c in batch.candidates)
        expected_so_far = [c for c in everyone(index, radius_m, registry)
                           if c.responder_id not in exclude and c.eta_s <= batch.horizon_s - 1e-6]
        assert {c.responder_id for c in expected_so_far} <= {c.responder_id for c in streamed}
    assert horizons == sorted(horizons) and horizons[-1] == math.inf
    expected = [c for c in everyone(index, radius_m, registry) if c.responder_id not in exclude]
    assert sorted(streamed, key=search.order_key) == expected


def test_a_dense_search_stops_long_before_the_radius():
    registry = [(n % 100 * 10, n // 100 * 10, "walk", None, None) for n in range(10_000)]
    index = build(registry)
    first = next(search.stream(index, replace(POLICY), lat=CENTRE[0], lon=CENTRE[1],
                               radius_m=3000, now=NOW, local_now=NOW))
    assert 0 < len(first.candidates) < 100 and first.horizon_s < math.inf
