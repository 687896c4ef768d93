"""The candidate search: volunteers near an incident, streamed in order of arrival time.

Each travel mode is searched outwards on its own, in rings bounded by a horizon of travel
time: at a horizon of H seconds, walkers are looked for within H x walking speed, cars
within H x driving speed. Everyone who could arrive within H is then known, and nobody
beyond it can arrive sooner, so candidates up to H can be ranked for good. The horizon
doubles until the caller has what it needs or the radius has been searched: a search in a
dense city stops after a few dozen volunteers instead of listing tens of thousands.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from dispatcher.domain import policy as rules
from geo import DETOUR_FACTOR, SPEED_MPS, ResponderIndex, eta_s
from geo.columns import micros
from geo.positions import Found

# The horizon grows by this factor a step: the area searched doubles, so a step never
# looks at more than about twice the volunteers needed.
GROWTH = math.sqrt(2)
# The shortest first horizon, in seconds of travel: a walker's 1.2 m.
MIN_HORIZON_S = 1.0


@dataclass(frozen=True)
class Batch:
    """The candidates found between the previous horizon and this one, in ETA order.

    Every candidate with an ETA up to `horizon_s` has been found once this batch is out;
    the last batch has an infinite horizon (the radius has been searched).
    """

    candidates: list[rules.Candidate]
    horizon_s: float


def order_key(c: rules.Candidate) -> tuple[float, float, int]:
    """Return the order candidates are ranked in before ties (`policy.rank`)."""
    return (round(c.eta_s, 3), c.distance_m, c.responder_id)


def stream(
    index: ResponderIndex, policy: rules.Policy, *, lat: float, lon: float, radius_m: float,
    now: datetime, local_now: datetime, exclude: frozenset[int] | set[int] = frozenset(),
    want: int = 30,
) -> Iterator[Batch]:
    """Yield the volunteers within the radius, at their nearest usable position, by ETA.

    `exclude` lists volunteers to leave out (those already alerted for the incident);
    `want` is about how many the caller hopes to look at, to choose the first horizon.
    """
    seen = set(exclude)
    reach = dict.fromkeys(index.modes, -1.0)
    usable = _usable(policy, now, local_now)
    horizon = first_horizon(index, lat, lon, radius_m, want)
    while True:
        found: list[rules.Candidate] = []
        done = True
        for mode in index.modes:
            within = min(float(radius_m), horizon * SPEED_MPS[mode] / DETOUR_FACTOR)
            if within > reach[mode]:
                for distance, _, responder_id, position in index.ring(
                        lat, lon, mode, within, reach[mode], usable=usable, positions=True):
                    if responder_id in seen:
                        continue
                    seen.add(responder_id)
                    found.append(rules.candidate(responder_id, distance, position, mode))
                reach[mode] = within
            done = done and within >= radius_m
        found.sort(key=order_key)
        yield Batch(found, math.inf if done else horizon)
        if done:
            return
        horizon *= GROWTH


def _usable(policy: rules.Policy, now: datetime, local_now: datetime
            ) -> Callable[[Found], np.ndarray]:
    """Return `policy.position_usable` over many positions at once, as a mask.

    A live position counts while fresh (`policy.fresh_window`); a registered place while
    its schedule is open (`policy.place_open`, asked once per schedule) and the volunteer
    has no fresh live position.
    """
    earliest, latest = (micros(at) for at in rules.fresh_window(now, policy.live_ttl))
    open_by_schedule: dict[int, bool] = {-1: True}

    def usable(found: Found) -> np.ndarray:
        for code in np.unique(found.schedules).tolist():
            if code not in open_by_schedule:
                open_by_schedule[code] = rules.place_open(found.schedule_names[code], local_now)
        live = np.array([name == "live" for name in found.kind_names] + [False])[found.kinds]
        fresh = (found.observed >= earliest) & (found.observed <= latest)
        fresh_live = (found.live_observed >= earliest) & (found.live_observed <= latest)
        open_now = np.array([open_by_schedule[c] for c in found.schedules.tolist()], np.bool_)
        return np.where(live, fresh, ~fresh_live & open_now)

    return usable


def first_horizon(index: ResponderIndex, lat: float, lon: float, radius_m: float,
                  want: int) -> float:
    """Return a first horizon by which about `want` volunteers of some mode could arrive."""
    reaches = [eta_s(min(index.reach_of(lat, lon, mode, max(want, 1)), float(radius_m)), mode)
               for mode in index.modes]
    return max(min(reaches), MIN_HORIZON_S)
