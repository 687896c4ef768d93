"""The GSM 03.38 alphabet: which texts fit it, how to rewrite text into it, how many segments."""

from __future__ import annotations

import re
import unicodedata

# The default alphabet (one septet each) and its extension table (two septets each).
BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
EXTENDED = frozenset("^{}\\[~]|€\f")

SINGLE_SEGMENT = 160
MULTI_SEGMENT = 153  # septets per part, once a user data header takes its share
UCS2_SINGLE_SEGMENT = 70
UCS2_MULTI_SEGMENT = 67  # UTF-16 code units per part


def is_gsm7(text: str) -> bool:
    """Tell whether every character of the text is in the GSM-7 alphabet."""
    return all(ch in BASIC or ch in EXTENDED for ch in text)


def septets(text: str) -> int:
    """Count the septets the text takes in GSM-7 (extension characters take two)."""
    return sum(2 if ch in EXTENDED else 1 for ch in text)


def segments(text: str) -> int:
    """Count the SMS segments the text takes (GSM-7 when it fits the alphabet, else UCS-2).

    A part never ends inside an escape sequence (GSM-7) or a surrogate pair (UCS-2), so a
    long text may take one part more than its length divided by the part size.
    """
    if is_gsm7(text):
        units = [2 if ch in EXTENDED else 1 for ch in text]
        return _parts(units, SINGLE_SEGMENT, MULTI_SEGMENT)
    units = [2 if ord(ch) > 0xFFFF else 1 for ch in text]  # astral characters: a pair
    return _parts(units, UCS2_SINGLE_SEGMENT, UCS2_MULTI_SEGMENT)


def _parts(units: list[int], single: int, multi: int) -> int:
    """Pack characters of the given widths into parts; return how many parts it takes."""
    if sum(units) <= single:
        return 1
    parts, room = 1, multi
    for width in units:
        if width > room:
            parts, room = parts + 1, multi
        room -= width
    return parts


# Faithful stand-ins for characters outside GSM-7: the same letter without its mark, the
# same punctuation in its plain form, the Greek capitals that look like Latin ones (as
# GSM 03.38 intends), Arabic-Indic digits. A stray dash or quote must not turn a message
# into UCS-2 and cut its room from 160 characters a segment to 70.
_LOOKALIKE = str.maketrans({
    "—": "-", "–": "-", "‐": "-", "‑": "-", "‒": "-", "−": "-", "‘": "'", "’": "'", "‚": "'",
    "‛": "'", "′": "'", "`": "'", "´": "'", "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"',
    "«": '"', "»": '"', "‹": "'", "›": "'", "…": "...", "Ł": "L", "ł": "l", "Đ": "D",
    "đ": "d", "ð": "d", "Þ": "Th", "þ": "th", "œ": "oe", "Œ": "OE", "ı": "i", "ĸ": "k",
    "ŀ": "l", "Ŀ": "L", "ŉ": "'n", "ç": "c", "ê": "e", "â": "a", "î": "i", "ô": "o",
    "û": "u", "ë": "e", "ï": "i", "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I",
    "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    **{chr(0x0660 + d): str(d) for d in range(10)},  # Arabic-Indic digits
    **{chr(0x06F0 + d): str(d) for d in range(10)},  # Eastern Arabic-Indic digits
})
# Invisible characters that carry nothing a reader sees: soft hyphen, zero-width space,
# word joiner, byte order mark.
_INVISIBLE = frozenset("\u00ad\u200b\u2060\ufeff")


def _gsm7_form(ch: str) -> str | None:
    """Return a character's faithful GSM-7 form ("" for an invisible one), or None."""
    if ch in BASIC or ch in EXTENDED:
        return ch
    if ch in _INVISIBLE:
        return ""
    if unicodedata.category(ch) == "Zs" or ch == "\t":
        return " "
    mapped = ch.translate(_LOOKALIKE)
    if mapped != ch:
        return mapped
    # A letter with marks becomes the letter (ś, ğ, Ά); a compatibility form its plain one.
    plain = "".join(c for c in unicodedata.normalize("NFKD", ch)
                    if not unicodedata.combining(c)).translate(_LOOKALIKE)
    return plain if plain and plain != ch and is_gsm7(plain) else None


def transliterate(text: str) -> str | None:
    """Rewrite text into GSM-7 if every character has a faithful form there, else None."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        form = _gsm7_form(ch)
        if form is None:
            return None
        out.append(form)
    return "".join(out)


def to_gsm7(text: str) -> str:
    """Rewrite text into the GSM-7 alphabet: look-alikes, letters without accents, no symbols."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        form = _gsm7_form(ch)
        if form is not None:
            out.append(form)
        elif unicodedata.category(ch).startswith("Z"):
            out.append(" ")
        # anything else (emoji, symbols, other scripts) is left out
    # A dropped symbol must not leave a gap before punctuation ("garden ☎, B" -> "garden, B").
    return re.sub(r"\s+([,.;:!?])", r"\1", " ".join("".join(out).split()))
