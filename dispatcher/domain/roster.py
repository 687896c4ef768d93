"""What a search may rule out about volunteers without asking the database: the static rules.

Status, pause, age and certificate change rarely; they are kept per volunteer in columns
(indexed by volunteer id) that each process updates from the change sequence. A search uses
them only to judge how many of the volunteers it has found are worth asking the database
about; every volunteer it alerts is checked again, in full, against the database.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from dispatcher.domain.policy import Policy
from geo.columns import NO_TIME, Columns, micros

ACTIVE = "active"


@dataclass(frozen=True)
class StaticRow:
    """One volunteer's static fields, as read from the registry."""

    id: int
    status: str
    paused_until: datetime | None
    birth_year: int
    cert_expires: date
    seq: int = 0


class Roster:
    """The static eligibility of every volunteer, by id. Safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._columns = Columns({
            "known": (np.bool_, False), "active": (np.bool_, False),
            "paused_until": (np.int64, NO_TIME), "birth_year": (np.int16, 0),
            "cert_expires": (np.int32, 0), "seq": (np.int64, -1),
        })

    def update(self, rows: list[StaticRow]) -> None:
        """Take in changed volunteers (a row older than the one held is ignored)."""
        with self._lock:
            for row in rows:
                self._columns.ensure(row.id)
                c = self._columns
                if c.seq[row.id] > row.seq:
                    continue
                c.seq[row.id] = row.seq
                c.known[row.id], c.active[row.id] = True, row.status == ACTIVE
                c.paused_until[row.id] = micros(row.paused_until)
                c.birth_year[row.id] = row.birth_year
                c.cert_expires[row.id] = row.cert_expires.toordinal()

    def load(self, ids: np.ndarray, active: np.ndarray, paused_until_us: np.ndarray,
             birth_year: np.ndarray, cert_ordinal: np.ndarray, seq: np.ndarray) -> None:
        """Replace everything with a whole registry at once."""
        columns = Columns(self._columns._spec, int(ids.max(initial=-1)) + 1)
        columns.known[ids], columns.active[ids], columns.seq[ids] = True, active, seq
        columns.paused_until[ids], columns.birth_year[ids] = paused_until_us, birth_year
        columns.cert_expires[ids] = cert_ordinal
        with self._lock:
            self._columns = columns

    def may_be_eligible(self, responder_ids: list[int], policy: Policy, *, on: date,
                        now: datetime) -> list[bool]:
        """Tell, for each volunteer, whether the static rules leave them eligible.

        The same rules as `policy.ineligibility` for these fields; an unknown volunteer is
        given the benefit of the doubt (the database decides).
        """
        if not responder_ids:
            return []
        ids = np.asarray(responder_ids, dtype=np.int64)
        with self._lock:
            c = self._columns
            if not len(c):
                return [True] * len(ids)
            inside = ids < len(c)
            safe = np.where(inside, ids, 0)
            known = inside & c.known[safe]
            ok = (c.active[safe]
                  & ((c.paused_until[safe] == NO_TIME) | (c.paused_until[safe] <= micros(now)))
                  & (on.year - c.birth_year[safe].astype(np.int64) - 1 >= policy.min_age)
                  & (c.cert_expires[safe] >= on.toordinal()))
        return (~known | ok).tolist()
