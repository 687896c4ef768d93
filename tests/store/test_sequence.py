"""store.sequence: a volunteer's write takes a number when a field the search reads changes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from dispatcher.responders import registry
from dispatcher.store import sequence
from dispatcher.store.models import Responder
from tests.builders import make_volunteer


def seq_of(rt, responder) -> int:
    with rt.transaction() as session:
        return session.get(Responder, responder.id).seq


def counter(rt) -> int:
    with rt.transaction() as session:
        return sequence.current(session.connection())


def test_a_new_volunteer_takes_a_number(rt, clock):
    before = counter(rt)
    data = registry.VolunteerData(phone="+46701234567", name="New", language="sv",
                                  birth_year=1980, cert_expires=date(2030, 1, 1))
    with rt.transaction() as session:
        volunteer = registry.add_volunteer(session, data, clock.now())
    assert seq_of(rt, volunteer) == before + 1 == counter(rt)


@pytest.mark.parametrize(("field", "value"), [
    ("status", "opted_out"), ("travel_mode", "car"), ("birth_year", 1970),
    ("paused_until", "soon"), ("cert_expires", "later"),
])
def test_a_change_the_search_reads_takes_the_next_number(rt, clock, field, value):
    volunteer = make_volunteer(rt)
    value = {"soon": clock.now() + timedelta(hours=1),
             "later": clock.now().date() + timedelta(days=900)}.get(value, value)
    before = seq_of(rt, volunteer)
    with rt.transaction() as session:
        setattr(session.get(Responder, volunteer.id), field, value)
    assert seq_of(rt, volunteer) == counter(rt) > before


def test_a_change_the_search_does_not_read_takes_no_number(rt):
    volunteer = make_volunteer(rt)
    before, taken = seq_of(rt, volunteer), counter(rt)
    with rt.transaction() as session:
        session.get(Responder, volunteer.id).name = "Another Name"
    assert (seq_of(rt, volunteer), counter(rt)) == (before, taken)
