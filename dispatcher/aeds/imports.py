"""AED imports from OpenStreetMap (CSV of tags or GeoJSON): every AED with a position is kept."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.domain import hours
from dispatcher.domain.coordinates import read_point
from dispatcher.errors import InvalidPayload
from dispatcher.store.batches import ImportReport, Problem, Progress, csv_rows, write_rows
from dispatcher.store.models import Aed
from geo import polygon_shape

# OSM access values under which anyone may take the AED.
PUBLIC_ACCESS = {"", "yes", "public", "permissive"}


def import_aeds_csv(
    sessions: sessionmaker[Session],
    stream: IO[str],
    *,
    now: datetime,
    progress: Progress | None = None,
) -> ImportReport:
    """Import AEDs from a CSV of OSM tags (lat, lon, name, opening_hours, access, ...)."""
    return _import_aeds(sessions, csv_rows(stream), now=now, progress=progress)


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

    report = ImportReport()

    def rows() -> Iterator[tuple[int, dict]]:
        for number, feature in enumerate(features, start=1):
            feature = feature if isinstance(feature, dict) else {}
            props = feature.get("properties")
            props = dict(props) if isinstance(props, dict) else {}
            geometry = feature.get("geometry")
            geometry = geometry if isinstance(geometry, dict) else {}
            coords = geometry.get("coordinates") if geometry.get("type") == "Point" else None
            props["lon"] = props["lat"] = ""
            if isinstance(coords, list) and len(coords) >= 2:
                props["lon"], props["lat"] = str(coords[0]), str(coords[1])
            elif geometry.get("type") in ("Polygon", "MultiPolygon"):
                props.update(_inside(number, geometry, report))
            props.setdefault("id", str(feature.get("id") or props.get("@id") or ""))
            yield number, {k: "" if v is None else str(v).strip() for k, v in props.items()}

    return _import_aeds(sessions, rows(), now=now, progress=progress, report=report)


def _inside(line: int, geometry: dict, report: ImportReport) -> dict[str, str]:
    """Return a position inside an AED mapped as an outline, reporting that it was moved."""
    try:
        point = polygon_shape(geometry).representative_point()
    except ValueError as exc:
        report.problems.append(Problem(line, "geometry", f"unusable outline: {exc}",
                                       written=False))
        return {}
    report.problems.append(Problem(line, "geometry", f"{geometry['type']}: placed at a point "
                                   "inside it", written=True))
    return {"lat": str(round(point.y, 7)), "lon": str(round(point.x, 7))}


def _import_aeds(
    sessions: sessionmaker[Session],
    rows: Iterable[tuple[int, dict]],
    *,
    now: datetime,
    progress: Progress | None,
    report: ImportReport | None = None,
) -> ImportReport:
    """Store AEDs from OSM-tag rows; unreadable opening hours are kept and reported as unknown."""
    report = report or ImportReport()

    def write(session: Session, line: int, row: dict) -> None:
        if not row.get("lat") or not row.get("lon"):
            raise InvalidPayload("no position", fields={"lat": "missing position"})
        lat, lon = read_point(row["lat"], row["lon"])
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
        for warning in hours.warnings(oh) if valid else []:
            report.problems.append(Problem(line, "opening_hours", warning, written=True))
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
        report.without_hours += oh is None

    return write_rows(sessions, rows, write, report, progress)


def _osm_ref(row: dict) -> str | None:
    """Return a stable source reference such as "node/2450774413", when the row has one."""
    if row.get("id"):
        return row["id"][:80]
    if row.get("osm_type") and row.get("osm_id"):
        return f"{row['osm_type']}/{row['osm_id']}"
    return row.get("ref") or None
