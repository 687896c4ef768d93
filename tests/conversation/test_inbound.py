"""A volunteer's side of an incident: YES, NO, HERE, STOP, START, PAUSE and the rest, by SMS.

Every test goes through HTTP as the outside world does: signed control-room events open and
end incidents, signed Twilio webhooks carry the volunteers' replies, and the control room
reads the status back with its bearer token. What volunteers receive is read from the
recording SMS fake; the clock stands on Monday 2026-11-23 10:00 UTC (11:00 in Stockholm).
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import replace
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select, update

from dispatcher.conversation import inbound
from dispatcher.store.models import Alert, Incident, Responder
from tests.builders import (
    create_incident,
    end_incident,
    last_text,
    make_aed,
    make_control_room,
    make_volunteer,
    offset,
    open_incident,
    say,
    sms_from,
    status_of,
    texted,
)

pytestmark = pytest.mark.usefixtures("twilio_hooks")

MAP_LINK = "https://www.openstreetmap.org/?mlat=59.33260&mlon=18.06490"


@pytest.fixture
def waves_of_two(settings):
    """Alert two volunteers per wave, so a replacement has someone left to ask."""
    settings["WAVE_SIZE"] = 2


# --- helpers ------------------------------------------------------------------------------


def alerts_of(rt, external_id: str = "CAD-1") -> dict[int, Alert]:
    """Return an incident's alerts by volunteer id."""
    with rt.transaction() as session:
        return {a.responder_id: a for a in session.scalars(
            select(Alert).join(Incident).where(Incident.external_id == external_id)
        )}


def reload(rt, volunteer) -> Responder:
    """Return a volunteer's row as it is now."""
    with rt.transaction() as session:
        return session.get(Responder, volunteer.id)


def going(status: dict) -> dict[str, dict]:
    """Return the status's accepted volunteers by public reference."""
    return {r["ref"]: r for r in status["responders"]}


# --- YES: roles and details ---------------------------------------------------------------


def test_the_first_yes_goes_to_do_cpr_and_only_then_learns_the_address(client, rt, sms, room):
    first = make_volunteer(rt, north_m=300)
    open_incident(client, room, rt)
    [alert_text] = sms.to(first.phone)

    say(client, first, "YES")

    details = last_text(sms, first)
    assert details.startswith("GO NOW: Drottninggatan 53, 3 tr.")
    assert "Door code 1234" in details
    assert MAP_LINK in details
    # The alert before it carried distance and direction, never where exactly.
    for secret in ("Drottninggatan", "Door code", "openstreetmap"):
        assert secret not in alert_text
    [entry] = status_of(client, room)["responders"]
    assert entry["ref"] == first.ref
    assert entry["role"] == "cpr"
    assert entry["distance_m"] == 300
    assert 0 < entry["eta_s"] < 600
    assert entry["arrived_at"] is None


def test_the_status_names_volunteers_by_reference_never_by_phone(client, rt, sms, room):
    first = make_volunteer(rt, north_m=300)
    open_incident(client, room, rt)
    say(client, first, "YES")

    status = status_of(client, room)

    assert [r["ref"] for r in status["responders"]] == [first.ref]
    assert first.phone not in json.dumps(status)
    assert first.phone.lstrip("+") not in json.dumps(status)
    assert all("phone" not in r for r in status["responders"])


def test_the_second_yes_fetches_an_open_aed_close_to_the_patient(client, rt, sms, room):
    first = make_volunteer(rt, north_m=300)
    second = make_volunteer(rt, north_m=400)
    make_aed(rt, at=offset(30), name="Sergels torg metro", opening_hours="24/7")
    open_incident(client, room, rt)

    say(client, first, "YES")
    say(client, second, "YES")

    details = last_text(sms, second)
    assert details.startswith("FETCH THE DEFIBRILLATOR first: Sergels torg metro")
    assert "open today" in details
    assert "Drottninggatan 53, 3 tr" in details and MAP_LINK in details
    entries = going(status_of(client, room))
    assert entries[first.ref]["role"] == "cpr"
    assert "aed" not in entries[first.ref]
    assert entries[second.ref]["role"] == "aed"
    assert entries[second.ref]["aed"] == "Sergels torg metro"


NO_AED_RUN = {
    # name: (the AED's arguments, the incident's arguments)
    "the only AED is closed now (Monday 11:00)": ({"opening_hours": "Sa-Su 10:00-12:00"}, {}),
    "the AED's hours cannot be read": ({"opening_hours": '"jederzeit"'}, {}),
    "the AED is not public": ({"access": "restricted"}, {}),
    "the ambulance comes before any AED run could": ({}, {"ems_eta_s": 60}),
}


@pytest.mark.parametrize(("aed", "incident"), NO_AED_RUN.values(), ids=NO_AED_RUN.keys())
def test_the_second_yes_does_cpr_when_no_aed_run_is_worth_it(
    client, rt, sms, room, aed, incident
):
    first = make_volunteer(rt, north_m=300)
    second = make_volunteer(rt, north_m=400)
    make_aed(rt, at=offset(30), name="Sergels torg metro", **aed)
    open_incident(client, room, rt, **incident)

    say(client, first, "YES")
    say(client, second, "YES")

    details = last_text(sms, second)
    assert details.startswith("GO NOW: Drottninggatan 53, 3 tr.")
    assert "Sergels torg metro" not in details
    entries = going(status_of(client, room))
    assert entries[second.ref]["role"] == "cpr"
    assert "aed" not in entries[second.ref]


def test_an_aed_already_being_fetched_is_not_given_to_a_second_runner(client, rt, sms, room):
    volunteers = [make_volunteer(rt, north_m=m) for m in (200, 300, 400)]
    make_aed(rt, at=offset(30), name="Sergels torg metro")
    open_incident(client, room, rt)

    for volunteer in volunteers:
        say(client, volunteer, "YES")

    entries = going(status_of(client, room))
    assert [entries[v.ref]["role"] for v in volunteers] == ["cpr", "aed", "cpr"]
    assert "Sergels torg metro" not in last_text(sms, volunteers[2])


def test_a_yes_after_the_targets_are_met_is_told_enough_are_going(client, rt, sms, room):
    cpr, runner1, runner2, late, silent = (
        make_volunteer(rt, north_m=m) for m in (200, 300, 400, 500, 600)
    )
    make_aed(rt, at=offset(30), name="Metro")
    make_aed(rt, at=offset(60, 20), name="Library")
    open_incident(client, room, rt)
    for volunteer in (cpr, runner1, runner2):
        say(client, volunteer, "YES")
    assert sorted(r["role"] for r in status_of(client, room)["responders"]) == [
        "aed", "aed", "cpr"
    ]
    since = len(sms.sent)

    say(client, late, "YES")

    assert texted(sms, since) == [late.phone]
    assert last_text(sms, late).startswith("Thank you! Enough responders are on the way")
    alerts = alerts_of(rt)
    assert alerts[late.id].state == "stood_down"
    assert alerts[late.id].role is None
    # Those who have not answered yet are left alone: their alerts stay as they were.
    assert alerts[silent.id].state == "sent"
    assert len(sms.to(silent.phone)) == 1
    assert late.ref not in going(status_of(client, room))


# --- NO -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("waves_of_two")
def test_a_no_is_thanked_and_the_next_nearest_eligible_volunteer_is_asked(
    client, rt, sms, room
):
    first = make_volunteer(rt, north_m=100)
    second = make_volunteer(rt, north_m=200)
    paused = make_volunteer(rt, north_m=250, paused_until=rt.clock.now() + timedelta(hours=1))
    third = make_volunteer(rt, north_m=300)
    fourth = make_volunteer(rt, north_m=400)
    open_incident(client, room, rt)
    assert texted(sms) == [first.phone, second.phone]
    since = len(sms.sent)

    say(client, first, "No")

    assert sorted(texted(sms, since)) == sorted([first.phone, third.phone])
    assert last_text(sms, first).startswith("Thank you for answering")
    assert last_text(sms, third).startswith("CPR ALERT")
    assert not sms.to(paused.phone) and not sms.to(fourth.phone)
    alerts = alerts_of(rt)
    assert alerts[first.id].state == "declined"
    assert set(alerts) == {first.id, second.id, third.id}
    assert status_of(client, room)["counts"]["declined"] == 1


@pytest.mark.usefixtures("waves_of_two")
def test_a_no_after_yes_frees_the_role_and_asks_someone_else(client, rt, sms, room):
    first = make_volunteer(rt, north_m=100)
    second = make_volunteer(rt, north_m=200)
    third = make_volunteer(rt, north_m=300)
    open_incident(client, room, rt)
    say(client, first, "YES")
    assert going(status_of(client, room))[first.ref]["role"] == "cpr"

    say(client, first, "NO")

    assert last_text(sms, first).startswith("Thank you for answering")
    assert last_text(sms, third).startswith("CPR ALERT")
    alerts = alerts_of(rt)
    assert (alerts[first.id].state, alerts[first.id].role) == ("declined", None)
    assert status_of(client, room)["responders"] == []
    # The CPR role is free again: the next to accept takes it.
    say(client, second, "YES")
    assert going(status_of(client, room))[second.ref]["role"] == "cpr"
    assert last_text(sms, second).startswith("GO NOW")


@pytest.mark.usefixtures("waves_of_two")
def test_a_second_no_asks_nobody_more(client, rt, sms, room):
    first = make_volunteer(rt, north_m=100)
    make_volunteer(rt, north_m=200)
    third = make_volunteer(rt, north_m=300)
    fourth = make_volunteer(rt, north_m=400)
    open_incident(client, room, rt)

    say(client, first, "NO")
    say(client, first, "nej")

    assert sms.to(third.phone) and not sms.to(fourth.phone)
    assert len(alerts_of(rt)) == 3
    assert sms.to(first.phone)[-2:] == [
        "Thank you for answering. We will ask someone else."
    ] * 2


def test_a_second_yes_sends_the_details_again_and_keeps_the_role(client, rt, sms, room):
    first = make_volunteer(rt, north_m=300)
    open_incident(client, room, rt)
    say(client, first, "YES")
    details = last_text(sms, first)

    say(client, first, "Yes!")

    assert sms.to(first.phone)[-2:] == [details, details]
    assert [r["role"] for r in status_of(client, room)["responders"]] == ["cpr"]


def test_a_swedish_volunteer_is_answered_in_swedish(client, rt, sms, room):
    volunteer = make_volunteer(rt, north_m=300, language="sv")
    open_incident(client, room, rt)
    assert last_text(sms, volunteer).startswith("HLR-LARM")

    say(client, volunteer, "Ja")

    assert last_text(sms, volunteer).startswith("GÅ NU: Drottninggatan 53, 3 tr.")
    assert going(status_of(client, room))[volunteer.ref]["role"] == "cpr"


# --- HERE ---------------------------------------------------------------------------------


def test_here_after_yes_marks_the_arrival_and_thanks_them(client, rt, sms, room):
    first = make_volunteer(rt, north_m=300)
    open_incident(client, room, rt)
    say(client, first, "YES")
    rt.clock.advance(minutes=4)

    say(client, first, "HERE")

    assert last_text(sms, first) == "Thank you for being there. The ambulance is on its way."
    [entry] = status_of(client, room)["responders"]
    assert entry["arrived_at"] == "2026-11-23T10:04:00Z"
    assert entry["role"] == "cpr"


def test_here_without_yes_accepts_and_arrives_at_once(client, rt, sms, room):
    first = make_volunteer(rt, north_m=300)
    open_incident(client, room, rt)

    say(client, first, "framme")

    [entry] = status_of(client, room)["responders"]
    assert entry["ref"] == first.ref
    assert entry["role"] == "cpr"
    assert entry["arrived_at"] == entry["accepted_at"] == "2026-11-23T10:00:00Z"
    assert alerts_of(rt)[first.id].state == "accepted"


# --- replies that are about no alert ------------------------------------------------------


ANSWERS = {
    # body: the start of the one answer
    "YES": "You have no open alert right now.",
    "no": "You have no open alert right now.",
    "HERE": "You have no open alert right now.",
    "maybe later": "Sorry, we did not understand.",
    "Yesterday": "Sorry, we did not understand.",
    "HELP": "CPR alerts: reply YES to go",
    "info": "CPR alerts: reply YES to go",
}


@pytest.mark.parametrize(("body", "answer"), ANSWERS.items(), ids=ANSWERS.keys())
def test_a_reply_without_an_alert_gets_one_helpful_answer(client, rt, sms, body, answer):
    volunteer = make_volunteer(rt, north_m=300)

    say(client, volunteer, body)

    [text] = sms.to(volunteer.phone)
    assert text.startswith(answer)
    assert reload(rt, volunteer).status == "active"


def test_a_text_from_a_number_marked_invalid_makes_it_valid_again(client, rt, sms, room):
    volunteer = make_volunteer(rt, north_m=300)
    with rt.transaction() as session:
        session.get(Responder, volunteer.id).status = "invalid_number"
    assert open_incident(client, room, rt)["counts"]["alerted"] == 0

    say(client, volunteer, "HELP")

    assert reload(rt, volunteer).status == "active"
    [text] = sms.to(volunteer.phone)
    assert text.startswith("CPR alerts: reply YES to go")


def test_help_during_an_alert_leaves_the_alert_open(client, rt, sms, room):
    volunteer = make_volunteer(rt, north_m=300)
    open_incident(client, room, rt)

    say(client, volunteer, "HELP")

    assert last_text(sms, volunteer).startswith("CPR alerts: reply YES to go")
    assert alerts_of(rt)[volunteer.id].state == "sent"


def test_an_sms_from_an_unknown_number_is_answered_with_nothing(client, rt, sms, room):
    make_volunteer(rt, north_m=300)
    open_incident(client, room, rt)
    since = len(sms.sent)

    say(client, SimpleNamespace(phone="+46709999999"), "YES")

    assert texted(sms, since) == []


def test_a_repeated_webhook_is_applied_once(client, rt, sms, room):
    volunteer = make_volunteer(rt, north_m=300)
    open_incident(client, room, rt)

    for _ in range(2):
        assert sms_from(client, volunteer, "YES", sid="SMrepeat").status_code == 200

    assert len(sms.to(volunteer.phone)) == 2  # the alert and one set of details


# --- after the end ------------------------------------------------------------------------


@pytest.mark.usefixtures("waves_of_two")
@pytest.mark.parametrize("body", ["YES", "NO", "HERE"])
def test_a_reply_to_a_cancelled_incident_is_no_longer_needed_and_changes_nothing(
    client, rt, sms, room, body
):
    first = make_volunteer(rt, north_m=100)
    make_volunteer(rt, north_m=200)
    other = make_volunteer(rt, north_m=300)  # would be asked if a NO still found a replacement
    open_incident(client, room, rt)
    end_incident(client, room, rt, how="cancelled")
    assert last_text(sms, first).startswith(f"Alert {alerts_of(rt)[first.id].code} is cancelled")
    since = len(sms.sent)

    say(client, first, body)

    assert texted(sms, since) == [first.phone]
    assert "no longer needed" in last_text(sms, first)
    alert = alerts_of(rt)[first.id]
    assert (alert.state, alert.role, alert.responded_at) == ("stood_down", None, None)
    assert status_of(client, room)["responders"] == []
    assert not sms.to(other.phone)


def test_a_yes_after_close_is_no_longer_needed(client, rt, sms, room):
    first = make_volunteer(rt, north_m=300)
    open_incident(client, room, rt)
    end_incident(client, room, rt)
    code = alerts_of(rt)[first.id].code

    say(client, first, "YES")

    assert last_text(sms, first) == (
        f"Thank you! Alert {code} is over and you are no longer needed."
    )
    assert alerts_of(rt)[first.id].state == "stood_down"


# --- reference codes ----------------------------------------------------------------------


def _two_alerts(client, rt, sms, room, volunteer) -> tuple[str, str]:
    """Alert a volunteer for CAD-1, close it, alert them for CAD-2; return both codes."""
    open_incident(client, room, rt, "CAD-1")
    end_incident(client, room, rt, "CAD-1")
    rt.clock.advance(minutes=20)
    open_incident(client, room, rt, "CAD-2", at=offset(100))
    older, newer = alerts_of(rt, "CAD-1")[volunteer.id], alerts_of(rt, "CAD-2")[volunteer.id]
    if older.code == newer.code:  # one chance in 9,000: make the codes tell them apart
        with rt.transaction() as session:
            session.execute(update(Alert).where(Alert.id == older.id)
                            .values(code=f"{(int(newer.code) - 999) % 9000 + 1000}"))
        older = alerts_of(rt, "CAD-1")[volunteer.id]
    return older.code, newer.code


def test_a_code_picks_an_older_alert_and_plain_yes_the_newest(client, rt, sms, room):
    volunteer = make_volunteer(rt, north_m=300)
    older, newer = _two_alerts(client, rt, sms, room, volunteer)
    assert last_text(sms, volunteer).endswith(f"Ref {newer}")

    say(client, volunteer, f"YES {older}")

    assert last_text(sms, volunteer) == (
        f"Thank you! Alert {older} is over and you are no longer needed."
    )
    assert alerts_of(rt, "CAD-2")[volunteer.id].state == "sent"

    say(client, volunteer, "YES")

    assert last_text(sms, volunteer).startswith("GO NOW")
    assert last_text(sms, volunteer).endswith(f"Ref {newer}")
    assert alerts_of(rt, "CAD-2")[volunteer.id].state == "accepted"
    assert alerts_of(rt, "CAD-1")[volunteer.id].state == "stood_down"


def test_a_code_of_the_newest_alert_accepts_it(client, rt, sms, room):
    volunteer = make_volunteer(rt, north_m=300)
    _, newer = _two_alerts(client, rt, sms, room, volunteer)

    say(client, volunteer, f"ok, ref {newer}")

    assert alerts_of(rt, "CAD-2")[volunteer.id].state == "accepted"


# --- STOP and START -----------------------------------------------------------------------


@pytest.mark.usefixtures("waves_of_two")
def test_after_stop_not_one_message_goes_to_the_number_until_start(client, rt, sms, room):
    quitter = make_volunteer(rt, north_m=100)
    second = make_volunteer(rt, north_m=200)
    third = make_volunteer(rt, north_m=300)
    open_incident(client, room, rt)
    assert texted(sms) == [quitter.phone, second.phone]
    since = len(sms.sent)

    say(client, quitter, "STOP")

    # One confirmation; the pending alert counts as a NO and someone else is asked.
    assert sorted(texted(sms, since)) == sorted([quitter.phone, third.phone])
    assert last_text(sms, quitter) == "You will get no more alerts. Reply START to get them again."
    assert reload(rt, quitter).status == "opted_out"
    assert alerts_of(rt)[quitter.id].state == "declined"
    assert last_text(sms, third).startswith("CPR ALERT")
    heard = len(sms.to(quitter.phone))

    # Not a stand-down, not an answer to HELP or YES, not an alert for a new incident.
    end_incident(client, room, rt)
    say(client, quitter, "HELP")
    say(client, quitter, "YES")
    say(client, quitter, "PAUSE 2")
    rt.clock.advance(hours=1)
    open_incident(client, room, rt, "CAD-2")
    assert len(sms.to(quitter.phone)) == heard
    assert quitter.id not in alerts_of(rt, "CAD-2")
    assert reload(rt, quitter).status == "opted_out"
    end_incident(client, room, rt, "CAD-2")

    say(client, quitter, "START")

    assert last_text(sms, quitter).startswith("Welcome back: you will get alerts again.")
    assert len(sms.to(quitter.phone)) == heard + 1
    assert reload(rt, quitter).status == "active"
    rt.clock.advance(hours=1)
    open_incident(client, room, rt, "CAD-3")
    assert last_text(sms, quitter).startswith("CPR ALERT")
    assert quitter.id in alerts_of(rt, "CAD-3")


def test_stop_twice_confirms_once(client, rt, sms):
    volunteer = make_volunteer(rt, north_m=100)

    say(client, volunteer, "STOP")
    say(client, volunteer, "unsubscribe")

    assert sms.to(volunteer.phone) == [
        "You will get no more alerts. Reply START to get them again."
    ]


def test_stop_after_yes_gets_no_stand_down_when_the_incident_closes(client, rt, sms, room):
    quitter = make_volunteer(rt, north_m=100)
    other = make_volunteer(rt, north_m=200)
    open_incident(client, room, rt)
    say(client, quitter, "YES")
    say(client, quitter, "STOP")
    assert last_text(sms, quitter).startswith("You will get no more alerts")
    heard = len(sms.to(quitter.phone))

    end_incident(client, room, rt)

    assert len(sms.to(quitter.phone)) == heard
    assert last_text(sms, other).startswith(f"Alert {alerts_of(rt)[other.id].code} is over")


# --- PAUSE and RESUME ---------------------------------------------------------------------


def test_pause_for_hours_answers_in_local_time_and_holds_alerts_until_resume(
    client, rt, sms, room
):
    napper = make_volunteer(rt, north_m=100)
    other = make_volunteer(rt, north_m=200)

    say(client, napper, "PAUSE 2")

    # 10:00 UTC + 2 h is 13:00 in Stockholm (CET in November).
    assert last_text(sms, napper) == "Alerts paused until 13:00. Reply RESUME to get them again."
    assert reload(rt, napper).paused_until == rt.clock.now() + timedelta(hours=2)
    open_incident(client, room, rt, "CAD-1")
    assert napper.id not in alerts_of(rt, "CAD-1")
    assert last_text(sms, other).startswith("CPR ALERT")
    end_incident(client, room, rt, "CAD-1")

    say(client, napper, "RESUME")

    assert last_text(sms, napper) == "Alerts are on again. Thank you!"
    assert reload(rt, napper).paused_until is None
    open_incident(client, room, rt, "CAD-2")
    assert napper.id in alerts_of(rt, "CAD-2")
    assert last_text(sms, napper).startswith("CPR ALERT")


def test_pause_without_hours_pauses_for_eight(client, rt, sms):
    napper = make_volunteer(rt, north_m=100)

    say(client, napper, "pause")

    assert reload(rt, napper).paused_until == rt.clock.now() + timedelta(hours=8)
    assert last_text(sms, napper) == "Alerts paused until 19:00. Reply RESUME to get them again."


def test_a_pause_into_tomorrow_names_the_day(client, rt, sms):
    napper = make_volunteer(rt, north_m=100)

    say(client, napper, "PAUSE 24")

    assert last_text(sms, napper) == (
        "Alerts paused until 24/11 11:00. Reply RESUME to get them again.")


# --- stand-down ---------------------------------------------------------------------------


def test_close_stands_down_the_accepted_and_the_pending_once_each(client, rt, sms, room):
    accepted = make_volunteer(rt, north_m=100)
    pending = make_volunteer(rt, north_m=200)
    declined = make_volunteer(rt, north_m=300)
    open_incident(client, room, rt)
    say(client, accepted, "YES")
    say(client, declined, "NO")
    since = len(sms.sent)

    end_incident(client, room, rt)
    end_incident(client, room, rt)  # a second delivery under another webhook-id changes nothing

    assert sorted(texted(sms, since)) == sorted([accepted.phone, pending.phone])
    codes = {v: a.code for v, a in alerts_of(rt).items()}
    for volunteer in (accepted, pending):
        assert last_text(sms, volunteer) == (
            f"Alert {codes[volunteer.id]} is over: the ambulance has taken over. "
            "Thank you for being ready to help!"
        )
    assert {a.state for a in alerts_of(rt).values()} == {"stood_down", "declined"}
    assert alerts_of(rt)[declined.id].state == "declined"


# --- two YES for the last place -----------------------------------------------------------


@pytest.fixture
def one_place(settings):
    """Let one volunteer go, and let the same two be alerted again and again."""
    settings["MAX_ACCEPTED"] = 1
    settings["FATIGUE_MAX_ALERTS_24H"] = 100
    settings["REST_AFTER_INCIDENT_H"] = 0


def together(rt, volunteers, body: str) -> None:
    """Deliver the same reply from several volunteers at once, each in its own thread."""
    barrier = threading.Barrier(len(volunteers))
    errors: list[BaseException] = []

    def reply(volunteer):
        try:
            barrier.wait(timeout=10)
            inbound.receive(rt, sid=f"SMrace{uuid.uuid4().hex}", address=volunteer.phone,
                                 body=body, provider="twilio")
        except BaseException as exc:  # noqa: BLE001 - reported in the test's own thread
            errors.append(exc)

    threads = [threading.Thread(target=reply, args=(v,)) for v in volunteers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a reply never finished"
    assert not errors, errors


@pytest.mark.usefixtures("one_place")
def test_two_yes_racing_for_the_last_place_give_it_to_exactly_one(client, rt, sms, room):
    if rt.engine.dialect.name != "postgresql":
        pytest.skip("needs concurrent transactions")
    pair = [make_volunteer(rt, north_m=100), make_volunteer(rt, north_m=200)]

    for round_ in range(5):
        external_id = f"CAD-RACE-{round_}"
        open_incident(client, room, rt, external_id)
        assert set(alerts_of(rt, external_id)) == {v.id for v in pair}
        together(rt, pair, "YES")

        alerts = alerts_of(rt, external_id)
        states = sorted(a.state for a in alerts.values())
        assert states == ["accepted", "stood_down"], f"round {round_}: {states}"
        [winner] = [v for v in pair if alerts[v.id].state == "accepted"]
        [loser] = [v for v in pair if alerts[v.id].state == "stood_down"]
        assert last_text(sms, winner).startswith("GO NOW")
        assert last_text(sms, loser).startswith("Thank you! Enough responders are on the way")
        assert len(status_of(client, room, external_id)["responders"]) == 1
        end_incident(client, room, rt, external_id)
        rt.clock.advance(minutes=10)


def test_a_volunteer_told_enough_who_goes_anyway_is_recorded_on_arrival(client, rt, sms):
    first = make_volunteer(rt, north_m=100, phone="+46701990001")
    late = make_volunteer(rt, north_m=200, phone="+46701990002")
    room = make_control_room(rt)
    create_incident(client, room, rt, "CAD-SURPLUS")
    rt.policy = replace(rt.policy, max_accepted=1)
    sms_from(client, first, "YES")
    sms_from(client, late, "YES")
    assert sms.to(late.phone)[-1].startswith("Thank you! Enough responders")

    sms_from(client, late, "HERE")

    status = client.get("/api/v1/incidents/CAD-SURPLUS",
                        headers={"Authorization": f"Bearer {room.token}"}).json
    arrived = [r for r in status["responders"] if r["arrived_at"]]
    assert len(arrived) == 1 and arrived[0]["role"] == "cpr"
