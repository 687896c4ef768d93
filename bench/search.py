"""The service's own candidate search, as the benchmarks call it: the one place to repoint.

`catch_up` brings a process's index up to date with the database (the first time: loads it
in bulk), `start` loads it as a web worker does when it starts, and `pick` runs the whole
wave-1 pick near a place and returns the chosen volunteers' ids, best first. Each goes
through the same functions the service runs.
"""

from __future__ import annotations

from dataclasses import replace

from dispatcher.incidents import candidates
from dispatcher.responders import follower, spatial
from dispatcher.responders import search as responders_search
from dispatcher.runtime import Runtime
from dispatcher.store.db import reading

NAME = "streaming search"
"""What the search measured is called in the tables."""


def catch_up(rt: Runtime) -> int:
    """Apply every change the process's index has not seen (at first, load it); return how many."""
    with reading(rt.engine) as session:
        return spatial.sync(rt.index, session, rt.roster)


def start(rt: Runtime, timeout_s: float = 600) -> follower.Follower:
    """Load a fresh process's index as a web worker does when it starts; return its follower.

    The follower keeps the index close behind the database afterwards; stop it when done.
    """
    following = follower.warm_up(rt)
    if not rt.index_ready.wait(timeout_s):
        following.stop()
        raise RuntimeError(f"the index was not loaded within {timeout_s:.0f} s")
    return following


def pick(rt: Runtime, lat: float, lon: float, *, size: int = 30, radius_m: int = 3000
         ) -> list[int]:
    """Pick the `size` best eligible volunteers within the radius, as wave 1 would.

    `incidents.candidates.pick`, as `incidents.waves.alert_wave` calls it: the index caught
    up, the search streamed nearest-first, eligibility asked in small batches, and the
    picked volunteers claimed under their row locks. Nothing is kept: the transaction is
    rolled back.
    """
    policy = replace(rt.policy, wave_size=size, max_alerted=size)
    now = rt.clock.now()
    local_now = now.astimezone(rt.timezone)
    with rt.transaction() as session:
        found = candidates.pick(rt, session, policy, lat=lat, lon=lon, radius_m=radius_m,
                                room=size, now=now, local_now=local_now)
        session.rollback()
    return [c.responder_id for c in found.chosen]


def live_at(rt: Runtime, responder_id: int) -> tuple[float, float] | None:
    """Return where the process's index has a volunteer's live position, or None."""
    position = rt.index.live_position(responder_id)
    return None if position is None else (position.lat, position.lon)


INDEX_NAME = "index search"
"""The in-process part of the search alone, in the tables."""


def in_process(rt: Runtime, lat: float, lon: float, *, size: int = 30, radius_m: int = 3000
               ) -> list[int]:
    """The search without the database: the best `2 x size` candidates the static rules allow.

    `responders.search.stream` as `pick` drives it, with the roster's static rules
    (status, pause, age, certificate), stopped once twice the wave is in hand at a complete
    horizon: what PostGIS answers with the same predicates, and what `pick` then asks the
    database about (engaged elsewhere, fatigue, rest) and claims.
    """
    policy = rt.policy
    now = rt.clock.now()
    local_now = now.astimezone(rt.timezone)
    on = local_now.date()
    found: list = []
    for batch in responders_search.stream(rt.index, policy, lat=lat, lon=lon,
                                          radius_m=radius_m, now=now, local_now=local_now,
                                          want=2 * size):
        keep = rt.roster.may_be_eligible([c.responder_id for c in batch.candidates], policy,
                                         on=on, now=now)
        found += [c for c, ok in zip(batch.candidates, keep, strict=True) if ok]
        if len(found) >= 2 * size:
            break
    return [c.responder_id for c in found[: 2 * size]]
