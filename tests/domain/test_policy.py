"""Dispatch policy as pure functions: exclusions, eligibility, usable positions, ranking, waves.

No app and no database: every test hands plain data to the functions in `dispatcher.policy`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from dispatcher.config import DEFAULTS
from dispatcher.domain.policy import (
    Candidate,
    Policy,
    Volunteer,
    candidate,
    exclusion,
    ineligibility,
    is_fresh,
    position_usable,
    rank,
    select_wave,
)
from geo import Position

POLICY = Policy()
# Monday 2026-11-23, 10:00 UTC, which is 11:00 in Stockholm.
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TODAY = NOW.date()
LOCAL_NOW = datetime(2026, 11, 23, 11, 0)
TTL = timedelta(minutes=15)


def volunteer(responder_id: int = 1, **changes) -> Volunteer:
    """Return an eligible volunteer, changed as asked."""
    fields = dict(
        id=responder_id, birth_year=1985, cert_expires=date(2027, 6, 1), status="active",
        paused_until=None, engaged=False, alerts_24h=0, travel_mode="walk",
    )
    fields.update(changes)
    return Volunteer(**fields)


def place(kind: str = "home", schedule: str | None = None, responder_id: int = 1) -> Position:
    """Return a registered place of a volunteer."""
    return Position(id=10, responder_id=responder_id, lat=59.3326, lon=18.0649, kind=kind,
                    schedule=schedule)


def live(age: timedelta, responder_id: int = 1) -> Position:
    """Return a live position observed `age` before NOW."""
    return Position(id=11, responder_id=responder_id, lat=59.3326, lon=18.0649, kind="live",
                    observed_at=NOW - age, accuracy_m=10)


def cand(responder_id: int, distance_m: float, mode: str = "walk") -> Candidate:
    """Return a candidate at a distance, its ETA from the travel mode."""
    return candidate(responder_id, distance_m, place(responder_id=responder_id), mode)


# --- exclusion ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "patient_age", "flags", "expected"),
    [
        ("cardiac_arrest", 64, [], None),
        ("cardiac_arrest", None, [], None),
        ("cardiac_arrest", 8, [], None),
        ("cardiac_arrest", 7, [], "patient under 8"),
        ("cardiac_arrest", 0, [], "patient under 8"),
        ("stroke", 64, [], "kind 'stroke' is not dispatched to volunteers"),
        ("fall", None, [], "kind 'fall' is not dispatched to volunteers"),
        ("cardiac_arrest", 64, ["trauma"], "excluded: trauma"),
        ("cardiac_arrest", 64, ["unsafe_scene"], "excluded: unsafe scene"),
        ("cardiac_arrest", 64, ["healthcare_facility"], "excluded: healthcare facility"),
        ("cardiac_arrest", 64, ["night", "stairs"], None),
        # Several excluding flags give one stable reason: the first in alphabetical order.
        ("cardiac_arrest", 64, ["unsafe_scene", "trauma"], "excluded: trauma"),
    ],
)
def test_exclusion_says_why_an_incident_is_not_for_volunteers(kind, patient_age, flags, expected):
    assert exclusion(POLICY, kind, patient_age, flags) == expected


def test_exclusion_follows_the_policy_kinds_and_minimum_patient_age():
    policy = replace(POLICY, dispatchable_kinds=frozenset({"drowning"}), min_patient_age=12)

    assert exclusion(policy, "drowning", 12, []) is None
    assert exclusion(policy, "drowning", 11, []) == "patient under 12"
    assert exclusion(policy, "cardiac_arrest", 40, []) is not None


QUIET = replace(POLICY, quiet_hours="23:00-07:00", area="Dalarna")


@pytest.mark.parametrize(
    ("local_now", "expected"),
    [
        (datetime(2026, 11, 23, 22, 59), None),
        (datetime(2026, 11, 23, 23, 0), "quiet hours in Dalarna (23:00-07:00)"),
        (datetime(2026, 11, 24, 3, 30), "quiet hours in Dalarna (23:00-07:00)"),
        (datetime(2026, 11, 24, 6, 59), "quiet hours in Dalarna (23:00-07:00)"),
        (datetime(2026, 11, 24, 7, 0), None),
        (datetime(2026, 11, 24, 12, 0), None),
    ],
)
def test_exclusion_keeps_an_area_quiet_in_its_quiet_hours_local_time(local_now, expected):
    assert exclusion(QUIET, "cardiac_arrest", 64, [], local_now) == expected


def test_exclusion_without_the_local_time_or_without_quiet_hours_is_never_quiet():
    night = datetime(2026, 11, 24, 3, 0)

    assert exclusion(QUIET, "cardiac_arrest", 64, []) is None
    assert exclusion(POLICY, "cardiac_arrest", 64, [], night) is None


def test_exclusion_leaves_kinds_the_area_excludes_to_the_ambulance():
    policy = replace(POLICY, dispatchable_kinds=frozenset({"cardiac_arrest", "drowning"}),
                     excluded_kinds=frozenset({"drowning"}), area="Gotland")

    assert exclusion(policy, "drowning", 40, []) == (
        "kind 'drowning' is not dispatched to volunteers in Gotland"
    )
    assert exclusion(policy, "cardiac_arrest", 40, []) is None


# --- ineligibility -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, None),
        ({"status": "opted_out"}, "opted out"),
        ({"status": "invalid_number"}, "invalid number"),
        ({"paused_until": NOW + timedelta(minutes=1)}, "paused"),
        ({"paused_until": NOW - timedelta(minutes=1)}, None),
        ({"paused_until": NOW}, None),
        # Born 2007: 18 or 19 on 2026-11-23; the youngest possible age, 18, is old enough.
        ({"birth_year": 2007}, None),
        # Born 2008: 17 or 18; the youngest possible age, 17, is under age.
        ({"birth_year": 2008}, "under age"),
        ({"birth_year": 2012}, "under age"),
        ({"cert_expires": TODAY}, None),
        ({"cert_expires": TODAY - timedelta(days=1)}, "certificate expired"),
        ({"engaged": True}, "engaged elsewhere"),
        ({"alerts_24h": 2}, None),
        ({"alerts_24h": 3}, "fatigue cap"),
        ({"alerts_24h": 7}, "fatigue cap"),
    ],
)
def test_ineligibility_says_why_a_volunteer_may_not_be_alerted(changes, expected):
    assert ineligibility(POLICY, volunteer(**changes), on=TODAY, now=NOW) == expected


def test_ineligibility_counts_age_by_the_incident_date_not_the_clock_year():
    # New Year's Eve 23:30 UTC is already 1 January in Stockholm: the year that counts is the
    # one the caller passes as `on`.
    born_2008 = volunteer(birth_year=2008)
    new_years_eve = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)

    assert ineligibility(POLICY, born_2008, on=date(2027, 1, 1), now=new_years_eve) is None
    assert ineligibility(POLICY, born_2008, on=date(2026, 12, 31), now=new_years_eve) == (
        "under age"
    )


def test_ineligibility_follows_the_policy_fatigue_cap_and_minimum_age():
    policy = replace(POLICY, fatigue_max_24h=5, min_age=16)

    assert ineligibility(policy, volunteer(alerts_24h=4, birth_year=2009), on=TODAY,
                         now=NOW) is None
    assert ineligibility(policy, volunteer(alerts_24h=5), on=TODAY, now=NOW) == "fatigue cap"


def test_the_default_fatigue_cap_is_three_alerts_in_24_hours():
    assert POLICY.fatigue_max_24h == 3
    assert ineligibility(POLICY, volunteer(alerts_24h=2), on=TODAY, now=NOW) is None
    assert ineligibility(POLICY, volunteer(alerts_24h=3), on=TODAY, now=NOW) == "fatigue cap"


@pytest.mark.parametrize(
    ("ago", "expected"),
    [
        (timedelta(minutes=5), "resting after an incident"),
        (timedelta(hours=3, minutes=59), "resting after an incident"),
        (timedelta(hours=4), None),
        (timedelta(days=2), None),
    ],
)
def test_a_volunteer_rests_four_hours_after_an_incident_they_went_to(ago, expected):
    assert ineligibility(POLICY, volunteer(last_went_at=NOW - ago), on=TODAY, now=NOW) == (
        expected
    )


def test_the_rest_period_follows_the_policy():
    went = volunteer(last_went_at=NOW - timedelta(hours=1))

    assert ineligibility(replace(POLICY, rest_after_incident=timedelta(0)), went, on=TODAY,
                         now=NOW) is None
    assert ineligibility(replace(POLICY, rest_after_incident=timedelta(hours=2)), went,
                         on=TODAY, now=NOW) == "resting after an incident"


# --- usable positions --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("position", "has_fresh_live", "expected"),
    [
        (live(timedelta(0)), True, True),
        (live(timedelta(minutes=14)), True, True),
        (live(timedelta(minutes=15)), True, True),
        (live(timedelta(minutes=15, seconds=1)), False, False),
        (live(timedelta(minutes=20)), False, False),
        # A report a little ahead of our clock is allowed for skew; far ahead is not trusted.
        (live(-timedelta(minutes=4)), True, True),
        (live(-timedelta(minutes=10)), False, False),
        (place("home"), False, True),
        (place("home"), True, False),
        (place("work", "Mo-Fr 08:00-17:00"), False, True),
        (place("work", "Mo-Fr 08:00-17:00"), True, False),
        (place("work", "Sa-Su 10:00-12:00"), False, False),
        # 11:00 local is inside 10:30-11:30; 10:00 UTC would not be.
        (place("work", "Mo 10:30-11:30"), False, True),
        (place("work", "Mo 09:30-10:30"), False, False),
        (place("work", "24/7"), False, True),
        (place("place", ""), False, True),
        # A schedule that cannot be read is never taken as open.
        (place("work", "weekdays"), False, False),
    ],
)
def test_position_usable_follows_freshness_and_schedules(position, has_fresh_live, expected):
    usable = position_usable(
        position, now=NOW, local_now=LOCAL_NOW, live_ttl=TTL, has_fresh_live=has_fresh_live
    )
    assert usable is expected


def test_a_place_is_unusable_while_the_volunteer_has_a_fresh_live_position_and_usable_after():
    home = place("home")
    position = live(timedelta(minutes=5))

    def usable_at(now):
        fresh = is_fresh(position, now=now, live_ttl=TTL)
        return position_usable(home, now=now, local_now=LOCAL_NOW, live_ttl=TTL,
                               has_fresh_live=fresh)

    assert usable_at(NOW) is False
    assert usable_at(NOW + timedelta(minutes=11)) is True


@pytest.mark.parametrize(
    ("position", "expected"),
    [
        (None, False),
        (place("home"), False),  # a place has no observation time
        (live(timedelta(minutes=1)), True),
        (live(timedelta(hours=1)), False),
    ],
)
def test_is_fresh_trusts_only_recent_live_positions(position, expected):
    assert is_fresh(position, now=NOW, live_ttl=TTL) is expected


# --- rank --------------------------------------------------------------------------------


def test_rank_orders_by_eta_then_distance_then_id():
    p = place()
    candidates = [
        Candidate(5, 300.0, 200.0, p),
        Candidate(4, 200.0, 200.0, p),
        Candidate(3, 200.0, 200.0, p),
        Candidate(2, 900.0, 100.0, p),
        Candidate(1, 100.0, 300.0, p),
    ]

    assert [c.responder_id for c in rank(candidates)] == [2, 3, 4, 5, 1]


def test_rank_puts_a_bike_at_900_m_before_a_walker_at_600_m():
    walker, cyclist = cand(1, 600, "walk"), cand(2, 900, "bike")

    # 900 m x 1.3 / 4.5 m/s = 260 s against 600 m x 1.3 / 1.6 m/s = 487.5 s.
    assert cyclist.eta_s == pytest.approx(260.0)
    assert walker.eta_s == pytest.approx(487.5)
    assert [c.responder_id for c in rank([walker, cyclist])] == [2, 1]


def test_rank_treats_etas_equal_to_the_millisecond_as_ties_broken_by_distance():
    p = place()
    nearer = Candidate(2, 100.0, 60.0004, p)
    farther = Candidate(1, 200.0, 60.0001, p)

    assert [c.responder_id for c in rank([farther, nearer])] == [2, 1]


def test_rank_puts_whoever_was_alerted_least_recently_first_among_tied_etas():
    p = place()
    nearer = Candidate(1, 300.0, 243.0, p)
    farther = Candidate(2, 305.0, 247.0, p)
    never = Candidate(3, 308.0, 250.0, p)
    recency = {1: NOW - timedelta(hours=1), 2: NOW - timedelta(hours=20), 3: None}

    assert [c.responder_id for c in rank([nearer, farther, never], recency, tie_s=10)] == [
        3, 2, 1,
    ]
    # Without a tie window the ETA alone decides.
    assert [c.responder_id for c in rank([nearer, farther, never], recency)] == [1, 2, 3]


def test_rank_counts_etas_as_tied_only_within_the_window_of_the_first_of_a_run():
    p = place()
    first = Candidate(1, 100.0, 100.0, p)
    within = Candidate(2, 110.0, 110.0, p)  # 10 s after the first: tied with it
    beyond = Candidate(3, 115.0, 115.0, p)  # 15 s after the first: starts the next run
    recency = {1: NOW - timedelta(minutes=5), 2: NOW - timedelta(minutes=10)}

    assert [c.responder_id for c in rank([beyond, within, first], recency, tie_s=10)] == [
        2, 1, 3,
    ]


def test_rank_breaks_a_tie_of_equal_recency_by_distance_then_id():
    p = place()
    candidates = [Candidate(4, 210.0, 171.0, p), Candidate(3, 200.0, 170.0, p),
                  Candidate(2, 200.0, 175.0, p)]
    recency = {2: NOW, 3: NOW, 4: NOW}

    assert [c.responder_id for c in rank(candidates, recency, tie_s=10)] == [2, 3, 4]


def test_select_wave_asks_the_least_recently_alerted_of_two_at_the_same_distance():
    candidates = [cand(1, 300.0), cand(2, 300.0)]
    volunteers = {1: volunteer(1, alerts_24h=1, last_alerted_at=NOW - timedelta(hours=2)),
                  2: volunteer(2)}

    chosen, _ = select_wave(replace(POLICY, wave_size=1), candidates, volunteers, on=TODAY,
                            now=NOW)

    assert [c.responder_id for c in chosen] == [2]


def test_rank_of_nothing_is_empty():
    assert rank([]) == []


# --- select_wave -------------------------------------------------------------------------


def test_select_wave_takes_the_best_ranked_eligible_up_to_the_wave_size():
    candidates = [cand(i, 100.0 * i) for i in range(15, 0, -1)]
    volunteers = {i: volunteer(i) for i in range(1, 16)}

    chosen, skipped = select_wave(POLICY, candidates, volunteers, on=TODAY, now=NOW)

    assert [c.responder_id for c in chosen] == list(range(1, 11))
    assert skipped == {}


@pytest.mark.parametrize(
    ("wave_size", "max_alerted", "already_alerted", "expected"),
    [
        (10, 30, 0, 10),
        (10, 30, 20, 10),
        (10, 30, 25, 5),
        (10, 30, 30, 0),
        (10, 30, 40, 0),
        (3, 30, 0, 3),
    ],
)
def test_select_wave_stops_at_wave_size_or_max_alerted_less_those_already_alerted(
    wave_size, max_alerted, already_alerted, expected
):
    policy = replace(POLICY, wave_size=wave_size, max_alerted=max_alerted)
    candidates = [cand(i, 10.0 * i) for i in range(1, 21)]
    volunteers = {i: volunteer(i) for i in range(1, 21)}

    chosen, _ = select_wave(policy, candidates, volunteers, on=TODAY, now=NOW,
                            already_alerted=already_alerted)

    assert [c.responder_id for c in chosen] == list(range(1, expected + 1))


def test_select_wave_counts_the_reasons_it_passed_volunteers_over():
    volunteers = {
        1: volunteer(1, status="opted_out"),
        2: volunteer(2, engaged=True),
        3: volunteer(3),
        4: volunteer(4, engaged=True),
        # 5 is found near the incident but is not in the registry any more.
        6: volunteer(6, alerts_24h=3),
        7: volunteer(7, cert_expires=TODAY - timedelta(days=1)),
        8: volunteer(8, birth_year=2010),
        9: volunteer(9, paused_until=NOW + timedelta(hours=2)),
        10: volunteer(10),
    }
    candidates = [cand(i, 50.0 * i) for i in range(1, 11)]

    chosen, skipped = select_wave(POLICY, candidates, volunteers, on=TODAY, now=NOW)

    assert [c.responder_id for c in chosen] == [3, 10]
    assert skipped == {
        "opted out": 1, "engaged elsewhere": 2, "not registered": 1, "fatigue cap": 1,
        "certificate expired": 1, "under age": 1, "paused": 1,
    }


def test_select_wave_neither_picks_nor_counts_candidates_after_the_wave_is_full():
    policy = replace(POLICY, wave_size=2)
    volunteers = {1: volunteer(1), 2: volunteer(2, engaged=True), 3: volunteer(3),
                  4: volunteer(4, engaged=True), 5: volunteer(5)}
    candidates = [cand(i, 100.0 * i) for i in range(1, 6)]

    chosen, skipped = select_wave(policy, candidates, volunteers, on=TODAY, now=NOW)

    assert [c.responder_id for c in chosen] == [1, 3]
    assert skipped == {"engaged elsewhere": 1}


def test_select_wave_of_no_candidates_is_empty():
    assert select_wave(POLICY, [], {}, on=TODAY, now=NOW) == ([], {})


# --- next_radius -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("radius_m", "expected"),
    [(1000, 1500), (1500, 2000), (2500, 3000), (2800, 3000), (3000, None), (3500, None)],
)
def test_next_radius_widens_by_the_step_up_to_the_maximum(radius_m, expected):
    policy = replace(POLICY, radius_start_m=1000, radius_step_m=500, radius_max_m=3000)

    assert policy.next_radius(radius_m) == expected


def test_next_radius_from_the_start_walks_every_step_to_the_maximum():
    radii = [POLICY.radius_start_m]
    while (wider := POLICY.next_radius(radii[-1])) is not None:
        radii.append(wider)

    assert radii == [1000, 1500, 2000, 2500, 3000]


def test_next_radius_with_no_step_still_moves_on():
    policy = replace(POLICY, radius_start_m=1000, radius_step_m=0, radius_max_m=1002)

    assert [policy.next_radius(r) for r in (1000, 1001, 1002)] == [1001, 1002, None]


# --- Policy.from_settings ----------------------------------------------------------------


def test_policy_from_the_default_settings_is_the_documented_default_policy():
    policy = Policy.from_settings(DEFAULTS)

    assert policy == Policy()
    assert (policy.radius_start_m, policy.radius_max_m) == (1000, 3000)
    assert (policy.wave_size, policy.max_alerted) == (10, 30)
    assert (policy.min_age, policy.min_patient_age, policy.fatigue_max_24h) == (18, 8, 3)
    assert policy.live_ttl == timedelta(minutes=15)
    assert policy.dispatchable_kinds == frozenset({"cardiac_arrest"})


@pytest.mark.parametrize(
    ("kinds", "expected"),
    [
        ("cardiac_arrest", {"cardiac_arrest"}),
        (" cardiac_arrest , drowning ,", {"cardiac_arrest", "drowning"}),
        (["cardiac_arrest", "drowning"], {"cardiac_arrest", "drowning"}),
        ("", set()),
    ],
)
def test_policy_from_settings_reads_dispatchable_kinds_as_text_or_list(kinds, expected):
    policy = Policy.from_settings({**DEFAULTS, "DISPATCHABLE_KINDS": kinds})

    assert policy.dispatchable_kinds == frozenset(expected)


def test_policy_from_settings_converts_text_numbers_and_the_ttl_in_seconds():
    settings = {
        **DEFAULTS, "RADIUS_START_M": "500", "RADIUS_MAX_M": "1300", "WAVE_SIZE": "20",
        "MAX_ALERTED": "60", "MIN_AGE": "16", "MIN_PATIENT_AGE": "12",
        "FATIGUE_MAX_ALERTS_24H": "5", "LIVE_POSITION_TTL_S": "600",
    }

    assert Policy.from_settings(settings) == Policy(
        radius_start_m=500, radius_max_m=1300, wave_size=20, max_alerted=60, min_age=16,
        min_patient_age=12, fatigue_max_24h=5, live_ttl=timedelta(minutes=10),
    )


def test_policy_from_settings_fails_on_a_missing_setting():
    settings = dict(DEFAULTS)
    del settings["WAVE_SIZE"]

    with pytest.raises(KeyError):
        Policy.from_settings(settings)
