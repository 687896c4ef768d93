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
    # A process loads its index when it starts (`responders.follower`). A search that comes
    # meanwhile waits for that load (`spatial.sync` lets one thread catch up at a time),
    # or, while the follower cannot read, loads what is missing itself.
    spatial.sync(rt.index, session, rt.roster)
    on = local_now.date()
    queue = _Queue(rt, session, policy, search.stream(
        rt.index, policy, lat=lat, lon=lon, radius_m=radius_m, now=now, local_now=local_now,
        exclude=exclude, want=2 * room), on=on, now=now)
    result = Pick()
    while len(result.chosen) < room:
        picked: list[rules.Candidate] = []
        while len(result.chosen) + len(picked) < room:
            c = queue.next(wanted=room - len(result.chosen))
            if c is None:
                break
            result.looked_at += 1
            v = queue.known.get(c.responder_id)
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
    metrics.observe(metrics.CANDIDATE_SEARCH_SECONDS, time.perf_counter() - started)
    return result


class _Queue:
    """The candidates in their final order, with what the database says of each."""

    def __init__(self, rt: Runtime, session: Session, policy: rules.Policy, found, *,
                 on, now: datetime) -> None:
        self._rt, self._session, self._policy, self._found = rt, session, policy, found
        self._on, self._now = on, now
        self._ahead: list[rules.Candidate] = []  # found, not yet in final order
        self._horizon = -1.0
        self._done = False
        self._ready: deque[rules.Candidate] = deque()  # in final order, not yet looked at
        self.known: dict[int, rules.Volunteer] = {}

    def next(self, wanted: int) -> rules.Candidate | None:
        """Return the next candidate in order, or None when the radius is exhausted."""
        if not self._ready:
            self._take_run()
            if not self._ready:
                return None
            self._ask(wanted)
        return self._ready.popleft()

    def _pull(self) -> bool:
        """Take the stream's next batch; False once it has none."""
        batch = next(self._found, None)
        if batch is None:
            self._done, self._horizon = True, float("inf")
            return False
        self._ahead.extend(batch.candidates)
        self._ahead.sort(key=search.order_key)
        self._horizon = batch.horizon_s
        return True

    def _take_run(self) -> None:
        """Move the next complete run of ETA ties into the ready queue, pulling as needed."""
        tie = self._policy.eta_tie_s
        while True:
            if self._ahead:
                first = search.order_key(self._ahead[0])[0]
                if first + tie < self._horizon - MARGIN_S:
                    end = 1
                    while end < len(self._ahead) and \
                            search.order_key(self._ahead[end])[0] - first <= tie:
                        end += 1
                    self._ready.extend(self._ahead[:end])
                    del self._ahead[:end]
                    return
            if not self._pull() and not self._ahead:
                return

    def _ask(self, wanted: int) -> None:
        """Read the volunteers of the ready run not known yet, and enough of those ahead.

        A run is ordered among itself by when each was last alerted, so all of it is read;
        then candidates ahead, pulled from the stream as needed, until about twice the
        volunteers still wanted may be eligible by the static rules: usually one query.
        """
        roster, policy = self._rt.roster, self._policy
        ask = [c.responder_id for c in self._ready if c.responder_id not in self.known]
        if not ask:  # read with an earlier run
            self._order()
            return
        enough = 2 * wanted - sum(roster.may_be_eligible(ask, policy, on=self._on,
                                                         now=self._now))
        looked = 0
        while enough > 0 and len(ask) < BATCH:
            if looked == len(self._ahead) and (self._done or not self._pull()):
                break
            end = min(len(self._ahead), looked + BATCH - len(ask))
            more = [c.responder_id for c in self._ahead[looked:end]
                    if c.responder_id not in self.known]
            looked = end
            for rid, maybe in zip(more, roster.may_be_eligible(more, policy, on=self._on,
                                                               now=self._now), strict=True):
                if enough <= 0 or len(ask) >= BATCH:
                    break
                ask.append(rid)
                enough -= maybe
        for start in range(0, len(ask), BATCH):
            self.known.update(claims.volunteers_for(
                self._session, ask[start : start + BATCH], self._now, policy.rest_after_incident))
        self._order()

    def _order(self) -> None:
        """Order the ready run as `policy.rank` does: the least recently alerted first."""
        recency = {c.responder_id: self.known[c.responder_id].last_alerted_at
                   for c in self._ready if c.responder_id in self.known}
        ordered = rules.rank(list(self._ready), recency, self._policy.eta_tie_s)
        self._ready.clear()
        self._ready.extend(ordered)
