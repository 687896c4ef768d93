"""Outgoing messages: claimed one sender at a time, sent concurrently, never handed over twice."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from dispatcher.messaging import outbound, sending
from dispatcher.sms import ProviderMessage
from dispatcher.store.models import Message
from tests.builders import make_volunteer


class CountingSender:
    """An SMS port that notes, at each send, how many messages are claimed and unanswered."""

    name = "counting"

    def __init__(self, rt):
        self.rt = rt
        self.claimed_at_send: list[int] = []
        self.sent: list[str] = []
        self._lock = threading.Lock()

    def send(self, to, body, *, status_callback=None):
        """Count the claimed messages, then accept."""
        with self.rt.transaction() as session:
            claimed = session.scalar(
                select(func.count()).where(Message.status == "sending", Message.sid.is_(None))
            )
        with self._lock:
            self.claimed_at_send.append(claimed)
            self.sent.append(to)
            return ProviderMessage(sid=f"SMcount{len(self.sent):026d}", status="queued")


def queue_many(rt, queue, count: int) -> list[int]:
    """Write `count` messages to as many volunteers with their doorbells lost; return the ids."""
    volunteers = [make_volunteer(rt, north_m=10 * (i + 1)) for i in range(count)]
    queue.down = True
    with rt.transaction() as session:
        ids = [outbound.queue_message(rt, session, v, "Hello", purpose="reply").id
               for v in volunteers]
    queue.down = False
    return ids


def test_no_more_messages_are_claimed_than_there_are_senders(make_app, queue):
    app = make_app(SEND_CONCURRENCY=3)
    rt = app.extensions["dispatcher"]
    ids = queue_many(rt, queue, 10)
    rt.sms = sender = CountingSender(rt)

    assert sending.deliver(rt, ids) == []

    assert len(sender.sent) == 10
    assert max(sender.claimed_at_send) <= 3


class MeetingSender:
    """An SMS port whose sends succeed only when `width` of them are under way together."""

    name = "meeting"

    def __init__(self, width: int):
        self.meeting = threading.Barrier(width)

    def send(self, to, body, *, status_callback=None):
        """Wait for the other sends (a broken meeting fails this one), then accept."""
        self.meeting.wait(timeout=10)
        return ProviderMessage(sid=f"SMmeet{to[1:]:>026}", status="queued")


def test_sends_are_with_the_provider_together_up_to_the_concurrency(make_app, queue):
    app = make_app(SEND_CONCURRENCY=4)
    rt = app.extensions["dispatcher"]
    ids = queue_many(rt, queue, 8)
    rt.sms = MeetingSender(4)

    assert sending.deliver(rt, ids) == []  # two rounds of four, each met in full


def test_a_message_already_claimed_elsewhere_is_left_to_its_claimer(rt, sms, queue):
    [message_id] = queue_many(rt, queue, 1)
    [claimed] = sending.claim(rt, [message_id])

    assert sending.deliver(rt, [message_id]) == []
    assert sending.claim(rt, [message_id]) == []
    assert sms.sent == [] and claimed.status == "sending"


def test_a_message_to_a_number_marked_invalid_is_not_written(rt, queue):
    volunteer = make_volunteer(rt, north_m=10, status="invalid_number")

    with rt.transaction() as session:
        message = outbound.queue_message(rt, session, volunteer, "Hello", purpose="reply")

    assert message is None
