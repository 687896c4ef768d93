"""Pure geometry for finding volunteers near an incident.

Distances and search boxes on a spherical Earth, travel-time estimates,
spatial indexes of points and of responder positions, and service areas
(GeoJSON polygons, smallest containing area first). Uses only the standard
library, rtree and shapely.

Examples
--------
>>> import geo
>>> round(geo.haversine_m(59.3326, 18.0649, 59.3326, 18.0649))
0
>>> geo.compass_point(geo.bearing_deg(59.0, 18.0, 60.0, 18.0))
'N'
"""

from geo.areas import AreaIndex, area_m2, geometry_problem, polygon_shape
from geo.distance import (
    EARTH_RADIUS_M,
    bearing_deg,
    check_coordinates,
    compass_point,
    haversine_m,
    radius_bboxes,
)
from geo.eta import DETOUR_FACTOR, SPEED_MPS, eta_s
from geo.index import Hit, PointIndex
from geo.responders import (
    Position,
    PositionChange,
    ResponderChange,
    ResponderHit,
    ResponderIndex,
)

__all__ = [
    "AreaIndex",
    "DETOUR_FACTOR",
    "EARTH_RADIUS_M",
    "SPEED_MPS",
    "Hit",
    "PointIndex",
    "Position",
    "PositionChange",
    "ResponderChange",
    "ResponderHit",
    "ResponderIndex",
    "area_m2",
    "bearing_deg",
    "check_coordinates",
    "compass_point",
    "eta_s",
    "geometry_problem",
    "haversine_m",
    "polygon_shape",
    "radius_bboxes",
]
