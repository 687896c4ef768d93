import math

import pytest

from geo.eta import DETOUR_FACTOR, SPEED_MPS, eta_s


@pytest.mark.parametrize(
    ("distance_m", "mode", "detour", "expected_s"),
    [
        (1_000.0, "walk", 1.3, 812.5),
        (1_000.0, "bike", 1.3, 1_300.0 / 4.5),
        (1_000.0, "car", 1.3, 162.5),
        (160.0, "walk", 1.0, 100.0),
        (0.0, "car", 1.3, 0.0),
    ],
)
def test_eta_is_street_distance_over_speed(distance_m, mode, detour, expected_s):
    assert eta_s(distance_m, mode, detour) == pytest.approx(expected_s)


def test_default_is_walking_with_the_default_detour():
    assert eta_s(1_000.0) == pytest.approx(1_000.0 * DETOUR_FACTOR / SPEED_MPS["walk"])


def test_faster_modes_arrive_sooner():
    etas = [eta_s(1_000.0, mode) for mode in ("walk", "bike", "car")]
    assert etas == sorted(etas, reverse=True)


@pytest.mark.parametrize(
    ("distance_m", "mode", "detour", "message"),
    [
        (100.0, "swim", DETOUR_FACTOR, "mode"),
        (100.0, "WALK", DETOUR_FACTOR, "mode"),
        (-1.0, "walk", DETOUR_FACTOR, "distance"),
        (math.nan, "walk", DETOUR_FACTOR, "distance"),
        (math.inf, "walk", DETOUR_FACTOR, "distance"),
        (100.0, "walk", 0.0, "detour"),
        (100.0, "walk", -1.3, "detour"),
        (100.0, "walk", math.nan, "detour"),
    ],
)
def test_eta_rejects_unknown_modes_and_impossible_numbers(distance_m, mode, detour, message):
    with pytest.raises(ValueError, match=message):
        eta_s(distance_m, mode, detour)
