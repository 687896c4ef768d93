"""The details a volunteer gets after saying YES: where to go, how to get in, what to do.

A briefing is a list of texts, each within its template's budget of segments:

- Every field (address, notes, the AED's name and access note) is rewritten into GSM-7 when
  each of its characters has a faithful form there (ł -> l, ş -> s, ’ -> ', Greek capitals).
  A field that has none (Arabic, Greek lower case, emoji) is kept as it is; the text is
  then sent in UCS-2 and its segments are counted as such.
- Nothing is cut if the briefing fits one text.
- Otherwise it becomes two texts, numbered "(1/2)" and "(2/2)": the first carries the role,
  the AED, the address and the notes (the door code); the second what to do, the map link
  and the reference.
- Only if the first of those cannot fit its budget alone is anything shortened, in this
  order: the AED's hours today, its name beyond three words, the words of the notes and
  then of the AED's access note that hold no digit, the name beyond one word, numbers that
  are not codes (too long, or one or two digits without a label: a floor, a flat), the
  words before a code (its label: "code", "Kod do drzwi"), the address, and last of all
  the codes themselves: unlabelled ones (three digits or more) before those that follow a
  label such as "code". Within a rank the later words go first. A cut is marked "...".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from dispatcher.domain import hours
from dispatcher.domain.gsm7 import segments, transliterate
from dispatcher.domain.roles import AedRecord
from dispatcher.domain.templates import BUDGET, render

SPLIT = "\x00"  # where the first text ends; control characters never survive _clean
CUT = "..."
CODE_LENGTH = 12  # a word with a digit up to this long may be a code; longer is a number
CODE_DIGITS = 3  # an unlabelled code has at least this many digits; fewer is a floor or flat
LABEL_WORDS = 3  # how many words before a code may be its label
# Words that label a door code, in the languages of the addresses we have seen.
LABELS = ("code", "kod", "koodi", "pin", "κωδ", "رمز", "كود")
# Ranks of the words of free text: the lowest go first.
PLAIN, NUMBER, LABEL, CODE, LABELLED_CODE = range(5)


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
) -> list[str]:
    """Render the role's details as one text, or two when one cannot hold them whole."""
    parts = _Parts(
        address=_address(incident), notes=_Words(_clean(incident.notes)),
        access=_Words(_clean(aed.access_notes if aed else "")),
        name=_clean(aed.name if aed else "").split(),
    )
    values = dict(map=map_link(map_template, incident.lat, incident.lon), code=alert.code)
    if aed is None:
        return _fit("details_cpr", language, values, parts)
    today = hours.today(aed.opening_hours, local_now, coords=(aed.lat, aed.lon))
    parts.hours = render("aed_hours_today", language, hours=today) if today else ""
    return _fit("details_aed", language, values, parts)


def update(*, language: str, incident: Place, alert: Coded, map_template: str) -> list[str]:
    """Render the corrected address and notes for a volunteer who is already going."""
    parts = _Parts(address=_address(incident), notes=_Words(_clean(incident.notes)))
    values = dict(map=map_link(map_template, incident.lat, incident.lon), code=alert.code)
    return _fit("update", language, values, parts)


def _address(incident: Place) -> str:
    """Return the address as the volunteer reads it, or the coordinates when there is none."""
    return _clean(incident.address) or f"{incident.lat:.5f}, {incident.lon:.5f}"


def _clean(text: str | None) -> str:
    """Rewrite a field into GSM-7 where that is faithful; drop control characters."""
    text = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text or "")
    text = " ".join(text.split())
    gsm7 = transliterate(text)
    return text if gsm7 is None else gsm7


@dataclass
class _Words:
    """Free text as words, each ranked by how much it may hold a door code."""

    words: list[str]
    ranks: list[int]
    kept: list[bool]

    def __init__(self, text: str) -> None:
        self.words = text.split()
        self.ranks = _ranks(self.words)
        self.kept = [True] * len(self.words)

    def drop(self, rank: int) -> bool:
        """Drop the last word kept of this rank; tell whether there was one."""
        for i in reversed(range(len(self.words))):
            if self.kept[i] and self.ranks[i] == rank:
                self.kept[i] = False
                return True
        return False

    def text(self) -> str:
        """Return the words kept, with a mark where words were cut."""
        out: list[str] = []
        for word, kept in zip(self.words, self.kept, strict=True):
            if kept:
                out.append(word)
            elif not out or not out[-1].endswith(CUT):
                out.append(out.pop().rstrip(".,;:") + CUT if out else CUT)
        return " ".join(out) if any(self.kept) else ""


def _ranks(words: list[str]) -> list[int]:
    """Rank words: codes (labelled ones highest), their labels, other numbers, the rest."""
    bare = [w.strip(".,;:!?()[]\"'").lower() for w in words]
    ranks = [NUMBER if any(c.isdigit() for c in w) else PLAIN for w in bare]
    for i, word in enumerate(bare):
        if ranks[i] != NUMBER or len(word) > CODE_LENGTH:
            continue
        # Its label: up to three words before it in the same clause ("Kod do drzwi 4821").
        label = []
        for j in range(i - 1, max(i - 1 - LABEL_WORDS, -1), -1):
            if ranks[j] != PLAIN or words[j].endswith((".", ",", ";", "!", "?")):
                break
            label.append(j)
        if any(stem in bare[j] for j in label for stem in LABELS):
            ranks[i] = LABELLED_CODE
        elif sum(c.isdigit() for c in word) >= CODE_DIGITS:
            ranks[i] = CODE
        else:
            continue  # a floor or a flat ("3 tr", "flat 5"), not a code
        for j in label:
            ranks[j] = LABEL
    return ranks


@dataclass
class _Parts:
    """The free text of a briefing, as far as it has been shortened."""

    address: str
    notes: _Words
    access: _Words = field(default_factory=lambda: _Words(""))
    name: list[str] = field(default_factory=list)
    hours: str = ""
    named: bool = True  # False once the name was shortened

    def values(self) -> dict[str, str]:
        """Return the template values of the free text."""
        return dict(
            address=self.address, notes=_sentence(self.notes.text()),
            aed_access=self.access.text().rstrip(" ."), aed_hours=self.hours,
            aed_name=" ".join(self.name) + ("" if self.named else CUT) if self.name else "AED",
        )

    def shorten(self) -> bool:
        """Shorten by one step, the least needed first; tell whether anything was left to cut."""
        return (
            self._drop_hours() or self._drop_name(3)
            or self.notes.drop(PLAIN) or self.access.drop(PLAIN) or self._drop_name(1)
            or self.notes.drop(NUMBER) or self.access.drop(NUMBER)
            or self.notes.drop(LABEL) or self.access.drop(LABEL)
            or self._cut_address()
            or self.notes.drop(CODE) or self.access.drop(CODE)
            or self.notes.drop(LABELLED_CODE) or self.access.drop(LABELLED_CODE)
        )

    def _drop_hours(self) -> bool:
        """Drop the AED's hours today."""
        dropped, self.hours = bool(self.hours), ""
        return dropped

    def _drop_name(self, keep: int) -> bool:
        """Drop the last word of the AED's name, keeping at least `keep` words."""
        if len(self.name) <= keep:
            return False
        self.name, self.named = self.name[:-1], False
        return True

    def _cut_address(self) -> bool:
        """Drop the last word of the address, then its last characters."""
        address = self.address.removesuffix(CUT)
        if len(address) <= 1:
            return False
        words = address.split()
        address = " ".join(words[:-1]) if len(words) > 1 else address[:-1]
        self.address = address.rstrip(" ,.;:") + CUT
        return True


def _fit(kind: str, language: str, values: dict, parts: _Parts) -> list[str]:
    """Render one text if it fits the budget, else two, shortening the first until it fits."""
    budget = BUDGET[kind]
    whole = _tidy(render(kind, language, **values, **parts.values()))
    if segments(whole) <= budget:
        return [whole]
    while True:
        marked = _tidy(render(kind, language, **values, **{
            **parts.values(), "notes": _sentence(parts.notes.text()) + SPLIT}))
        first, rest = marked.split(SPLIT, 1)
        first, rest = "(1/2) " + first.rstrip(), "(2/2) " + rest.lstrip()
        if segments(first) <= budget and segments(rest) <= budget:
            return [first, rest]
        if not parts.shorten():
            raise ValueError(f"{kind} template for {language!r} does not fit its budget")


def _tidy(text: str) -> str:
    """Mend the punctuation an empty field leaves behind ("Gym,  (open" or "Gym, .")."""
    return re.sub(r",\s*\.", ".", re.sub(r",\s+\(", " (", text))


def _sentence(text: str) -> str:
    """Turn free text into a sentence followed by a space, or nothing."""
    text = " ".join((text or "").split())
    if not text:
        return ""
    return (text if text.endswith((".", "!", "?")) else text + ".") + " "
