"""This process's index of AEDs, reloaded whenever the AED table changes."""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatcher.domain import hours
from dispatcher.domain.roles import AedOption, AedRecord
from dispatcher.store.models import Aed
from geo import PointIndex


class AedDirectory:
    """The AEDs in an rtree, rebuilt when their count or newest change moves.

    AEDs change rarely (imports, corrections), so a whole reload on change is simpler and
    cheaper than a change log; the check before each use is one aggregate query.

    Hours are read with the public holidays of `region` (a country code such as "SE"), or of
    the country at each AED's position when it is None, and with sunrise and sunset there.
    """

    def __init__(self, region: str | None = None) -> None:
        self.region = region or None
        self._lock = threading.Lock()
        self._version: tuple | None = None
        self._index = PointIndex()
        self._records: dict[int, AedRecord] = {}

    def sync(self, session: Session) -> None:
        """Reload the AEDs if the table changed since the last look."""
        version = tuple(
            session.execute(
                select(func.count(Aed.id), func.max(Aed.id), func.max(Aed.updated_at))
            ).one()
        )
        if version == self._version:
            return
        index, records = PointIndex(), {}
        for aed in session.scalars(select(Aed)):
            index.upsert(aed.id, aed.lat, aed.lon)
            records[aed.id] = AedRecord(
                aed.id, aed.name, aed.lat, aed.lon, aed.access_notes, aed.opening_hours,
                aed.access == "public",
            )
        with self._lock:
            self._index, self._records, self._version = index, records, version

    def get(self, aed_id: int) -> AedRecord | None:
        """Return one AED as last loaded."""
        return self._records.get(aed_id)

    def open_near(
        self, session: Session, lat: float, lon: float, radius_m: float, local_now: datetime
    ) -> list[AedOption]:
        """Return the public AEDs within the radius that are certainly open at the local time.

        An AED without hours, or whose hours cannot be read, counts as closed: sending a
        volunteer to a locked door costs the patient minutes.
        """
        self.sync(session)
        with self._lock:
            hits = self._index.within(lat, lon, radius_m)
            records = [self._records[h.key] for h in hits]
        return [
            AedOption(r.id, r.lat, r.lon)
            for r in records
            if r.public
            and r.opening_hours is not None
            and hours.is_open(r.opening_hours, local_now, region=self.region,
                              coords=(r.lat, r.lon)) is True
        ]
