"""Roles for volunteers who accept: the targets, the AED detour rule and who fetches an AED.

Pure: plain data in, plain data out. Places are given in metres from the patient, who lies
at CENTRE; the default policy allows a detour of 50% of the direct way (at least 400 m), a
minute to take the AED, and wants 1 CPR and 2 AED runs, 5 volunteers at most.
"""

from __future__ import annotations

import pytest

from dispatcher.domain.policy import Policy
from dispatcher.domain.roles import (
    AED,
    CPR,
    AedOption,
    Role,
    assign,
    best_aed_run,
    detour_allowance,
    targets_met,
)
from geo import eta_s, haversine_m
from tests.builders import CENTRE, offset

POLICY = Policy()
PATIENT = CENTRE
# The volunteer stands 600 m south of the patient: allowed detour max(300, 400) = 400 m.
VOLUNTEER = offset(-600)
DIRECT = haversine_m(*VOLUNTEER, *PATIENT)
# Walking 600 m takes 600 * 1.3 / 1.6 = 487.5 s; with the pickup minute, 547.5 s.
WALK_VIA_ON_THE_WAY = eta_s(DIRECT, "walk") + POLICY.aed_pickup_s
PLENTY = 3600.0


def aed_at(aed_id: int, north_m: float, east_m: float = 0.0) -> AedOption:
    """Return an open AED so many metres north and east of the patient."""
    lat, lon = offset(north_m, east_m)
    return AedOption(aed_id, lat, lon)


def via_m(aed: AedOption, origin=VOLUNTEER) -> float:
    """Return the length of the way from the volunteer by the AED to the patient."""
    return haversine_m(*origin, aed.lat, aed.lon) + haversine_m(aed.lat, aed.lon, *PATIENT)


def run(aeds, *, mode="walk", ems_left_s=PLENTY, policy=POLICY, origin=VOLUNTEER):
    """Return the best AED run from the volunteer under test."""
    return best_aed_run(policy, origin=origin, patient=PATIENT, mode=mode, aeds=aeds,
                        ems_left_s=ems_left_s)


def role_for(going, aeds, *, mode="walk", ems_left_s=PLENTY, policy=POLICY) -> Role:
    """Return the role the next volunteer to accept gets."""
    return assign(policy, going=going, origin=VOLUNTEER, patient=PATIENT, mode=mode, aeds=aeds,
                  ems_left_s=ems_left_s)


# --- targets ---------------------------------------------------------------------------------


TARGETS = [
    # (roles of those going, targets met?)
    ([], False),
    ([CPR], False),
    ([AED], False),
    ([CPR, AED], False),
    ([AED, AED], False),  # nobody doing CPR
    ([CPR, AED, AED], True),
    ([AED, CPR, AED], True),  # the order does not matter
    ([CPR, CPR, AED, AED], True),
    ([CPR, CPR, CPR, CPR], False),  # no AED yet and under the cap of 5
    ([CPR] * 5, True),  # the cap: 5 going is enough whatever they do
    ([AED] * 5, True),
    ([CPR] * 6, True),
]


@pytest.mark.parametrize(("going", "met"), TARGETS)
def test_targets_met_needs_the_cpr_and_aed_targets_or_the_cap(going, met):
    assert targets_met(POLICY, going) is met


def test_targets_met_takes_any_iterable_of_roles():
    assert targets_met(POLICY, iter([CPR, AED, AED])) is True


def test_with_no_aed_target_one_volunteer_doing_cpr_is_enough():
    policy = Policy(target_aed=0)

    assert targets_met(policy, []) is False
    assert targets_met(policy, [CPR]) is True


def test_a_lower_cap_is_met_first():
    assert targets_met(Policy(max_accepted=2), [CPR, CPR]) is True


# --- detour allowance ------------------------------------------------------------------------


ALLOWANCE = [
    # (policy, direct metres, allowed detour in metres)
    (POLICY, 2000, 1000),  # 50% of a long way
    (POLICY, 1000, 500),
    (POLICY, 800, 400),  # where the percentage and the minimum meet
    (POLICY, 600, 400),  # the minimum for a short way
    (POLICY, 0, 400),
    (Policy(aed_max_detour_pct=5, aed_min_detour_m=0), 1000, 50),  # the Dutch 5% rule
    (Policy(aed_max_detour_pct=5, aed_min_detour_m=100), 1000, 100),
]


@pytest.mark.parametrize(("policy", "direct", "allowed"), ALLOWANCE)
def test_detour_allowance_is_a_share_of_the_direct_way_but_at_least_the_minimum(
    policy, direct, allowed
):
    assert detour_allowance(policy, direct) == pytest.approx(allowed)


# --- the best AED run ------------------------------------------------------------------------


def test_no_aeds_means_no_run():
    assert run([]) is None


def test_an_aed_on_the_way_gives_a_run_through_it():
    aed = aed_at(4, -300)

    found = run([aed])

    assert found == Role(AED, 4, pytest.approx(DIRECT), pytest.approx(WALK_VIA_ON_THE_WAY))


def test_the_quickest_run_is_picked_not_the_first_or_lowest_id():
    aside = aed_at(1, -300, 250)
    on_the_way = aed_at(9, -300)
    behind = aed_at(3, -700)  # 100 m behind the volunteer: 200 m out of the way

    found = run([aside, behind, on_the_way])

    assert found.aed_id == 9


def test_the_run_includes_the_time_to_take_the_aed():
    aed = aed_at(4, -300, 200)

    quick, slow = run([aed], policy=Policy(aed_pickup_s=0)), run([aed])

    assert quick.eta_s == pytest.approx(eta_s(via_m(aed), "walk"))
    assert slow.eta_s == pytest.approx(eta_s(via_m(aed), "walk") + 60)
    assert slow.distance_m == pytest.approx(via_m(aed))


DETOURS = [
    # (metres east of the half-way point, detour in metres, allowed?)
    (0, 0, True),
    (350, 322, True),
    (390, 384, True),
    (410, 416, False),
    (500, 566, False),
]


@pytest.mark.parametrize(("east_m", "detour_m", "allowed"), DETOURS)
def test_an_aed_whose_detour_is_longer_than_allowed_is_left_out(east_m, detour_m, allowed):
    aed = aed_at(1, -300, east_m)
    assert via_m(aed) - DIRECT == pytest.approx(detour_m, abs=1)

    found = run([aed])

    assert (found is not None) is allowed


def test_a_long_detour_is_allowed_on_a_long_way_by_the_percentage():
    far = offset(-2000)  # direct 2,000 m: 1,000 m of detour allowed
    aed = aed_at(1, -1000, 600)  # 2 * sqrt(1000² + 600²) - 2000: about 332 m
    wide = aed_at(2, -1000, 1200)  # about 1,124 m of detour

    assert run([aed], origin=far) is not None
    assert run([wide], origin=far) is None


@pytest.mark.parametrize(("ems_left_s", "fetched"), [
    (WALK_VIA_ON_THE_WAY + 1, True),
    (WALK_VIA_ON_THE_WAY - 1, False),
    (0, False),
    (-30, False),  # the ambulance is late already: no run can beat it
])
def test_a_run_that_does_not_beat_the_ambulance_is_left_out(ems_left_s, fetched):
    found = run([aed_at(1, -300)], ems_left_s=ems_left_s)

    assert (found is not None) is fetched


def test_a_slow_run_is_passed_over_for_one_that_beats_the_ambulance():
    slow = aed_at(1, -300, 390)  # allowed, but its 384 m of detour take 312 s more
    quick = aed_at(2, -300)

    found = run([slow, quick], ems_left_s=WALK_VIA_ON_THE_WAY + 1)

    assert found.aed_id == 2


def test_equally_quick_runs_go_to_the_lower_aed_id():
    here = offset(-300)
    aeds = [AedOption(7, *here), AedOption(3, *here), AedOption(5, *here)]

    assert run(aeds).aed_id == 3
    assert run(list(reversed(aeds))).aed_id == 3


# --- assign ----------------------------------------------------------------------------------


def test_the_first_to_accept_does_cpr_even_with_an_aed_on_the_way():
    role = role_for([], [aed_at(1, -300)])

    assert role == Role(CPR, None, pytest.approx(DIRECT), pytest.approx(eta_s(DIRECT, "walk")))


def test_the_second_fetches_an_aed_when_a_run_is_possible():
    role = role_for([CPR], [aed_at(1, -300)])

    assert (role.role, role.aed_id) == (AED, 1)
    assert role.eta_s == pytest.approx(WALK_VIA_ON_THE_WAY)


@pytest.mark.parametrize(("aeds", "ems_left_s"), [
    ([], PLENTY),
    ([aed_at(1, -300, 500)], PLENTY),  # too far out of the way
    ([aed_at(1, -300)], WALK_VIA_ON_THE_WAY - 1),  # too slow for the ambulance
], ids=["no AED", "detour too long", "slower than the ambulance"])
def test_the_second_does_cpr_when_no_aed_run_is_possible(aeds, ems_left_s):
    role = role_for([CPR], aeds, ems_left_s=ems_left_s)

    assert (role.role, role.aed_id) == (CPR, None)
    assert role.distance_m == pytest.approx(DIRECT)


def test_while_nobody_does_cpr_the_next_does_cpr_even_if_others_fetch_aeds():
    assert role_for([AED], [aed_at(1, -300)]).role == CPR


def test_the_third_still_fetches_an_aed_until_the_aed_target_is_met():
    assert role_for([CPR, AED], [aed_at(1, -300)]).role == AED


@pytest.mark.parametrize("going", [[CPR, AED, AED], [CPR, CPR, AED, AED]])
def test_once_the_aed_target_is_met_more_volunteers_do_cpr(going):
    role = role_for(going, [aed_at(1, -300)])

    assert (role.role, role.aed_id) == (CPR, None)


def test_with_a_higher_cpr_target_the_second_does_cpr_too():
    policy = Policy(target_cpr=2)

    assert role_for([CPR], [aed_at(1, -300)], policy=policy).role == CPR
    assert role_for([CPR, CPR], [aed_at(1, -300)], policy=policy).role == AED


def test_a_cyclist_can_fetch_an_aed_that_a_walker_cannot_in_time():
    ems_left = 400.0  # walking by the AED takes 547.5 s, cycling 173.3 + 60 s
    aed = aed_at(1, -300)

    walker = role_for([CPR], [aed], mode="walk", ems_left_s=ems_left)
    cyclist = role_for([CPR], [aed], mode="bike", ems_left_s=ems_left)

    assert (walker.role, walker.eta_s) == (CPR, pytest.approx(eta_s(DIRECT, "walk")))
    assert (cyclist.role, cyclist.aed_id) == (AED, 1)
    assert cyclist.eta_s == pytest.approx(eta_s(DIRECT, "bike") + 60)
