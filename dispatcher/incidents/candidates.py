"""Pick a wave: the best eligible volunteers near an incident, claimed for it.

The search (`responders.search`) streams candidates by arrival time; this takes them a run
of ties at a time, exactly as `policy.rank` orders them, asks the database about a handful
at a time (about twice as many as are still wanted, in bounded batches), and claims the
ones picked (`alerts.claims`). The answer is the one `policy.select_wave` gives over every
volunteer in the radius, without listing every volunteer in the radius.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from dispatcher import metrics
from dispatcher.alerts import claims
from dispatcher.domain import policy as rules
from dispatcher.responders import search, spatial
from dispatcher.runtime import Runtime

# The most volunteers asked about in one query: no statement grows with the registry.
BATCH = 200
# Ranks are compared to the millisecond; a run is final only this far inside the horizon.
MARGIN_S = 0.01
WAIT_FOR_INDEX_S = 20.0


@dataclass
class Pick:
    """The volunteers claimed for a wave, and why others near the front were passed over."""

    chosen: list[rules.Candidate] = field(default_factory=list)
    passed_over: dict[str, int] = field(default_factory=dict)
    looked_at: int = 0


def pick(
    rt: Runtime, session: Session, policy: rules.Policy, *, lat: float, lon: float,
    radius_m: float, room: int, now: datetime, local_now: datetime,
    exclude: frozenset[int] | set[int] = frozenset(),
) -> Pick:
    """Claim up to `room` of the best-ranked eligible volunteers within the radius."""
    started = time.perf_counter()
    # A process loads its index when it starts (`responders.follower`); a search that comes
    # first waits for it a while, then loads what is missing itself.
    rt.index_ready.wait(WAIT_FOR_INDEX_S)
    spatial.sync(rt.index, session, rt.roster)
    on = local_now.date()
    found = search.stream(rt.index, policy, lat=lat, lon=lon, radius_m=radius_m, now=now,
                          local_now=local_now, exclude=exclude, want=2 * room)
    ahead: list[rules.Candidate] = []  # found, not yet put in order
    horizon = -1.0
    ready: deque[rules.Candidate] = deque()  # in final order, not yet looked at
    known: dict[int, rules.Volunteer] = {}
    result = Pick()
    while len(result.chosen) < room:
        picked: list[rules.Candidate] = []
        while len(result.chosen) + len(picked) < room:
            if not ready:
                horizon = _next_run(found, ahead, horizon, policy, ready)
                if not ready:
                    break
                _ask(session, policy, rt, ready, ahead, known, room - len(result.chosen),
                     on=on, now=now)
            c = ready.popleft()
            result.looked_at += 1
            v = known.get(c.responder_id)
            reason = "not registered" if v is None else rules.ineligibility(policy, v, on=on,
                                                                             now=now)
            if reason:
                result.passed_over[reason] = result.passed_over.get(reason, 0) + 1
            else:
                picked.append(c)
        if not picked:
            break
        # Others may be alerting the same volunteers this moment: each is claimed under a
        # lock and checked again, and one lost is replaced by the next best.
        won, lost = claims.claim(session, policy, picked, now=now, on=on)
        result.chosen += won
        for reason, count in lost.items():
            result.passed_over[reason] = result.passed_over.get(reason, 0) + count
    metrics.CANDIDATE_SEARCH_SECONDS.observe(time.perf_counter() - started)
    return result


def _next_run(found, ahead: list[rules.Candidate], horizon: float, policy: rules.Policy,
              ready: deque[rules.Candidate]) -> float:
    """Move the next complete run of ties into `ready`, pulling batches as needed."""
    while True:
        if ahead:
            first = search.order_key(ahead[0])[0]
            if first + policy.eta_tie_s < horizon - MARGIN_S:
                end = 1
                while end < len(ahead) and search.order_key(ahead[end])[0] - first <= \
                        policy.eta_tie_s:
                    end += 1
                ready.extend(ahead[:end])
                del ahead[:end]
                return horizon
        batch = next(found, None)
        if batch is None:
            if ahead:  # the radius is searched: whatever is left is complete
                horizon = float("inf")
                continue
            return horizon
        ahead.extend(batch.candidates)
        ahead.sort(key=search.order_key)
        horizon = batch.horizon_s


def _ask(session: Session, policy: rules.Policy, rt: Runtime, ready: deque[rules.Candidate],
         ahead: list[rules.Candidate], known: dict[int, rules.Volunteer], wanted: int, *,
         on, now: datetime) -> None:
    """Read the volunteers of the run in `ready` (and some ahead) that are not known yet.

    A run is ordered among itself by when each was last alerted, so all of it is read; then
    enough of those ahead that about twice the volunteers still wanted may be eligible.
    """
    run = [c.responder_id for c in ready if c.responder_id not in known]
    more = [c.responder_id for c in ahead[: 4 * BATCH] if c.responder_id not in known]
    likely = rt.roster.may_be_eligible(run + more, policy, on=on, now=now)
    enough = 2 * wanted - sum(likely[: len(run)])
    ask = list(run)
    for rid, maybe in zip(more, likely[len(run):], strict=True):
        if enough <= 0 or len(ask) >= BATCH:
            break
        ask.append(rid)
        enough -= maybe
    for start in range(0, len(ask), BATCH):
        known.update(claims.volunteers_for(session, ask[start : start + BATCH], now,
                                           policy.rest_after_incident))
    recency = {c.responder_id: known[c.responder_id].last_alerted_at
               for c in ready if c.responder_id in known}
    ordered = rules.rank(list(ready), recency, policy.eta_tie_s)
    ready.clear()
    ready.extend(ordered)
