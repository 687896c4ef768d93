"""The GSM 03.38 alphabet: which texts fit it, and how many segments they take."""

from __future__ import annotations

import math
import re
import unicodedata

# The default alphabet (one septet each) and its extension table (two septets each).
BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
EXTENDED = frozenset("^{}\\[~]|€\f")

SINGLE_SEGMENT = 160
MULTI_SEGMENT = 153  # per part, once a user data header takes its share


def is_gsm7(text: str) -> bool:
    """Tell whether every character of the text is in the GSM-7 alphabet."""
    return all(ch in BASIC or ch in EXTENDED for ch in text)


def septets(text: str) -> int:
    """Count the septets the text takes in GSM-7 (extension characters take two)."""
    return sum(2 if ch in EXTENDED else 1 for ch in text)


def segments(text: str) -> int:
    """Count the SMS segments the text takes (GSM-7 when it fits the alphabet, else UCS-2)."""
    if is_gsm7(text):
        n, single, multi = septets(text), SINGLE_SEGMENT, MULTI_SEGMENT
    else:
        n, single, multi = len(text.encode("utf-16-le")) // 2, 70, 67
    return 1 if n <= single else math.ceil(n / multi)


# Look-alikes for common characters outside GSM-7, so a stray dash or quote cannot turn a
# message into UCS-2 and cut its room from 160 characters a segment to 70.
_LOOKALIKE = str.maketrans({
    "—": "-", "–": "-", "‐": "-", "‘": "'", "’": "'", "‚": "'", "“": '"', "”": '"', "„": '"',
    "«": '"', "»": '"', "…": "...", "\u00a0": " ", "\u2009": " ", "Ł": "L", "ł": "l",
    "Đ": "D", "đ": "d", "ð": "d", "Þ": "Th", "þ": "th", "œ": "oe", "Œ": "OE", "ı": "i",
    "ç": "c", "ê": "e", "â": "a", "î": "i", "ô": "o", "û": "u", "ë": "e", "ï": "i",
})


def to_gsm7(text: str) -> str:
    """Rewrite text into the GSM-7 alphabet: look-alikes, letters without accents, no symbols."""
    out = []
    for ch in text.translate(_LOOKALIKE):
        if ch in BASIC or ch in EXTENDED:
            out.append(ch)
            continue
        base = unicodedata.normalize("NFKD", ch)[:1]
        if base and (base in BASIC or base in EXTENDED):
            out.append(base)
        elif unicodedata.category(ch).startswith(("Z",)):
            out.append(" ")
        # anything else (emoji, symbols, other scripts) is left out
    # A dropped symbol must not leave a gap before punctuation ("garden ☎, B" -> "garden, B").
    return re.sub(r"\s+([,.;:!?])", r"\1", " ".join("".join(out).split()))
