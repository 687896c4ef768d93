"""Inbound SMS are stored first and acted on once by the `reply` job (store.inbox).

A failure to act leaves the message for the sweeper, which rings again once its next attempt
is due (the wait doubling), until it is given up; a second ring, even at the same moment from
another thread, does nothing. The failure is injected through the routing table: the handler
of HELP raises as often as a test says.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import select

from dispatcher.conversation import inbound
from dispatcher.domain.templates import render
from dispatcher.jobs import sweeper, tasks
from dispatcher.store import inbox
from dispatcher.store.models import Message
from tests.builders import make_volunteer, sms_from

pytestmark = pytest.mark.usefixtures("twilio_hooks")


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.update(INBOUND_RETRY_S=10, INBOUND_MAX_ATTEMPTS=3, SWEEP_INTERVAL_S=5)


@pytest.fixture
def failing_help(monkeypatch):
    """Make the handler of HELP raise the first `times` times it runs; return its counter."""
    calls = {"runs": 0, "times": 0}
    real = inbound.ROUTES["help"]

    def flaky(rt, session, responder, reply, record):
        calls["runs"] += 1
        if calls["runs"] <= calls["times"]:
            raise RuntimeError("the help handler broke")
        return real(rt, session, responder, reply, record)

    monkeypatch.setitem(inbound.ROUTES, "help", flaky)
    return calls


def inbound_row(rt, sid: str) -> Message:
    """Return the inbound message stored under a MessageSid."""
    with rt.transaction() as session:
        return session.scalars(select(Message).where(Message.sid == sid)).one()


def together(count: int, work) -> list:
    """Run `work()` in `count` threads released at the same moment; return their results."""
    barrier = threading.Barrier(count)
    results: list = []
    errors: list[BaseException] = []

    def run():
        try:
            barrier.wait(timeout=10)
            results.append(work())
        except BaseException as exc:  # noqa: BLE001 - reported in the test's own thread
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a thread never finished"
    assert not errors, errors
    return results


def test_a_text_whose_processing_fails_is_stored_answered_and_processed_later_by_the_sweeper(
    client, rt, sms, clock, failing_help
):
    volunteer = make_volunteer(rt, north_m=100)
    failing_help["times"] = 1

    response = sms_from(client, volunteer, "HELP", sid="SMfails-once")

    assert response.status_code == 200
    row = inbound_row(rt, "SMfails-once")
    assert (row.processed_at, row.attempts, row.body) == (None, 1, "HELP")
    assert row.next_attempt_at == clock.now() + timedelta(seconds=10)
    assert sms.sent == []
    assert sweeper.sweep(rt) == 0  # its next attempt is not due yet

    clock.advance(seconds=10)

    assert sweeper.sweep(rt) == 1
    assert inbound_row(rt, "SMfails-once").processed_at == clock.now()
    assert sms.to(volunteer.phone) == [render("help", "en")]
    clock.advance(minutes=5)
    assert sweeper.sweep(rt) == 0  # processed: never again
    assert len(sms.sent) == 1


def test_a_text_whose_doorbell_was_lost_is_processed_after_one_sweep_interval(
    client, rt, sms, clock, queue
):
    volunteer = make_volunteer(rt, north_m=100)
    queue.down = True
    assert sms_from(client, volunteer, "HELP", sid="SMno-bell").status_code == 200
    queue.down = False
    assert inbound_row(rt, "SMno-bell").attempts == 0
    assert sweeper.sweep(rt) == 0  # just stored: its doorbell may still be on its way

    clock.advance(seconds=5)

    assert sweeper.sweep(rt) == 1
    assert sms.to(volunteer.phone) == [render("help", "en")]


def test_each_failure_doubles_the_wait_and_the_last_gives_the_text_up_with_an_error(
    client, rt, sms, clock, failing_help, caplog
):
    volunteer = make_volunteer(rt, north_m=100)
    failing_help["times"] = 99
    caplog.set_level(logging.INFO)
    sms_from(client, volunteer, "HELP", sid="SMalways-fails")
    message_id = inbound_row(rt, "SMalways-fails").id

    waits = []
    for _ in range(2):
        row = inbound_row(rt, "SMalways-fails")
        waits.append(row.next_attempt_at - clock.now())
        clock.set(row.next_attempt_at)
        assert sweeper.sweep(rt) == 1

    assert waits == [timedelta(seconds=10), timedelta(seconds=20)]
    row = inbound_row(rt, "SMalways-fails")
    assert (row.attempts, row.processed_at, row.gave_up_at) == (3, None, clock.now())
    [gave_up] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert gave_up.getMessage() == (
        f"messages {message_id} given up after 3 failed attempts; it will not be processed")
    assert volunteer.phone not in caplog.text and "HELP" not in caplog.text
    clock.advance(hours=1)
    assert sweeper.sweep(rt) == 0
    assert inbound.process(rt, message_id) is False  # a stray ring changes nothing either
    assert failing_help["runs"] == 3 and sms.sent == []


def test_a_text_whose_worker_died_is_tried_again_and_counted(client, rt, sms, clock, queue):
    volunteer = make_volunteer(rt, north_m=100)
    queue.down = True
    sms_from(client, volunteer, "HELP", sid="SMworker-died")
    queue.down = False
    message_id = inbound_row(rt, "SMworker-died").id
    with rt.transaction() as session:  # a worker claimed it and was killed
        assert inbox.claim(session, Message, message_id, clock.now(), rt.settings.inbound) == 1
    clock.advance(seconds=9)
    assert sweeper.sweep(rt) == 0  # it may still be at work

    clock.advance(seconds=1)

    assert sweeper.sweep(rt) == 1
    row = inbound_row(rt, "SMworker-died")
    assert (row.attempts, row.processed_at) == (2, clock.now())
    assert sms.to(volunteer.phone) == [render("help", "en")]


def test_a_text_whose_last_worker_died_is_given_up_when_next_rung(
    client, rt, sms, clock, queue, caplog
):
    volunteer = make_volunteer(rt, north_m=100)
    queue.down = True
    sms_from(client, volunteer, "HELP", sid="SMlast-died")
    queue.down = False
    message_id = inbound_row(rt, "SMlast-died").id
    for _ in range(3):
        with rt.transaction() as session:
            assert inbox.claim(session, Message, message_id, clock.now(), rt.settings.inbound)
        clock.advance(minutes=5)

    assert sweeper.sweep(rt) == 1

    assert inbound_row(rt, "SMlast-died").gave_up_at == clock.now()
    assert f"messages {message_id} given up after 3 failed attempts" in caplog.text
    assert sms.sent == []


def test_two_rings_at_once_process_a_text_once(client, rt, sms, queue):
    volunteer = make_volunteer(rt, north_m=100)
    run = tasks.runner(rt)
    for round_ in range(5):
        queue.down = True
        sms_from(client, volunteer, "HELP", sid=f"SMtwice-{round_}")
        queue.down = False
        message_id = inbound_row(rt, f"SMtwice-{round_}").id

        done = together(2, lambda message_id=message_id: run("reply", (message_id,)))

        assert sorted(done) == [False, True], f"round {round_}"
        assert inbound_row(rt, f"SMtwice-{round_}").attempts == 1
        assert len(sms.to(volunteer.phone)) == round_ + 1


def test_the_same_message_sid_posted_twice_at_once_is_stored_and_processed_once(
    client, rt, sms, queue
):
    volunteer = make_volunteer(rt, north_m=100)
    queue.down = True
    kept = together(2, lambda: inbound.receive(
        rt, sid="SMposted-twice", address=volunteer.phone, body="HELP", provider="twilio"))
    queue.down = False

    assert sorted(kept) == [False, True]
    assert sweeper.sweep(rt, tasks.runner(rt)) == 0
    rt.clock.advance(seconds=5)
    assert sweeper.sweep(rt) == 1
    assert sms.to(volunteer.phone) == [render("help", "en")]


def test_a_text_processed_between_a_claim_and_its_lock_is_not_processed_again(
    client, rt, sms, clock, queue
):
    volunteer = make_volunteer(rt, north_m=100)
    queue.down = True
    sms_from(client, volunteer, "HELP", sid="SMslow-worker")
    queue.down = False
    message_id = inbound_row(rt, "SMslow-worker").id
    opened, ran = [], []

    @contextmanager
    def meddled():
        """The rt's transactions; before the second, another worker applies the text."""
        opened.append(1)
        if len(opened) == 2:  # claimed: a worker whose claim outlived its wait finishes first
            with rt.transaction() as session:
                session.get(Message, message_id).processed_at = clock.now()
        with rt.transaction() as session:
            yield session

    done = inbox.process_once(meddled, clock.now, rt.settings.inbound, Message, message_id,
                              lambda session, row: ran.append(row.id))

    assert done is inbox.SKIPPED and ran == []
    assert inbound_row(rt, "SMslow-worker").gave_up_at is None
