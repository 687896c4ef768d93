"""`flask phones show` and `flask phones reply`: the virtual phones from a terminal.

The app runs with the outbox SMS backend, the default; the recording fake stands in for the
provider. Volunteers are alerted by posting an incident as a control room does.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from dispatcher.store.models import Message
from tests.builders import alert_of, create_incident, make_control_room, make_volunteer, runner_for

ADDRESS = "Drottninggatan 53, 3 tr"  # the address builders.incident_data gives
TWILIO = {
    "SMS_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "x",
    "TWILIO_FROM": "+46700000000",
}


@pytest.fixture
def anna(client, rt):
    """A volunteer alerted for an incident 200 m away."""
    volunteer = make_volunteer(rt, north_m=200, name="Anna Andersson")
    response = create_incident(client, make_control_room(rt), rt)
    assert response.status_code == 202, response.json
    return volunteer


def inbound_count(rt) -> int:
    """Count the messages received from volunteers."""
    with rt.transaction() as session:
        return session.scalar(
            select(func.count()).select_from(Message).where(Message.direction == "in"))


def national(phone: str) -> str:
    """Write a Swedish E.164 number as it is dialled at home: +46701234567 -> 0701234567."""
    assert phone.startswith("+46")
    return "0" + phone[3:]


def test_show_prints_the_volunteer_and_their_thread(cli, rt, anna):
    with rt.transaction() as session:
        [alert_text] = session.scalars(select(Message.body).where(
            Message.responder_id == anna.id)).all()

    result = cli("phones", "show", anna.ref)

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"Anna Andersson ({anna.ref}, {anna.phone}, active)"
    assert lines[1].endswith(f" -> {alert_text}")
    assert alert_text.startswith("CPR ALERT")


def test_show_prints_times_in_local_time(cli, anna):
    # The clock stands at 10:00 UTC, which is 11:00 in Stockholm.
    result = cli("phones", "show", anna.ref)

    assert result.output.splitlines()[1].startswith("11:00:00 -> ")


@pytest.mark.parametrize("who", [
    lambda v: v.ref,
    lambda v: v.ref.lower(),
    lambda v: v.phone,
    lambda v: national(v.phone),
], ids=["reference", "reference in lower case", "E.164 number", "national number (070...)"])
def test_show_finds_a_volunteer_by_reference_or_phone_number(cli, anna, who):
    result = cli("phones", "show", who(anna))

    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Anna Andersson ({anna.ref}")


def test_reply_yes_accepts_the_alert_and_prints_the_details(cli, rt, anna):
    result = cli("phones", "reply", anna.ref, "YES")

    assert result.exit_code == 0, result.output
    alert = alert_of(rt, anna)
    assert (alert.state, alert.role) == ("accepted", "cpr")
    lines = result.output.splitlines()
    assert lines[0] == f"{anna.ref} <- YES"
    assert lines[-1].startswith(f"{anna.ref} -> GO NOW: {ADDRESS}.")


def test_reply_prints_only_the_answers_to_this_reply_not_earlier_messages(cli, anna):
    cli("phones", "reply", anna.ref, "YES")

    result = cli("phones", "reply", anna.ref, "HELP")

    assert result.exit_code == 0, result.output
    [said, answer] = result.output.splitlines()
    assert said == f"{anna.ref} <- HELP"
    assert answer.startswith(f"{anna.ref} -> ")
    assert "CPR ALERT" not in result.output and "GO NOW" not in result.output


def test_reply_that_gets_no_answer_prints_no_old_messages(cli, anna):
    cli("phones", "reply", anna.ref, "STOP")

    result = cli("phones", "reply", anna.ref, "hello")  # opted out: nothing is sent back

    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == f"{anna.ref} <- hello"
    assert " -> " not in result.output


def test_reply_by_national_number_answers_as_that_volunteer(cli, rt, anna):
    result = cli("phones", "reply", national(anna.phone), "NO")

    assert result.exit_code == 0, result.output
    assert alert_of(rt, anna).state == "declined"
    assert result.output.splitlines()[0] == f"{anna.ref} <- NO"


def test_show_then_includes_the_reply_and_the_details(cli, anna):
    cli("phones", "reply", anna.ref, "YES")

    output = cli("phones", "show", anna.ref).output

    assert " <- YES" in output
    assert f" -> GO NOW: {ADDRESS}." in output


@pytest.mark.parametrize("command", ["show", "reply"])
@pytest.mark.parametrize("who", ["RNOBODY1", "+46709999999", "0709999999", "not a number"])
def test_an_unknown_volunteer_is_an_error_that_names_them(cli, rt, anna, command, who):
    args = ("phones", command, who) + (("YES",) if command == "reply" else ())

    result = cli(*args)

    assert result.exit_code != 0
    assert f"no volunteer {who}" in result.output
    assert inbound_count(rt) == 0
    assert alert_of(rt, anna).state != "accepted"


def test_reply_is_refused_with_the_twilio_backend(make_app, rt, anna):
    real = runner_for(make_app(**TWILIO))

    result = real("phones", "reply", anna.ref, "YES")

    assert result.exit_code != 0
    assert "outbox" in result.output
    assert inbound_count(rt) == 0
    assert alert_of(rt, anna).state != "accepted"
