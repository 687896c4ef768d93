"""What the responder index holds and answers: positions, their changes, and hits."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from geo.columns import NO_TIME, Columns, PositionRows, micros
from geo.distance import check_coordinates

__all__ = [
    "Found", "Position", "PositionChange", "PositionTable", "ResponderChange", "ResponderHit",
    "check_change", "check_rows",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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
class ResponderChange:
    """One numbered write to a responder: the travel mode they now search by."""

    seq: int
    responder_id: int
    mode: str


@dataclass(frozen=True)
class ResponderHit:
    """A responder found by a query, at its nearest usable position."""

    responder_id: int
    position: Position
    distance_m: float


@dataclass(frozen=True)
class Found:
    """Positions found by a query, as columns: what a caller needs to judge them in bulk.

    `kinds` and `schedules` are codes (`kind_names`, `schedule_names`; -1 no schedule);
    times are microseconds since the epoch (`NO_TIME` for none); `live_observed` is when
    the responder's live position was observed, if they have one.
    """

    ids: np.ndarray
    responder_ids: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    kinds: np.ndarray
    schedules: np.ndarray
    observed: np.ndarray
    accuracy: np.ndarray
    live_observed: np.ndarray
    kind_names: list[str]
    schedule_names: list[str]

    def row(self, i: int, position: bool = False) -> tuple:
        """Return (responder id,) of row i, or (responder id, its Position) with `position`."""
        owner = int(self.responder_ids[i])
        if not position:
            return (owner,)
        observed, accuracy = int(self.observed[i]), float(self.accuracy[i])
        schedule = int(self.schedules[i])
        return owner, Position(
            id=int(self.ids[i]), responder_id=owner, lat=float(self.lat[i]),
            lon=float(self.lon[i]), kind=self.kind_names[self.kinds[i]],
            schedule=None if schedule < 0 else self.schedule_names[schedule],
            observed_at=None if observed == NO_TIME else _EPOCH + timedelta(microseconds=observed),
            accuracy_m=None if accuracy != accuracy else accuracy)

    def where(self, mask: np.ndarray) -> "Found":
        """Return the rows where the mask is true."""
        return Found(self.ids[mask], self.responder_ids[mask], self.lat[mask], self.lon[mask],
                     self.kinds[mask], self.schedules[mask], self.observed[mask],
                     self.accuracy[mask], self.live_observed[mask], self.kind_names,
                     self.schedule_names)


class PositionTable:
    """Positions kept as numpy columns indexed by position id, strings kept once each.

    Not thread-safe: the index that owns it holds its lock around every call.
    """

    def __init__(self, previous: "PositionTable | None" = None) -> None:
        self.columns = Columns({
            "responder": (np.int64, -1), "lat": (np.float64, np.nan),
            "lon": (np.float64, np.nan), "kind": (np.int16, -1), "schedule": (np.int32, -1),
            "observed": (np.int64, NO_TIME), "accuracy": (np.float64, np.nan),
            "tree": (np.int8, -1),
        })
        self.count = 0
        # Kinds and schedules are few and repeat: each is stored once and numbered.
        self._names: dict[str, list[str]] = previous._names if previous else {
            "kind": [], "schedule": []}
        self._codes: dict[str, dict[str, int]] = previous._codes if previous else {
            "kind": {}, "schedule": {}}

    def _code(self, column: str, value: str | None) -> int:
        if value is None:
            return -1
        code = self._codes[column].get(value)
        if code is None:
            code = self._codes[column][value] = len(self._names[column])
            self._names[column].append(value)
        return code

    def get(self, position_id: int) -> Position | None:
        """Return the position with this id, or None."""
        c = self.columns
        if not 0 <= position_id < len(c) or c.responder[position_id] < 0:
            return None
        observed, accuracy = int(c.observed[position_id]), float(c.accuracy[position_id])
        schedule = int(c.schedule[position_id])
        return Position(
            id=position_id, responder_id=int(c.responder[position_id]),
            lat=float(c.lat[position_id]), lon=float(c.lon[position_id]),
            kind=self._names["kind"][c.kind[position_id]],
            schedule=None if schedule < 0 else self._names["schedule"][schedule],
            observed_at=None if observed == NO_TIME else _EPOCH + timedelta(microseconds=observed),
            accuracy_m=None if accuracy != accuracy else accuracy,
        )

    def found(self, ids: np.ndarray, live: np.ndarray) -> Found:
        """Return these positions as columns; `live` maps responder id to live position id."""
        c = self.columns
        owners = c.responder[ids]
        live_ids = np.where(owners < len(live), live[np.minimum(owners, len(live) - 1)], -1)
        live_observed = np.where(live_ids >= 0, c.observed[np.maximum(live_ids, 0)], NO_TIME)
        return Found(ids, owners, c.lat[ids], c.lon[ids], c.kind[ids], c.schedule[ids],
                     c.observed[ids], c.accuracy[ids], live_observed, self._names["kind"],
                     self._names["schedule"])

    def put(self, position: Position, tree: int) -> None:
        """Store a position (not already stored) as belonging to search tree `tree`."""
        pid, c = position.id, self.columns
        c.ensure(pid)
        c.responder[pid], c.lat[pid], c.lon[pid] = position.responder_id, position.lat, position.lon
        c.kind[pid] = self._code("kind", position.kind)
        c.schedule[pid] = self._code("schedule", position.schedule)
        c.observed[pid] = micros(position.observed_at)
        c.accuracy[pid] = np.nan if position.accuracy_m is None else position.accuracy_m
        c.tree[pid] = tree
        self.count += 1

    def drop(self, position_id: int) -> tuple[int, float, float, int] | None:
        """Forget a position; return its (responder id, lat, lon, tree), or None if unknown."""
        c = self.columns
        if not 0 <= position_id < len(c) or c.responder[position_id] < 0:
            return None
        gone = (int(c.responder[position_id]), float(c.lat[position_id]),
                float(c.lon[position_id]), int(c.tree[position_id]))
        c.responder[position_id], c.tree[position_id] = -1, -1
        self.count -= 1
        return gone

    def fill(self, rows: PositionRows, tree_of: np.ndarray) -> np.ndarray:
        """Store many checked positions at once (into an empty table); return the live mask."""
        ids, c = rows.ids.astype(np.int64), self.columns
        kinds = np.array([self._code("kind", n) for n in rows.kind_names] or [0],
                         np.int16)[rows.kind_codes]
        schedules = np.array([self._code("schedule", n) for n in rows.schedule_names] + [-1],
                             np.int32)[rows.schedule_codes]  # -1 picks the last: none
        c.ensure(int(ids.max(initial=0)))
        c.responder[ids], c.lat[ids], c.lon[ids] = rows.responder_ids, rows.lat, rows.lon
        c.kind[ids], c.schedule[ids] = kinds, schedules
        c.observed[ids], c.accuracy[ids], c.tree[ids] = rows.observed_us, rows.accuracy_m, tree_of
        self.count = len(ids)
        return kinds == self._codes["kind"].get("live", -2)


def check_rows(rows: PositionRows) -> None:
    """Raise ValueError unless every row's coordinates are finite and in range."""
    if not (np.all(np.abs(rows.lat) <= 90) and np.all(np.abs(rows.lon) <= 180)):
        raise ValueError("coordinates out of range (or not finite) in the rows to load")


def check_change(change: PositionChange | ResponderChange, modes: dict[str, int]) -> None:
    """Raise ValueError when a change is malformed (unknown mode, wrong id, bad coordinates)."""
    if isinstance(change, ResponderChange):
        if change.mode not in modes:
            raise ValueError(f"change {change.seq} has unknown mode {change.mode!r}")
        if change.responder_id < 0:
            raise ValueError(f"change {change.seq} has a negative responder id")
        return
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
    if position.id < 0 or position.responder_id < 0:
        raise ValueError(f"change {change.seq} has a negative id")
    check_coordinates(position.lat, position.lon)
