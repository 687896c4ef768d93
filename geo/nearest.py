"""Responders within a radius, each once at their nearest usable position."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from geo.distance import check_coordinates
from geo.positions import Position, ResponderHit

if TYPE_CHECKING:
    from geo.responders import ResponderIndex

__all__ = ["nearest_responders"]


def nearest_responders(
    index: ResponderIndex,
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
    check_coordinates(lat, lon)
    if radius_m < 0:
        raise ValueError(f"radius must be finite and non-negative, got {radius_m}")
    with index.lock:
        rings = sorted(hit for mode in index.modes
                       for hit in index.ring(lat, lon, mode, radius_m))
        found = [(index.position(key), distance) for distance, key, _ in rings]
    if limit == 0:
        return []
    best: list[ResponderHit] = []
    seen: set[int] = set()
    # Nearest first: a responder's first usable position is their nearest. Past
    # `limit` responders, only hits as near as the last one can change the answer.
    for position, distance in found:
        if limit is not None and len(best) >= limit and distance > best[limit - 1].distance_m:
            break
        if position.responder_id in seen or not usable(position):
            continue
        seen.add(position.responder_id)
        best.append(ResponderHit(position.responder_id, position, distance))
    best.sort(key=lambda hit: (hit.distance_m, hit.responder_id))
    return best if limit is None else best[:limit]

