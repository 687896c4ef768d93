"""Seeded positions for the benchmarks: uniform, city-clustered, or inside Stockholm's districts.

Every generator takes a numpy Generator and returns two float arrays (lat, lon) in degrees,
so the same points can go to the service's database, to a raw rtree and to PostGIS.
The area is a 50 x 50 km square around Sergels torg, Stockholm.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

CENTRE = (59.3326, 18.0649)
HALF_SIDE_M = 25_000
METRES_PER_DEG_LAT = 111_195.0
METRES_PER_DEG_LON = METRES_PER_DEG_LAT * math.cos(math.radians(CENTRE[0]))
DISTRICTS = Path(__file__).resolve().parents[2] / "shared" / "data" / "stockholm_districts.geojson"

# Dense places of the region: (lat, lon, spread in metres, share of the volunteers).
# What is left over (about a third) lies uniformly over the whole square.
CLUSTERS = (
    (59.3360, 18.0700, 1_500, 0.24),  # Norrmalm and Östermalm
    (59.3150, 18.0700, 1_200, 0.14),  # Södermalm
    (59.3600, 17.9900, 1_500, 0.10),  # Solna and Sundbyberg
    (59.4030, 17.9440, 1_000, 0.06),  # Kista
    (59.3100, 18.1600, 1_500, 0.06),  # Nacka
    (59.2360, 17.9800, 1_500, 0.05),  # Huddinge
)
LAYOUTS = ("uniform", "clustered", "districts")


def _to_degrees(north_m: np.ndarray, east_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Turn metres north and east of the centre into latitudes and longitudes."""
    return CENTRE[0] + north_m / METRES_PER_DEG_LAT, CENTRE[1] + east_m / METRES_PER_DEG_LON


def uniform(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw n points uniformly over the 50 x 50 km square."""
    north = rng.uniform(-HALF_SIDE_M, HALF_SIDE_M, n)
    east = rng.uniform(-HALF_SIDE_M, HALF_SIDE_M, n)
    return _to_degrees(north, east)


def clustered(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw n points: dense Gaussian clusters over the city's centres, the rest uniform."""
    lat, lon = uniform(n, rng)
    which = rng.uniform(0, 1, n)
    edge = 0.0
    for c_lat, c_lon, spread_m, share in CLUSTERS:
        chosen = (which >= edge) & (which < edge + share)
        edge += share
        k = int(chosen.sum())
        north = (c_lat - CENTRE[0]) * METRES_PER_DEG_LAT + rng.normal(0, spread_m, k)
        east = (c_lon - CENTRE[1]) * METRES_PER_DEG_LON + rng.normal(0, spread_m, k)
        north = np.clip(north, -HALF_SIDE_M, HALF_SIDE_M)
        east = np.clip(east, -HALF_SIDE_M, HALF_SIDE_M)
        lat[chosen], lon[chosen] = _to_degrees(north, east)
    return lat, lon


def districts(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw n points uniformly inside the City of Stockholm's district polygons.

    Raises FileNotFoundError, with the path, where the districts file is absent.
    """
    import shapely

    if not DISTRICTS.is_file():
        raise FileNotFoundError(f"the Stockholm districts are not at {DISTRICTS}")
    features = json.loads(DISTRICTS.read_text(encoding="utf-8"))["features"]
    city = shapely.union_all([shapely.geometry.shape(f["geometry"]) for f in features])
    shapely.prepare(city)
    min_lon, min_lat, max_lon, max_lat = city.bounds
    lats, lons, found = [], [], 0
    while found < n:
        lat = rng.uniform(min_lat, max_lat, 2 * (n - found) + 100)
        lon = rng.uniform(min_lon, max_lon, lat.size)
        inside = shapely.contains_xy(city, lon, lat)
        lats.append(lat[inside])
        lons.append(lon[inside])
        found += int(inside.sum())
    return np.concatenate(lats)[:n], np.concatenate(lons)[:n]


def points(layout: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Return n seeded points of a layout: "uniform", "clustered" or "districts"."""
    rng = np.random.default_rng(seed)
    return {"uniform": uniform, "clustered": clustered, "districts": districts}[layout](n, rng)


def haversine_m(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Return the great-circle distances in metres from one point to arrays of points."""
    p1, p2 = math.radians(lat), np.radians(lats)
    dp, dl = p2 - p1, np.radians(lons - lon)
    a = np.sin(dp / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * np.arcsin(np.sqrt(np.minimum(a, 1.0)))
