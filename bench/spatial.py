"""Benchmark the volunteer index against its baselines, measured in the same run.

1. A 1 km nearest-first query with ResponderIndex, against a brute-force haversine scan.
2. Moving a point (delete + insert) in the tuned rtree (quadratic split, fill factor 0.1),
   against rtree's default properties on the same bulk of points.

Prints the medians and the ratios. Run: `.venv/bin/python bench/spatial.py [points]`.
"""

from __future__ import annotations

import math
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rtree import index as rtree_index  # noqa: E402

from geo import Position, PositionChange, ResponderIndex, haversine_m  # noqa: E402

CENTRE = (59.3326, 18.0649)
HALF_SIDE_M = 25_000  # a 50 km square, as in DESIGN.md section 3


def points(n: int, rng: random.Random) -> list[tuple[float, float]]:
    """Draw n points uniformly in the square around the centre."""
    dlat = HALF_SIDE_M / 111_195
    dlon = dlat / math.cos(math.radians(CENTRE[0]))
    return [
        (CENTRE[0] + rng.uniform(-dlat, dlat), CENTRE[1] + rng.uniform(-dlon, dlon))
        for _ in range(n)
    ]


def median_us(fn, repeats: int) -> float:
    """Run fn repeatedly and return the median time in microseconds."""
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - start) * 1e6)
    return statistics.median(times)


def main(n: int) -> None:
    """Build the indexes, time the queries and the moves, print the ratios."""
    rng = random.Random(1)
    pts = points(n, rng)
    idx = ResponderIndex()
    idx.apply(
        PositionChange(seq=i + 1, position=Position(i, i, lat, lon, "home"), position_id=i,
                       deleted=False)
        for i, (lat, lon) in enumerate(pts)
    )
    queries = points(200, random.Random(2))

    def tuned_query(i: int) -> None:
        lat, lon = queries[i % len(queries)]
        idx.nearest_responders(lat, lon, 1000)

    def brute_query(i: int) -> None:
        lat, lon = queries[i % len(queries)]
        hits = [(haversine_m(lat, lon, a, b), k) for k, (a, b) in enumerate(pts)]
        sorted(h for h in hits if h[0] <= 1000)

    q_tuned = median_us(tuned_query, 200)
    q_brute = median_us(brute_query, 5)
    print(f"points: {n}")
    print(f"1 km query  ResponderIndex: {q_tuned:9.0f} us   brute-force scan: {q_brute:9.0f} us"
          f"   ratio: {q_brute / q_tuned:7.1f}x faster")

    default = rtree_index.Index(
        ((i, (lon, lat, lon, lat), None) for i, (lat, lon) in enumerate(pts))
    )
    tuned_props = rtree_index.Property(variant=rtree_index.RT_Quadratic, fill_factor=0.1)
    tuned = rtree_index.Index(
        ((i, (lon, lat, lon, lat), None) for i, (lat, lon) in enumerate(pts)),
        properties=tuned_props,
    )
    moves = points(500, random.Random(3))

    def mover(tree, where):
        def move(i: int) -> None:
            key = i * 7919 % n
            lat, lon = where[key]
            tree.delete(key, (lon, lat, lon, lat))
            nlat, nlon = moves[i % len(moves)]
            tree.insert(key, (nlon, nlat, nlon, nlat))
            where[key] = (nlat, nlon)
        return move

    m_default = median_us(mover(default, list(pts)), 500)
    m_tuned = median_us(mover(tuned, list(pts)), 500)
    print(f"move        tuned rtree:    {m_tuned:9.1f} us   default rtree:    {m_default:9.1f} us"
          f"   ratio: {m_default / m_tuned:7.1f}x faster")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
