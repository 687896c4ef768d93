"""Logging that keeps personal data out: phone numbers and a database's echo of values.

The service logs references and ids, never numbers, names or addresses. An exception's text
is not ours, though: PostgreSQL repeats the values of a violated key (`DETAIL: Key
(phone)=(+46...) already exists.`), and a provider's error may quote the number. Every
record the service's handlers write goes through `Redactor`, which blanks phone numbers
and the DETAIL lines of database errors, in the message and in the traceback alike.
"""

from __future__ import annotations

import logging
import re

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_PHONE = re.compile(r"(?<![\w+])(?:\+|00)\d[\d \-]{6,17}\d")
_DETAIL = re.compile(r"^(\s*DETAIL:).*$", re.MULTILINE)


def redact(text: str) -> str:
    """Blank phone numbers and database DETAIL lines in a text."""
    return _DETAIL.sub(r"\1 [redacted]", _PHONE.sub("[number]", text))


class Redactor(logging.Formatter):
    """A formatter whose output has phone numbers and database DETAIL lines blanked."""

    def format(self, record: logging.LogRecord) -> str:
        """Format the record as usual, then redact it whole (traceback included)."""
        return redact(super().format(record))


def configure(level: str) -> None:
    """Log at the level to stderr through the redacting formatter; quiet the HTTP libraries."""
    logging.basicConfig(level=level, format=FORMAT)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(Redactor(FORMAT))
    for noisy in ("twilio.http_client", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
