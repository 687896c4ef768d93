"""Message texts in each supported language, rendered to fit their SMS budget."""

from __future__ import annotations

from dispatcher.sms.gsm7 import is_gsm7, segments

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

# Alerts must stay one GSM-7 segment: no curly quotes, no characters outside GSM 03.38.
TEMPLATES: dict[str, dict[str, str]] = {
    "en": {
        "alert": "CPR ALERT: suspected cardiac arrest {distance} {direction} of you{area}. "
        "Can you go now? Reply YES or NO. Ref {code}",
        "stand_down_cancelled": "Alert {code} is cancelled. You are no longer needed. Thank you!",
        "stand_down_closed": "Alert {code} is over: the ambulance has taken over. "
        "Thank you for being ready to help!",
    },
    "sv": {
        "alert": "HLR-LARM: misstänkt hjärtstopp {distance} {direction} om dig{area}. "
        "Kan du gå nu? Svara JA eller NEJ. Ref {code}",
        "stand_down_cancelled": "Larm {code} är avbrutet. Du behövs inte längre. Tack!",
        "stand_down_closed": "Larm {code} är avslutat: ambulansen har tagit över. "
        "Tack för att du ställde upp!",
    },
    "nl": {
        "alert": "REANIMATIE-ALARM: vermoedelijke hartstilstand {distance} {direction} "
        "van u{area}. Kunt u nu gaan? Antwoord JA of NEE. Ref {code}",
        "stand_down_cancelled": "Alarm {code} is geannuleerd. U bent niet meer nodig. Dank u!",
        "stand_down_closed": "Alarm {code} is afgerond: de ambulance heeft het overgenomen. "
        "Dank voor uw inzet!",
    },
    "fr": {
        "alert": "ALERTE RCP: ACR suspecté à {distance} {direction} de vous{area}. "
        "Pouvez-vous y aller? Répondez OUI ou NON. Réf {code}",
        "stand_down_cancelled": "Alerte {code} annulée. Votre aide n'est plus nécessaire. Merci!",
        "stand_down_closed": "Alerte {code} terminée: l'ambulance a pris le relais. "
        "Merci de votre engagement!",
    },
    "de": {
        "alert": "HLW-ALARM: Verdacht auf Herzstillstand {distance} {direction} von Ihnen{area}. "
        "Können Sie hin? Antworten Sie JA oder NEIN. Ref {code}",
        "stand_down_cancelled": "Alarm {code} ist aufgehoben. Sie werden nicht mehr gebraucht. "
        "Danke!",
        "stand_down_closed": "Alarm {code} ist beendet: der Rettungsdienst hat übernommen. "
        "Danke für Ihre Bereitschaft!",
    },
    "fi": {
        "alert": "ELVYTYSHÄLYTYS: epäilty sydänpysähdys {distance} sinusta suuntaan {direction}"
        "{area}. Pääsetkö nyt? Vastaa KYLLÄ tai EI. Viite {code}",
        "stand_down_cancelled": "Hälytys {code} on peruttu. Sinua ei enää tarvita. Kiitos!",
        "stand_down_closed": "Hälytys {code} on päättynyt: ambulanssi on ottanut tilanteen. "
        "Kiitos avustasi!",
    },
}

# How many segments each kind of message may take.
BUDGET = {"alert": 1, "stand_down_cancelled": 1, "stand_down_closed": 1}


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
    area = _gsm7_only(area or "")
    for candidate in (area, *(area[:n].rstrip() for n in range(len(area) - 1, 2, -1)), ""):
        text = render("alert", lang, area=f", {candidate}" if candidate else "", **values)
        if segments(text) <= BUDGET["alert"] and is_gsm7(text):
            return text
    raise ValueError(f"alert template for {lang!r} does not fit one segment")


def _gsm7_only(text: str) -> str:
    """Replace characters outside GSM-7 so one odd letter in a name cannot split an alert."""
    from unicodedata import normalize

    out = []
    for ch in text:
        if is_gsm7(ch):
            out.append(ch)
        else:
            base = normalize("NFKD", ch)[:1]
            out.append(base if base and is_gsm7(base) else "?")
    return "".join(out)
