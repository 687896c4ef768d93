"""Growable numpy columns keyed by small integer ids, and the bulk rows they are loaded from.

A registry of a million positions kept as a million Python objects costs hundreds of
megabytes and long garbage-collector pauses. Kept as a few arrays indexed by the row's own
integer id, it costs tens of megabytes and nothing for the collector to walk.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

__all__ = ["NO_TIME", "Columns", "PositionRows", "encode", "micros"]

NO_TIME = np.iinfo(np.int64).min
"""The value of a time column (microseconds since the epoch) that holds no time."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(at: datetime | None) -> int:
    """Return an aware (or naive UTC) time as exact microseconds since the epoch; None: NO_TIME.

    >>> micros(datetime(1970, 1, 1, 0, 0, 1, 5, tzinfo=UTC)), micros(None) == NO_TIME
    (1000005, True)
    """
    if at is None:
        return int(NO_TIME)
    delta = (at if at.tzinfo else at.replace(tzinfo=UTC)) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class Columns:
    """Named numpy arrays of one length, indexed by id, grown as larger ids arrive.

    Examples
    --------
    >>> columns = Columns({"x": (np.float64, np.nan), "n": (np.int32, -1)})
    >>> columns.ensure(5)
    >>> columns.x[5] = 1.5
    >>> len(columns) >= 6, float(columns.x[5]), int(columns.n[5])
    (True, 1.5, -1)
    """

    def __init__(self, spec: dict[str, tuple[type, object]], size: int = 0) -> None:
        self._spec = spec
        for name, (dtype, empty) in spec.items():
            setattr(self, name, np.full(size, empty, dtype=dtype))
        self._size = size

    def __len__(self) -> int:
        """Return how many ids the columns can hold."""
        return self._size

    def ensure(self, key: int) -> None:
        """Grow every column so that `key` is a valid index."""
        if key < self._size:
            return
        if key < 0:
            raise ValueError(f"ids must be non-negative, got {key}")
        size = max(key + 1, int(self._size * 1.5) + 16)
        for name, (dtype, empty) in self._spec.items():
            old = getattr(self, name)
            new = np.full(size, empty, dtype=dtype)
            new[: self._size] = old
            setattr(self, name, new)
        self._size = size


@dataclass(frozen=True)
class PositionRows:
    """Many positions at once, as arrays, for a bulk load.

    Kinds and schedules are numbered: `kind_codes[i]` indexes `kind_names`, and
    `schedule_codes[i]` indexes `schedule_names` (-1: no schedule). `observed_us` holds
    microseconds since the epoch, or `NO_TIME`; `accuracy_m` holds NaN for none.
    """

    ids: np.ndarray
    responder_ids: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    kind_codes: np.ndarray
    kind_names: list[str]
    schedule_codes: np.ndarray
    schedule_names: list[str]
    observed_us: np.ndarray
    accuracy_m: np.ndarray

    def __len__(self) -> int:
        """Return the number of rows."""
        return len(self.ids)


def encode(values: list[str | None], names: list[str], codes: dict[str, int]) -> np.ndarray:
    """Number strings (None is -1), adding new ones to `names` and `codes`; return the codes.

    >>> names, codes = [], {}
    >>> encode(["home", None, "work", "home"], names, codes).tolist(), names
    ([0, -1, 1, 0], ['home', 'work'])
    """
    out = np.empty(len(values), np.int32)
    for i, value in enumerate(values):
        if value is None:
            out[i] = -1
            continue
        code = codes.get(value)
        if code is None:
            code = codes[value] = len(names)
            names.append(value)
        out[i] = code
    return out
