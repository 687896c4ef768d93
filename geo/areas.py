"""Areas on the globe: GeoJSON polygons checked on the way in, and an index that finds them.

GeoJSON positions are ``[lon, lat]`` (x before y), the opposite of the ``(lat, lon)`` this
package takes everywhere else; the functions here read GeoJSON as it is written and take
points as ``(lat, lon)``.

Areas are compared by their size in square metres on a spherical Earth, computed in the
sinusoidal projection, which is equal-area everywhere (see `area_m2`).
"""

import math
import re
import threading
from collections.abc import Hashable, Iterable, Mapping
from numbers import Real
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon

from geo.distance import EARTH_RADIUS_M, check_coordinates

__all__ = ["AreaIndex", "area_m2", "geometry_problem", "polygon_shape"]

Area = Polygon | MultiPolygon

# GEOS reports a problem as "Self-intersection[18.06 59.33]": a text, then where.
_WHERE = re.compile(r"^(?P<what>.*?)\[(?P<x>\S+) (?P<y>\S+)\]$")


def polygon_shape(geometry: Any) -> Area:
    """Return the polygon a GeoJSON geometry describes; raise ValueError saying what is wrong.

    Only ``Polygon`` and ``MultiPolygon`` describe an area. Each ring needs at least four
    positions and must end where it starts (RFC 7946). A position is ``[lon, lat]``, or
    ``[lon, lat, altitude]`` with the altitude dropped. The polygon must be valid: no
    self-intersection, holes inside their shell, parts of a multipolygon not overlapping.

    Raises
    ------
    ValueError
        With one reason in plain words, naming the ring and position where that helps.

    Examples
    --------
    >>> square = {"type": "Polygon",
    ...           "coordinates": [[[18.0, 59.3], [18.1, 59.3], [18.1, 59.4], [18.0, 59.4],
    ...                            [18.0, 59.3]]]}
    >>> polygon_shape(square).bounds
    (18.0, 59.3, 18.1, 59.4)
    >>> polygon_shape({"type": "Point", "coordinates": [18.0, 59.3]})
    Traceback (most recent call last):
    ...
    ValueError: type must be Polygon or MultiPolygon, got 'Point'
    >>> bow_tie = {"type": "Polygon",
    ...            "coordinates": [[[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]]}
    >>> polygon_shape(bow_tie)
    Traceback (most recent call last):
    ...
    ValueError: self-intersection at [1, 1] ([lon, lat])
    """
    if not isinstance(geometry, Mapping):
        raise ValueError(f"geometry must be a GeoJSON object, got {_json_type(geometry)}")
    kind = geometry.get("type")
    if kind not in ("Polygon", "MultiPolygon"):
        raise ValueError(f"type must be Polygon or MultiPolygon, got {kind!r}")
    coordinates = geometry.get("coordinates")
    if kind == "Polygon":
        shell, *holes = _polygon(coordinates, "")
        shaped: Area = Polygon(shell, holes)
    else:
        if not isinstance(coordinates, list) or not coordinates:
            raise ValueError("coordinates of a MultiPolygon must be a non-empty list of polygons")
        parts = [_polygon(p, f"polygon {i} ") for i, p in enumerate(coordinates)]
        shaped = MultiPolygon([(shell, holes) for shell, *holes in parts])
    reason = shapely.is_valid_reason(shaped)
    if reason != "Valid Geometry":
        raise ValueError(_plain(reason))
    if shaped.area == 0:
        raise ValueError("the polygon has no area")
    return shaped


def geometry_problem(geometry: Any) -> str | None:
    """Return why a GeoJSON geometry cannot be an area, or None when it can.

    Examples
    --------
    >>> geometry_problem({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 1]]]})
    'ring 0 has 3 positions; a ring needs at least 4 (the last repeats the first)'
    >>> geometry_problem({"type": "Polygon",
    ...                   "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}) is None
    True
    """
    try:
        polygon_shape(geometry)
    except ValueError as exc:
        return str(exc)
    return None


def area_m2(shape: Area) -> float:
    """Return the area in square metres of a polygon in lon/lat degrees, on a sphere.

    The polygon is projected with the sinusoidal projection (x = R·Δλ·cos φ, y = R·φ),
    which keeps areas true everywhere; only the edges, straight in degrees, bend a little
    in the projection, which for district-sized areas changes nothing that matters.

    Examples
    --------
    >>> one_degree = Polygon([(0, 0), (1, 0), (1, 1), (0, 1)])
    >>> exact = EARTH_RADIUS_M ** 2 * math.radians(1) * math.sin(math.radians(1))
    >>> abs(area_m2(one_degree) / exact - 1) < 1e-4
    True
    """
    minx, _, maxx, _ = shape.bounds
    centre = math.radians((minx + maxx) / 2)

    def sinusoidal(xy: np.ndarray) -> np.ndarray:
        lon, lat = np.radians(xy[:, 0]), np.radians(xy[:, 1])
        return np.column_stack(
            (EARTH_RADIUS_M * (lon - centre) * np.cos(lat), EARTH_RADIUS_M * lat)
        )

    return float(shapely.transform(shape, sinusoidal).area)


class AreaIndex:
    """Find the areas that contain a point, smallest first.

    Built once from ``(key, geometry)`` pairs, where a geometry is a shapely
    polygon or multipolygon in lon/lat degrees, or a GeoJSON mapping (checked
    with `polygon_shape`). A ``shapely.STRtree`` over the bounding boxes finds
    the candidates; every polygon is prepared (in place), so the exact test is
    fast.

    A point on an area's boundary lies in that area, so a point on the border
    of two neighbours is in both and never in neither; a point in a hole lies
    outside. Results are ordered by area in square metres (`area_m2`), then by
    key, so nested areas give the innermost first and equal areas always come
    out in the same order.

    The index cannot change once built; build a new one to change it. It may
    be shared between threads: queries take a lock, because GEOS builds the
    inner index of a prepared polygon lazily and not thread-safely
    (libgeos/geos#825), and shapely releases the GIL while it tests.

    Keys are any hashable, mutually orderable values (names, numbers).

    Examples
    --------
    >>> city = Polygon([(18.0, 59.3), (18.1, 59.3), (18.1, 59.4), (18.0, 59.4)])
    >>> centre = Polygon([(18.04, 59.33), (18.08, 59.33), (18.08, 59.36), (18.04, 59.36)])
    >>> areas = AreaIndex([("city", city), ("centre", centre)])
    >>> areas.containing(59.34, 18.06)
    ['centre', 'city']
    >>> areas.containing(59.31, 18.01)
    ['city']
    >>> areas.containing(0.0, 0.0)
    []
    >>> areas.containing(59.3, 18.05)  # on the city's southern edge
    ['city']
    >>> len(areas), "city" in areas
    (2, True)
    """

    def __init__(self, areas: Iterable[tuple[Hashable, Area | Mapping]] = ()) -> None:
        keys: list[Hashable] = []
        shapes: list[Area] = []
        self._positions: dict[Hashable, int] = {}
        for key, geometry in areas:
            if key in self._positions:
                raise ValueError(f"key {key!r} appears twice")
            self._positions[key] = len(keys)
            shape = polygon_shape(geometry) if isinstance(geometry, Mapping) else geometry
            if not isinstance(shape, (Polygon, MultiPolygon)):
                raise TypeError(f"area {key!r} must be a Polygon or MultiPolygon")
            keys.append(key)
            shapes.append(shape)
        self._keys = keys
        self._shapes = np.array(shapes, dtype=object)
        shapely.prepare(self._shapes)
        self._sizes = [area_m2(s) for s in shapes]
        self._tree = shapely.STRtree(self._shapes)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Return the number of areas."""
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        """Return whether an area has this key."""
        return key in self._positions

    def area_m2(self, key: Hashable) -> float:
        """Return the size of an area in square metres; raise KeyError for an unknown key."""
        return self._sizes[self._positions[key]]

    def containing(self, lat: float, lon: float) -> list[Hashable]:
        """Return the keys of the areas containing (lat, lon), smallest area first.

        Raises
        ------
        ValueError
            If the coordinates are invalid.
        """
        check_coordinates(lat, lon)
        if not self._keys:
            return []
        with self._lock:
            candidates = self._tree.query(shapely.Point(lon, lat))
            if len(candidates) == 0:
                return []
            inside = candidates[shapely.intersects_xy(self._shapes[candidates], lon, lat)]
        return [self._keys[i] for i in sorted(inside, key=self._order)]

    def smallest(self, lat: float, lon: float) -> Hashable | None:
        """Return the key of the smallest area containing (lat, lon), or None."""
        found = self.containing(lat, lon)
        return found[0] if found else None

    def _order(self, i: int) -> tuple:
        """Sort key of the i-th area: its size, then its key."""
        return (self._sizes[i], self._keys[i])


def _polygon(rings: Any, where: str) -> list[list[tuple[float, float]]]:
    """Check the rings of one GeoJSON polygon; return them as lists of (lon, lat)."""
    if not isinstance(rings, list) or not rings:
        raise ValueError(f"{where}coordinates must be a non-empty list of rings".lstrip())
    return [_ring(ring, f"{where}ring {i}") for i, ring in enumerate(rings)]


def _ring(ring: Any, where: str) -> list[tuple[float, float]]:
    """Check one linear ring: enough positions, closed, each a valid [lon, lat]."""
    if not isinstance(ring, list):
        raise ValueError(f"{where} must be a list of positions, got {_json_type(ring)}")
    if len(ring) < 4:
        raise ValueError(f"{where} has {len(ring)} positions; a ring needs at least 4 "
                         "(the last repeats the first)")
    points = [_position(p, f"{where} position {i}") for i, p in enumerate(ring)]
    if points[0] != points[-1]:
        raise ValueError(f"{where} is not closed: its last position must repeat its first")
    return points


def _position(position: Any, where: str) -> tuple[float, float]:
    """Check one [lon, lat] (or [lon, lat, altitude]) position; return (lon, lat)."""
    if (not isinstance(position, list) or len(position) not in (2, 3)
            or not all(isinstance(v, Real) and not isinstance(v, bool) for v in position)):
        raise ValueError(f"{where} must be [lon, lat] numbers, got {position!r}")
    lon, lat = float(position[0]), float(position[1])
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise ValueError(f"{where} is not finite: {position!r}")
    if not -180.0 <= lon <= 180.0 or not -90.0 <= lat <= 90.0:
        raise ValueError(f"{where} {position!r} is off the globe: GeoJSON positions are "
                         "[lon, lat], longitude within [-180, 180], latitude within [-90, 90]")
    return lon, lat


def _plain(reason: str) -> str:
    """Turn a GEOS validity reason into plain words with the place in [lon, lat]."""
    match = _WHERE.match(reason)
    if match is None:
        return reason[:1].lower() + reason[1:]
    what = match["what"][:1].lower() + match["what"][1:]
    x, y = (f"{float(v):.6g}" for v in (match["x"], match["y"]))
    return f"{what} at [{x}, {y}] ([lon, lat])"


def _json_type(value: Any) -> str:
    """Name a value's type as JSON calls it."""
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
             int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)
