"""The reply grammar of DESIGN.md section 5: what a volunteer's SMS means.

Case, accents and punctuation don't matter: every character that is not a letter or a digit
separates words, so "Kyllä!", "KYLLA" and "  kylla." all accept, while "Yesterday" is not
"yes". Only the first ``PREFIX`` characters of a body are read (a question mark is looked for
in all of it). The words themselves, in en, sv, nl, fr, de and fi, are in ``keywords``.

A reply is read in two steps:

1. **Commands** (STOP, START, HELP, PAUSE, RESUME and their forms): the first word decides,
   after an optional polite word ("please stop", "bitte abmelden"), and an unmistakable
   opt-out word ("unsubscribe", "afmelden") is heard anywhere. A command is heard even as a
   question ("STOP?"): each acts only on the volunteer's own standing and its answer says how
   to undo it, while an opt-out that is not heard is one we may not send past.
2. **Answers to an alert** (accept, decline, arrived) count only when clear. A question (a
   question mark anywhere, or a question word or inverted verb first: "who", "kan jag",
   "tuletko"), yes and no together, a hedge ("but", "men", "aber", "maar", "mais", "mutta",
   "maybe", "if"), or a negation the grammar does not know ("not here") make the reply
   ``unknown``, and the volunteer is asked back; an unknown word alone means nothing.
   "no problem" and its kin are neutral, so "No problem, on my way" accepts and "no problem"
   alone asks back. Yes and arrived together is arrived ("Ok, I'm here"); arrived with a time
   ("Here in 5 min", "framme snart") is a promise to come, so it accepts, never arrives.

Twilio's Advanced Opt-Out, which stands in front of us on the twilio backend:

- Twilio blocks the number on a *single-word* opt-out keyword (STOP, STOPALL, UNSUBSCRIBE,
  CANCEL, END, QUIT, REVOKE, OPTOUT, and any added to the Messaging Service) and still passes
  the text on to us. Every one of those words is a STOP here too, so our records agree. Later
  sends to a blocked number fail with error 21610, which the delivery code takes as an
  opt-out and marks the volunteer so: whichever side hears the STOP first, both end opted out.
  We hear more than Twilio does ("STOPP", "please stop", "Stop!"): then only we stop sending,
  which is the safe side. Adding our words to the Messaging Service's opt-out list keeps the
  two closer still.
- Twilio's opt-in keywords are START, UNSTOP and YES. START and UNSTOP are START here. YES is
  an accept here, because YES answers an alert; an opted-out volunteer who texts YES is
  unblocked at Twilio but stays opted out with us (``conversation.inbound`` hears only START
  from them), so nothing is sent until they text START, which lifts both.

>>> parse_reply("Yes! ref 4821")
Reply(intent='accept', code='4821', hours=None)
>>> parse_reply("No problem, on my way")
Reply(intent='accept', code=None, hours=None)
>>> parse_reply("Yes? Who is this?")
Reply(intent='unknown', code=None, hours=None)
>>> parse_reply("Here in 5 min")
Reply(intent='accept', code=None, hours=None)
>>> parse_reply("PAUSE 90m")
Reply(intent='pause', code=None, hours=1.5)
>>> parse_reply("Stopp")
Reply(intent='stop', code=None, hours=None)
>>> parse_reply("👍")
Reply(intent='unknown', code=None, hours=None)
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from dispatcher.domain import keywords

__all__ = ["INTENTS", "MAX_PAUSE_HOURS", "PREFIX", "Reply", "parse_reply"]

# Every keyword, code and pause length fits well within this, and reading no further keeps a
# 100,000-character body as cheap as a short one.
PREFIX = 200
MAX_PAUSE_HOURS = 720.0  # 30 days

INTENTS = frozenset([*keywords.COMMANDS, "accept", "decline", "arrived", "unknown"])

_WORD = re.compile(r"[^\W_]+")  # a run of letters and digits
_WORD_AT_END = re.compile(r"[^\W_]+\Z")
_CODE = re.compile(r"[0-9]{4}")
_DURATION = re.compile(r"(?<![^\W_])([-−]?[0-9]+(?:[.,][0-9]+)?)\s*([^\W\d_]*)")
_QUESTION_MARKS = ("?", "？", "¿", "؟", "⸮", "﹖")
# "arrivé" (arrived) and "arrive" ("j'arrive", I am coming) differ only by an accent.
_ARRIVED_FR = re.compile(r"arrivée?")


def _phrases(text: str) -> list[tuple[str, ...]]:
    """Split a comma-separated list of phrases into tuples of words."""
    return [tuple(phrase.split()) for phrase in text.split(",") if phrase.strip()]


_COMMANDS = {p: intent for intent, text in keywords.COMMANDS.items() for p in _phrases(text)}
_ANSWERS = {p: meaning for meaning, text in keywords.ANSWERS.items() for p in _phrases(text)}
_OPENERS = frozenset(_phrases(keywords.QUESTION_OPENERS))
_LONGEST = max(len(phrase) for phrase in _ANSWERS)


@dataclass(frozen=True)
class Reply:
    """What a volunteer's SMS means."""

    intent: str  # one of INTENTS
    code: str | None = None  # four digits naming one alert, as in "YES 4821"
    hours: float | None = None  # for pause: how long; None when not given or out of range


def _fold(text: str) -> str:
    """Fold case and compatibility forms, drop accents, and spell every digit in ASCII."""
    lowered = _ARRIVED_FR.sub("arrivee", unicodedata.normalize("NFC", text.casefold()))
    # NFKD on both sides of casefold: each can produce what the other must then undo.
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", lowered).casefold())
    return "".join(
        str(unicodedata.decimal(ch)) if ch.isdecimal() else ch
        for ch in folded
        if not unicodedata.category(ch).startswith("M")
    )


def _hours(rest: str) -> float | None:
    """Return the first length among the words in hours, or None when absent or out of range.

    A unit may follow the number, with or without a space ("3h", "30 min", "1d"); a bare
    number, or one followed by a word that is no unit, is hours.
    """
    found = _DURATION.search(rest)
    if found is None:
        return None
    number = float(found.group(1).replace(",", ".").replace("−", "-"))
    hours = number * keywords.UNITS.get(found.group(2), 1.0)
    return hours if 0 < hours <= MAX_PAUSE_HOURS else None


def _command(words: list[str]) -> tuple[str, int] | None:
    """Return the command a reply opens with and the count of words it took, or None."""
    start = 1 if words[0] in keywords.POLITE and len(words) > 1 else 0
    for size in (2, 1):
        phrase = tuple(words[start:start + size])
        if len(phrase) == size and phrase in _COMMANDS:
            return _COMMANDS[phrase], start + size
    if any(word in keywords.OPT_OUT_ANYWHERE for word in words):
        return "stop", len(words)
    return None


def _asks(body: str, text: str, words: list[str]) -> bool:
    """Tell whether a reply is a question: a question mark, or a question opening it."""
    if any(mark in body for mark in _QUESTION_MARKS) or "?" in text:
        return True
    first = words[0]
    finnish_question = len(first) >= 5 and first.endswith(("ko", "kos")) and first.isalpha()
    return finnish_question or (first,) in _OPENERS or tuple(words[:2]) in _OPENERS


def _answer(words: list[str]) -> str | None:
    """Return what a reply answers to an alert when that is clear, else None."""
    meanings: set[str] = set()
    hedged = negated = later = False
    at = 0
    while at < len(words):
        size, meaning = 1, None
        for n in range(min(_LONGEST, len(words) - at), 0, -1):
            meaning = _ANSWERS.get(tuple(words[at:at + n]))
            if meaning is not None:
                size = n
                break
        word = words[at]
        if meaning is None and at == 0:
            meaning = keywords.FIRST_ONLY.get(word)
        if meaning is not None:
            meanings.add(meaning)
        elif word in keywords.HEDGES:
            hedged = True
        elif word in keywords.NEGATIONS:
            negated = True
        elif word in keywords.SOON or (any(ch.isdigit() for ch in word)
                                       and not _CODE.fullmatch(word)):
            later = True
        at += size
    meanings.discard("neutral")
    if hedged or "decline" in meanings and len(meanings) > 1:
        return None
    if "decline" in meanings:
        return "decline"
    if negated:
        return None  # a "not" the phrases above did not take in: "not here", "yes, not now"
    if "arrived" in meanings:
        return "accept" if later else "arrived"
    return "accept" if meanings else None


def parse_reply(body: str | None) -> Reply:
    """Read a volunteer's SMS as a command, a clear answer to an alert, or ``unknown``.

    A code is the first word of exactly four digits, and only accept, decline and arrived
    carry one. Pause takes its length from the first number after it ("8", "1.5", "1,5",
    "3h", "30 min", "2 days"); lengths outside (0, MAX_PAUSE_HOURS] hours are None, so the
    caller applies its default.
    """
    if not body:
        return Reply("unknown")
    text = _fold(body[:PREFIX])
    if len(body) > PREFIX:
        # The cut may have split a word, and half of one must not pass for a keyword or a code.
        text = _WORD_AT_END.sub("", text)
    found = list(_WORD.finditer(text))
    words = [match.group() for match in found]
    if not words:
        return Reply("unknown")
    command = _command(words)
    if command is not None:
        intent, taken = command
        if intent == "pause":
            return Reply(intent, hours=_hours(text[found[taken - 1].end():]))
        return Reply(intent)
    if _asks(body, text, words):
        return Reply("unknown")
    meaning = _answer(words)
    if meaning is None:
        return Reply("unknown")
    return Reply(meaning, code=next((w for w in words if _CODE.fullmatch(w)), None))
