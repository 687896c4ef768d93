"""Message texts in each supported language, rendered to fit their SMS budget."""

from __future__ import annotations

from dispatcher.domain.gsm7 import is_gsm7, segments, to_gsm7
from dispatcher.domain.texts import BUDGET, TEMPLATES

LANGUAGES = ("en", "sv", "nl", "fr", "de", "fi")
DEFAULT_LANGUAGE = "en"

# The eight compass points, in each language's usual abbreviations.
COMPASS = {
    "en": dict(N="N", NE="NE", E="E", SE="SE", S="S", SW="SW", W="W", NW="NW"),
    "sv": dict(N="N", NE="NO", E="O", SE="SO", S="S", SW="SV", W="V", NW="NV"),
    "nl": dict(N="N", NE="NO", E="O", SE="ZO", S="Z", SW="ZW", W="W", NW="NW"),
    "fr": dict(N="N", NE="NE", E="E", SE="SE", S="S", SW="SO", W="O", NW="NO"),
    "de": dict(N="N", NE="NO", E="O", SE="SO", S="S", SW="SW", W="W", NW="NW"),
    "fi": dict(N="P", NE="KO", E="I", SE="KA", S="E", SW="LO", W="L", NW="LU"),
}

def language_of(code: str | None) -> str:
    """Return a supported language for a volunteer's language code, English otherwise."""
    code = (code or "").lower()[:2]
    return code if code in TEMPLATES else DEFAULT_LANGUAGE


def format_distance(metres: float, language: str) -> str:
    """Write a distance the way a volunteer reads it: "350 m" or "1.4 km" (decimal comma)."""
    if metres < 995:
        return f"{max(10, round(metres, -1)):.0f} m"
    km = f"{metres / 1000:.1f}"
    return (km if language == "en" else km.replace(".", ",")) + " km"


def render(name: str, language: str, **values: object) -> str:
    """Render a template in a language, falling back to English for unknown languages."""
    return TEMPLATES[language_of(language)][name].format(**values)


def render_alert(
    language: str, *, distance_m: float, compass: str, area: str | None, code: str
) -> str:
    """Render the alert; shorten the area name, then drop it, so it stays one GSM-7 segment."""
    lang = language_of(language)
    values = dict(
        distance=format_distance(distance_m, lang), direction=COMPASS[lang][compass], code=code
    )
    area = to_gsm7(area or "")
    for candidate in (area, *(area[:n].rstrip() for n in range(len(area) - 1, 2, -1)), ""):
        text = render("alert", lang, area=f", {candidate}" if candidate else "", **values)
        if segments(text) <= BUDGET["alert"] and is_gsm7(text):
            return text
    raise ValueError(f"alert template for {lang!r} does not fit one segment")
