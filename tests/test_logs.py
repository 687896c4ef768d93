"""Logs as text or as JSON lines, with personal data blanked either way."""

from __future__ import annotations

import io
import json
import logging

import pytest

from dispatcher import logs


def record(message: str, *args, exc_info=None) -> logging.LogRecord:
    """Return a log record of the service, as a logger would make it."""
    return logging.LogRecord("dispatcher.messaging.sending", logging.WARNING, __file__, 1,
                             message, args, exc_info)


def raised(text: str):
    """Return the exc_info of an error whose text is given."""
    try:
        raise RuntimeError(text)
    except RuntimeError as exc:
        return type(exc), exc, exc.__traceback__


def test_a_json_line_parses_with_time_level_logger_and_message():
    line = logs.formatter("json").format(record("sms %s not sent: %s", 17, "error 30003"))

    entry = json.loads(line)

    assert "\n" not in line
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "dispatcher.messaging.sending"
    assert entry["message"] == "sms 17 not sent: error 30003"
    assert entry["time"].endswith("+00:00")


def test_a_json_line_blanks_phone_numbers_in_the_message_and_the_traceback():
    error = raised('to +46701234567 failed\nDETAIL:  Key (phone)=(+46701234567) exists.')

    entry = json.loads(logs.formatter("json").format(
        record("sms to %s failed", "+46 70 123 45 67", exc_info=error)))

    assert entry["message"] == "sms to [number] failed"
    assert "RuntimeError" in entry["exception"]
    assert "[number]" in entry["exception"] and "DETAIL: [redacted]" in entry["exception"]
    assert "70123" not in json.dumps(entry) and "701234567" not in json.dumps(entry)


def test_the_text_format_still_blanks_phone_numbers():
    line = logs.formatter("text").format(record("sms to %s failed", "+46701234567"))

    assert line.endswith("sms to [number] failed")


def test_an_unknown_log_format_is_refused():
    with pytest.raises(ValueError, match="DISPATCHER_LOG_FORMAT"):
        logs.formatter("xml")


@pytest.mark.parametrize("kind, formatter", [("json", logs.JsonRedactor),
                                             ("text", logs.Redactor)])
def test_configure_puts_the_chosen_redacting_formatter_on_every_handler(kind, formatter):
    root = logging.getLogger()
    stream = io.StringIO()
    extra = logging.StreamHandler(stream)
    saved = [(h, h.formatter) for h in root.handlers]
    root.addHandler(extra)
    try:
        logs.configure("INFO", kind)

        assert all(type(h.formatter) is formatter for h in root.handlers)
        logging.getLogger("dispatcher.test").warning("volunteer %s at +46701234567", "R7KQ2M9X")
    finally:
        root.removeHandler(extra)
        for handler, previous in saved:
            handler.setFormatter(previous)

    written = stream.getvalue().strip()
    assert "+46701234567" not in written and "R7KQ2M9X" in written
    if kind == "json":
        assert json.loads(written)["message"] == "volunteer R7KQ2M9X at [number]"


def test_the_app_logs_json_when_the_setting_asks(make_app):
    make_app(LOG_FORMAT="json")

    assert all(isinstance(h.formatter, logs.JsonRedactor) for h in logging.getLogger().handlers)
