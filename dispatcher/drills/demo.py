"""Synthetic demo data from a seeded generator: volunteers and AEDs around a city centre."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatcher.responders import registry
from dispatcher.store.models import Aed, Responder

# Stockholm, Sergels torg.
CENTRE = (59.3326, 18.0649)
FIRST = ["Anna", "Erik", "Maria", "Lars", "Sara", "Johan", "Emma", "Karl", "Ida", "Nils", "Lea",
         "Omar", "Aisha", "Mikko", "Sophie", "Jan", "Eva", "Ali", "Linnea", "Hugo"]
LAST = ["Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson",
        "Persson", "Svensson", "Gustafsson", "Virtanen", "de Vries", "Martin", "Schmidt"]
LANGUAGES = ["sv"] * 7 + ["en"] * 2 + ["fi", "de", "nl", "fr"]
MODES = ["walk"] * 6 + ["bike"] * 3 + ["car"]
HOURS = ["24/7"] * 4 + ["Mo-Fr 08:00-18:00", "Mo-Fr 07:00-22:00; Sa-Su 10:00-18:00",
                       "Mo-Su 06:00-23:00", "Mo-Fr 09:00-17:00"]
AED_PLACES = ["Station", "Gym", "School", "Library", "Pharmacy", "Shopping centre", "Church",
              "Office", "Hotel", "Sports hall"]


@dataclass(frozen=True)
class DemoSummary:
    """How much demo data was written."""

    volunteers: int
    aeds: int


def _scatter(rng: random.Random, spread_m: float) -> tuple[float, float]:
    """Draw a point around the centre, denser near the middle, as people are in a city."""
    r = spread_m * math.sqrt(rng.random()) * rng.choice([0.4, 0.7, 1.0])
    theta = rng.random() * 2 * math.pi
    lat = CENTRE[0] + (r * math.cos(theta)) / 111_195
    lon = CENTRE[1] + (r * math.sin(theta)) / (111_195 * math.cos(math.radians(CENTRE[0])))
    return round(lat, 6), round(lon, 6)


def is_empty(session: Session) -> bool:
    """Tell whether the registry has no volunteers yet."""
    return session.scalar(select(func.count()).select_from(Responder)) == 0


def seed(
    session: Session, now: datetime, *, volunteers: int = 3000, aeds: int = 300, seed: int = 42,
    spread_m: float = 6000,
) -> DemoSummary:
    """Write synthetic volunteers (with home, work and some live positions) and AEDs."""
    rng = random.Random(seed)
    today = now.date()
    phones: set[str] = set()
    for i in range(volunteers):
        phone = f"+4670{rng.randrange(10**7):07d}"
        while phone in phones:
            phone = f"+4670{rng.randrange(10**7):07d}"
        phones.add(phone)
        data = registry.VolunteerData(
            phone=phone, name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            language=rng.choice(LANGUAGES), birth_year=rng.randint(1950, 2005),
            cert_expires=today + timedelta(days=rng.randint(-120, 730)),
            travel_mode=rng.choice(MODES),
        )
        responder = registry.add_volunteer(session, data, now)
        lat, lon = _scatter(rng, spread_m)
        registry.put_place(session, responder, label="home", kind="home", lat=lat, lon=lon,
                           schedule="Mo-Fr 17:00-24:00,00:00-08:00; Sa-Su 00:00-24:00")
        lat, lon = _scatter(rng, spread_m * 0.6)
        registry.put_place(session, responder, label="work", kind="work", lat=lat, lon=lon,
                           schedule="Mo-Fr 08:00-17:00")
        if i % 10 == 0:
            lat, lon = _scatter(rng, spread_m * 0.5)
            registry.put_live_position(session, responder, lat=lat, lon=lon, accuracy_m=15,
                                       at=now - timedelta(minutes=rng.randint(0, 30)))
    for i in range(aeds):
        lat, lon = _scatter(rng, spread_m)
        place = rng.choice(AED_PLACES)
        session.add(Aed(
            source_ref=f"demo-{i}", name=f"{place} {i + 1}", lat=lat, lon=lon,
            access_notes=f"By the main entrance of the {place.lower()}",
            opening_hours=rng.choice(HOURS), hours_valid=True, access="public",
            created_at=now, updated_at=now,
        ))
    session.flush()
    return DemoSummary(volunteers, aeds)


def demo_incident(rng: random.Random, now: datetime, external_id: str | None = None) -> dict:
    """Return the body of an incident.created event somewhere in the demo city."""
    lat, lon = _scatter(rng, 2500)
    return {
        "type": "incident.created",
        "timestamp": now.isoformat().replace("+00:00", "Z"),
        "data": {
            "id": external_id or f"DEMO-{now:%Y%m%d-%H%M%S}-{rng.randrange(1000):03d}",
            "kind": "cardiac_arrest",
            "location": {"lat": lat, "lon": lon, "accuracy_m": 20},
            "address": f"Demogatan {rng.randint(1, 120)}, {rng.randint(1, 6)} tr",
            "notes": f"Door code {rng.randint(1000, 9999)}",
            "patient_age": rng.randint(30, 90),
            "ems_eta_s": rng.choice([480, 540, 600, 720]),
        },
    }


