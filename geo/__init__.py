"""Pure geometry for finding volunteers near an incident.

Distances and search boxes on a spherical Earth, travel-time estimates, and
spatial indexes of points and of responder positions. Uses only the standard
library and rtree.

Examples
--------
>>> import geo
>>> round(geo.haversine_m(59.3326, 18.0649, 59.3326, 18.0649))
0
>>> geo.compass_point(geo.bearing_deg(59.0, 18.0, 60.0, 18.0))
'N'
"""

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
from geo.responders import Position, PositionChange, ResponderHit, ResponderIndex

__all__ = [
    "DETOUR_FACTOR",
    "EARTH_RADIUS_M",
    "SPEED_MPS",
    "Hit",
    "PointIndex",
    "Position",
    "PositionChange",
    "ResponderHit",
    "ResponderIndex",
    "bearing_deg",
    "check_coordinates",
    "compass_point",
    "eta_s",
    "haversine_m",
    "radius_bboxes",
]
