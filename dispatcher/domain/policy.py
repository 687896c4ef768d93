"""Dispatch policy as pure functions: who may be alerted, where they are, and in what order.

Nothing here touches Flask or a database session: callers hand in plain data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from dispatcher.config import policy_fields
from dispatcher.domain import hours
from geo import Position, eta_s

# Incident flags that rule out sending volunteers (DESIGN.md section 6).
EXCLUDING_FLAGS = frozenset({"trauma", "unsafe_scene", "healthcare_facility"})
# How far ahead of our clock a reported time may be before we call it wrong.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Policy:
    """The parameters one dispatch runs under."""

    radius_start_m: int = 1000
    radius_max_m: int = 3000
    wave_size: int = 10
    max_alerted: int = 30
    min_age: int = 18
    min_patient_age: int = 8
    fatigue_max_24h: int = 3
    live_ttl: timedelta = timedelta(minutes=15)
    dispatchable_kinds: frozenset[str] = frozenset({"cardiac_arrest"})
    wave_timeout: timedelta = timedelta(seconds=30)
    target_cpr: int = 1
    target_aed: int = 2
    max_accepted: int = 5
    aed_max_detour_pct: float = 50
    aed_min_detour_m: float = 400
    aed_pickup_s: float = 60
    default_ems_eta_s: int = 600
    radius_step_m: int = 500
    rest_after_incident: timedelta = timedelta(hours=4)
    eta_tie_s: float = 10
    # Set per service area: local times when no incident dispatches (OSM opening_hours
    # syntax, e.g. "23:00-07:00"), and incident kinds the area leaves to the ambulance.
    quiet_hours: str | None = None
    excluded_kinds: frozenset[str] = frozenset()
    area: str | None = None

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Policy:
        """Build the default policy from the service settings (`config.policy_fields`)."""
        return cls(**policy_fields(settings))

    def next_radius(self, radius_m: int) -> int | None:
        """Return the radius of the next wave, or None when the maximum has been searched."""
        if radius_m >= self.radius_max_m:
            return None
        return min(radius_m + max(self.radius_step_m, 1), self.radius_max_m)


@dataclass(frozen=True)
class Volunteer:
    """What eligibility needs to know about one volunteer."""

    id: int
    birth_year: int
    cert_expires: date
    status: str  # active | opted_out | invalid_number
    paused_until: datetime | None
    engaged: bool  # already alerted for, or going to, another open incident
    alerts_24h: int
    travel_mode: str = "walk"
    last_alerted_at: datetime | None = None
    last_went_at: datetime | None = None  # when the last incident they went to ended


@dataclass(frozen=True)
class Candidate:
    """A volunteer found near an incident, with how far and how long away."""

    responder_id: int
    distance_m: float
    eta_s: float
    position: Position


def exclusion(
    policy: Policy, kind: str, patient_age: int | None, flags: Iterable[str],
    local_now: datetime | None = None,
) -> str | None:
    """Return why an incident must not be dispatched to volunteers, or None when it may.

    `local_now` (the area's local time) is needed to honour the area's quiet hours.
    """
    where = f" in {policy.area}" if policy.area else ""
    if kind not in policy.dispatchable_kinds or kind in policy.excluded_kinds:
        return f"kind {kind!r} is not dispatched to volunteers{where}"
    if policy.quiet_hours and local_now is not None:
        if hours.is_open(policy.quiet_hours, local_now.replace(tzinfo=None)) is True:
            return f"quiet hours{where} ({policy.quiet_hours})"
    if patient_age is not None and patient_age < policy.min_patient_age:
        return f"patient under {policy.min_patient_age}"
    for flag in sorted(set(flags) & EXCLUDING_FLAGS):
        return f"excluded: {flag.replace('_', ' ')}"
    return None


def ineligibility(policy: Policy, v: Volunteer, *, on: date, now: datetime) -> str | None:
    """Return why a volunteer may not be alerted now, or None when they may.

    Only a birth year is kept, so the age rule counts the youngest a volunteer can be:
    someone born in year Y is certainly `on.year - Y - 1` years old.
    """
    if v.status != "active":
        # "opted_out" reads "opted out"; another status (a number that cannot take texts)
        # is named as it is, so the timeline says why.
        return v.status.replace("_", " ")
    if v.paused_until is not None and v.paused_until > now:
        return "paused"
    if on.year - v.birth_year - 1 < policy.min_age:
        return "under age"
    if v.cert_expires < on:
        return "certificate expired"
    if v.engaged:
        return "engaged elsewhere"
    if v.alerts_24h >= policy.fatigue_max_24h:
        return "fatigue cap"
    if v.last_went_at is not None and now - v.last_went_at < policy.rest_after_incident:
        return "resting after an incident"
    return None


def position_usable(
    position: Position,
    *,
    now: datetime,
    local_now: datetime,
    live_ttl: timedelta,
    has_fresh_live: bool,
) -> bool:
    """Tell whether a volunteer is to be looked for at this position now.

    A live position counts while it is younger than the TTL. A fresh live position says
    where the volunteer really is, so their registered places do not count meanwhile.
    A registered place counts while its weekly schedule is open.
    """
    if position.kind == "live":
        return is_fresh(position, now=now, live_ttl=live_ttl)
    if has_fresh_live:
        return False
    return place_open(position.schedule, local_now)


def place_open(schedule: str | None, local_now: datetime) -> bool:
    """Tell whether a registered place's weekly schedule is certainly open (none: always)."""
    return hours.is_open(schedule, local_now) is True


def fresh_window(now: datetime, live_ttl: timedelta) -> tuple[datetime, datetime]:
    """Return the earliest and the latest observation time of a live position still fresh."""
    return now - live_ttl, now + CLOCK_SKEW


def is_fresh(position: Position | None, *, now: datetime, live_ttl: timedelta) -> bool:
    """Tell whether a live position is recent enough to trust (allowing for clock skew)."""
    if position is None or position.observed_at is None:
        return False
    earliest, latest = fresh_window(now, live_ttl)
    return earliest <= position.observed_at <= latest


def candidate(responder_id: int, distance_m: float, position: Position, mode: str) -> Candidate:
    """Make a candidate, with its ETA from the distance and the travel mode."""
    return Candidate(responder_id, distance_m, eta_s(distance_m, mode), position)


NEVER = datetime.min.replace(tzinfo=UTC)


def rank(
    candidates: Iterable[Candidate],
    last_alerted: Mapping[int, datetime | None] | None = None,
    tie_s: float = 0,
) -> list[Candidate]:
    """Order candidates by ETA; break ties in favour of whoever was alerted least recently.

    Candidates are taken by ETA (to the millisecond), then distance, then id. One whose ETA
    is within `tie_s` seconds of the first of a run counts as tied with it; within a run
    the volunteer alerted longest ago (or never) goes first, then the nearer, then the
    lower id, so equal cases always come out the same.
    """
    last_alerted = last_alerted or {}
    ordered = sorted(candidates, key=lambda c: (round(c.eta_s, 3), c.distance_m, c.responder_id))
    ranked: list[Candidate] = []
    start = 0
    while start < len(ordered):
        first = round(ordered[start].eta_s, 3)
        end = start + 1
        while end < len(ordered) and round(ordered[end].eta_s, 3) - first <= tie_s:
            end += 1
        ranked += sorted(
            ordered[start:end],
            key=lambda c: (last_alerted.get(c.responder_id) or NEVER, c.distance_m,
                           c.responder_id),
        )
        start = end
    return ranked


def select_wave(
    policy: Policy,
    candidates: Iterable[Candidate],
    volunteers: Mapping[int, Volunteer],
    *,
    on: date,
    now: datetime,
    already_alerted: int = 0,
    in_wave: int = 0,
) -> tuple[list[Candidate], dict[str, int]]:
    """Pick the next wave: the best-ranked eligible candidates, up to wave size and the cap.

    `already_alerted` counts the incident's earlier alerts, `in_wave` those already picked
    for this wave when candidates come in chunks. Returns the chosen candidates and a count
    of the reasons others were passed over, for the timeline (no personal data).
    """
    room = max(0, min(policy.wave_size - in_wave, policy.max_alerted - already_alerted - in_wave))
    chosen: list[Candidate] = []
    skipped: dict[str, int] = {}
    recency = {i: v.last_alerted_at for i, v in volunteers.items()}
    for c in rank(candidates, recency, policy.eta_tie_s):
        if len(chosen) >= room:
            break
        v = volunteers.get(c.responder_id)
        reason = "not registered" if v is None else ineligibility(policy, v, on=on, now=now)
        if reason:
            skipped[reason] = skipped.get(reason, 0) + 1
        else:
            chosen.append(c)
    return chosen, skipped
