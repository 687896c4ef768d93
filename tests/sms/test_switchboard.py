"""The switchboard and its breakers: when a provider counts as down, probes, and failover."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatcher.clock import FixedClock
from dispatcher.sms.failures import refusal
from dispatcher.sms.fake import RecordingSender
from dispatcher.sms.switchboard import ProvidersDown, Switchboard

START = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
NUMBERS = [f"+4670000{n:04d}" for n in range(20)]


@pytest.fixture
def clock():
    """A clock the test moves."""
    return FixedClock(START)


def board(clock, primary, secondary=None) -> Switchboard:
    """Return a switchboard with a 2 s first probe, doubling to 16 s."""
    return Switchboard(primary, secondary, clock=clock, first_wait=timedelta(seconds=2),
                       max_wait=timedelta(seconds=16))


def failures(switchboard: Switchboard, numbers) -> int:
    """Send to each number, counting the sends that raised."""
    failed = 0
    for number in numbers:
        try:
            switchboard.send(number, "hello")
        except Exception:  # noqa: BLE001 - counting every failure is the point
            failed += 1
    return failed


def test_an_account_error_opens_the_breaker_at_once(clock):
    primary = RecordingSender(down=refusal(20003, 401))
    switchboard = board(clock, primary)

    failures(switchboard, NUMBERS[:3])

    assert primary.tried == NUMBERS[:1]
    assert switchboard.holding()
    with pytest.raises(ProvidersDown):
        switchboard.send(NUMBERS[5], "hello")


def test_failures_across_many_numbers_open_it_but_one_bad_number_never_does(clock):
    one_bad = RecordingSender(failures={NUMBERS[0]: refusal(None, 503)})
    switchboard = board(clock, one_bad)
    failures(switchboard, [NUMBERS[0]] * 10)
    assert not switchboard.holding()

    outage = RecordingSender(down=refusal(None, 503))
    switchboard = board(clock, outage)
    failures(switchboard, NUMBERS[:10])
    assert switchboard.holding()
    assert len(outage.tried) == 3  # more than half of those seen, across three numbers


@pytest.mark.parametrize("code", [30003, 30450, 21211, 30005, 21610])
def test_faults_of_a_handset_or_a_number_never_count_as_an_outage(clock, code):
    sender = RecordingSender(down=refusal(code, 400))
    switchboard = board(clock, sender)

    failures(switchboard, NUMBERS[:10])

    assert not switchboard.holding() and len(sender.tried) == 10


def test_an_open_breaker_lets_one_probe_through_after_its_wait_and_closes_on_success(clock):
    sender = RecordingSender(down=refusal(20003, 401))
    switchboard = board(clock, sender)
    failures(switchboard, NUMBERS[:1])

    clock.advance(seconds=1)
    assert failures(switchboard, NUMBERS[1:3]) == 2 and len(sender.tried) == 1

    clock.advance(seconds=2)  # past the first wait (2 s, give or take a fifth)
    failures(switchboard, NUMBERS[3:5])
    assert len(sender.tried) == 2  # one probe, refused again: the wait doubles
    assert switchboard.retry_at() > clock.now() + timedelta(seconds=3)

    sender.down = None
    clock.advance(seconds=5)
    assert failures(switchboard, NUMBERS[5:8]) == 0
    assert not switchboard.holding()


def test_sends_move_to_the_second_provider_when_the_first_is_down(clock):
    primary = RecordingSender(name="first", down=refusal(None, 503))
    secondary = RecordingSender(name="second")
    switchboard = board(clock, primary, secondary)

    failed = failures(switchboard, NUMBERS[:10])

    assert failed == 2  # until the first breaker opened; the third went by the second
    assert [m.to for m in secondary.sent] == NUMBERS[2:10]
    sent = switchboard.send(NUMBERS[11], "hello")
    assert sent.provider == "second"


def test_reports_are_asked_of_the_first_provider_only(clock):
    primary = RecordingSender(name="first", down=refusal(20003, 401))
    calls = []

    class Second(RecordingSender):
        def send(self, to, body, *, status_callback=None):
            calls.append(status_callback)
            return super().send(to, body, status_callback=status_callback)

    switchboard = board(clock, primary, Second(name="second"))

    switchboard.send(NUMBERS[0], "hello", status_callback="https://d.example.org/sms/status")

    assert calls == [None]
