"""Messages that do not get through: held in an outage, retried, or their volunteer replaced.

An outage of the provider never marks a volunteer, never spends the search, and never makes
an incident `no_responders`; the briefing after YES is retried and, if it never gets
through, its volunteer is withdrawn and the next asked; each provider code is handled as the
table in `dispatcher.sms.codes` says.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dispatcher.incidents import undelivered
from dispatcher.jobs import sweeper
from dispatcher.messaging import outbound
from dispatcher.sms.failures import refusal
from dispatcher.sms.fake import RecordingSender
from dispatcher.store.models import Alert, Message, Responder
from tests.builders import (
    alert_of,
    make_volunteer,
    open_incident,
    say,
    status_of,
)

pytestmark = pytest.mark.usefixtures("twilio_hooks")
OUTAGE = refusal(None, 503)  # every call answered 503: Twilio is down


@pytest.fixture
def settings(settings):
    """Small waves; one CPR and no AED runner are enough."""
    settings.update(WAVE_SIZE=3, TARGET_CPR=1, TARGET_AED=0)
    return settings


@pytest.fixture
def five(rt):
    """Five volunteers near the incident, nearest first."""
    return [make_volunteer(rt, north_m=100 * (n + 1)) for n in range(5)]


def run_for(rt, clock, queue, seconds: int, step: int = 5) -> None:
    """Let time pass in steps, running the timed jobs and the sweeper as a consumer would."""
    for _ in range(seconds // step):
        clock.advance(seconds=step)
        queue.run_due(clock.now())
        sweeper.sweep(rt)


def states(rt) -> dict[int, str]:
    """Return each volunteer's alert state."""
    with rt.transaction() as session:
        return dict(session.execute(select(Alert.responder_id, Alert.state)).all())


def statuses(rt) -> set[str]:
    """Return the volunteers' statuses."""
    with rt.transaction() as session:
        return set(session.scalars(select(Responder.status)))


def test_a_two_minute_outage_spends_nobody_and_the_alerts_go_when_it_ends(
    client, rt, sms, clock, queue, room, five
):
    sms.down = OUTAGE

    open_incident(client, room, rt)
    run_for(rt, clock, queue, 120)

    assert set(states(rt).values()) <= {"pending"}
    assert statuses(rt) == {"active"}
    status = status_of(client, room)
    assert status["dispatch"]["status"] == "alerting"
    assert "wave.held" in [e["event"] for e in status["timeline"]]
    assert sms.sent == []

    sms.down = None
    for _ in range(16):  # the next probe is at most the breaker's longest wait away
        if len(sms.sent) >= 3:
            break
        run_for(rt, clock, queue, 5)

    assert sorted(m.to for m in sms.sent[:3]) == sorted(v.phone for v in five[:3])
    assert all(len(sms.to(v.phone)) == 1 for v in five[:3])  # each alert once
    assert statuses(rt) == {"active"}
    assert status_of(client, room)["dispatch"]["status"] == "alerting"


def test_an_account_error_opens_the_breaker_at_once_and_marks_nobody(
    client, rt, sms, clock, queue, room, five
):
    sms.down = refusal(20003, 401)

    open_incident(client, room, rt)

    assert len(sms.tried) == 1  # the first refusal held every other send
    assert statuses(rt) == {"active"}
    assert set(states(rt).values()) == {"pending"}
    sms.down = None
    run_for(rt, clock, queue, 10)
    assert len({m.to for m in sms.sent}) == 3


class TestWithASecondProvider:
    """With a second provider configured, alerts go out through it during the outage."""

    @pytest.fixture
    def failover(self):
        """The second provider, recording what it sends."""
        return RecordingSender(name="second")

    def test_alerts_go_through_the_second_provider_while_the_first_is_down(
        self, client, rt, sms, failover, clock, queue, room, five
    ):
        sms.down = OUTAGE

        open_incident(client, room, rt)
        run_for(rt, clock, queue, 10)

        assert sorted({m.to for m in failover.sent}) == sorted(v.phone for v in five[:3])
        assert statuses(rt) == {"active"}
        with rt.transaction() as session:
            providers = set(session.scalars(
                select(Message.provider).where(Message.sid.is_not(None))))
        assert providers == {"second"}


def test_a_briefing_refused_with_503_is_retried_and_delivered(
    client, rt, sms, clock, queue, room, five
):
    open_incident(client, room, rt)
    going = five[0]
    sms.failures[going.phone] = refusal(None, 503)
    say(client, going, "YES")
    assert alert_of(rt, going).state == "accepted"
    briefings = lambda: [b for b in sms.to(going.phone) if "Drottninggatan" in b]  # noqa: E731
    assert briefings() == []

    del sms.failures[going.phone]
    run_for(rt, clock, queue, 10)

    assert len(briefings()) == 1
    assert alert_of(rt, going).state == "accepted"


def test_a_briefing_that_never_gets_through_withdraws_the_volunteer_and_asks_the_next(
    client, rt, sms, clock, queue, poster, room, five
):
    open_incident(client, room, rt)
    going = five[0]
    sms.failures[going.phone] = refusal(None, 503)
    say(client, going, "YES")

    run_for(rt, clock, queue, 70)

    assert alert_of(rt, going).state == "declined"
    asked_next = states(rt).get(five[3].id)
    assert asked_next in ("pending", "sent", "delivered")
    timeline = status_of(client, room)["timeline"]
    [withdrawn] = [e for e in timeline if e["event"] == "responder.withdrawn"]
    assert withdrawn["detail"]["reason"] == "briefing undeliverable"
    assert statuses(rt) == {"active"}  # a transient failure marks nobody


@pytest.mark.parametrize("code, marked", [
    (30005, "invalid_number"), (30006, "invalid_number"), (21211, "invalid_number"),
    (21614, "invalid_number"), (21610, "opted_out"),
])
def test_a_fault_of_the_number_marks_the_volunteer_and_asks_the_next_without_a_retry(
    client, rt, sms, room, five, code, marked
):
    bad = five[0]
    sms.failures[bad.phone] = refusal(code, 400)

    open_incident(client, room, rt)

    assert sms.tried.count(bad.phone) == 1
    assert alert_of(rt, bad).state == "failed"
    with rt.transaction() as session:
        assert session.get(Responder, bad.id).status == marked
    assert states(rt).get(five[3].id) in ("pending", "sent", "delivered")


def test_a_transient_handset_error_is_tried_once_more_then_the_next_is_asked(
    client, rt, sms, room, five
):
    away = five[0]
    sms.failures[away.phone] = refusal(30003, 400)

    open_incident(client, room, rt)

    assert sms.tried.count(away.phone) == 2
    assert alert_of(rt, away).state == "failed"
    with rt.transaction() as session:
        assert session.get(Responder, away.id).status == "active"
    assert states(rt).get(five[3].id) in ("pending", "sent", "delivered")


def test_a_second_briefing_text_that_fails_is_retried_and_never_withdraws_the_volunteer(
    client, rt, sms, clock, queue, room, five
):
    open_incident(client, room, rt)
    going = five[0]
    say(client, going, "YES")  # the first text, with the address, got through
    with rt.transaction() as session:
        alert = session.scalars(select(Alert).where(Alert.responder_id == going.id)).one()
        more = outbound.queue_message(rt, session, alert.responder, "Map: ...",
                                      purpose="details_more", alert=alert)
        more_id = more.id
    clock.advance(seconds=70)  # past the briefing's deadline

    undelivered.after_failure(rt, more_id, None, "transient")

    assert alert_of(rt, going).state == "accepted"
    with rt.transaction() as session:  # reported undelivered after it was sent: sent anew
        again = session.scalars(select(Message).where(
            Message.purpose == "details_more", Message.id != more_id)).one()
        assert (again.status, again.attempts, again.body) == ("queued", 1, "Map: ...")
