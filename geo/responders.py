"""The in-process spatial index of responder positions.

The database holds the positions and numbers every write, deletes included,
with a monotonically increasing change sequence. Each process keeps a
`ResponderIndex` and, before it queries, applies the changes numbered above
`ResponderIndex.last_seq`. This module knows nothing of the database; it
only applies the changes it is given.
"""

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from geo.distance import check_coordinates
from geo.index import PointIndex

__all__ = ["Position", "PositionChange", "ResponderHit", "ResponderIndex"]

_LIVE = "live"


@dataclass(frozen=True)
class Position:
    """A place where a responder may be found.

    ``kind`` is ``"live"`` for the responder's reported position, or a
    registered place kind such as ``"home"`` or ``"work"``. ``schedule`` is an
    OSM opening_hours-style weekly schedule for a place, None meaning always.
    ``observed_at`` (tz-aware UTC) and ``accuracy_m`` describe live positions.
    """

    id: int
    responder_id: int
    lat: float
    lon: float
    kind: str
    schedule: str | None = None
    observed_at: datetime | None = None
    accuracy_m: float | None = None


@dataclass(frozen=True)
class PositionChange:
    """One numbered write to the positions; ``position`` may be None when deleted."""

    seq: int
    position: Position | None
    position_id: int
    deleted: bool


@dataclass(frozen=True)
class ResponderHit:
    """A responder found by a query, at its nearest usable position."""

    responder_id: int
    position: Position
    distance_m: float


class ResponderIndex:
    """Index responder positions, kept current from a change sequence.

    Every method is safe to call from several threads at once.

    Examples
    --------
    >>> responders = ResponderIndex()
    >>> home = Position(id=10, responder_id=1, lat=59.3326, lon=18.0649, kind="home")
    >>> live = Position(id=11, responder_id=1, lat=59.3300, lon=18.0600, kind="live")
    >>> responders.apply([PositionChange(1, home, 10, False), PositionChange(2, live, 11, False)])
    2
    >>> responders.apply([PositionChange(2, live, 11, False)])  # already applied
    0
    >>> responders.last_seq, len(responders), responders.live_position(1).id
    (2, 2, 11)
    >>> [(hit.responder_id, hit.position.kind) for hit in
    ...  responders.nearest_responders(59.3326, 18.0649, 1_000)]
    [(1, 'home')]
    >>> responders.apply([PositionChange(3, None, 10, True)])
    1
    >>> [(hit.responder_id, hit.position.kind) for hit in
    ...  responders.nearest_responders(59.3326, 18.0649, 1_000)]
    [(1, 'live')]
    """

    def __init__(self) -> None:
        self.last_seq = 0
        self._lock = threading.Lock()
        self._points = PointIndex()
        self._positions: dict[int, Position] = {}
        self._live: dict[int, int] = {}  # responder id -> live position id

    def __len__(self) -> int:
        """Return the number of indexed positions."""
        with self._lock:
            return len(self._positions)

    def position(self, position_id: int) -> Position | None:
        """Return the indexed position with this id, or None."""
        with self._lock:
            return self._positions.get(position_id)

    def live_position(self, responder_id: int) -> Position | None:
        """Return the responder's live position, or None when none is indexed."""
        with self._lock:
            position_id = self._live.get(responder_id)
            return None if position_id is None else self._positions[position_id]

    def apply(self, changes: Iterable[PositionChange]) -> int:
        """Apply changes in sequence order and return how many were new.

        A change numbered at or below `last_seq` has been applied before and
        is skipped, so a batch can safely be applied twice. A deletion of a
        position that is not indexed still counts and advances `last_seq`.
        If a responder gets a second live position, the one applied last is
        their live position.

        Raises
        ------
        ValueError
            If a change is malformed; nothing of the batch is applied then.
        """
        batch = sorted(changes, key=lambda change: change.seq)
        for change in batch:
            _check_change(change)
        applied = 0
        with self._lock:
            for change in batch:
                if change.seq <= self.last_seq:
                    continue
                if change.deleted:
                    self._remove(change.position_id)
                else:
                    self._upsert(change.position)
                self.last_seq = change.seq
                applied += 1
        return applied

    def nearest_responders(
        self,
        lat: float,
        lon: float,
        radius_m: float,
        usable: Callable[[Position], bool] = lambda position: True,
        limit: int | None = None,
    ) -> list[ResponderHit]:
        """Return responders within radius_m metres at their nearest usable position.

        Positions for which ``usable(position)`` is false are skipped; a
        responder with several usable positions in range appears once, at the
        nearest. Results are nearest first, ties ordered by responder id, and
        truncated to `limit` responders.

        ``usable`` runs outside the index lock, so it may call back into the
        index; it sees the positions as they were when the query ran.

        Raises
        ------
        ValueError
            If the coordinates are invalid, or radius_m or limit is negative.
        """
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be non-negative, got {limit}")
        with self._lock:
            found = [
                (self._positions[hit.key], hit.distance_m)
                for hit in self._points.within(lat, lon, radius_m)
            ]
        if limit == 0:
            return []
        best: list[ResponderHit] = []
        seen: set[int] = set()
        # `found` is nearest first, so a responder's first usable position is
        # their nearest. Once `limit` responders are found, only hits at the
        # same distance as the last one can still change the answer.
        for position, distance in found:
            if limit is not None and len(best) >= limit and distance > best[limit - 1].distance_m:
                break
            if position.responder_id in seen or not usable(position):
                continue
            seen.add(position.responder_id)
            best.append(ResponderHit(position.responder_id, position, distance))
        best.sort(key=lambda hit: (hit.distance_m, hit.responder_id))
        return best if limit is None else best[:limit]

    def _upsert(self, position: Position) -> None:
        old = self._positions.get(position.id)
        if old is not None:
            self._forget_live(old)
        self._points.upsert(position.id, position.lat, position.lon)
        self._positions[position.id] = position
        # A position can change kind or owner, so the live map is rebuilt
        # from the new row rather than patched.
        if position.kind == _LIVE:
            self._live[position.responder_id] = position.id

    def _remove(self, position_id: int) -> None:
        old = self._positions.pop(position_id, None)
        if old is not None:
            self._points.remove(position_id)
            self._forget_live(old)

    def _forget_live(self, position: Position) -> None:
        if self._live.get(position.responder_id) == position.id:
            del self._live[position.responder_id]


def _check_change(change: PositionChange) -> None:
    if change.deleted:
        return
    position = change.position
    if position is None:
        raise ValueError(f"change {change.seq} is not a deletion but carries no position")
    if position.id != change.position_id:
        raise ValueError(
            f"change {change.seq} is for position {change.position_id}"
            f" but carries position {position.id}"
        )
    check_coordinates(position.lat, position.lon)
