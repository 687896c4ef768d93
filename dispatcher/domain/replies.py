"""The reply grammar of DESIGN.md section 5: what a volunteer's SMS means.

The first word decides. Case, accents and punctuation don't matter: every character that is not
a letter or a digit separates words, so "Kyllä!", "KYLLA" and "  kylla." all accept, while
"Yesterday" is not "yes". Only the first ``PREFIX`` characters of a body are read.

>>> parse_reply("Yes! ref 4821")
Reply(intent='accept', code='4821', hours=None)
>>> parse_reply("pause 1,5")
Reply(intent='pause', code=None, hours=1.5)
>>> parse_reply("👍")
Reply(intent='unknown', code=None, hours=None)
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["INTENTS", "MAX_PAUSE_HOURS", "PREFIX", "Reply", "parse_reply"]

# Every keyword, code and pause length fits well within this, and reading no further keeps a
# 100,000-character body as cheap as a short one.
PREFIX = 200
MAX_PAUSE_HOURS = 720.0  # 30 days

# As written in DESIGN.md; folded the way bodies are, below.
_GRAMMAR = {
    "accept": "YES Y OK 1 JA J OUI SI KYLLÄ",
    "decline": "NO N 2 NEJ NEE NEIN NON EI",
    "arrived": "HERE 3 FRAMME",
    "stop": "STOP STOPALL UNSUBSCRIBE CANCEL END QUIT",
    "start": "START UNSTOP",
    "help": "HELP INFO",
    "pause": "PAUSE",
    "resume": "RESUME",
}
INTENTS = frozenset([*_GRAMMAR, "unknown"])
_ABOUT_AN_ALERT = frozenset({"accept", "decline", "arrived"})  # the intents a code can qualify

_WORD = re.compile(r"[^\W_]+")  # a run of letters and digits
_WORD_AT_END = re.compile(r"[^\W_]+\Z")
_CODE = re.compile(r"[0-9]{4}")
_NUMBER = re.compile(r"(?<![^\W_])[-−]?[0-9]+(?:[.,][0-9]+)?(?![^\W_])")


@dataclass(frozen=True)
class Reply:
    """What a volunteer's SMS means."""

    intent: str  # one of INTENTS
    code: str | None = None  # four digits naming one alert, as in "YES 4821"
    hours: float | None = None  # for pause: how long; None when not given or out of range


def _fold(text: str) -> str:
    """Fold case and compatibility forms, drop accents, and spell every digit in ASCII."""
    # NFKD on both sides of casefold: each can produce what the other must then undo.
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return "".join(
        str(unicodedata.decimal(ch)) if ch.isdecimal() else ch
        for ch in folded
        if not unicodedata.category(ch).startswith("M")
    )


_KEYWORDS = {_fold(word): intent for intent, words in _GRAMMAR.items() for word in words.split()}


def _hours(rest: str) -> float | None:
    """Return the first number among the words as hours, or None when absent or out of range."""
    found = _NUMBER.search(rest)
    if found is None:
        return None
    hours = float(found.group().replace(",", ".").replace("−", "-"))
    return hours if 0 < hours <= MAX_PAUSE_HOURS else None


def parse_reply(body: str | None) -> Reply:
    """Read a volunteer's SMS: the first word decides; case, accents and punctuation don't matter.

    A code is the first later word of exactly four digits, and only accept, decline and arrived
    carry one. Pause takes its hours from the first later word that is a number ("8", "1.5",
    "1,5"); hours outside (0, MAX_PAUSE_HOURS] are None, so the caller applies its default.
    """
    if not body:
        return Reply("unknown")
    text = _fold(body[:PREFIX])
    if len(body) > PREFIX:
        # The cut may have split a word, and half of one must not pass for a keyword or a code.
        text = _WORD_AT_END.sub("", text)
    first = _WORD.search(text)
    if first is None:
        return Reply("unknown")
    intent = _KEYWORDS.get(first.group(), "unknown")
    rest = text[first.end():]
    if intent in _ABOUT_AN_ALERT:
        code = next((w for w in _WORD.findall(rest) if _CODE.fullmatch(w)), None)
        return Reply(intent, code=code)
    if intent == "pause":
        return Reply(intent, hours=_hours(rest))
    return Reply(intent)
