"""The durable queue under faults: a killed consumer, a queue that is down, a failing provider.

Every test runs twice: on SQLite with the SQLite queue (the embedded default), and on
PostgreSQL with Redis. Messages go through the real Twilio adapter and SDK, over HTTP, to a
fake Twilio on loopback; the consumer is huey's own, with its sweeper. Waits poll the
database or the fake with a deadline; nothing here asserts how long anything took.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

import pytest

from dispatcher.config import DEFAULTS
from tests.builders import (
    alert_states,
    create_incident,
    make_control_room,
    make_volunteer,
    sms_arrives,
)
from tests.support.consumer import consuming, eventually, spawn, stop
from tests.support.fake_twilio import Answer
from tests.support.services import RedisServer
from tests.support.stack import (
    alert_messages,
    close_app,
    status_of,
)

CONCURRENCY = 4


def all_sent(rt, count: int):
    """Return the alert messages once `count` of them have a provider id, else None."""
    messages = alert_messages(rt)
    return messages if sum(m.sid is not None for m in messages) >= count else None


def test_a_consumer_killed_mid_fan_out_loses_no_alert_and_resends_at_most_its_concurrency(
    stack, fake, tmp_path
):
    fake.latency_s = 0.2
    app, rt, settings = stack(WAVE_SIZE=30, MAX_ALERTED=30)
    volunteers = [make_volunteer(rt, north_m=20 + 15 * i) for i in range(30)]
    room = make_control_room(rt)
    consumer = spawn(settings, fake.url, tmp_path / "consumer.log")
    try:
        assert create_incident(app.test_client(), room, rt).status_code == 202
        assert fake.wait(lambda f: len(f.requests) >= 10, timeout_s=60)
        consumer.kill()  # SIGKILL: no handler runs, claims stay as they were
        consumer.wait()
        recorded = {m.address: m.sid for m in alert_messages(rt) if m.sid is not None}
        assert 0 < len(recorded) < 30  # killed mid fan-out
        consumer = spawn(settings, fake.url, tmp_path / "consumer.log")
        messages = eventually(lambda: all_sent(rt, 30))
    finally:
        stop(consumer)

    assert messages, (tmp_path / "consumer.log").read_text()[-3000:]
    assert len(messages) == 30  # one message per alert: nothing failed, nothing retried
    numbers = [r.to for r in fake.requests]
    assert set(numbers) == {v.phone for v in volunteers}  # every alert sent: 0 lost
    assert len(numbers) - 30 <= CONCURRENCY  # only those in flight at the kill went twice
    assert all(numbers.count(number) == 1 for number in recorded)  # a SID is never re-sent
    assert {m.sid for m in messages} <= {r.sid for r in fake.requests if r.sid}


def test_after_a_kill_every_alert_goes_within_ten_seconds_of_a_consumer_on_the_defaults(
    stack, fake, tmp_path
):
    fake.latency_s = 0.3
    app, rt, settings = stack(WAVE_SIZE=30, MAX_ALERTED=30,
                              SEND_LEASE_S=DEFAULTS["SEND_LEASE_S"],
                              SWEEP_INTERVAL_S=DEFAULTS["SWEEP_INTERVAL_S"])
    volunteers = [make_volunteer(rt, north_m=20 + 15 * i) for i in range(30)]
    room = make_control_room(rt)
    consumer = spawn(settings, fake.url, tmp_path / "consumer.log")
    try:
        assert create_incident(app.test_client(), room, rt).status_code == 202
        assert fake.wait(lambda f: len(f.requests) >= 8, timeout_s=60)
        consumer.kill()
        consumer.wait()
        recorded = {m.address for m in alert_messages(rt) if m.sid is not None}
        consumer = spawn(settings, fake.url, tmp_path / "consumer.log")
        # The lease and the sweep at start bound the wait: a consumer takes about a second
        # to start, and the dead one's claims are free again within the lease.
        messages = eventually(lambda: all_sent(rt, 30), timeout_s=10)
    finally:
        stop(consumer)

    assert messages, (tmp_path / "consumer.log").read_text()[-3000:]
    numbers = [r.to for r in fake.requests]
    assert set(numbers) == {v.phone for v in volunteers}
    assert all(numbers.count(number) == 1 for number in recorded)  # a SID is never re-sent


@contextmanager
def redis_down_and_up(build):
    """Build the app on a redis-server of the test's own; yield a switch to stop and start it.

    Redis is the queue that lives apart from the database and can be down on its own, so
    both databases are tried with it.
    """
    server = RedisServer().start()
    app, rt, _ = build(queue_url=server.url)
    try:
        yield app, rt, lambda up: server.start() if up else server.stop()
    finally:
        close_app(app)  # empties the queue while the server still runs
        server.stop()


def test_an_incident_arriving_while_redis_is_down_is_stored_and_alerted_when_it_returns(
    stack, fake
):
    with redis_down_and_up(stack) as (app, rt, switch):
        volunteers = [make_volunteer(rt, north_m=50 * (i + 1)) for i in range(3)]
        room = make_control_room(rt)
        switch(False)

        response = create_incident(app.test_client(), room, rt)

        assert response.status_code == 202
        assert response.json["counts"]["alerted"] == 3
        assert [m.status for m in alert_messages(rt)] == ["queued"] * 3
        assert fake.requests == []
        switch(True)
        with consuming(rt):
            messages = eventually(lambda: all_sent(rt, 3))

    assert messages and {m.address for m in messages} == {v.phone for v in volunteers}
    assert sorted(r.to for r in fake.requests) == sorted(v.phone for v in volunteers)


def test_while_redis_stays_down_the_sweeper_sends_the_alerts_itself(stack, fake):
    with redis_down_and_up(stack) as (app, rt, switch):
        volunteers = [make_volunteer(rt, north_m=50 * (i + 1)) for i in range(3)]
        room = make_control_room(rt)
        with consuming(rt):
            switch(False)
            assert create_incident(app.test_client(), room, rt).status_code == 202
            messages = eventually(lambda: all_sent(rt, 3))
            switch(True)

    assert messages and {m.address for m in messages} == {v.phone for v in volunteers}
    assert sorted(r.to for r in fake.requests) == sorted(v.phone for v in volunteers)


@pytest.fixture
def three(stack):
    """Two alerted (nearest first) and a third waiting, on the stack with a running consumer."""
    app, rt, _ = stack(WAVE_SIZE=2, TWILIO_TIMEOUT_S=0.5)
    first, second, third = (make_volunteer(rt, north_m=m) for m in (50, 100, 150))
    room = make_control_room(rt)
    return app, rt, room, first, second, third


FAILURES = {
    "HTTP 500": Answer.server_error(500),
    "HTTP 503": Answer.server_error(503),
    "a timeout": Answer.timeout(1.5),
}


@pytest.mark.parametrize("failure", FAILURES.values(), ids=FAILURES.keys())
def test_a_provider_failure_is_retried_once_and_then_the_next_volunteer_is_alerted(
    three, fake, failure
):
    app, rt, room, first, second, third = three
    fake.answer(first.phone, always=failure)

    with consuming(rt):
        assert create_incident(app.test_client(), room, rt).status_code == 202
        done = eventually(lambda: alert_states(rt).get(third.phone) == "sent")

    assert done, alert_states(rt)
    assert len(fake.to(first.phone)) == 2  # the alert and one retry
    assert alert_states(rt) == {first.phone: "failed", second.phone: "sent", third.phone: "sent"}
    assert [len(fake.to(v.phone)) for v in (second, third)] == [1, 1]
    assert status_of(rt, first) == "active"  # a passing failure says nothing about them


@pytest.mark.parametrize("failure", FAILURES.values(), ids=FAILURES.keys())
def test_a_retry_that_gets_through_keeps_the_volunteer_and_alerts_nobody_else(
    three, fake, failure
):
    app, rt, room, first, second, third = three
    fake.answer(first.phone, failure)  # once, then accepted

    with consuming(rt):
        assert create_incident(app.test_client(), room, rt).status_code == 202
        done = eventually(lambda: alert_states(rt).get(first.phone) == "sent")

    assert done, alert_states(rt)
    assert [r.sid is not None for r in fake.to(first.phone)] == [False, True]
    assert alert_states(rt) == {first.phone: "sent", second.phone: "sent"}
    assert fake.to(third.phone) == []


@pytest.mark.parametrize(("code", "status"), [
    (21610, "opted_out"), (21211, "invalid_number"), (21614, "invalid_number"),
    (30005, "invalid_number"), (30006, "invalid_number"),
])
def test_a_permanent_provider_error_is_not_retried_and_marks_the_volunteer(
    three, fake, code, status
):
    app, rt, room, first, second, third = three
    fake.answer(first.phone, always=Answer.refuse(code))

    with consuming(rt):
        assert create_incident(app.test_client(), room, rt).status_code == 202
        done = eventually(lambda: alert_states(rt).get(third.phone) == "sent")

    assert done, alert_states(rt)
    assert len(fake.to(first.phone)) == 1  # no retry can reach that number
    assert status_of(rt, first) == status
    assert alert_states(rt) == {first.phone: "failed", second.phone: "sent", third.phone: "sent"}
    [failed] = [m for m in alert_messages(rt) if m.address == first.phone]
    assert (failed.status, failed.error_code, failed.sid) == ("failed", code, None)


def test_a_volunteer_marked_for_a_bad_number_is_passed_over_at_the_next_incident(three, fake):
    app, rt, room, first, second, third = three
    fake.answer(first.phone, always=Answer.refuse(21211))
    client = app.test_client()

    with consuming(rt):
        create_incident(client, room, rt, "CAD-1")
        assert eventually(lambda: alert_states(rt).get(third.phone) == "sent")
        response = create_incident(client, room, rt, "CAD-2")  # the others are engaged

    assert response.status_code == 202
    assert response.json["counts"]["alerted"] == 0
    assert len(fake.to(first.phone)) == 1


OUTAGES = {"HTTP 503 for every call": Answer.server_error(503),
           "credentials refused (20003)": Answer.refuse(20003, 401)}


@pytest.mark.parametrize("outage", OUTAGES.values(), ids=OUTAGES.keys())
def test_a_provider_outage_spends_nobody_and_the_alerts_go_when_it_returns(stack, fake, outage):
    app, rt, _ = stack(WAVE_SIZE=3, WAVE_TIMEOUT_S=2, PROVIDER_PROBE_FIRST_S=0.5,
                       PROVIDER_PROBE_MAX_S=1)
    volunteers = [make_volunteer(rt, north_m=50 * (n + 1)) for n in range(5)]
    room = make_control_room(rt)
    fake.down = outage

    with consuming(rt):
        assert create_incident(app.test_client(), room, rt).status_code == 202
        assert fake.wait(lambda f: len(f.requests) >= 6, timeout_s=30)  # probes, refused
        time.sleep(3)  # past a wave's time: the wave waits for its texts
        held = alert_states(rt)
        fake.down = None
        sent = eventually(lambda: len(fake.accepted()) >= 3, timeout_s=30)

    assert set(held.values()) == {"pending"} and len(held) == 3
    assert sent, alert_states(rt)
    assert {r.to for r in fake.accepted()[:3]} == {v.phone for v in volunteers[:3]}
    assert {status_of(rt, v) for v in volunteers} == {"active"}
    assert "failed" not in alert_states(rt).values()


def test_a_briefing_refused_once_with_503_is_retried_and_delivered(stack, fake):
    app, rt, _ = stack(WAVE_SIZE=1, TARGET_AED=0, RETRY_BASE_S=0.5)
    going = make_volunteer(rt, north_m=50)
    room = make_control_room(rt)

    with consuming(rt):
        assert create_incident(app.test_client(), room, rt).status_code == 202
        assert eventually(lambda: alert_states(rt).get(going.phone) == "sent")
        fake.answer(going.phone, Answer.server_error(503))  # the next text to them fails once
        sms_arrives(rt, going, "YES")
        briefed = eventually(lambda: [r for r in fake.to(going.phone)
                                      if r.sid and "Drottninggatan" in r.body])

    assert briefed, [r.body[:30] for r in fake.to(going.phone)]
    assert [r.sid is not None for r in fake.to(going.phone)] == [True, False, True]
    assert alert_states(rt) == {going.phone: "accepted"}
