"""Distances, bearings and search boxes on a spherical Earth.

Coordinates are decimal degrees, latitude first, as a control room sends them.
Boxes are ``(min_lon, min_lat, max_lon, max_lat)``, x before y, as rtree wants
them.
"""

import math

import numpy as np

__all__ = [
    "EARTH_RADIUS_M",
    "bearing_deg",
    "check_coordinates",
    "compass_point",
    "haversine_m",
    "haversine_m_array",
    "radius_bboxes",
]

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius in metres (IUGG R1)."""

_COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")

# Widens every non-degenerate box by about 0.1 mm, so that a point lying
# exactly on the circle is never lost to rounding in the box arithmetic.
_PAD_DEG = 1e-9

Box = tuple[float, float, float, float]


def check_coordinates(lat: float, lon: float) -> None:
    """Raise ValueError unless (lat, lon) is a finite point on the globe.

    Examples
    --------
    >>> check_coordinates(59.33, 18.06)
    >>> check_coordinates(91.0, 0.0)
    Traceback (most recent call last):
    ...
    ValueError: latitude must be within [-90, 90], got 91.0
    """
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise ValueError(f"coordinates must be finite, got ({lat}, {lon})")
    if not -90.0 <= lat <= 90.0:
        raise ValueError(f"latitude must be within [-90, 90], got {lat}")
    if not -180.0 <= lon <= 180.0:
        raise ValueError(f"longitude must be within [-180, 180], got {lon}")


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the great-circle distance in metres between two points.

    Inputs are not validated, because this runs once per candidate in every
    query; validate at the boundary with `check_coordinates`.

    Examples
    --------
    >>> round(haversine_m(0.0, 0.0, 1.0, 0.0))
    111195
    >>> haversine_m(0.0, 0.0, 0.0, 180.0) == math.pi * EARTH_RADIUS_M
    True
    """
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    # Rounding can push a just above 1 for near-antipodal points.
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, a)))


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the initial bearing from point 1 to point 2, in [0, 360) degrees.

    North is 0 and east is 90. The bearing from a point to itself is 0.

    Examples
    --------
    >>> bearing_deg(0.0, 0.0, 0.0, 1.0)
    90.0
    >>> bearing_deg(0.0, 0.0, -1.0, 0.0)
    180.0
    """
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dlambda = math.radians(lon2 - lon1)
    y = math.sin(dlambda) * math.cos(phi2)
    x = math.cos(phi1) * math.sin(phi2) - math.sin(phi1) * math.cos(phi2) * math.cos(dlambda)
    # atan2 gives (-180, 180]; adding 360 before the modulo keeps a tiny
    # negative angle from rounding to 360.0 instead of 0.0.
    return (math.degrees(math.atan2(y, x)) + 360.0) % 360.0


def compass_point(bearing: float) -> str:
    """Name the nearest of the eight compass points for a bearing in degrees.

    Each point owns a 45 degree sector centred on it; a bearing on a sector
    boundary goes to the next point clockwise. Any finite angle is accepted
    and taken modulo 360.

    Examples
    --------
    >>> compass_point(0.0), compass_point(22.5), compass_point(350.0)
    ('N', 'NE', 'N')
    >>> compass_point(-90.0)
    'W'
    """
    if not math.isfinite(bearing):
        raise ValueError(f"bearing must be finite, got {bearing}")
    return _COMPASS[int((bearing % 360.0 + 22.5) // 45.0) % 8]


def radius_bboxes(lat: float, lon: float, radius_m: float) -> list[Box]:
    """Return boxes that together cover every point within radius_m of (lat, lon).

    The latitude half-span is the angular radius ``d = radius_m / R``. The
    longitude half-span is ``asin(sin(d) / cos(lat))``, the longitude of the
    points where meridians touch the circle. Two cases change the shape:

    - if the circle reaches a pole, no longitude range bounds it, so a single
      full-longitude band is returned, clamped to [-90, 90] latitude;
    - if the longitude range crosses the antimeridian, it is split into two
      boxes, one ending at 180 and one starting at -180.

    A radius of 0 gives a degenerate box at the point. Other boxes are padded
    by about 0.1 mm against rounding.

    Raises
    ------
    ValueError
        If the coordinates are invalid or radius_m is negative or not finite.

    Examples
    --------
    >>> [tuple(round(v, 4) for v in box) for box in radius_bboxes(0.0, 0.0, 111_195.08)]
    [(-1.0, -1.0, 1.0, 1.0)]
    >>> radius_bboxes(10.0, 20.0, 0.0)
    [(20.0, 10.0, 20.0, 10.0)]
    >>> [tuple(round(v, 4) for v in box) for box in radius_bboxes(0.0, 179.5, 111_195.08)]
    [(178.5, -1.0, 180.0, 1.0), (-180.0, -1.0, -179.5, 1.0)]
    >>> [tuple(round(v, 4) for v in box) for box in radius_bboxes(89.5, 0.0, 111_195.08)]
    [(-180.0, 88.5, 180.0, 90.0)]
    """
    check_coordinates(lat, lon)
    if not (math.isfinite(radius_m) and radius_m >= 0):
        raise ValueError(f"radius must be finite and non-negative, got {radius_m}")
    if radius_m == 0:
        return [(lon, lat, lon, lat)]

    d = radius_m / EARTH_RADIUS_M
    dlat = math.degrees(d) + _PAD_DEG
    min_lat, max_lat = lat - dlat, lat + dlat
    if min_lat <= -90.0 or max_lat >= 90.0:
        return [(-180.0, max(min_lat, -90.0), 180.0, min(max_lat, 90.0))]

    # The circle misses both poles, so d < 90 - |lat|, the ratio is below 1
    # and the half-span below 90 degrees; min() only absorbs rounding.
    ratio = math.sin(d) / math.cos(math.radians(lat))
    dlon = math.degrees(math.asin(min(ratio, 1.0))) + _PAD_DEG
    west, east = lon - dlon, lon + dlon
    if west < -180.0:
        return [(west + 360.0, min_lat, 180.0, max_lat), (-180.0, min_lat, east, max_lat)]
    if east > 180.0:
        return [(west, min_lat, 180.0, max_lat), (-180.0, min_lat, east - 360.0, max_lat)]
    return [(west, min_lat, east, max_lat)]


def haversine_m_array(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Return great-circle distances in metres from one point to many, with numpy.

    The same formula as `haversine_m`, but the last bits may differ: use it to filter, and
    `haversine_m` where exact agreement matters.
    """
    phi1, phi2 = np.radians(lat), np.radians(lats)
    a = (np.sin((phi2 - phi1) / 2) ** 2
         + np.cos(phi1) * np.cos(phi2) * np.sin(np.radians(lons - lon) / 2) ** 2)
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(1.0, a)))
