"""flask follow-ups list and resolve; and which client tokens may read follow-ups."""

from __future__ import annotations

import re

import pytest

from dispatcher.store.models import Alert
from tests.builders import (
    after_incident,
    alert_of,
    make_volunteer,
)


@pytest.fixture
def room_options():
    """The control room the list names."""
    return {"name": "SOS Alarm"}


def test_list_shows_who_is_waiting_for_a_call_with_their_number_in_local_time(
    cli, rt, client, queue, clock, room
):
    caller = make_volunteer(rt, north_m=200, name="Astrid Lindqvist", phone="+46701234561")
    fine = make_volunteer(rt, north_m=300, name="Bertil Ek", phone="+46701234562")
    after_incident(client, rt, queue, clock, room, {caller: "2", fine: "1"})

    result = cli("follow-ups", "list")

    assert result.exit_code == 0, result.output
    [line] = result.output.splitlines()
    assert re.match(rf"\s*{alert_of(rt, caller).id}\s+open\s+2026-11-23 12:31\s+\+46701234561\s+"
                    rf"Astrid Lindqvist \({caller.ref}, en\)\s+incident CAD-1 of SOS Alarm$",
                    line), line
    assert "Bertil" not in result.output


def test_list_says_so_when_nobody_is_waiting(cli):
    result = cli("follow-ups", "list")

    assert (result.exit_code, result.output) == (0, "nobody is waiting for a call\n")


def test_list_all_includes_the_resolved_ones(cli, rt, client, queue, clock, room):
    first, second = make_volunteer(rt, north_m=200), make_volunteer(rt, north_m=300)
    after_incident(client, rt, queue, clock, room, {first: "2", second: "2"})
    assert cli("follow-ups", "resolve", str(alert_of(rt, first).id)).exit_code == 0

    open_only = cli("follow-ups", "list")
    everything = cli("follow-ups", "list", "--all")

    assert [first.ref in line for line in open_only.output.splitlines()] == [False]
    states = [line.split()[1] for line in everything.output.splitlines()]
    assert states == ["open", "resolved"]
    assert second.ref in everything.output.splitlines()[0]


def test_resolve_marks_the_flag_once_and_says_so_when_repeated(cli, rt, client, queue, clock, room):
    caller = make_volunteer(rt, north_m=200)
    after_incident(client, rt, queue, clock, room, {caller: "2"})
    flag = alert_of(rt, caller).id

    first = cli("follow-ups", "resolve", str(flag))
    resolved_at = clock.now()
    clock.advance(minutes=5)
    again = cli("follow-ups", "resolve", str(flag))

    assert (first.exit_code, again.exit_code) == (0, 0)
    assert first.output == f"follow-up {flag} is now resolved ({caller.ref})\n"
    assert again.output == f"follow-up {flag} was already resolved ({caller.ref})\n"
    with rt.transaction() as session:
        assert session.get(Alert, flag).follow_up_resolved_at == resolved_at


@pytest.mark.parametrize("flag", ["4242", "abc", "0", "99999999999999999999"])
def test_resolve_of_an_unknown_flag_fails_with_a_message(cli, flag):
    result = cli("follow-ups", "resolve", flag)

    assert result.exit_code != 0
    assert f"no request for a call with id {flag}" in result.output


def test_a_client_created_without_scopes_cannot_read_follow_ups(cli, client):
    default = cli("clients", "create", "control room")
    coordinators = cli("clients", "create", "coordinators", "--scope", "follow-ups")

    codes = [client.get("/api/v1/follow-ups", headers={"Authorization": f"Bearer {token}"})
             .status_code for token in (re.search(r"token:\s+(\S+)", r.output).group(1)
                                        for r in (default, coordinators))]

    assert codes == [403, 200]
