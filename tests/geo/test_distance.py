import math

import pytest

from geo.distance import (
    EARTH_RADIUS_M,
    bearing_deg,
    check_coordinates,
    compass_point,
    haversine_m,
    radius_bboxes,
)

STOCKHOLM_CENTRAL = (59.3303, 18.0581)
SLUSSEN = (59.3195, 18.0722)


def destination(lat, lon, bearing, distance_m):
    """Return the point distance_m from (lat, lon) along an initial bearing."""
    phi, lam, theta = math.radians(lat), math.radians(lon), math.radians(bearing)
    delta = distance_m / EARTH_RADIUS_M
    phi2 = math.asin(
        math.sin(phi) * math.cos(delta) + math.cos(phi) * math.sin(delta) * math.cos(theta)
    )
    lam2 = lam + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(phi),
        math.cos(delta) - math.sin(phi) * math.sin(phi2),
    )
    lon2 = (math.degrees(lam2) + 540.0) % 360.0 - 180.0
    return math.degrees(phi2), lon2


def in_some_box(lat, lon, boxes):
    return any(
        min_lon <= lon <= max_lon and min_lat <= lat <= max_lat
        for min_lon, min_lat, max_lon, max_lat in boxes
    )


@pytest.mark.parametrize(
    ("a", "b", "expected_m", "tolerance_m"),
    [
        (STOCKHOLM_CENTRAL, SLUSSEN, 1_440, 20),
        ((0.0, 0.0), (1.0, 0.0), 111_195, 1),
        ((45.0, 10.0), (46.0, 10.0), 111_195, 1),
        ((0.0, 0.0), (0.0, 1.0), 111_195, 1),
        ((0.0, 179.5), (0.0, -179.5), 111_195, 1),
        ((0.0, 0.0), (0.0, 180.0), math.pi * EARTH_RADIUS_M, 1e-6),
        ((90.0, 0.0), (-90.0, 0.0), math.pi * EARTH_RADIUS_M, 1e-6),
        ((90.0, 0.0), (90.0, 123.0), 0.0, 1e-6),
        (SLUSSEN, SLUSSEN, 0.0, 0.0),
    ],
)
def test_haversine_matches_known_distances(a, b, expected_m, tolerance_m):
    assert haversine_m(*a, *b) == pytest.approx(expected_m, abs=tolerance_m)


def test_haversine_is_symmetric():
    assert haversine_m(*STOCKHOLM_CENTRAL, *SLUSSEN) == haversine_m(*SLUSSEN, *STOCKHOLM_CENTRAL)


@pytest.mark.parametrize(
    ("a", "b", "expected_deg"),
    [
        ((0.0, 0.0), (1.0, 0.0), 0.0),
        ((0.0, 0.0), (0.0, 1.0), 90.0),
        ((0.0, 0.0), (-1.0, 0.0), 180.0),
        ((0.0, 0.0), (0.0, -1.0), 270.0),
        ((0.0, 179.5), (0.0, -179.5), 90.0),
        ((0.0, -179.5), (0.0, 179.5), 270.0),
        ((0.0, 0.0), (1.0, 1.0), 45.0),
        ((10.0, 10.0), (10.0, 10.0), 0.0),
    ],
)
def test_bearing_points_from_first_point_to_second(a, b, expected_deg):
    assert bearing_deg(*a, *b) == pytest.approx(expected_deg, abs=0.01)


def test_bearing_is_never_360():
    assert bearing_deg(0.0, 0.0, 1.0, -1e-15) < 360.0


@pytest.mark.parametrize(
    ("bearing", "point"),
    [
        (0.0, "N"),
        (22.49, "N"),
        (22.5, "NE"),
        (45.0, "NE"),
        (90.0, "E"),
        (135.0, "SE"),
        (180.0, "S"),
        (225.0, "SW"),
        (270.0, "W"),
        (315.0, "NW"),
        (337.49, "NW"),
        (337.5, "N"),
        (359.99, "N"),
        (360.0, "N"),
        (-45.0, "NW"),
        (720.0 + 90.0, "E"),
    ],
)
def test_compass_point_names_the_nearest_of_eight_points(bearing, point):
    assert compass_point(bearing) == point


@pytest.mark.parametrize("bearing", [math.nan, math.inf, -math.inf])
def test_compass_point_rejects_non_finite_bearings(bearing):
    with pytest.raises(ValueError, match="finite"):
        compass_point(bearing)


@pytest.mark.parametrize(("lat", "lon"), [(90.0, 180.0), (-90.0, -180.0), (0.0, 0.0)])
def test_check_coordinates_accepts_the_edges_of_the_globe(lat, lon):
    check_coordinates(lat, lon)


@pytest.mark.parametrize(
    ("lat", "lon", "message"),
    [
        (math.nan, 0.0, "finite"),
        (0.0, math.nan, "finite"),
        (math.inf, 0.0, "finite"),
        (0.0, -math.inf, "finite"),
        (90.000001, 0.0, "latitude"),
        (-90.000001, 0.0, "latitude"),
        (0.0, 180.000001, "longitude"),
        (0.0, -180.000001, "longitude"),
    ],
)
def test_check_coordinates_rejects_points_off_the_globe(lat, lon, message):
    with pytest.raises(ValueError, match=message):
        check_coordinates(lat, lon)


def test_zero_radius_gives_a_degenerate_box_at_the_point():
    assert radius_bboxes(59.3, 18.0, 0.0) == [(18.0, 59.3, 18.0, 59.3)]


@pytest.mark.parametrize("radius_m", [-1.0, math.nan, math.inf])
def test_radius_must_be_finite_and_non_negative(radius_m):
    with pytest.raises(ValueError, match="radius"):
        radius_bboxes(0.0, 0.0, radius_m)


def test_radius_bboxes_rejects_invalid_centres():
    with pytest.raises(ValueError, match="latitude"):
        radius_bboxes(95.0, 0.0, 1_000)


def test_box_at_the_equator_spans_one_degree_per_111_km():
    [(min_lon, min_lat, max_lon, max_lat)] = radius_bboxes(0.0, 0.0, 111_195.08)
    assert (min_lon, min_lat, max_lon, max_lat) == pytest.approx((-1.0, -1.0, 1.0, 1.0), abs=1e-6)


def test_longitude_span_widens_with_latitude():
    [(min_lon, min_lat, max_lon, max_lat)] = radius_bboxes(60.0, 18.0, 10_000)
    # At 60 degrees a degree of longitude is half as long as one of latitude.
    assert (max_lon - min_lon) / (max_lat - min_lat) == pytest.approx(2.0, rel=1e-3)


@pytest.mark.parametrize(
    ("lat", "radius_m", "expected_lats"),
    [
        (89.5, 100_000, (88.6, 90.0)),
        (-89.5, 100_000, (-90.0, -88.6)),
        (90.0, 1_000, (89.99, 90.0)),
        (0.0, 20_000_000, (-90.0, 90.0)),
    ],
)
def test_circle_reaching_a_pole_gives_a_full_longitude_band(lat, radius_m, expected_lats):
    [(min_lon, min_lat, max_lon, max_lat)] = radius_bboxes(lat, 42.0, radius_m)
    assert (min_lon, max_lon) == (-180.0, 180.0)
    assert (min_lat, max_lat) == pytest.approx(expected_lats, abs=0.01)


@pytest.mark.parametrize(
    ("lon", "west_box_starts", "east_box_ends"),
    [
        (179.9, 179.45, -179.65),
        (-179.9, 179.65, -179.45),
        (180.0, 179.55, -179.55),
        (-180.0, 179.55, -179.55),
    ],
)
def test_box_crossing_the_antimeridian_is_split_in_two(lon, west_box_starts, east_box_ends):
    [west_box, east_box] = radius_bboxes(0.0, lon, 50_000)
    assert west_box[0] == pytest.approx(west_box_starts, abs=0.001)
    assert west_box[2] == 180.0
    assert east_box[0] == -180.0
    assert east_box[2] == pytest.approx(east_box_ends, abs=0.001)


@pytest.mark.parametrize(
    ("lat", "lon"),
    [(0.0, 0.0), (59.33, 18.06), (-60.0, -170.0), (80.0, 179.9), (88.0, -45.0), (-85.0, 0.0)],
)
@pytest.mark.parametrize("radius_m", [1.0, 1_000.0, 100_000.0, 1_000_000.0])
def test_every_point_on_the_circle_lies_in_a_box(lat, lon, radius_m):
    boxes = radius_bboxes(lat, lon, radius_m)
    for bearing in range(360):
        point = destination(lat, lon, bearing, radius_m)
        assert in_some_box(*point, boxes), (bearing, point)


def test_the_point_where_a_meridian_touches_the_circle_lies_in_a_box():
    lat, lon, radius_m = 60.0, 18.0, 100_000.0
    boxes = radius_bboxes(lat, lon, radius_m)
    # The tangent point is where the circle reaches furthest east.
    farthest_east = max(
        (destination(lat, lon, 60 + tenth / 10, radius_m) for tenth in range(400)),
        key=lambda point: point[1],
    )
    assert in_some_box(*farthest_east, boxes)
    assert farthest_east[1] == pytest.approx(boxes[0][2], abs=1e-4)
