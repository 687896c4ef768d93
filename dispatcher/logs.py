"""Logging that keeps personal data out: phone numbers and a database's echo of values.

The service logs references and ids, never numbers, names or addresses. An exception's text
is not ours, though: PostgreSQL repeats the values of a violated key (`DETAIL: Key
(phone)=(+46...) already exists.`), and a provider's error may quote the number. Every
record the service's handlers write goes through `Redactor`, which blanks phone numbers
and the DETAIL lines of database errors, in the message and in the traceback alike, whether
lines are written as text or as JSON (`DISPATCHER_LOG_FORMAT=json`, `JsonRedactor`).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

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


class JsonRedactor(Redactor):
    """A redacting formatter that writes each record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as JSON: time (UTC), level, logger, message, and any traceback."""
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False)


FORMATTERS = {"text": Redactor, "json": JsonRedactor}


def formatter(kind: str = "text") -> Redactor:
    """Return the redacting formatter of a log format ("text" or "json")."""
    if kind not in FORMATTERS:
        raise ValueError(f"DISPATCHER_LOG_FORMAT must be one of {sorted(FORMATTERS)}, not {kind!r}")
    return FORMATTERS[kind](FORMAT)


def configure(level: str, kind: str = "text") -> None:
    """Log at the level to stderr through the redacting formatter; quiet the HTTP libraries."""
    chosen = formatter(kind)
    logging.basicConfig(level=level, format=FORMAT)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(chosen)
    for noisy in ("twilio.http_client", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
