"""Waves over time: when a wave's time is up with the targets unmet, a wider wave goes.

The clock stands still until a test moves it; the recording queue keeps each wave timer
and runs it when the test calls `queue.run_due`. Volunteers reply through the signed
Twilio webhook, and the control room's events reach the recording poster.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC

import pytest
from huey.signals import SIGNAL_ERROR
from sqlalchemy import select

from dispatcher import create_app
from dispatcher.incidents import escalation
from dispatcher.jobs import sweeper
from dispatcher.queue.huey import HueyQueue
from dispatcher.store.models import Alert, Incident
from tests.builders import (
    event,
    make_control_room,
    make_volunteer,
    open_incident,
    post_event,
    say,
    status_of,
    texted,
    wave_details,
)

EVENTS_URL = "https://control.example.org/events"


@pytest.fixture(autouse=True)
def _small_waves(settings, twilio_hooks):
    """Alert two per wave from 1,000 m, widening by 500 m up to 3,000 m."""
    settings.update(WAVE_SIZE=2, RADIUS_START_M=1000, RADIUS_STEP_M=500, RADIUS_MAX_M=3000)


@pytest.fixture
def room_options():
    """The control room takes events back."""
    return {"events_url": EVENTS_URL}


def waves(status: dict) -> list[tuple[int, int, int]]:
    """Return (wave, radius, alerted) of each search the timeline records."""
    return [(w["wave"], w["radius_m"], w["alerted"]) for w in wave_details(status)]


def entries(status: dict, name: str) -> list[dict]:
    """Return the details of the timeline entries of one kind."""
    return [e["detail"] for e in status["timeline"] if e["event"] == name]


def states(rt, external_id: str = "CAD-1") -> dict[int, str]:
    """Return the state of each of an incident's alerts, by volunteer id."""
    with rt.transaction() as session:
        return dict(session.execute(
            select(Alert.responder_id, Alert.state).join(Incident)
            .where(Incident.external_id == external_id)
        ).all())


def incident_row(rt, external_id: str = "CAD-1") -> Incident:
    """Return the incident's row as it is now."""
    with rt.transaction() as session:
        return session.scalars(select(Incident).where(Incident.external_id == external_id)).one()


def time_passes(rt, queue, seconds: float) -> int:
    """Move the clock on and run the timers that fall due; return how many ran."""
    rt.clock.advance(seconds=seconds)
    return queue.run_due(rt.clock.now())


# --- the next wave -----------------------------------------------------------------------


def test_wave_two_goes_after_the_timeout_wider_and_the_timeline_says_why(
    client, rt, sms, queue, room
):
    near = [make_volunteer(rt, north_m=m) for m in (300, 600)]
    farther = [make_volunteer(rt, north_m=m) for m in (1200, 1400)]
    make_volunteer(rt, north_m=1800)
    open_incident(client, room, rt)
    assert texted(sms) == [v.phone for v in near]
    [timer] = queue.named("wave")
    assert timer.at == rt.clock.now() + rt.policy.wave_timeout

    assert time_passes(rt, queue, 29) == 0
    assert len(sms.sent) == 2
    time_passes(rt, queue, 1)

    assert texted(sms, 2) == [v.phone for v in farther]
    status = status_of(client, room)
    assert waves(status) == [(1, 1000, 2), (2, 1500, 2)]
    assert entries(status, "wave")[1]["why"] == "targets unmet after wave 1 (0 CPR and 0 AED going)"
    assert entries(status, "alerts.expired") == [{"wave": 1, "count": 2}]
    assert {states(rt)[v.id] for v in near} == {"expired"}
    assert {states(rt)[v.id] for v in farther} == {"sent"}
    assert (status["wave"], status["radius_m"]) == (2, 1500)


def test_the_radius_widens_step_by_step_to_the_maximum_and_then_the_search_ends(
    client, rt, sms, queue, room
):
    rt.policy = replace(rt.policy, wave_size=1)
    distances = (500, 1200, 1700, 2200, 2700, 2800)
    volunteers = [make_volunteer(rt, north_m=m) for m in distances]
    beyond = make_volunteer(rt, north_m=3500)
    open_incident(client, room, rt)

    for _ in range(8):
        time_passes(rt, queue, 30)

    assert texted(sms) == [v.phone for v in volunteers]
    assert not sms.to(beyond.phone)
    status = status_of(client, room)
    # At the maximum the search still looks for anyone new, once per wave, until none is left.
    assert waves(status) == [
        (1, 1000, 1), (2, 1500, 1), (3, 2000, 1), (4, 2500, 1), (5, 3000, 1), (6, 3000, 1),
        (7, 3000, 0),
    ]
    assert entries(status, "search.exhausted") == [
        {"reason": "no more eligible volunteers within 3000 m", "alerted": 6},
    ]
    assert status["dispatch"]["status"] == "no_responders"
    assert status["next_wave_at"] is None


def test_the_radius_widens_at_once_while_it_finds_nobody(client, rt, sms, queue, room):
    first = make_volunteer(rt, north_m=1700)
    make_volunteer(rt, north_m=2600)
    make_volunteer(rt, north_m=2700)

    status = open_incident(client, room, rt)

    assert texted(sms) == [first.phone]
    assert waves(status) == [(1, 1000, 0), (1, 1500, 0), (1, 2000, 1)]
    assert [e["why"] for e in entries(status, "wave")] == [
        "first wave", "nobody new within 1000 m", "nobody new within 1500 m",
    ]
    assert (status["wave"], status["radius_m"]) == (1, 2000)
    assert status["dispatch"]["status"] == "alerting"
    assert [j.args[1] for j in queue.named("wave")] == [1]


def test_no_more_volunteers_than_max_alerted_are_ever_alerted(client, rt, sms, queue, room):
    rt.policy = replace(rt.policy, max_alerted=3)
    volunteers = [make_volunteer(rt, north_m=100 * n) for n in range(1, 7)]
    open_incident(client, room, rt)
    time_passes(rt, queue, 30)
    assert texted(sms) == [v.phone for v in volunteers[:3]]

    say(client, volunteers[2], "NO")
    time_passes(rt, queue, 30)

    assert len(states(rt)) == 3
    assert not any(sms.to(v.phone) for v in volunteers[3:])
    status = status_of(client, room)
    assert entries(status, "search.exhausted") == [
        {"reason": "all 3 volunteers the policy allows have been alerted", "alerted": 3},
    ]


# --- targets met, nobody found -------------------------------------------------------------


def test_targets_met_stop_the_waves_and_a_ring_for_the_old_wave_does_nothing(
    client, rt, sms, queue, room, poster
):
    rt.policy = replace(rt.policy, target_aed=0)
    volunteers = [make_volunteer(rt, north_m=100 * n) for n in range(1, 5)]
    open_incident(client, room, rt)
    say(client, volunteers[0], "YES")
    since = len(sms.sent)

    time_passes(rt, queue, 31)
    assert escalation.wave_due(rt, incident_row(rt).id, 1) is False

    assert texted(sms, since) == []
    assert states(rt) == {volunteers[0].id: "accepted", volunteers[1].id: "sent"}
    status = status_of(client, room)
    assert status["dispatch"]["status"] == "targets_met"
    assert status["next_wave_at"] is None
    assert waves(status) == [(1, 1000, 2)]
    assert poster.types() == ["responder.accepted", "incident.targets_met"]


@pytest.fixture
def lone(rt):
    """One volunteer near the centre, and nobody else within the maximum radius."""
    return make_volunteer(rt, north_m=300)


def test_no_responders_goes_to_the_control_room_once_when_the_search_is_exhausted(
    client, rt, sms, queue, room, poster, lone
):
    open_incident(client, room, rt)
    assert poster.types() == []

    time_passes(rt, queue, 30)

    status = status_of(client, room)
    assert status["dispatch"] == {
        "status": "no_responders", "reason": "no more eligible volunteers within 3000 m",
    }
    assert poster.types() == ["incident.no_responders"]
    assert poster.posts[0].event["data"] == {
        "id": "CAD-1", "reason": "no more eligible volunteers within 3000 m", "alerted": 1,
    }
    # Searching again from a corrected location finds nobody either: no second event.
    now = rt.clock.now()
    moved = {"id": "CAD-1", "location": {"lat": 59.3330, "lon": 18.0660, "accuracy_m": 10}}
    assert post_event(client, room, event("incident.updated", moved, now),
                      at=now).status_code == 202
    sweeper.sweep(rt)
    time_passes(rt, queue, 60)

    assert poster.types() == ["incident.no_responders"]
    assert len(entries(status_of(client, room), "search.exhausted")) == 2


def test_nobody_within_the_maximum_radius_is_no_responders_at_once(client, rt, poster, room):
    make_volunteer(rt, north_m=3500)

    status = open_incident(client, room, rt)

    assert status["dispatch"]["status"] == "no_responders"
    assert poster.types() == ["incident.no_responders"]


def test_an_exhausted_search_with_someone_going_is_not_no_responders(
    client, rt, sms, queue, room, poster, lone
):
    open_incident(client, room, rt)
    say(client, lone, "YES")

    time_passes(rt, queue, 30)

    status = status_of(client, room)
    assert len(entries(status, "search.exhausted")) == 1
    assert status["dispatch"]["status"] != "no_responders"
    assert poster.types() == ["responder.accepted"]


def test_a_late_yes_after_the_search_gave_up_counts_and_the_status_says_alerting_again(
    client, rt, sms, queue, room, poster, lone
):
    open_incident(client, room, rt)
    time_passes(rt, queue, 30)
    assert status_of(client, room)["dispatch"]["status"] == "no_responders"

    say(client, lone, "YES")

    status = status_of(client, room)
    assert status["dispatch"] == {"status": "alerting", "reason": None}
    assert [r["ref"] for r in status["responders"]] == [lone.ref]
    assert poster.types() == ["incident.no_responders", "responder.accepted"]


# --- late answers ------------------------------------------------------------------------


def test_a_late_yes_after_the_wave_expired_gets_a_role_while_targets_are_unmet(
    client, rt, sms, queue, room
):
    first, second, third = (make_volunteer(rt, north_m=m) for m in (100, 200, 1200))
    open_incident(client, room, rt)
    time_passes(rt, queue, 30)
    assert states(rt)[first.id] == "expired"
    since = len(sms.sent)

    say(client, first, "YES")

    assert texted(sms, since) == [first.phone]
    assert sms.to(first.phone)[-1].startswith("GO NOW: Drottninggatan 53, 3 tr.")
    assert states(rt)[first.id] == "accepted"
    assert status_of(client, room)["responders"][0]["role"] == "cpr"
    assert len(states(rt)) == 3  # nobody is asked in their place


def test_a_late_yes_after_the_targets_are_met_is_told_enough_are_going(
    client, rt, sms, queue, room
):
    rt.policy = replace(rt.policy, max_accepted=1)
    first, second, third = (make_volunteer(rt, north_m=m) for m in (100, 200, 1200))
    open_incident(client, room, rt)
    time_passes(rt, queue, 30)
    say(client, third, "YES")

    say(client, first, "YES")

    assert sms.to(first.phone)[-1].startswith("Thank you! Enough responders are on the way")
    assert states(rt)[first.id] == "stood_down"
    assert states(rt)[third.id] == "accepted"


def test_a_late_no_after_the_wave_expired_asks_nobody_in_their_place(
    client, rt, sms, queue, room
):
    first, *_ = (make_volunteer(rt, north_m=m) for m in (100, 200, 300))
    open_incident(client, room, rt)
    time_passes(rt, queue, 30)
    since = len(sms.sent)

    say(client, first, "NO")

    assert texted(sms, since) == [first.phone]
    assert states(rt)[first.id] == "declined"
    assert len(states(rt)) == 3


# --- rings that must do nothing ------------------------------------------------------------


def test_a_ring_before_the_wave_is_due_does_nothing(client, rt, sms, room):
    volunteers = [make_volunteer(rt, north_m=100 * n) for n in range(1, 4)]
    open_incident(client, room, rt)
    rt.clock.advance(seconds=29)

    assert escalation.wave_due(rt, incident_row(rt).id, 1) is False

    assert texted(sms) == [v.phone for v in volunteers[:2]]
    assert set(states(rt).values()) == {"sent"}


def test_a_repeated_ring_for_a_wave_sends_the_next_wave_once(client, rt, sms, queue, room):
    volunteers = [make_volunteer(rt, north_m=100 * n) for n in range(1, 8)]
    open_incident(client, room, rt)
    incident_id = incident_row(rt).id
    rt.clock.advance(seconds=31)

    assert escalation.wave_due(rt, incident_id, 1) is True
    assert escalation.wave_due(rt, incident_id, 1) is False
    sweeper.sweep(rt)
    queue.run_due(rt.clock.now())

    assert texted(sms) == [v.phone for v in volunteers[:4]]
    assert incident_row(rt).wave == 2


def test_a_late_ring_for_an_earlier_wave_does_nothing(client, rt, sms, queue, room):
    volunteers = [make_volunteer(rt, north_m=100 * n) for n in range(1, 8)]
    open_incident(client, room, rt)
    time_passes(rt, queue, 30)
    incident_id = incident_row(rt).id
    rt.clock.advance(seconds=45)  # wave 2 is overdue too; a ring for wave 1 is not for it

    assert escalation.wave_due(rt, incident_id, 1) is False

    assert texted(sms) == [v.phone for v in volunteers[:4]]
    assert incident_row(rt).wave == 2


@pytest.mark.parametrize("how", ["closed", "cancelled"])
def test_a_ring_for_an_ended_incident_does_nothing(client, rt, sms, queue, room, how):
    [make_volunteer(rt, north_m=100 * n) for n in range(1, 5)]
    open_incident(client, room, rt)
    now = rt.clock.now()
    post_event(client, room, event(f"incident.{how}", {"id": "CAD-1"}, now), at=now)
    since = len(sms.sent)

    time_passes(rt, queue, 31)
    assert [j.args for j in queue.done if j.job == "wave"] == [(incident_row(rt).id, 1)]
    assert escalation.wave_due(rt, incident_row(rt).id, 1) is False
    assert [job for job, _ in sweeper.overdue(rt) if job == "wave"] == []

    assert texted(sms, since) == []
    assert set(states(rt).values()) == {"stood_down"}


# --- someone drops out after the targets were met ----------------------------------------


def test_a_no_after_the_targets_were_met_asks_another_and_starts_the_timer_again(
    client, rt, sms, queue, room, poster
):
    rt.policy = replace(rt.policy, target_aed=0)
    volunteers = [make_volunteer(rt, north_m=100 * n) for n in range(1, 5)]
    volunteers.append(make_volunteer(rt, north_m=1200))
    open_incident(client, room, rt)
    say(client, volunteers[0], "YES")
    assert incident_row(rt).next_wave_at is None
    since = len(sms.sent)

    say(client, volunteers[0], "NO")

    assert texted(sms, since) == [volunteers[2].phone, volunteers[0].phone]
    assert incident_row(rt).next_wave_at == rt.clock.now() + rt.policy.wave_timeout
    time_passes(rt, queue, 30)
    assert {m.to for m in sms.sent[-2:]} == {volunteers[3].phone, volunteers[4].phone}
    say(client, volunteers[4], "YES")
    assert poster.types().count("incident.targets_met") == 1
    assert incident_row(rt).next_wave_at is None
    assert status_of(client, room)["dispatch"]["status"] == "targets_met"


# --- a restart while a wave timer is due (the real huey queue) ----------------------------


class Process:
    """One run of the service: an app with a real SqliteHuey queue in a file."""

    def __init__(self, db_url: str, queue_url: str, settings: dict, sms, clock, poster):
        self.huey_queue = HueyQueue.from_url(queue_url, name="dispatcher-test")
        self.app = create_app({**settings, "DATABASE_URL": db_url, "QUEUE_URL": queue_url},
                              sms=sms, clock=clock, queue=self.huey_queue, poster=poster)
        self.app.testing = True
        self.rt = self.app.extensions["dispatcher"]
        self.errors: list[BaseException] = []
        self.huey_queue.huey.signal(SIGNAL_ERROR)(
            lambda signal, task, exc=None: self.errors.append(exc)
        )

    def consume(self) -> None:
        """Do what a consumer does until nothing is left that is due by the clock's time."""
        huey = self.huey_queue.huey
        now = self.rt.clock.now().astimezone(UTC).replace(tzinfo=None)  # huey's naive UTC
        while True:
            task = huey.dequeue()
            if task is not None:
                huey.execute(task, now)  # a task not yet due goes to huey's schedule
                continue
            due = huey.read_schedule(now)
            if not due:
                break
            for task in due:
                huey.execute(task, now)
        assert self.errors == []

    def stop(self) -> None:
        """End the run: its connections go."""
        self.rt.engine.dispose()


@pytest.mark.parametrize("sweep", [False, True], ids=["timer-alone", "timer-and-sweeper"])
def test_a_wave_timer_due_during_a_restart_fires_after_the_restart_once(
    db_url, settings, sms, clock, poster, tmp_path, sweep
):
    queue_url = f"sqlite:///{tmp_path / 'queue.db'}"
    before = Process(db_url, queue_url, settings, sms, clock, poster)
    try:
        volunteers = [make_volunteer(before.rt, north_m=100 * n) for n in range(1, 6)]
        room = make_control_room(before.rt)
        open_incident(before.app.test_client(), room, before.rt)
        before.consume()
        assert texted(sms) == [v.phone for v in volunteers[:2]]
        assert before.huey_queue.huey.scheduled_count() == 1  # the wave timer, waiting
    finally:
        before.stop()

    clock.advance(seconds=45)  # the timer falls due while the service is down
    after = Process(db_url, queue_url, settings, sms, clock, poster)
    try:
        if sweep:
            assert sweeper.sweep(after.rt) >= 1  # it finds the overdue wave and rings too
        after.consume()
        after.consume()

        assert texted(sms) == [v.phone for v in volunteers[:4]]
        status = status_of(after.app.test_client(), room)
        assert waves(status) == [(1, 1000, 2), (2, 1500, 2)]
        assert [e["wave"] for e in entries(status, "alerts.expired")] == [1]
        assert status["wave"] == 2
        # What is left is wave 2's own timer, for 30 s after it went.
        [timer] = after.huey_queue.huey.scheduled()
        assert timer.args == (incident_row(after.rt).id, 2)
    finally:
        after.stop()
