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
