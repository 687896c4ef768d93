"""Volunteer imports from CSV: write the good rows, report each bad one."""

from __future__ import annotations

from datetime import datetime
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.errors import InvalidPayload
from dispatcher.responders import registry
from dispatcher.store.batches import ImportReport, Progress, csv_rows, write_rows
from dispatcher.store.models import Responder


def import_volunteers(
    sessions: sessionmaker[Session],
    stream: IO[str],
    *,
    region: str,
    now: datetime,
    owner_id: int | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import volunteers from CSV, updating those already registered under the same phone.

    Columns: phone, name, language, birth_year, cert_expires, travel_mode, and optional
    home_lat, home_lon, home_schedule, work_lat, work_lon, work_schedule (OSM hours syntax).
    With `owner_id`, every volunteer written is registered by that client, which alone may
    then report their positions; without it, a volunteer already registered keeps their owner.
    """
    report = ImportReport()

    def write(session: Session, line: int, row: dict) -> None:
        fields: dict[str, str] = {}
        data = None
        try:
            data = registry.check_volunteer(
                phone=row.get("phone", ""),
                name=row.get("name", ""),
                language=row.get("language", "en"),
                birth_year=row.get("birth_year", ""),
                cert_expires=row.get("cert_expires", ""),
                travel_mode=row.get("travel_mode", "walk"),
                region=region,
                today=now.date(),
            )
        except InvalidPayload as exc:
            fields.update(exc.fields)
        places = []
        for label in ("home", "work"):
            lat, lon = row.get(f"{label}_lat", ""), row.get(f"{label}_lon", "")
            if lat or lon:
                try:
                    checked = registry.check_place(lat, lon, row.get(f"{label}_schedule"))
                    places.append((label, *checked))
                except InvalidPayload as exc:
                    fields.update({f"{label}_{k}": v for k, v in exc.fields.items()})
        if fields or data is None:
            # Every problem of the row at once, so one pass over the file fixes it.
            raise InvalidPayload("invalid volunteer row", fields=fields)
        responder = session.scalars(
            select(Responder).where(Responder.phone == data.phone)
        ).one_or_none()
        if responder is None:
            responder = registry.add_volunteer(session, data, now)
        else:
            for name in ("name", "language", "birth_year", "cert_expires", "travel_mode"):
                setattr(responder, name, getattr(data, name))
            responder.updated_at = now
        if owner_id is not None:
            responder.owner_id = owner_id
        for label, lat, lon, schedule in places:
            registry.put_place(
                session, responder, label=label, kind=label, lat=lat, lon=lon, schedule=schedule
            )

    return write_rows(sessions, csv_rows(stream), write, report, progress)
