"""status.read: a control room reads back its own incidents, and only those.

These call the use case directly; the bearer token and scopes are tested in
tests/web/test_status.py.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from dispatcher.errors import UnknownIncident
from dispatcher.incidents import status
from dispatcher.store.models import Client
from tests.builders import (
    end_incident,
    make_control_room,
    make_volunteer,
    offset,
    open_incident,
    sms_arrives,
)


def read(rt, control_room, external_id: str = "CAD-1") -> dict:
    """Read an incident's status as a control room's client."""
    with rt.transaction() as session:
        return status.read(session, session.get(Client, control_room.client.id), external_id)


def test_a_control_room_reads_its_incident_as_intake_answered_it(client, rt, room):
    make_volunteer(rt, north_m=200)
    answered = open_incident(client, room, rt)

    assert read(rt, room) == answered


def test_the_status_counts_who_was_alerted_and_who_is_going(client, rt, room):
    going = make_volunteer(rt, north_m=200)
    make_volunteer(rt, north_m=300)
    rt.policy = replace(rt.policy, wave_size=2)
    open_incident(client, room, rt)
    sms_arrives(rt, going, "YES")

    read_back = read(rt, room)

    assert read_back["counts"]["alerted"] == 2
    assert read_back["counts"]["accepted"] == 1
    assert [r["ref"] for r in read_back["responders"]] == [going.ref]
    assert "phone" not in str(read_back["responders"])


def test_an_ended_incident_is_still_read_back_as_closed(client, rt, room):
    open_incident(client, room, rt)
    end_incident(client, room, rt)

    read_back = read(rt, room)

    assert read_back["state"] == "closed"
    assert read_back["closed_at"] is not None


def test_another_control_rooms_incident_does_not_exist_for_a_client(client, rt, room):
    open_incident(client, room, rt)
    other = make_control_room(rt)

    with pytest.raises(UnknownIncident):
        read(rt, other)


def test_two_control_rooms_with_the_same_incident_id_each_read_their_own(client, rt, room):
    make_volunteer(rt, north_m=200)
    other = make_control_room(rt)
    open_incident(client, room, rt)
    open_incident(client, other, rt, at=offset(20_000))

    mine, theirs = read(rt, room), read(rt, other)

    assert mine["id"] == theirs["id"] == "CAD-1"
    assert mine["counts"]["alerted"] == 1
    assert theirs["counts"]["alerted"] == 0


def test_an_unknown_incident_id_is_unknown(rt, room):
    with pytest.raises(UnknownIncident):
        read(rt, room, "CAD-404")
