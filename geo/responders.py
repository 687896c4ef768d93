"""The in-process spatial index of responder positions.

The database numbers every write, deletes included, with a change sequence.
Each process keeps a `ResponderIndex`, loads it in bulk, then applies the
changes numbered above `last_seq`. This module knows nothing of the database.

Positions are kept as numpy columns indexed by position id, and in one
rtree per travel mode, so that a search can walk each mode outwards on its
own: a car two kilometres away may arrive before a walker at four hundred
metres, and neither search has to list everybody in between.
"""

import threading
from collections.abc import Callable, Iterable, Sequence

import numpy as np
from rtree import index as rtree_index

from geo import nearest
from geo import positions as stored
from geo.columns import Columns, PositionRows
from geo.distance import haversine_m, haversine_m_array, radius_bboxes
from geo.eta import SPEED_MPS
from geo.positions import Position, PositionChange, ResponderChange, ResponderHit

__all__ = ["Position", "PositionChange", "ResponderChange", "ResponderHit", "ResponderIndex"]

_LIVE = "live"
# A numpy distance is only a filter: survivors are measured again with `haversine_m`,
# so this margin only has to cover the difference between two float computations.
_MARGIN = 1e-6


def _properties() -> rtree_index.Property:
    # Points move all the time: a move takes up to 14 ms at p99 on a bulk-loaded tree with
    # default properties, about 0.1 ms with quadratic splits and a low fill factor.
    return rtree_index.Property(variant=rtree_index.RT_Quadratic, fill_factor=0.1)


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

    def __init__(self, modes: Sequence[str] = tuple(SPEED_MPS)) -> None:
        self.modes = tuple(modes)
        self._mode_code = {mode: code for code, mode in enumerate(self.modes)}
        # Re-entrant: a caller may hold it across several reads for one consistent view.
        self.lock = self._lock = threading.RLock()
        self.updating = threading.Lock()  # held by the one thread catching up with the data
        self._reset()

    def advance(self, seq: int) -> None:
        """Note that every change up to `seq` has been seen (numbers no row kept any more)."""
        self.last_seq = max(self.last_seq, seq)

    def _reset(self) -> None:
        self.last_seq = 0
        self._table = stored.PositionTable(self._table if hasattr(self, "_table") else None)
        self._pos = self._table.columns
        self._resp = Columns({"mode": (np.int8, 0), "live": (np.int64, -1)})
        self._trees = [rtree_index.Index(properties=_properties()) for _ in self.modes]

    def __len__(self) -> int:
        """Return the number of indexed positions."""
        with self._lock:
            return self._table.count

    def position(self, position_id: int) -> Position | None:
        """Return the indexed position with this id, or None."""
        with self._lock:
            return self._position(position_id)

    def live_position(self, responder_id: int) -> Position | None:
        """Return the responder's live position, or None when none is indexed."""
        with self._lock:
            if not 0 <= responder_id < len(self._resp) or self._resp.live[responder_id] < 0:
                return None
            return self._position(int(self._resp.live[responder_id]))

    def mode_of(self, responder_id: int) -> str:
        """Return the travel mode a responder is searched by (the first mode until told)."""
        with self._lock:
            if not 0 <= responder_id < len(self._resp):
                return self.modes[0]
            return self.modes[self._resp.mode[responder_id]]

    def apply(self, changes: Iterable[PositionChange | ResponderChange]) -> int:
        """Apply changes in sequence order and return how many were new.

        A change numbered at or below `last_seq` has been applied before and
        is skipped, so a batch can safely be applied twice. A deletion of a
        position that is not indexed still counts and advances `last_seq`.
        If a responder gets a second live position, the one applied last is
        their live position. A responder's new travel mode moves their
        positions to that mode's search.

        Raises
        ------
        ValueError
            If a change is malformed; nothing of the batch is applied then.
        """
        batch = sorted(changes, key=lambda change: change.seq)
        for change in batch:
            stored.check_change(change, self._mode_code)
        applied = 0
        with self._lock:
            remoded: set[int] = set()
            for change in batch:
                if change.seq <= self.last_seq:
                    continue
                if isinstance(change, ResponderChange):
                    if self._set_mode(change.responder_id, self._mode_code[change.mode]):
                        remoded.add(change.responder_id)
                elif change.deleted:
                    self._remove(change.position_id)
                else:
                    self._upsert(change.position)
                self.last_seq = change.seq
                applied += 1
            if remoded:
                self._regroup(remoded)
        return applied

    def load(
        self, rows: PositionRows, responder_ids: np.ndarray, modes: np.ndarray, last_seq: int,
    ) -> None:
        """Replace everything with a whole registry at once (rtree's bulk loader).

        `modes[i]` is responder `responder_ids[i]`'s travel mode, an index into `self.modes`;
        `last_seq` is the change sequence number the rows are current to."""
        codes = np.asarray(modes, dtype=np.int8)
        if len(codes) and not 0 <= codes.min() <= codes.max() < len(self.modes):
            raise ValueError("a travel mode outside this index's modes in the rows to load")
        stored.check_rows(rows)
        # Built aside, then swapped in: searches go on against the old state meanwhile.
        table = stored.PositionTable(self._table)
        top = int(max(responder_ids.max(initial=-1), rows.responder_ids.max(initial=-1)))
        resp = Columns(self._resp._spec, max(top, 0) + 1)
        resp.mode[responder_ids] = codes
        tree_of = resp.mode[rows.responder_ids]
        live = table.fill(rows, tree_of)
        resp.live[rows.responder_ids[live]] = rows.ids[live]
        trees = [rtree_index.Index(properties=_properties()) for _ in self.modes]
        for code in range(len(self.modes)):
            mine = rows.ids[tree_of == code].astype(np.int64)
            if len(mine):
                corners = np.column_stack([rows.lon[tree_of == code], rows.lat[tree_of == code]])
                trees[code] = rtree_index.Index((mine, corners, corners), properties=_properties())
        with self._lock:
            self._table, self._pos, self._resp, self._trees = table, table.columns, resp, trees
            self.last_seq = last_seq

    def ring(
        self, lat: float, lon: float, mode: str, within_m: float, beyond_m: float = -1.0,
        usable: Callable[[stored.Found], np.ndarray] | None = None, positions: bool = False,
    ) -> list[tuple]:
        """Return (distance_m, position id, responder id) of one mode's positions in a ring.

        The ring holds positions more than `beyond_m` and at most `within_m` metres from
        (lat, lon), by `haversine_m` exactly; the list is sorted by distance, then id.
        `usable`, given the positions found as columns, may leave some out (a mask);
        with `positions`, each tuple ends with the `Position` itself.
        """
        boxes = radius_bboxes(lat, lon, within_m)
        tree = self._trees[self._mode_code[mode]]
        with self._lock:
            found = [np.fromiter(tree.intersection(box), np.int64) for box in boxes]
            keys = found[0] if len(found) == 1 else np.unique(np.concatenate(found))
            rough = haversine_m_array(lat, lon, self._pos.lat[keys], self._pos.lon[keys])
            keys = keys[(rough <= within_m + _MARGIN) & (rough > beyond_m - _MARGIN)]
            rows = self._table.found(keys, self._resp.live)
        if usable is not None and len(keys):
            rows = rows.where(usable(rows))
        hits = []
        for i, (key, key_lat, key_lon) in enumerate(zip(
                rows.ids.tolist(), rows.lat.tolist(), rows.lon.tolist(), strict=True)):
            distance = haversine_m(lat, lon, key_lat, key_lon)
            if beyond_m < distance <= within_m:
                hits.append((distance, key, i))
        hits.sort()
        return [(d, key, *rows.row(i, positions)) for d, key, i in hits]

    def reach_of(self, lat: float, lon: float, mode: str, k: int) -> float:
        """Guess how far one must go for k of a mode's positions, from how many lie near."""
        tree = self._trees[self._mode_code[mode]]
        for radius in (50.0 * 2**step for step in range(9)):  # a count costs what it finds
            with self._lock:
                count = sum(tree.count(box) for box in radius_bboxes(lat, lon, radius))
            if count >= k:
                break
        # In a square of side 2r the count grows with r squared.
        return radius * (k / count) ** 0.5 if count else float("inf")

    def nearest_responders(
        self, lat: float, lon: float, radius_m: float,
        usable: Callable[[Position], bool] = lambda position: True, limit: int | None = None,
    ) -> list[ResponderHit]:
        """Return responders within radius_m metres at their nearest usable position.

        See `geo.nearest.nearest_responders`, which this calls.
        """
        return nearest.nearest_responders(self, lat, lon, radius_m, usable, limit)

    # --- inside the lock ------------------------------------------------------------

    def _position(self, position_id: int) -> Position | None:
        return self._table.get(position_id)

    def _upsert(self, position: Position) -> None:
        self._remove(position.id)
        rid = position.responder_id
        self._resp.ensure(rid)
        tree = int(self._resp.mode[rid])
        self._table.put(position, tree)
        self._trees[tree].insert(position.id, _box(position.lat, position.lon))
        if position.kind == _LIVE:  # rebuilt from the row: it may change kind or owner
            self._resp.live[rid] = position.id

    def _remove(self, position_id: int) -> None:
        gone = self._table.drop(position_id)
        if gone is None:
            return
        rid, lat, lon, tree = gone
        self._trees[tree].delete(position_id, _box(lat, lon))
        if self._resp.live[rid] == position_id:
            self._resp.live[rid] = -1

    def _set_mode(self, responder_id: int, code: int) -> bool:
        self._resp.ensure(responder_id)
        changed, self._resp.mode[responder_id] = self._resp.mode[responder_id] != code, code
        return bool(changed)

    def _regroup(self, responder_ids: set[int]) -> None:
        """Move the positions of responders whose mode changed into their mode's tree."""
        pos = self._pos
        moved = np.flatnonzero(np.isin(pos.responder, np.fromiter(responder_ids, np.int64)))
        for pid in moved.tolist():
            want = int(self._resp.mode[pos.responder[pid]])
            if pos.tree[pid] != want:
                box = _box(float(pos.lat[pid]), float(pos.lon[pid]))
                self._trees[pos.tree[pid]].delete(pid, box)
                self._trees[want].insert(pid, box)
                pos.tree[pid] = want


def _box(lat: float, lon: float) -> tuple[float, float, float, float]:
    return (lon, lat, lon, lat)
