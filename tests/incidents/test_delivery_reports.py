"""Delivery reports are stored first and applied once by the `report` job, in RANK order.

Each app here alerts one volunteer per wave; the recording queue is taken down while reports
arrive when a test wants them stored and not yet applied.
"""

from __future__ import annotations

import logging
from itertools import permutations

import pytest
from sqlalchemy import select

from dispatcher.incidents import delivery
from dispatcher.jobs import sweeper, tasks
from dispatcher.store.models import Message
from dispatcher.store.reports import DeliveryReport
from tests.builders import alert_states, count_rows, create_incident, make_volunteer, status_report

pytestmark = pytest.mark.usefixtures("twilio_hooks")


@pytest.fixture(autouse=True)
def _one_per_wave(settings):
    settings.update(WAVE_SIZE=1, INBOUND_RETRY_S=10, SEND_LEASE_S=30, SWEEP_INTERVAL_S=5)


@pytest.fixture
def first(rt):
    """The volunteer nearest to the incident."""
    return make_volunteer(rt, north_m=200)


@pytest.fixture
def second(rt):
    """The next nearest, texted only in someone's place."""
    return make_volunteer(rt, north_m=400)


@pytest.fixture
def alert_sid(client, rt, sms, room, first, second):
    """Open an incident; return the provider's id of the alert texted to the first volunteer."""
    assert create_incident(client, room, rt).status_code < 300
    [alerted] = sms.sent
    return alerted.sid


def stored(client, rt, queue, reports: list[tuple]) -> list[int]:
    """Post reports while no doorbell rings; return the ids they were stored under."""
    queue.down = True
    for report in reports:
        assert status_report(client, *report).status_code == 200
    queue.down = False
    return [row.id for row in report_rows(rt)]


def report_rows(rt) -> list[DeliveryReport]:
    """Return every stored report, oldest first."""
    with rt.transaction() as session:
        return list(session.scalars(select(DeliveryReport).order_by(DeliveryReport.id)))


def message_status(rt, sid: str) -> str:
    """Return the status of the message with this provider id."""
    with rt.transaction() as session:
        return session.scalar(select(Message.status).where(Message.sid == sid))


@pytest.mark.parametrize("order", list(permutations(range(3))), ids=str)
def test_reports_stored_out_of_order_end_in_the_state_of_the_furthest_whatever_order_applied(
    client, rt, queue, first, alert_sid, order
):
    ids = stored(client, rt, queue, [(alert_sid, "delivered"), (alert_sid, "queued"),
                                 (alert_sid, "sent")])
    run = tasks.runner(rt)

    applied = {ids[i]: run("report", (ids[i],)) for i in order}

    assert message_status(rt, alert_sid) == "delivered"
    assert alert_states(rt)[first.phone] == "delivered"
    assert applied[ids[0]] is True  # delivered moved the message on, whenever it came
    assert all(r.processed_at is not None for r in report_rows(rt))


def test_reports_whose_doorbells_were_lost_are_applied_by_the_sweeper(
    client, rt, queue, clock, first, alert_sid
):
    stored(client, rt, queue, [(alert_sid, "delivered"), (alert_sid, "sent")])
    assert sweeper.sweep(rt) == 0

    clock.advance(seconds=5)

    assert sweeper.sweep(rt) == 2
    assert message_status(rt, alert_sid) == "delivered"
    assert alert_states(rt)[first.phone] == "delivered"
    assert sweeper.sweep(rt) == 0


def test_a_failure_report_applied_by_the_sweeper_still_retries_the_alert(
    client, rt, sms, queue, clock, first, second, alert_sid
):
    stored(client, rt, queue, [(alert_sid, "undelivered", 30003)])
    assert len(sms.to(first.phone)) == 1

    clock.advance(seconds=5)
    sweeper.sweep(rt)

    assert message_status(rt, alert_sid) == "undelivered"
    assert len(sms.to(first.phone)) == 2  # the one retry
    assert sms.to(second.phone) == []


def test_the_same_report_twice_is_stored_and_applied_once(client, rt, sms, first, alert_sid):
    for _ in range(2):
        assert status_report(client, alert_sid, "undelivered", 30003).status_code == 200

    assert count_rows(rt, DeliveryReport) == 1
    assert len(sms.to(first.phone)) == 2  # the alert and one retry, not two


def test_a_report_that_comes_before_its_sid_is_recorded_is_applied_when_tried_again(
    client, rt, clock, first, alert_sid
):
    assert status_report(client, "SMearly", "delivered").status_code == 200
    [report] = report_rows(rt)
    assert (report.processed_at, report.attempts) == (None, 1)
    with rt.transaction() as session:  # the send is recorded now
        session.scalars(select(Message).where(Message.sid == alert_sid)).one().sid = "SMearly"

    clock.advance(seconds=10)
    assert sweeper.sweep(rt) == 1

    assert message_status(rt, "SMearly") == "delivered"
    assert alert_states(rt)[first.phone] == "delivered"


def test_a_report_for_a_sid_never_recorded_is_ignored_once_the_send_lease_has_passed(
    client, rt, clock, caplog, alert_sid
):
    caplog.set_level(logging.INFO)
    status_report(client, "SMnever", "delivered")

    for _ in range(5):
        clock.advance(seconds=10)
        sweeper.sweep(rt)

    [report] = report_rows(rt)
    assert report.processed_at is not None and report.gave_up_at is None
    assert report.attempts == 3  # at 0, 10 and 30 seconds: then the lease had passed
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("word", ["exploded", "", "received"])
def test_a_report_with_a_word_we_do_not_know_is_not_stored(client, rt, alert_sid, word):
    assert status_report(client, alert_sid, word).status_code == 200

    assert count_rows(rt, DeliveryReport) == 0
    assert delivery.receive_status(rt, alert_sid, word, None) is False
