"""The volunteer registry: volunteers, their places and live positions, and the change sequence."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatcher.domain import hours
from dispatcher.domain.coordinates import read_coordinate
from dispatcher.domain.templates import LANGUAGES
from dispatcher.errors import InvalidPayload
from dispatcher.responders import live
from dispatcher.store import sequence
from dispatcher.store.models import Position, Responder

TRAVEL_MODES = ("walk", "bike", "car")
PLACE_KINDS = ("home", "work", "place")
_REF_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O or 1/I to misread


def normalise_phone(raw: str, region: str) -> str:
    """Return a phone number in E.164, or raise InvalidPayload naming the phone field."""
    try:
        number = phonenumbers.parse(str(raw), region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPayload("invalid phone number", fields={"phone": str(exc)}) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPayload("invalid phone number", fields={"phone": "not a valid number"})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def new_ref() -> str:
    """Return a fresh opaque public reference for a volunteer, such as "R7KQ2M9X"."""
    return "R" + "".join(secrets.choice(_REF_ALPHABET) for _ in range(7))


def next_seq(session: Session) -> int:
    """Take the next number of the change sequence (locks the counter until commit)."""
    return sequence.take(session.connection())


@dataclass(frozen=True)
class VolunteerData:
    """A volunteer as the registry takes it in: checked, with the phone in E.164."""

    phone: str
    name: str
    language: str
    birth_year: int
    cert_expires: date
    travel_mode: str = "walk"
    status: str = "active"


def check_volunteer(
    *, phone: str, name: str, language: str, birth_year: object, cert_expires: object,
    travel_mode: str = "walk", region: str, today: date,
) -> VolunteerData:
    """Check one volunteer's fields; raise InvalidPayload naming every bad field."""
    fields: dict[str, str] = {}
    try:
        phone = normalise_phone(phone, region)
    except InvalidPayload as exc:
        fields.update(exc.fields)
    if not str(name).strip():
        fields["name"] = "required"
    language = str(language or "en").strip().lower()
    if language not in LANGUAGES:
        fields["language"] = f"one of {', '.join(LANGUAGES)}"
    try:
        birth_year = int(str(birth_year))
        if not 1900 <= birth_year <= today.year:
            raise ValueError
    except ValueError:
        fields["birth_year"] = f"a year between 1900 and {today.year}"
    try:
        if not isinstance(cert_expires, date):
            cert_expires = date.fromisoformat(str(cert_expires).strip())
    except ValueError:
        fields["cert_expires"] = "a date as YYYY-MM-DD"
    travel_mode = str(travel_mode or "walk").strip().lower()
    if travel_mode not in TRAVEL_MODES:
        fields["travel_mode"] = f"one of {', '.join(TRAVEL_MODES)}"
    if fields:
        raise InvalidPayload("invalid volunteer", fields=fields)
    return VolunteerData(phone, str(name).strip(), language, birth_year, cert_expires, travel_mode)


def check_place(lat: object, lon: object, schedule: str | None) -> tuple[float, float, str | None]:
    """Check a place's coordinates and OSM-style schedule; raise InvalidPayload when bad."""
    fields: dict[str, str] = {}
    lat_f = read_coordinate(lat, 90, "lat", fields)
    lon_f = read_coordinate(lon, 180, "lon", fields)
    schedule = (schedule or "").strip() or None
    if schedule and (error := hours.parse_error(schedule)):
        fields["schedule"] = f"not OSM opening_hours syntax: {error}"
    if fields:
        raise InvalidPayload("invalid place", fields=fields)
    return lat_f, lon_f, schedule


def add_volunteer(session: Session, data: VolunteerData, now: datetime) -> Responder:
    """Store a new volunteer with a fresh public reference."""
    responder = Responder(
        ref=new_ref(), phone=data.phone, name=data.name, language=data.language,
        birth_year=data.birth_year, cert_expires=data.cert_expires, status=data.status,
        travel_mode=data.travel_mode, created_at=now, updated_at=now,
    )
    session.add(responder)
    session.flush()
    return responder


def put_place(
    session: Session, responder: Responder, *, label: str, kind: str, lat: float, lon: float,
    schedule: str | None = None,
) -> Position:
    """Add or move one of a volunteer's registered places; the spatial index picks it up."""
    if kind not in PLACE_KINDS:
        raise InvalidPayload("invalid place", fields={"kind": f"one of {', '.join(PLACE_KINDS)}"})
    lat, lon, schedule = check_place(lat, lon, schedule)
    return _write_position(
        session, responder, label=label, kind=kind, lat=lat, lon=lon, schedule=schedule
    )


def put_live_position(
    session: Session, responder: Responder, *, lat: float, lon: float,
    accuracy_m: float | None, at: datetime,
) -> bool:
    """Store a live position unless a newer one is already known; tell whether it was applied."""
    report = live.LiveReport(responder.ref, lat, lon, accuracy_m, at)
    return live.write(session, [report], owner_id=None).get(responder.ref, False)


def remove_position(session: Session, position: Position) -> None:
    """Delete a position, leaving a tombstone so every index removes it too."""
    seq = next_seq(session)  # the counter before the row: see _write_position
    position.deleted, position.seq = True, seq


def _write_position(
    session: Session, responder: Responder, *, label: str, kind: str, lat: float, lon: float,
    schedule: str | None = None, accuracy_m: float | None = None,
    observed_at: datetime | None = None, existing: Position | None = None,
) -> Position:
    """Insert or overwrite a position row with the next change sequence number."""
    # Every writer locks the counter before any position row (live.write does too), so two
    # writers never wait for each other the other way round.
    seq = next_seq(session)
    if existing is None:
        existing = session.scalars(
            select(Position).where(Position.responder_id == responder.id, Position.label == label)
        ).one_or_none()
    position = existing or Position(responder_id=responder.id, label=label)
    position.kind, position.lat, position.lon = kind, lat, lon
    position.schedule, position.accuracy_m, position.observed_at = schedule, accuracy_m, observed_at
    position.deleted = False
    position.seq = seq
    session.add(position)
    session.flush()
    return position
