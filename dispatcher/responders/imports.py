"""CSV and GeoJSON imports for the registry: write the good rows, report each bad one."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.domain import hours
from dispatcher.errors import InvalidPayload
from dispatcher.responders import registry
from dispatcher.store.models import Aed, Responder

BATCH = 500
Progress = Callable[[int], None]

# OSM access values under which anyone may take the AED.
PUBLIC_ACCESS = {"", "yes", "public", "permissive"}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one row: where, which field, and why."""

    line: int
    field: str
    reason: str
    written: bool  # True: the row was stored anyway (a warning); False: it was left out


@dataclass
class ImportReport:
    """What an import wrote and what it found wrong."""

    written: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        """Count the rows left out."""
        return len({p.line for p in self.problems if not p.written})


def _csv_rows(stream: IO[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (first line number, row) for each record; quoted fields may span lines."""
    reader = csv.DictReader(stream)
    _ = reader.fieldnames  # read the header first, so the first line number is right
    line = reader.line_num + 1
    for row in reader:
        yield line, {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        line = reader.line_num + 1


def _run(
    sessions: sessionmaker[Session],
    rows: Iterable[tuple[int, dict]],
    write: Callable,
    report: ImportReport,
    progress: Progress | None,
) -> ImportReport:
    """Write rows in batches, each in a savepoint, so one bad row never spoils the others."""
    session = sessions()
    try:
        for count, (line, row) in enumerate(rows, start=1):
            try:
                with session.begin_nested():
                    write(session, line, row)
                report.written += 1
            except InvalidPayload as exc:
                for name, reason in (exc.fields or {"": exc.message}).items():
                    report.problems.append(Problem(line, name, reason, written=False))
            if count % BATCH == 0:
                session.commit()
                if progress:
                    progress(count)
        session.commit()
    finally:
        session.close()
    return report


def import_volunteers(
    sessions: sessionmaker[Session],
    stream: IO[str],
    *,
    region: str,
    now: datetime,
    progress: Progress | None = None,
) -> ImportReport:
    """Import volunteers from CSV, updating those already registered under the same phone.

    Columns: phone, name, language, birth_year, cert_expires, travel_mode, and optional
    home_lat, home_lon, home_schedule, work_lat, work_lon, work_schedule (OSM hours syntax).
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
        for label, lat, lon, schedule in places:
            registry.put_place(
                session, responder, label=label, kind=label, lat=lat, lon=lon, schedule=schedule
            )

    return _run(sessions, _csv_rows(stream), write, report, progress)


def import_aeds_csv(
    sessions: sessionmaker[Session],
    stream: IO[str],
    *,
    now: datetime,
    progress: Progress | None = None,
) -> ImportReport:
    """Import AEDs from a CSV of OSM tags (lat, lon, name, opening_hours, access, ...)."""
    return _import_aeds(sessions, _csv_rows(stream), now=now, progress=progress)


def import_aeds_geojson(
    sessions: sessionmaker[Session],
    stream: IO[str],
    *,
    now: datetime,
    progress: Progress | None = None,
) -> ImportReport:
    """Import AEDs from an OSM GeoJSON export: Point features whose properties are OSM tags."""
    try:
        document = json.load(stream)
    except json.JSONDecodeError as exc:
        report = ImportReport()
        report.problems.append(Problem(exc.lineno, "", f"not JSON: {exc.msg}", written=False))
        return report
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, list):
        report = ImportReport()
        report.problems.append(Problem(1, "features", "not a FeatureCollection", written=False))
        return report

    def rows() -> Iterator[tuple[int, dict]]:
        for number, feature in enumerate(features, start=1):
            feature = feature if isinstance(feature, dict) else {}
            props = feature.get("properties")
            props = dict(props) if isinstance(props, dict) else {}
            geometry = feature.get("geometry")
            geometry = geometry if isinstance(geometry, dict) else {}
            coords = geometry.get("coordinates") if geometry.get("type") == "Point" else None
            if isinstance(coords, list) and len(coords) >= 2:
                props["lon"], props["lat"] = str(coords[0]), str(coords[1])
            else:
                props["lon"] = props["lat"] = ""
            props.setdefault("id", str(feature.get("id") or props.get("@id") or ""))
            yield number, {k: "" if v is None else str(v).strip() for k, v in props.items()}

    return _import_aeds(sessions, rows(), now=now, progress=progress)


def _import_aeds(
    sessions: sessionmaker[Session],
    rows: Iterable[tuple[int, dict]],
    *,
    now: datetime,
    progress: Progress | None,
) -> ImportReport:
    """Store AEDs from OSM-tag rows; unreadable opening hours are kept and reported as unknown."""
    report = ImportReport()

    def write(session: Session, line: int, row: dict) -> None:
        if not row.get("lat") or not row.get("lon"):
            raise InvalidPayload("no position", fields={"lat": "missing position"})
        lat, lon, _ = registry.check_place(row["lat"], row["lon"], None)
        source_ref = _osm_ref(row)
        oh = row.get("opening_hours") or None
        valid = None if oh is None else hours.is_valid(oh)
        if valid is False:
            report.problems.append(
                Problem(
                    line,
                    "opening_hours",
                    f"not OSM syntax, hours unknown: {hours.parse_error(oh)}",
                    written=True,
                )
            )
        aed = (
            session.scalars(select(Aed).where(Aed.source_ref == source_ref)).one_or_none()
            if source_ref
            else None
        )
        aed = aed or Aed(source_ref=source_ref, created_at=now)
        aed.updated_at = now
        aed.lat, aed.lon = lat, lon
        aed.name = (row.get("name") or row.get("operator") or "AED")[:200]
        aed.access_notes = " ".join(
            v
            for v in (
                row.get("defibrillator:location")
                or row.get("defibrillator:location:en")
                or row.get("defibrillator:location:de"),
                row.get("access:note"),
                row.get("description"),
            )
            if v
        )
        aed.opening_hours, aed.hours_valid = oh, valid
        aed.access = "public" if row.get("access", "").lower() in PUBLIC_ACCESS else "restricted"
        session.add(aed)
        session.flush()

    return _run(sessions, rows, write, report, progress)


def _osm_ref(row: dict) -> str | None:
    """Return a stable source reference such as "node/2450774413", when the row has one."""
    if row.get("id"):
        return row["id"][:80]
    if row.get("osm_type") and row.get("osm_id"):
        return f"{row['osm_type']}/{row['osm_id']}"
    return row.get("ref") or None
