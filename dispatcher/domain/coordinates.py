"""Coordinates read from outside text: finite numbers on the globe, or a field that says why."""

from __future__ import annotations

import math

from dispatcher.errors import InvalidPayload


def read_coordinate(value: object, bound: float, name: str, fields: dict[str, str]) -> float:
    """Read one coordinate, noting in `fields` why it is not a finite number within bounds."""
    try:
        number = float(str(value).strip())
    except ValueError:
        fields[name] = "a number"
        return 0.0
    if not math.isfinite(number) or not -bound <= number <= bound:
        fields[name] = f"a number between -{bound} and {bound}"
    return number


def read_point(lat: object, lon: object) -> tuple[float, float]:
    """Read a latitude and a longitude; raise InvalidPayload naming each one that is wrong."""
    fields: dict[str, str] = {}
    point = read_coordinate(lat, 90, "lat", fields), read_coordinate(lon, 180, "lon", fields)
    if fields:
        raise InvalidPayload("invalid position", fields=fields)
    return point
