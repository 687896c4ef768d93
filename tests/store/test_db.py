"""Database errors in the log: never a phone number, a name, or the values of a statement."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.exc import IntegrityError

from dispatcher.logs import FORMAT, Redactor, redact
from dispatcher.store.models import Responder
from tests.builders import make_volunteer


def duplicate_of(rt, taken) -> IntegrityError:
    """Return the error of registering a second volunteer under a number already taken."""
    with pytest.raises(IntegrityError) as raised:
        with rt.transaction() as session:
            session.add(Responder(ref="ZZZZ2222", phone=taken.phone, name="Anna Andersson",
                                  language="sv", birth_year=1980,
                                  cert_expires=taken.cert_expires, status="active",
                                  travel_mode="walk", created_at=rt.clock.now(),
                                  updated_at=rt.clock.now()))
    return raised.value


def test_a_database_error_logged_with_its_traceback_shows_no_number_or_name(rt):
    taken = make_volunteer(rt, north_m=100, name="Anna Andersson")
    error = duplicate_of(rt, taken)
    record = logging.LogRecord("dispatcher.jobs.tasks", logging.ERROR, __file__, 1,
                               "job %s failed", ("reply",), (type(error), error, None))

    written = Redactor(FORMAT).format(record)

    assert "job reply failed" in written and "IntegrityError" in written
    assert taken.phone not in written and "Anna" not in written


@pytest.mark.parametrize("text, kept", [
    ("sms to +46701234567 failed", "sms to [number] failed"),
    ("call 0046 70 123 45 67 now", "call [number] now"),
    ('DETAIL:  Key (phone)=(+4670...) already exists.\nnext', "DETAIL: [redacted]\nnext"),
    ("alert 4821 of incident 17, wave 2, 1200 m", "alert 4821 of incident 17, wave 2, 1200 m"),
])
def test_redaction_blanks_numbers_and_database_details_and_keeps_ids(text, kept):
    assert redact(text) == kept
