"""The sweeper rings again for messages whose doorbell was lost or whose worker died."""

from __future__ import annotations

import pytest

from dispatcher.jobs import sweeper, tasks
from dispatcher.messaging import outbound
from dispatcher.store.models import Message
from tests.builders import make_volunteer


@pytest.fixture(autouse=True)
def _short_lease(settings):
    settings.update(SEND_LEASE_S=30, SWEEP_INTERVAL_S=5)


def queued(rt, queue, body="Hello"):
    """Write one outgoing message to a new volunteer with its doorbell lost; return its id."""
    volunteer = make_volunteer(rt, north_m=100)
    queue.down = True
    with rt.transaction() as session:
        message = outbound.queue_message(rt, session, volunteer, body, purpose="reply")
    queue.down = False
    return message.id


def set_row(rt, message_id, **values):
    """Change a message row as a worker would have left it."""
    with rt.transaction() as session:
        row = session.get(Message, message_id)
        for key, value in values.items():
            setattr(row, key, value)


def row(rt, message_id) -> Message:
    """Return a message row as stored now."""
    with rt.transaction() as session:
        return session.get(Message, message_id)


def test_a_queued_message_whose_doorbell_was_lost_is_sent_once_a_lease_has_passed(
    rt, sms, queue, clock
):
    lease = rt.settings.sending.lease
    message_id = queued(rt, queue)
    assert sweeper.sweep(rt) == 0  # just queued: its doorbell may still be on its way
    clock.advance(seconds=lease.total_seconds() - 1)
    assert sweeper.sweep(rt) == 0  # a running fan-out may still claim it

    clock.advance(seconds=1)

    assert sweeper.sweep(rt) == 1
    assert [(j.job, j.args) for j in queue.named("deliver")] == [("deliver", ([message_id],))]
    assert row(rt, message_id).status == "sent" and len(sms.sent) == 1


def test_a_claim_outliving_its_lease_without_a_provider_id_is_sent_again(rt, sms, queue, clock):
    message_id = queued(rt, queue)
    set_row(rt, message_id, status="sending", updated_at=clock.now())  # its worker died
    clock.advance(seconds=rt.settings.sending.lease.total_seconds() - 1)
    assert sweeper.sweep(rt) == 0  # within the lease the worker may still be sending

    clock.advance(seconds=1)

    assert sweeper.sweep(rt) == 1
    assert row(rt, message_id).status == "sent"
    assert [m.sid for m in sms.sent] == [row(rt, message_id).sid]


def test_a_message_with_a_provider_id_is_never_sent_again_however_old_its_claim(
    rt, sms, queue, clock
):
    message_id = queued(rt, queue)
    set_row(rt, message_id, status="sending", sid="SMtaken", updated_at=clock.now())
    clock.advance(hours=1)

    assert sweeper.sweep(rt) == 0
    tasks.runner(rt)("deliver", ([message_id],))  # a stray doorbell changes nothing either

    assert sms.sent == []
    assert (row(rt, message_id).status, row(rt, message_id).sid) == ("sending", "SMtaken")


def test_a_cancelled_message_is_never_swept(rt, sms, queue, clock):
    message_id = queued(rt, queue)
    set_row(rt, message_id, status="cancelled")
    clock.advance(minutes=5)

    assert sweeper.sweep(rt) == 0
    assert sms.sent == []


def test_when_the_queue_cannot_be_reached_the_sweeper_runs_the_job_itself(
    rt, sms, queue, clock
):
    message_id = queued(rt, queue)
    clock.advance(seconds=rt.settings.sending.lease.total_seconds())
    queue.down = True

    assert sweeper.sweep(rt, tasks.runner(rt)) == 1

    assert queue.named("deliver") == []
    assert row(rt, message_id).status == "sent" and len(sms.sent) == 1


def test_the_sweeper_thread_stops_when_asked(rt):
    thread = sweeper.Sweeper(rt, every_s=60)
    thread.start()

    thread.stop()

    assert not thread._thread.is_alive()
