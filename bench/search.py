"""The service's own candidate search, as the benchmarks call it: the one place to repoint.

`catch_up` brings a process's index up to date with the database (at a cold start: loads it),
and `pick` runs the whole wave-1 pick near a place and returns the chosen volunteers' ids,
best first. Both go through the same functions the service runs for an incident.
"""

from __future__ import annotations

from dataclasses import replace

from dispatcher.alerts import claims
from dispatcher.domain import policy as rules
from dispatcher.incidents.waves import CANDIDATE_CHUNK
from dispatcher.responders import spatial
from dispatcher.runtime import Runtime

NAME = "current pick"
"""What the search measured is called in the tables."""


def catch_up(rt: Runtime) -> int:
    """Apply every position change the process's index has not seen; return how many."""
    with rt.transaction() as session:
        return spatial.sync(rt.index, session)


def pick(rt: Runtime, lat: float, lon: float, *, size: int = 30, radius_m: int = 3000
         ) -> list[int]:
    """Pick the `size` best eligible volunteers within the radius, as wave 1 would.

    The current path, as `incidents.waves.alert_wave` chains it: `responders.spatial.nearby`,
    then `alerts.claims.volunteers_for` on chunks of candidates, then
    `domain.policy.select_wave`. Nothing is written (no claim, no alert).
    """
    policy = replace(rt.policy, wave_size=size, max_alerted=size)
    now = rt.clock.now()
    local_now = now.astimezone(rt.timezone)
    chosen: list[rules.Candidate] = []
    with rt.transaction() as session:
        found = spatial.nearby(rt.index, session, policy, lat=lat, lon=lon, radius_m=radius_m,
                               now=now, local_now=local_now)
        for start in range(0, len(found), CANDIDATE_CHUNK):
            chunk = found[start:start + CANDIDATE_CHUNK]
            volunteers = claims.volunteers_for(session, [c.responder_id for c in chunk], now,
                                               policy.rest_after_incident)
            picked, _ = rules.select_wave(policy, chunk, volunteers, on=local_now.date(),
                                          now=now, in_wave=len(chosen))
            chosen += picked
            if len(chosen) >= size:
                break
        session.rollback()
    return [c.responder_id for c in chosen]


def live_at(rt: Runtime, responder_id: int) -> tuple[float, float] | None:
    """Return where the process's index has a volunteer's live position, or None."""
    position = rt.index.live_position(responder_id)
    return None if position is None else (position.lat, position.lon)


def start(rt: Runtime, timeout_s: float = 600) -> None:
    """Have a fresh process's index loaded, as a web host has it before it takes work."""
    ready = getattr(rt, "index_ready", None)
    catch_up(rt)
    if ready is not None and not ready.wait(timeout_s):
        raise RuntimeError(f"the index was not loaded within {timeout_s:.0f} s")
