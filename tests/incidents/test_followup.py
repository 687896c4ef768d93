"""After an incident: those who went are asked whether they are OK, and a 2 asks for a call.

The flow runs as the outside world drives it: signed control-room events open and close
incidents, signed Twilio webhooks carry the volunteers' replies, and the recording queue runs
the timed follow-up when the test moves the clock past it.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from dispatcher.domain.templates import render
from dispatcher.errors import InvalidPayload, UnknownFollowUp
from dispatcher.incidents import followup
from dispatcher.jobs import sweeper
from dispatcher.store.models import Alert, Incident, Message, TimelineEvent
from tests.builders import (
    alert_of,
    end_incident,
    make_control_room,
    make_volunteer,
    open_incident,
    say,
)

FOLLOW_UP = timedelta(minutes=90)


@pytest.fixture(autouse=True)
def _settings(settings, twilio_hooks):
    """Accept the requests the builders sign; let a volunteer who went be alerted again soon."""
    settings["REST_AFTER_INCIDENT_H"] = 0


# --- helpers ------------------------------------------------------------------------------


def wait(rt, queue, clock, delay: timedelta) -> None:
    """Move the clock on and run every timed job that has come due."""
    clock.advance(seconds=delay.total_seconds())
    queue.run_due(clock.now())


def question(volunteer, code: str) -> str:
    """Return the follow-up question as a volunteer reads it."""
    return render("follow_up", volunteer.language, code=code)


def follow_ups_to(sms, volunteer) -> list[str]:
    """Return the follow-up questions a volunteer received."""
    start = render("follow_up", volunteer.language, code="{}").split("{}")[0]
    return [body for body in sms.to(volunteer.phone) if body.startswith(start)]


def timeline(rt, event_name: str) -> list[dict]:
    """Return the details of every timeline entry of one kind, oldest first."""
    with rt.transaction() as session:
        return [e.detail for e in session.scalars(
            select(TimelineEvent).where(TimelineEvent.event == event_name)
            .order_by(TimelineEvent.id)
        )]


def went(client, room, rt, queue, clock, *volunteers, external_id: str = "CAD-1") -> None:
    """Let the volunteers say YES to an incident, close it, and run the follow-up when due."""
    open_incident(client, room, rt, external_id)
    for volunteer in volunteers:
        say(client, volunteer, "YES")
    end_incident(client, room, rt, external_id)
    wait(rt, queue, clock, FOLLOW_UP)


# --- asking -------------------------------------------------------------------------------


def test_those_who_went_are_asked_ninety_minutes_after_the_close_and_not_before(
    client, rt, sms, queue, clock, room
):
    helper, decliner = make_volunteer(rt, north_m=200), make_volunteer(rt, north_m=300)
    open_incident(client, room, rt)
    say(client, helper, "YES")
    say(client, decliner, "NO")
    end_incident(client, room, rt)

    wait(rt, queue, clock, FOLLOW_UP - timedelta(minutes=1))
    assert follow_ups_to(sms, helper) == []
    wait(rt, queue, clock, timedelta(minutes=1))

    code = alert_of(rt, helper, "CAD-1").code
    assert follow_ups_to(sms, helper) == [question(helper, code)]
    assert sms.to(helper.phone)[-1] == (
        f"Thank you for helping at alert {code}. Are you OK? Reply 1 if you are fine, "
        "2 if you would like someone to call you."
    )
    assert follow_ups_to(sms, decliner) == []
    alert = alert_of(rt, helper, "CAD-1")
    assert (alert.follow_up, alert.follow_up_asked_at) == ("asked", clock.now())
    assert timeline(rt, "follow_up.asked") == [{"asked": 1, "not_asked": 0}]


def test_the_delay_follows_the_setting(sms, queue, clock, make_app):
    app = make_app(FOLLOW_UP_AFTER_MIN=30)
    client, rt = app.test_client(), app.extensions["dispatcher"]
    room = make_control_room(rt)
    helper = make_volunteer(rt, north_m=200)
    open_incident(client, room, rt)
    say(client, helper, "YES")
    end_incident(client, room, rt)

    wait(rt, queue, clock, timedelta(minutes=30))

    assert len(follow_ups_to(sms, helper)) == 1


def test_everyone_who_went_is_asked_after_a_cancel_too_in_their_own_language(
    client, rt, sms, queue, clock, room
):
    swede, finn = make_volunteer(rt, north_m=200, language="sv"), make_volunteer(
        rt, north_m=300, language="fi")
    open_incident(client, room, rt)
    say(client, swede, "JA")
    say(client, finn, "KYLLÄ")
    end_incident(client, room, rt, how="cancelled")

    wait(rt, queue, clock, FOLLOW_UP)

    assert follow_ups_to(sms, swede) == [question(swede, alert_of(rt, swede, "CAD-1").code)]
    assert sms.to(swede.phone)[-1].startswith("Tack för att du hjälpte till vid larm")
    assert sms.to(finn.phone)[-1].startswith("Kiitos avustasi hälytyksessä")


def test_only_those_who_went_are_asked(sms, queue, clock, make_app):
    app = make_app(TARGET_AED=0)  # one CPR volunteer meets the targets
    client, rt = app.test_client(), app.extensions["dispatcher"]
    room = make_control_room(rt)
    changed_mind, helper, surplus, silent = (make_volunteer(rt, north_m=m)
                                             for m in (200, 300, 400, 500))
    open_incident(client, room, rt)
    say(client, changed_mind, "YES")
    say(client, changed_mind, "NO")  # accepted, then declined: their role is gone
    say(client, helper, "YES")
    say(client, surplus, "YES")  # told enough are going: never had a role
    end_incident(client, room, rt)

    wait(rt, queue, clock, FOLLOW_UP)

    # Went, and was stood down at the close.
    assert alert_of(rt, helper, "CAD-1").state == "stood_down"
    assert len(follow_ups_to(sms, helper)) == 1
    for volunteer in (changed_mind, surplus, silent):
        assert follow_ups_to(sms, volunteer) == []
        assert alert_of(rt, volunteer, "CAD-1").follow_up is None
    assert timeline(rt, "follow_up.asked") == [{"asked": 1, "not_asked": 0}]


def test_nobody_is_asked_after_an_incident_nobody_went_to(client, rt, sms, queue, clock, room):
    silent = make_volunteer(rt, north_m=200)
    open_incident(client, room, rt)
    end_incident(client, room, rt)

    wait(rt, queue, clock, FOLLOW_UP)

    assert queue.named("follow_up") == []
    assert follow_ups_to(sms, silent) == []
    with rt.transaction() as session:
        incident = session.scalars(select(Incident)).one()
        assert (incident.follow_up_at, incident.followed_up_at) == (None, None)


def test_a_volunteer_who_opted_out_since_is_not_asked(client, rt, sms, queue, clock, room):
    helper, other = make_volunteer(rt, north_m=200), make_volunteer(rt, north_m=300)
    open_incident(client, room, rt)
    say(client, helper, "YES")
    say(client, other, "YES")
    end_incident(client, room, rt)
    say(client, helper, "STOP")

    wait(rt, queue, clock, FOLLOW_UP)

    assert follow_ups_to(sms, helper) == []
    assert alert_of(rt, helper, "CAD-1").follow_up is None
    assert alert_of(rt, other, "CAD-1").follow_up == "asked"
    assert timeline(rt, "follow_up.asked") == [{"asked": 1, "not_asked": 1}]


def test_a_repeated_or_early_ring_asks_nobody_again(client, rt, sms, queue, clock, room):
    helper = make_volunteer(rt, north_m=200)
    open_incident(client, room, rt)
    say(client, helper, "YES")
    end_incident(client, room, rt)
    incident_id = queue.named("follow_up")[0].args[0]

    early = followup.ask(rt, incident_id)
    wait(rt, queue, clock, FOLLOW_UP)
    again = followup.ask(rt, incident_id)

    assert (early, again) == (0, 0)
    assert len(follow_ups_to(sms, helper)) == 1
    assert len(timeline(rt, "follow_up.asked")) == 1
    assert followup.ask(rt, 999_999) == 0  # an incident that does not exist


def test_the_sweeper_asks_when_the_doorbell_was_lost_and_the_late_ring_does_nothing(
    client, rt, sms, queue, clock, room
):
    helper = make_volunteer(rt, north_m=200)
    open_incident(client, room, rt)
    say(client, helper, "YES")
    queue.down = True  # the close's doorbells are lost
    end_incident(client, room, rt)
    queue.down = False
    clock.advance(seconds=FOLLOW_UP.total_seconds() + 5)

    found = sweeper.sweep(rt)

    assert found >= 1
    assert len(follow_ups_to(sms, helper)) == 1
    assert [job for job, _ in sweeper.overdue(rt)].count("follow_up") == 0
    assert sweeper.sweep(rt) == 0
    assert len(follow_ups_to(sms, helper)) == 1


def test_the_sweeper_path_and_the_timed_doorbell_ask_only_once(
    client, rt, sms, queue, clock, room
):
    helper = make_volunteer(rt, north_m=200)
    open_incident(client, room, rt)
    say(client, helper, "YES")
    end_incident(client, room, rt)
    clock.advance(seconds=FOLLOW_UP.total_seconds() + 5)

    sweeper.sweep(rt)
    queue.run_due(clock.now())

    assert len(follow_ups_to(sms, helper)) == 1


def test_a_follow_up_overdue_by_more_than_the_answer_window_is_not_sent(
    client, rt, sms, queue, clock, room
):
    helper = make_volunteer(rt, north_m=200)
    open_incident(client, room, rt)
    say(client, helper, "YES")
    end_incident(client, room, rt)
    clock.advance(seconds=(FOLLOW_UP + followup.ANSWER_WINDOW).total_seconds() + 60)

    sweeper.sweep(rt)

    assert follow_ups_to(sms, helper) == []
    assert timeline(rt, "follow_up.skipped") == [{"reason": "overdue"}]
    assert [job for job, _ in sweeper.overdue(rt)] == []


# --- answering ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "body", "state"),
    [
        ("en", "1", "fine"), ("en", "2", "call_me"), ("en", "yes", "fine"),
        ("en", "No.", "call_me"), ("sv", "Ja", "fine"), ("sv", "nej", "call_me"),
        ("nl", "ja!", "fine"), ("nl", "Nee", "call_me"), ("fr", "oui", "fine"),
        ("fr", "NON", "call_me"), ("de", "J", "fine"), ("de", "nein", "call_me"),
        ("fi", "Kyllä", "fine"), ("fi", "kylla", "fine"), ("fi", "EI", "call_me"),
    ],
)
def test_an_answer_is_recorded_and_thanked_in_the_volunteers_language(
    client, rt, sms, queue, clock, room, language, body, state
):
    helper = make_volunteer(rt, north_m=200, language=language)
    went(client, room, rt, queue, clock, helper)
    clock.advance(minutes=20)

    say(client, helper, body)

    alert = alert_of(rt, helper, "CAD-1")
    assert (alert.follow_up, alert.follow_up_answered_at) == (state, clock.now())
    template = "follow_up_fine" if state == "fine" else "follow_up_call"
    assert sms.to(helper.phone)[-1] == render(template, language)
    with rt.transaction() as session:
        inbound = session.scalars(select(Message).where(Message.direction == "in")
                                  .order_by(Message.id.desc())).first()
        assert inbound.alert_id == alert.id


def test_a_call_request_is_flagged_noted_and_logged_without_personal_data(
    client, rt, sms, queue, clock, room, caplog
):
    helper = make_volunteer(rt, north_m=200, name="Astrid Lindqvist")
    went(client, room, rt, queue, clock, helper)

    with caplog.at_level(logging.INFO, logger="dispatcher"):
        say(client, helper, "2")

    assert sms.to(helper.phone)[-1] == (
        "Thank you for telling us. Someone from our team will call you soon. "
        "If it is urgent, call the emergency number."
    )
    assert timeline(rt, "follow_up.call_requested") == [{"ref": helper.ref}]
    with rt.transaction() as session:
        [flag] = followup.open_flags(session)
    assert (flag["ref"], flag["phone"], flag["name"]) == (helper.ref, helper.phone,
                                                          "Astrid Lindqvist")
    assert any("asked for a call" in r.getMessage() for r in caplog.records)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert helper.phone not in logged and "Astrid" not in logged


def test_a_volunteer_who_said_fine_can_still_ask_for_a_call(client, rt, sms, queue, clock, room):
    helper = make_volunteer(rt, north_m=200)
    went(client, room, rt, queue, clock, helper)
    say(client, helper, "1")
    clock.advance(hours=30)

    say(client, helper, "2")

    alert = alert_of(rt, helper, "CAD-1")
    assert (alert.follow_up, alert.follow_up_answered_at) == ("call_me", clock.now())
    assert sms.to(helper.phone)[-1] == render("follow_up_call", "en")
    assert len(timeline(rt, "follow_up.call_requested")) == 1


def test_a_later_1_does_not_withdraw_a_request_for_a_call(client, rt, sms, queue, clock, room):
    helper = make_volunteer(rt, north_m=200)
    went(client, room, rt, queue, clock, helper)
    say(client, helper, "2")
    answered = clock.now()
    clock.advance(minutes=5)

    say(client, helper, "1")
    say(client, helper, "2")  # a repeated 2 is the same request

    alert = alert_of(rt, helper, "CAD-1")
    assert (alert.follow_up, alert.follow_up_answered_at) == ("call_me", answered)
    assert sms.to(helper.phone)[-2:] == [render("follow_up_call", "en")] * 2
    assert len(timeline(rt, "follow_up.call_requested")) == 1


def test_a_2_after_the_call_was_resolved_asks_for_another(client, rt, sms, queue, clock, room):
    helper = make_volunteer(rt, north_m=200)
    went(client, room, rt, queue, clock, helper)
    say(client, helper, "2")
    with rt.transaction() as session:
        flag = followup.resolve(session, alert_of(rt, helper, "CAD-1").id, clock.now())
    clock.advance(hours=2)

    say(client, helper, "1")
    assert sms.to(helper.phone)[-1] == render("follow_up_fine", "en")
    say(client, helper, "2")

    alert = alert_of(rt, helper, "CAD-1")
    assert (alert.follow_up, alert.follow_up_resolved_at) == ("call_me", None)
    with rt.transaction() as session:
        assert [f["id"] for f in followup.open_flags(session)] == [flag["id"]]
    assert len(timeline(rt, "follow_up.call_requested")) == 2


def test_an_answer_after_the_window_is_not_taken(client, rt, sms, queue, clock, room):
    helper = make_volunteer(rt, north_m=200)
    went(client, room, rt, queue, clock, helper)
    clock.advance(seconds=followup.ANSWER_WINDOW.total_seconds() + 60)

    say(client, helper, "2")

    assert alert_of(rt, helper, "CAD-1").follow_up == "asked"
    assert sms.to(helper.phone)[-1] == render("no_open_alert", "en")


def test_an_open_alert_takes_a_yes_before_the_follow_up(
    client, rt, sms, queue, clock, room
):
    helper = make_volunteer(rt, north_m=200)
    went(client, room, rt, queue, clock, helper)
    open_incident(client, room, rt, "CAD-2")

    say(client, helper, "YES")

    assert alert_of(rt, helper, "CAD-2").state == "accepted"
    assert sms.to(helper.phone)[-1].startswith("GO NOW")
    assert alert_of(rt, helper, "CAD-1").follow_up == "asked"
    say(client, helper, "NO")  # a change of mind about the open alert, not a call request
    assert alert_of(rt, helper, "CAD-2").state == "declined"
    assert alert_of(rt, helper, "CAD-1").follow_up == "asked"


def test_an_unanswered_question_takes_a_2_once_the_newer_alert_is_answered(
    client, rt, sms, queue, clock, room
):
    helper = make_volunteer(rt, north_m=200)
    went(client, room, rt, queue, clock, helper)
    open_incident(client, room, rt, "CAD-2")
    say(client, helper, "NO")

    say(client, helper, "2")  # nothing open: a 2 must not be lost

    assert alert_of(rt, helper, "CAD-1").follow_up == "call_me"


def test_an_answered_question_takes_no_answer_meant_for_a_newer_alert(
    client, rt, sms, queue, clock, room
):
    helper = make_volunteer(rt, north_m=200)
    went(client, room, rt, queue, clock, helper)
    say(client, helper, "1")
    open_incident(client, room, rt, "CAD-2")
    say(client, helper, "NO")

    say(client, helper, "NO")

    assert alert_of(rt, helper, "CAD-1").follow_up == "fine"
    assert sms.to(helper.phone)[-1] == render("declined", "en")


def test_a_reference_code_picks_an_older_question(client, rt, sms, queue, clock, room
):
    helper = make_volunteer(rt, north_m=200)
    went(client, room, rt, queue, clock, helper, external_id="CAD-1")
    went(client, room, rt, queue, clock, helper, external_id="CAD-2")
    codes = {alert_of(rt, helper, "CAD-1").id: "4821", alert_of(rt, helper, "CAD-2").id: "1234"}
    with rt.transaction() as session:  # codes are random: make sure these two differ
        for alert_id, code in codes.items():
            session.execute(update(Alert).where(Alert.id == alert_id).values(code=code))

    say(client, helper, "2 4821")

    assert alert_of(rt, helper, "CAD-1").follow_up == "call_me"
    assert alert_of(rt, helper, "CAD-2").follow_up == "asked"


def test_without_a_code_the_newest_question_takes_the_answer(
    client, rt, sms, queue, clock, room
):
    helper = make_volunteer(rt, north_m=200)
    went(client, room, rt, queue, clock, helper, external_id="CAD-1")
    went(client, room, rt, queue, clock, helper, external_id="CAD-2")

    say(client, helper, "2")

    assert alert_of(rt, helper, "CAD-1").follow_up == "asked"
    assert alert_of(rt, helper, "CAD-2").follow_up == "call_me"


def test_an_opted_out_volunteer_cannot_answer(client, rt, sms, queue, clock, room):
    helper = make_volunteer(rt, north_m=200)
    went(client, room, rt, queue, clock, helper)
    say(client, helper, "STOP")
    sent = len(sms.sent)

    say(client, helper, "2")

    assert alert_of(rt, helper, "CAD-1").follow_up == "asked"
    assert len(sms.sent) == sent


# --- flags --------------------------------------------------------------------------------


def test_flags_list_open_resolved_or_all_newest_answer_first(client, rt, queue, clock, room):
    first, second = make_volunteer(rt, north_m=200), make_volunteer(rt, north_m=300)
    fine = make_volunteer(rt, north_m=400)
    went(client, room, rt, queue, clock, first, second, fine)
    say(client, first, "2")
    clock.advance(minutes=1)
    say(client, second, "2")
    say(client, fine, "1")
    with rt.transaction() as session:
        followup.resolve(session, alert_of(rt, first, "CAD-1").id, clock.now())

    with rt.transaction() as session:
        listed = {state: [f["ref"] for f in followup.flags(session, state)]
                  for state in followup.STATES}
        assert [f["ref"] for f in followup.flags(session, "all", limit=1)] == [second.ref]

    assert listed == {"open": [second.ref], "resolved": [first.ref],
                      "all": [second.ref, first.ref]}


@pytest.mark.parametrize(("state", "limit", "field"), [
    ("closed", 10, "state"), ("", 10, "state"), ("open", 0, "limit"), ("open", "ten", "limit"),
    ("open", followup.MAX_LIMIT + 1, "limit"), ("open", None, "limit"),
])
def test_flags_refuse_an_unknown_state_or_a_bad_limit(rt, state, limit, field):
    with rt.transaction() as session, pytest.raises(InvalidPayload) as raised:
        followup.flags(session, state, limit)

    assert field in raised.value.fields


@pytest.mark.parametrize("flag_id", ["0", "-1", "abc", "1.5", "99999999999999999999", "٣"])
def test_resolving_something_that_is_not_a_flag_id_is_unknown(rt, flag_id):
    with rt.transaction() as session, pytest.raises(UnknownFollowUp):
        followup.resolve(session, flag_id, rt.clock.now())


def test_only_a_request_for_a_call_can_be_resolved(client, rt, queue, clock, room):
    helper = make_volunteer(rt, north_m=200)
    went(client, room, rt, queue, clock, helper)
    say(client, helper, "1")

    with rt.transaction() as session, pytest.raises(UnknownFollowUp):
        followup.resolve(session, alert_of(rt, helper, "CAD-1").id, clock.now())


def test_resolving_twice_keeps_the_first_time_and_notes_it_once(client, rt, queue, clock, room):
    helper = make_volunteer(rt, north_m=200)
    went(client, room, rt, queue, clock, helper)
    say(client, helper, "2")
    flag_id = alert_of(rt, helper, "CAD-1").id
    with rt.transaction() as session:
        first = followup.resolve(session, flag_id, clock.now(), by="coordinators")
    clock.advance(minutes=3)

    with rt.transaction() as session:
        second = followup.resolve(session, str(flag_id), clock.now())

    assert first == second
    assert first["state"] == "resolved"
    assert timeline(rt, "follow_up.resolved") == [{"ref": helper.ref, "by": "coordinators"}]
