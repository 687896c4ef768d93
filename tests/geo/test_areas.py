import math

import pytest
from shapely.geometry import MultiPolygon, Polygon, box

from geo.areas import AreaIndex, area_m2, geometry_problem, polygon_shape
from geo.distance import EARTH_RADIUS_M


def square(lon, lat, size):
    """Return a GeoJSON Polygon: a square of `size` degrees with its south-west corner given."""
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


CITY = square(18.0, 59.3, 0.1)
CENTRE = square(18.04, 59.33, 0.02)
CORE = square(18.045, 59.335, 0.005)


# ---------------------------------------------------------------- containment


def test_a_point_inside_an_area_finds_it():
    areas = AreaIndex([("city", CITY)])

    assert areas.containing(59.35, 18.05) == ["city"]


def test_a_point_outside_every_area_finds_none():
    areas = AreaIndex([("city", CITY)])

    assert areas.containing(59.5, 18.05) == []
    assert areas.smallest(59.5, 18.05) is None


def test_an_empty_index_finds_nothing():
    areas = AreaIndex()

    assert len(areas) == 0
    assert areas.containing(59.35, 18.05) == []


def test_nested_areas_come_back_smallest_first_whatever_the_order_they_were_given_in():
    given = [("city", CITY), ("core", CORE), ("centre", CENTRE)]

    for order in (given, given[::-1]):
        areas = AreaIndex(order)
        assert areas.containing(59.3375, 18.0475) == ["core", "centre", "city"]
        assert areas.smallest(59.3375, 18.0475) == "core"


def test_overlapping_areas_of_equal_size_are_ordered_by_key():
    west, east = square(18.0, 59.3, 0.1), square(18.0, 59.3, 0.1)

    areas = AreaIndex([("b", west), ("a", east)])

    assert areas.containing(59.35, 18.05) == ["a", "b"]


def test_a_point_in_a_hole_is_outside_the_area_and_inside_what_fills_the_hole():
    shell = CITY["coordinates"][0]
    hole = CENTRE["coordinates"][0][::-1]
    ring_road = {"type": "Polygon", "coordinates": [shell, hole]}

    areas = AreaIndex([("suburbs", ring_road)])
    filled = AreaIndex([("suburbs", ring_road), ("centre", CENTRE)])

    assert areas.containing(59.34, 18.05) == []
    assert areas.containing(59.31, 18.01) == ["suburbs"]
    assert filled.containing(59.34, 18.05) == ["centre"]


def test_every_part_of_a_multipolygon_belongs_to_the_area():
    islands = {"type": "MultiPolygon", "coordinates": [square(18.0, 59.3, 0.01)["coordinates"],
                                                       square(18.2, 59.3, 0.01)["coordinates"]]}

    areas = AreaIndex([("islands", islands)])

    assert areas.containing(59.305, 18.005) == ["islands"]
    assert areas.containing(59.305, 18.205) == ["islands"]
    assert areas.containing(59.305, 18.1) == []


@pytest.mark.parametrize("lat, lon", [(59.3, 18.05), (59.35, 18.1), (59.3, 18.0)],
                         ids=["edge", "other edge", "corner"])
def test_a_point_on_the_boundary_belongs_to_the_area(lat, lon):
    areas = AreaIndex([("city", CITY)])

    assert areas.containing(lat, lon) == ["city"]


def test_a_point_on_the_border_of_two_neighbours_is_in_both_and_the_smaller_wins():
    big, small = square(18.0, 59.3, 0.1), square(18.1, 59.3, 0.05)

    areas = AreaIndex([("big", big), ("small", small)])

    assert areas.containing(59.32, 18.1) == ["small", "big"]


def test_shapely_polygons_and_geojson_both_make_an_index():
    areas = AreaIndex([("box", box(18.0, 59.3, 18.1, 59.4)), ("geojson", CENTRE)])

    assert areas.containing(59.34, 18.05) == ["geojson", "box"]
    assert "box" in areas and "elsewhere" not in areas


def test_a_key_given_twice_is_refused():
    with pytest.raises(ValueError, match="appears twice"):
        AreaIndex([("city", CITY), ("city", CENTRE)])


def test_invalid_query_coordinates_are_refused():
    areas = AreaIndex([("city", CITY)])

    with pytest.raises(ValueError, match="latitude"):
        areas.containing(91.0, 18.0)


# ---------------------------------------------------------------- area


def test_area_is_true_on_the_sphere_far_from_the_equator():
    """A degree square near Stockholm is about half the size of one at the equator."""
    lat0, lat1 = math.radians(59.0), math.radians(60.0)
    exact = EARTH_RADIUS_M ** 2 * math.radians(1.0) * (math.sin(lat1) - math.sin(lat0))

    measured = area_m2(polygon_shape(square(18.0, 59.0, 1.0)))

    assert measured == pytest.approx(exact, rel=1e-3)


def test_a_wide_area_in_the_north_can_be_smaller_than_a_narrower_one_near_the_equator():
    """Square degrees would get this wrong: the far-north area is wider in degrees."""
    north, south = square(18.0, 70.0, 1.0), square(18.0, 0.0, 0.8)

    areas = AreaIndex([("north", north), ("south", south)])

    assert areas.area_m2("north") < areas.area_m2("south")


def test_a_multipolygon_area_is_the_sum_of_its_parts():
    one = Polygon([(18.0, 59.3), (18.1, 59.3), (18.1, 59.4), (18.0, 59.4)])
    two = Polygon([(19.0, 59.3), (19.1, 59.3), (19.1, 59.4), (19.0, 59.4)])

    assert area_m2(MultiPolygon([one, two])) == pytest.approx(2 * area_m2(one), rel=1e-9)


# ---------------------------------------------------------------- validation


def polygon(*rings):
    """Return a GeoJSON Polygon of the rings given."""
    return {"type": "Polygon", "coordinates": [list(r) for r in rings]}


SQUARE = [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]


@pytest.mark.parametrize("geometry, reason", [
    (polygon([[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]), "self-intersection at [1, 1]"),
    (polygon(SQUARE, [[3, 3], [4, 3], [4, 4], [3, 3]]), "hole lies outside shell"),
    ({"type": "MultiPolygon", "coordinates": [[SQUARE], [[[0.5, 0.5], [2, 0.5], [2, 2],
                                                          [0.5, 0.5]]]]}, "self-intersection"),
    (polygon([[0, 0], [1, 0], [1, 1], [0, 1]]), "ring 0 is not closed"),
    (polygon([[0, 0], [1, 0], [0, 0]]), "ring 0 has 3 positions"),
    (polygon([[0, 0], [1, 0], [2, 0], [0, 0]]), "self-intersection at [1, 0]"),
    (polygon([[0, 0], [0, 0], [0, 0], [0, 0]]), "too few points"),
    ({"type": "Point", "coordinates": [0, 0]}, "type must be Polygon or MultiPolygon, got 'Point'"),
    ({"type": "LineString", "coordinates": SQUARE}, "got 'LineString'"),
    ({"coordinates": [SQUARE]}, "got None"),
    ({"type": "Polygon"}, "non-empty list of rings"),
    ({"type": "Polygon", "coordinates": []}, "non-empty list of rings"),
    ({"type": "MultiPolygon", "coordinates": []}, "non-empty list of polygons"),
    (polygon([[0, 0], [1, 0], [1, "1"], [0, 0]]), "ring 0 position 2 must be [lon, lat] numbers"),
    (polygon([[0, 0], [1, 0], [1, True], [0, 0]]), "must be [lon, lat] numbers"),
    (polygon([[0, 0], [1, 0], [1], [0, 0]]), "must be [lon, lat] numbers"),
    (polygon([[0, 0], [1, 0], [1, float("nan")], [0, 0]]), "not finite"),
    (polygon([[59.3, 18.0], [59.4, 18.0], [59.4, 181.0], [59.3, 18.0]]), "off the globe"),
    (polygon([[18.0, 59.3], [18.0, 99.0], [18.1, 59.3], [18.0, 59.3]]), "[lon, lat]"),
    ([SQUARE], "must be a GeoJSON object, got an array"),
    (None, "must be a GeoJSON object, got null"),
], ids=["bow tie", "hole outside", "overlapping parts", "open ring", "short ring",
        "flat", "one point", "point", "line", "no type", "no coordinates", "no rings",
        "no polygons", "text", "boolean", "one number", "nan", "lat lon swapped", "latitude",
        "array", "null"])
def test_an_unusable_geometry_is_refused_with_its_reason(geometry, reason):
    problem = geometry_problem(geometry)

    assert problem is not None
    assert reason in problem
    with pytest.raises(ValueError):
        polygon_shape(geometry)


def test_a_bow_tie_names_where_it_crosses_itself_in_lon_lat_order():
    bow_tie = polygon([[18.0, 59.3], [18.2, 59.4], [18.2, 59.3], [18.0, 59.4], [18.0, 59.3]])

    assert geometry_problem(bow_tie) == "self-intersection at [18.1, 59.35] ([lon, lat])"


@pytest.mark.parametrize("geometry", [
    polygon(SQUARE),
    polygon(SQUARE, [[0.2, 0.2], [0.2, 0.4], [0.4, 0.4], [0.4, 0.2], [0.2, 0.2]]),
    {"type": "MultiPolygon", "coordinates": [[SQUARE], [[[2, 2], [3, 2], [3, 3], [2, 2]]]]},
    polygon([[0, 0, 10], [1, 0, 12], [1, 1, 9], [0, 1, 10], [0, 0, 10]]),
    polygon([[-180, -90], [180, -90], [180, 90], [-180, 90], [-180, -90]]),
], ids=["square", "with a hole", "multipolygon", "with altitudes", "the whole globe"])
def test_a_usable_geometry_passes(geometry):
    assert geometry_problem(geometry) is None
    assert polygon_shape(geometry).area > 0


def test_altitudes_are_dropped():
    shaped = polygon_shape(polygon([[0, 0, 10], [1, 0, 12], [1, 1, 9], [0, 1, 10], [0, 0, 10]]))

    assert not shaped.has_z


def test_an_index_shared_between_threads_answers_every_query_the_same():
    from concurrent.futures import ThreadPoolExecutor

    areas = AreaIndex([("city", CITY), ("centre", CENTRE), ("core", CORE)])
    points = [(59.3 + i * 0.0001, 18.0 + i * 0.0001) for i in range(1000)]
    expected = [areas.containing(*p) for p in points]
    fresh = AreaIndex([("city", CITY), ("centre", CENTRE), ("core", CORE)])

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda p: fresh.containing(*p), points * 8))

    assert answers == expected * 8
