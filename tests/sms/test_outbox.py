"""The embedded outbox provider and the recording fake: both honour the SMS port."""

from __future__ import annotations

import pytest

from dispatcher.errors import SmsSendError
from dispatcher.sms import ProviderMessage, address_for
from dispatcher.sms.fake import RecordingSender, SentSms
from dispatcher.sms.outbox import OutboxSender


def test_the_outbox_delivers_every_message_at_once_with_a_unique_sid():
    outbox = OutboxSender()

    results = [outbox.send("+46701234567", f"message {i}") for i in range(200)]

    assert outbox.name == "outbox"
    assert all(isinstance(r, ProviderMessage) for r in results)
    assert {r.status for r in results} == {"delivered"}
    assert len({r.sid for r in results}) == 200
    assert all(r.sid.startswith("OB") and len(r.sid) <= 64 for r in results)


def test_two_outboxes_never_hand_out_the_same_sid():
    # Several processes each build their own sender; the sid column is unique across them.
    a, b = OutboxSender(), OutboxSender()

    sids = {a.send("+46701234567", "x").sid for _ in range(50)}
    sids |= {b.send("+46701234567", "x").sid for _ in range(50)}

    assert len(sids) == 100


def test_the_recording_sender_keeps_each_message_in_order():
    fake = RecordingSender()

    first = fake.send("+46701234567", "one", status_callback="https://x/sms/status")
    second = fake.send("whatsapp:+46701234567", "two")
    third = fake.send("+46701234567", "three")

    assert fake.sent == [
        SentSms("+46701234567", "one", first.sid),
        SentSms("whatsapp:+46701234567", "two", second.sid),
        SentSms("+46701234567", "three", third.sid),
    ]
    assert len({first.sid, second.sid, third.sid}) == 3
    assert first.status == "queued"
    assert fake.to("+46701234567") == ["one", "three"]
    assert fake.to("+46709999999") == []


def test_the_recording_sender_forgets_what_it_sent_when_cleared():
    fake = RecordingSender()
    fake.send("+46701234567", "one")

    fake.clear()

    assert fake.sent == []


@pytest.mark.parametrize("permanent", [True, False])
def test_the_recording_sender_raises_the_failure_set_for_an_address_and_records_nothing(
    permanent,
):
    fake = RecordingSender()
    failure = SmsSendError("refused", provider_code=21610 if permanent else 30003,
                           permanent=permanent)
    fake.failures["+46701234567"] = failure

    with pytest.raises(SmsSendError) as raised:
        fake.send("+46701234567", "one")
    other = fake.send("+46707654321", "two")

    assert raised.value is failure
    assert [m.to for m in fake.sent] == ["+46707654321"]
    assert other.sid == fake.sent[0].sid


def test_separate_fakes_do_not_share_what_they_sent():
    a, b = RecordingSender(), RecordingSender()

    a.send("+46701234567", "one")

    assert b.sent == [] and b.failures == {}


@pytest.mark.parametrize(
    ("phone", "channel", "address"),
    [
        ("+46701234567", "sms", "+46701234567"),
        ("+46701234567", "whatsapp", "whatsapp:+46701234567"),
    ],
)
def test_an_address_is_qualified_by_its_channel_except_plain_sms(phone, channel, address):
    assert address_for(phone, channel) == address
