"""The details a volunteer gets after saying YES: where to go, how to get in, what to do."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Protocol

from dispatcher.domain import hours
from dispatcher.domain.gsm7 import segments, to_gsm7
from dispatcher.domain.roles import AedRecord
from dispatcher.domain.templates import BUDGET, render


class Place(Protocol):
    """What a briefing needs of an incident: where it is and how to get in."""

    lat: float
    lon: float
    address: str | None
    notes: str | None


class Coded(Protocol):
    """What a briefing needs of an alert: the code a volunteer may quote in a reply."""

    code: str


def map_link(template: str, lat: float, lon: float) -> str:
    """Render the configured map link for a place."""
    return template.format(lat=lat, lon=lon)


def details(
    *, language: str, incident: Place, alert: Coded, aed: AedRecord | None,
    map_template: str, local_now: datetime,
) -> str:
    """Render the role's details; shorten the notes, then the AED's, to stay within budget."""
    kind = "details_aed" if aed is not None else "details_cpr"
    values = dict(
        address=incident.address or f"{incident.lat:.5f}, {incident.lon:.5f}",
        map=map_link(map_template, incident.lat, incident.lon),
        code=alert.code,
    )
    if aed is not None:
        today = hours.today(aed.opening_hours, local_now)
        values.update(
            aed_name=aed.name or "AED",
            aed_hours=render("aed_hours_today", language, hours=today) if today else "",
        )
    return _fit(kind, language, values, incident.notes, aed.access_notes if aed else "")


def update(*, language: str, incident: Place, alert: Coded, map_template: str) -> str:
    """Render the corrected address and notes for a volunteer who is already going."""
    values = dict(
        address=incident.address or f"{incident.lat:.5f}, {incident.lon:.5f}",
        map=map_link(map_template, incident.lat, incident.lon),
        code=alert.code,
    )
    return _fit("update", language, values, incident.notes, "")


def _fit(kind: str, language: str, values: dict, notes: str | None, access: str) -> str:
    """Render a template with free text, shortening the text until it fits the budget."""
    # Free text is rewritten into GSM-7, so one odd character cannot cost half the room.
    notes = _sentence(to_gsm7(notes or ""))
    access = to_gsm7(access or "").rstrip(" .")
    # Cut the free text, a little at a time, until the message fits its budget.
    for _ in range(400):
        text = _tidy(render(kind, language, notes=notes, aed_access=access, **values))
        if segments(text) <= BUDGET[kind]:
            return text
        if notes:
            notes = _shorten(notes)
        elif access:
            access = _shorten(access, keep_stop=False)
        else:
            break
    return _tidy(render(kind, language, notes="", aed_access="", **values))


def _tidy(text: str) -> str:
    """Mend the punctuation an empty field leaves behind ("Gym,  (open" or "Gym, .")."""
    return re.sub(r",\s*\.", ".", re.sub(r",\s+\(", " (", text))


def _sentence(text: str) -> str:
    """Turn free text into a sentence followed by a space, or nothing."""
    text = " ".join((text or "").split())
    if not text:
        return ""
    return (text if text.endswith((".", "!", "?")) else text + ".") + " "


def _shorten(text: str, keep_stop: bool = True) -> str:
    """Drop the last word of the text, marking the cut with an ellipsis."""
    words = text.rstrip(". ").removesuffix("...").split()
    if len(words) <= 1:
        return ""
    return " ".join(words[:-1]) + ("... " if keep_stop else "...")
