"""Who does what once they accept: CPR straight to the patient, or fetch an AED on the way.

Pure functions on plain data: no Flask, no database session.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from dispatcher.domain.policy import Policy
from geo import eta_s, haversine_m

CPR, AED = "cpr", "aed"


@dataclass(frozen=True)
class AedOption:
    """An AED that is open now and may be fetched."""

    id: int
    lat: float
    lon: float


@dataclass(frozen=True)
class AedRecord:
    """What a volunteer needs to know to find and take an AED."""

    id: int
    name: str
    lat: float
    lon: float
    access_notes: str
    opening_hours: str | None
    public: bool


@dataclass(frozen=True)
class Role:
    """The task given to a volunteer who accepted, with the way and the time it takes."""

    role: str
    aed_id: int | None
    distance_m: float
    eta_s: float


def targets_met(policy: Policy, roles: Iterable[str]) -> bool:
    """Tell whether enough volunteers are going: the CPR and AED targets, or the cap."""
    roles = list(roles)
    if len(roles) >= policy.max_accepted:
        return True
    return roles.count(CPR) >= policy.target_cpr and roles.count(AED) >= policy.target_aed


def aed_search_radius(policy: Policy, direct_m: float) -> float:
    """Return how far from the patient an AED may be and still lie on an allowed way."""
    return direct_m + detour_allowance(policy, direct_m)


def detour_allowance(policy: Policy, direct_m: float) -> float:
    """Return how many metres an AED run may add to the direct way."""
    return max(direct_m * policy.aed_max_detour_pct / 100, policy.aed_min_detour_m)


def best_aed_run(
    policy: Policy, *, origin: tuple[float, float], patient: tuple[float, float], mode: str,
    aeds: Iterable[AedOption], ems_left_s: float, taken: Collection[int] = frozenset(),
) -> Role | None:
    """Return the quickest AED run that keeps within the detour and beats the ambulance.

    The run goes from the volunteer to the AED, takes it (policy.aed_pickup_s), and on to
    the patient. An AED another runner is fetching already is not offered: a second runner
    to the same cabinet would find it empty. Ties go to the lower AED id, so the choice is
    the same every time.
    """
    direct = haversine_m(*origin, *patient)
    allowance = detour_allowance(policy, direct)
    best: Role | None = None
    for aed in sorted(aeds, key=lambda a: a.id):
        if aed.id in taken:
            continue
        via = haversine_m(*origin, aed.lat, aed.lon) + haversine_m(aed.lat, aed.lon, *patient)
        if via - direct > allowance:
            continue
        seconds = eta_s(via, mode) + policy.aed_pickup_s
        if seconds >= ems_left_s:
            continue
        if best is None or seconds < best.eta_s:
            best = Role(AED, aed.id, via, seconds)
    return best


def wants_aed_runner(policy: Policy, going: Iterable[str]) -> bool:
    """Tell whether the next volunteer to accept should fetch an AED, if one is on their way.

    Once the CPR target is met, volunteers fetch AEDs until the AED target is met.
    """
    going = list(going)
    return going.count(CPR) >= policy.target_cpr and going.count(AED) < policy.target_aed


def assign(
    policy: Policy, *, going: Iterable[str], origin: tuple[float, float],
    patient: tuple[float, float], mode: str, aeds: Iterable[AedOption], ems_left_s: float,
    taken: Collection[int] = frozenset(), on_scene: bool = False,
) -> Role:
    """Give the next volunteer who accepts a role, and with it the AED they fetch, if any.

    The first does CPR: someone must start compressions as soon as possible. Once the CPR
    target is met, volunteers fetch AEDs until the AED target is met, but only when an open
    AED that nobody else is fetching (`taken`) lies on an allowed way and the run beats the
    ambulance; otherwise they do CPR too. One already on scene does CPR.
    """
    going = list(going)
    direct = haversine_m(*origin, *patient)
    if not on_scene and wants_aed_runner(policy, going):
        run = best_aed_run(policy, origin=origin, patient=patient, mode=mode, aeds=aeds,
                           ems_left_s=ems_left_s, taken=taken)
        if run is not None:
            return run
    return Role(CPR, None, direct, eta_s(direct, mode))
