import math
import random

import pytest

from geo.distance import haversine_m
from geo.index import Hit, PointIndex

# Centres chosen for their awkwardness: a city, near a pole, on the
# antimeridian, far south, and both at once.
CENTRES = [
    (59.33, 18.07),
    (89.5, 0.0),
    (0.0, 179.9),
    (-60.0, -60.0),
    (89.5, 179.9),
    (-60.0, -179.9),
]


def make_index(points):
    """Return a PointIndex holding {key: (lat, lon)}."""
    index = PointIndex()
    for key, (lat, lon) in points.items():
        index.upsert(key, lat, lon)
    return index


def scatter(rng, lat, lon, count):
    """Return {key: (lat, lon)} for count points within a few degrees of a centre."""
    points = {}
    for key in range(count):
        if key % 100 == 99:
            # Exact duplicates, so that ties in distance occur.
            points[key] = points[key - 1]
            continue
        p_lat = lat + rng.uniform(-3.0, 3.0)
        p_lon = lon + rng.uniform(-8.0, 8.0)
        if abs(p_lat) > 90.0:
            # Walking over a pole comes down the other side of the globe.
            p_lat = math.copysign(180.0, p_lat) - p_lat
            p_lon += 180.0
        points[key] = (p_lat, (p_lon + 540.0) % 360.0 - 180.0)
    return points


def brute_force_within(points, lat, lon, radius_m):
    hits = [(haversine_m(lat, lon, *point), key) for key, point in points.items()]
    return [Hit(key, distance) for distance, key in sorted(hits) if distance <= radius_m]


def test_empty_index_finds_nothing():
    index = PointIndex()
    assert len(index) == 0
    assert index.within(0.0, 0.0, 20_000_000) == []
    assert index.nearest(0.0, 0.0, k=3) == []


def test_removing_an_absent_key_returns_false():
    index = make_index({1: (0.0, 0.0)})
    assert index.remove(2) is False
    assert len(index) == 1


def test_removed_key_is_no_longer_found():
    index = make_index({1: (0.0, 0.0), 2: (0.0, 0.001)})
    assert index.remove(1) is True
    assert 1 not in index
    assert index.position(1) is None
    assert [hit.key for hit in index.within(0.0, 0.0, 1_000)] == [2]


def test_upsert_inserts_a_new_key():
    index = PointIndex()
    index.upsert(5, 59.33, 18.07)
    assert 5 in index
    assert len(index) == 1
    assert index.position(5) == (59.33, 18.07)


def test_upsert_of_a_known_key_moves_it():
    index = make_index({1: (59.33, 18.07)})
    index.upsert(1, 57.70, 11.97)
    assert len(index) == 1
    assert index.position(1) == (57.70, 11.97)
    assert index.within(59.33, 18.07, 10_000) == []
    assert [hit.key for hit in index.within(57.70, 11.97, 10)] == [1]


def test_upsert_at_the_same_place_keeps_one_entry():
    index = make_index({1: (10.0, 10.0)})
    index.upsert(1, 10.0, 10.0)
    assert index.within(10.0, 10.0, 1) == [Hit(1, 0.0)]


@pytest.mark.parametrize(("lat", "lon"), [(91.0, 0.0), (0.0, 181.0), (math.nan, 0.0)])
def test_invalid_coordinates_are_rejected_and_leave_the_index_unchanged(lat, lon):
    index = make_index({1: (0.0, 0.0)})
    with pytest.raises(ValueError, match=r"finite|latitude|longitude"):
        index.upsert(1, lat, lon)
    assert index.position(1) == (0.0, 0.0)


def test_keys_must_be_integers():
    with pytest.raises(TypeError):
        PointIndex().upsert("responder-1", 0.0, 0.0)


def test_within_returns_hits_nearest_first_with_distances():
    index = make_index({1: (0.0, 0.002), 2: (0.0, 0.001), 3: (0.0, 0.003)})
    hits = index.within(0.0, 0.0, 1_000)
    assert [hit.key for hit in hits] == [2, 1, 3]
    assert [hit.distance_m for hit in hits] == pytest.approx([111.2, 222.4, 333.6], abs=0.1)


def test_equidistant_points_are_ordered_by_key():
    # On the equator, these four points are exactly the same distance away.
    index = make_index({9: (0.01, 0.0), 3: (0.0, 0.01), 7: (-0.01, 0.0), 5: (0.0, -0.01)})
    index.upsert(4, 0.0, 0.0)
    index.upsert(2, 0.0, 0.0)
    hits = index.within(0.0, 0.0, 5_000)
    assert [hit.key for hit in hits] == [2, 4, 3, 5, 7, 9]


def test_a_point_exactly_at_the_radius_is_included():
    index = make_index({1: (59.33, 18.07)})
    radius_m = haversine_m(59.0, 18.0, 59.33, 18.07)
    assert [hit.key for hit in index.within(59.0, 18.0, radius_m)] == [1]


def test_zero_radius_finds_points_at_the_centre_only():
    index = make_index({1: (10.0, 20.0), 2: (10.0, 20.000001)})
    assert index.within(10.0, 20.0, 0.0) == [Hit(1, 0.0)]


@pytest.mark.parametrize(
    ("limit", "expected_keys"), [(None, [1, 2, 3]), (2, [1, 2]), (5, [1, 2, 3]), (0, [])]
)
def test_limit_truncates_after_sorting(limit, expected_keys):
    index = make_index({3: (0.0, 0.003), 2: (0.0, 0.002), 1: (0.0, 0.001)})
    assert [hit.key for hit in index.within(0.0, 0.0, 1_000, limit=limit)] == expected_keys


@pytest.mark.parametrize(
    ("call", "args", "message"),
    [
        ("within", (0.0, 0.0, -1.0), "radius"),
        ("within", (0.0, 0.0, 1.0, -1), "limit"),
        ("nearest", (0.0, 0.0, -1), "k must"),
    ],
)
def test_negative_radius_limit_or_k_is_rejected(call, args, message):
    with pytest.raises(ValueError, match=message):
        getattr(make_index({1: (0.0, 0.0)}), call)(*args)


@pytest.mark.parametrize(
    ("centre", "point", "radius_m"),
    [
        ((10.0, 179.99), (10.0, -179.995), 2_000),
        ((10.0, -179.99), (10.0, 179.995), 2_000),
        ((0.0, 180.0), (0.0, -179.999), 200),
        ((89.9, 0.0), (89.9, 180.0), 25_000),
        ((-89.99, 45.0), (-89.99, -135.0), 2_500),
        ((90.0, 0.0), (89.999, -123.0), 200),
    ],
)
def test_within_finds_points_across_the_antimeridian_and_over_the_poles(centre, point, radius_m):
    index = make_index({1: point, 2: (0.0, 90.0)})
    assert [hit.key for hit in index.within(*centre, radius_m)] == [1]


@pytest.mark.parametrize(
    ("k", "expected_keys"), [(0, []), (1, [2]), (2, [2, 3]), (3, [2, 3, 1]), (10, [2, 3, 1])]
)
def test_nearest_returns_the_k_nearest_keys(k, expected_keys):
    index = make_index({1: (0.0, 0.003), 2: (0.0, -0.001), 3: (0.0, 0.002)})
    assert [hit.key for hit in index.nearest(0.0, 0.0, k=k)] == expected_keys


def test_nearest_orders_ties_by_key():
    index = make_index({9: (0.01, 0.0), 3: (0.0, 0.01), 7: (-0.01, 0.0), 5: (0.0, -0.01)})
    assert [hit.key for hit in index.nearest(0.0, 0.0, k=2)] == [3, 5]


@pytest.mark.parametrize(
    ("centre", "near", "far_in_metres_but_near_in_degrees"),
    [
        ((80.0, 0.0), (80.0, 1.0), (80.5, 0.0)),
        ((0.0, 179.99), (0.0, -179.99), (0.0, 179.0)),
    ],
)
def test_nearest_measures_in_metres_not_degrees(centre, near, far_in_metres_but_near_in_degrees):
    index = make_index({1: far_in_metres_but_near_in_degrees, 2: near})
    [hit] = index.nearest(*centre)
    assert hit.key == 2
    assert hit.distance_m == pytest.approx(haversine_m(*centre, *near))


@pytest.mark.parametrize(("lat", "lon"), CENTRES)
def test_within_agrees_with_brute_force_haversine(lat, lon):
    points = scatter(random.Random(7), lat, lon, 2_000)
    index = make_index(points)
    for radius_m in (0.0, 10_000.0, 100_000.0, 250_000.0, 1_000_000.0):
        assert index.within(lat, lon, radius_m) == brute_force_within(points, lat, lon, radius_m)


@pytest.mark.parametrize(("lat", "lon"), CENTRES)
def test_nearest_agrees_with_brute_force_haversine(lat, lon):
    rng = random.Random(7)
    points = scatter(rng, lat, lon, 2_000)
    index = make_index(points)
    everything = brute_force_within(points, lat, lon, math.inf)
    for k in (1, 5, 50):
        assert index.nearest(lat, lon, k=k) == everything[:k]
    # Queries from the points themselves, where duplicates tie at distance zero.
    for _ in range(20):
        q_lat, q_lon = points[rng.randrange(2_000)]
        expected = brute_force_within(points, q_lat, q_lon, math.inf)[:3]
        assert index.nearest(q_lat, q_lon, k=3) == expected
