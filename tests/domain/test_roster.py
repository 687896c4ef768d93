"""domain.roster.Roster: the static rules a search applies without asking the database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from dispatcher.domain.policy import Policy
from dispatcher.domain.roster import Roster, StaticRow

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TODAY = NOW.date()
POLICY = Policy()


def row(id, seq=1, **changes) -> StaticRow:
    fields = {"status": "active", "paused_until": None, "birth_year": 1980,
              "cert_expires": TODAY + timedelta(days=30)}
    fields.update(changes)
    return StaticRow(id=id, seq=seq, **fields)


def judge(roster: Roster, ids) -> list[bool]:
    return roster.may_be_eligible(list(ids), POLICY, on=TODAY, now=NOW)


@pytest.mark.parametrize(("changes", "eligible"), [
    ({}, True),
    ({"status": "opted_out"}, False),
    ({"status": "invalid_number"}, False),
    ({"paused_until": NOW + timedelta(minutes=1)}, False),
    ({"paused_until": NOW}, True),
    ({"birth_year": TODAY.year - 18}, False),  # may still be 17
    ({"birth_year": TODAY.year - 19}, True),
    ({"cert_expires": TODAY - timedelta(days=1)}, False),
    ({"cert_expires": TODAY}, True),
])
def test_each_static_rule_is_the_policys(changes, eligible):
    roster = Roster()
    roster.update([row(3, **changes)])
    assert judge(roster, [3]) == [eligible]


def test_a_volunteer_the_roster_has_not_heard_of_is_left_to_the_database():
    roster = Roster()
    assert judge(roster, [5]) == [True]
    roster.update([row(1)])
    assert judge(roster, [1, 2, 10_000]) == [True, True, True]


def test_an_older_row_never_overwrites_a_newer_one():
    roster = Roster()
    roster.update([row(1, seq=5, status="opted_out")])
    roster.update([row(1, seq=4)])  # read earlier by a slower thread
    assert judge(roster, [1]) == [False]
    roster.update([row(1, seq=6)])
    assert judge(roster, [1]) == [True]


def test_a_bulk_load_replaces_everything():
    roster = Roster()
    roster.update([row(1, status="opted_out")])
    roster.load(np.array([1, 4]), np.array([True, False]), np.array([np.iinfo(np.int64).min] * 2),
                np.array([1980, 1980]), np.array([date(2030, 1, 1).toordinal()] * 2),
                np.array([9, 9]))
    assert judge(roster, [1, 4]) == [True, False]
