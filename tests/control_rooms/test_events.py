"""Events back to the control room: what is sent when, signed, in order, until it is taken.

Incidents are opened with signed control-room events and volunteers answer through the
signed Twilio webhook, as in production. The control room's endpoint is the recording fake
(`poster`): `down` makes it unreachable, `answer` sets its HTTP status. Timed jobs (the
retries) run when a test moves the clock and calls `queue.run_due`.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from dispatcher.control_rooms import events
from dispatcher.hooks.fake import RecordingPoster
from dispatcher.jobs import sweeper, tasks
from dispatcher.store.models import Client, Incident, Message, OutgoingEvent
from tests.builders import (
    make_aed,
    make_control_room,
    make_volunteer,
    offset,
    open_incident,
    say,
    status_of,
)

pytestmark = pytest.mark.usefixtures("twilio_hooks")

EVENTS_URL = "https://cad.example.org/dispatcher/events"
FAR = (59.5326, 18.0649)  # about 22 km north of the centre: another incident's own volunteers


class GatedPoster(RecordingPoster):
    """The recording fake, which can hold a post until the test lets it answer."""

    def __init__(self):
        super().__init__()
        self._gate: threading.Event | None = None
        self.held = threading.Event()

    def hold_next(self) -> threading.Event:
        """Hold the next post until the returned event is set."""
        self._gate = threading.Event()
        self.held.clear()
        return self._gate

    def post(self, url, headers, body):
        """Hold the post at the gate, if one is set, then answer like the recording fake."""
        gate, self._gate = self._gate, None
        if gate is not None:
            self.held.set()
            gate.wait(10)
        return super().post(url, headers, body)


@pytest.fixture
def poster():
    """The control room's endpoint: records what it takes, can be held mid-post."""
    return GatedPoster()


@pytest.fixture
def cpr_is_enough(settings):
    """Targets met with one volunteer doing CPR."""
    settings["TARGET_AED"] = 0


@pytest.fixture
def one_aed_is_enough(settings):
    """Targets met with one doing CPR and one fetching an AED."""
    settings["TARGET_AED"] = 1


@pytest.fixture
def one_hour_to_deliver(settings):
    """Events not taken within an hour are given up."""
    settings["EVENTS_MAX_AGE_H"] = 1


@pytest.fixture
def room_options():
    """The control room gave a URL for events."""
    return {"events_url": EVENTS_URL}


def outbox(rt) -> list[OutgoingEvent]:
    """Return every event written, oldest first."""
    with rt.transaction() as session:
        return list(session.scalars(select(OutgoingEvent).order_by(OutgoingEvent.id)))


def signed_at(post) -> datetime:
    """Return the time a post was signed at."""
    return datetime.fromtimestamp(int(post.headers["webhook-timestamp"]), UTC)


def run_timed_jobs(clock, queue, until: datetime) -> None:
    """Move the clock to each timed job in turn, running it, until `until`."""
    while waiting := queue.due(until):
        clock.set(max(clock.now(), min(j.at for j in waiting)))
        queue.run_due(clock.now())
    clock.set(until)


# --- what is sent, and when ---------------------------------------------------------------


def test_a_yes_tells_the_control_room_who_goes_in_which_role(client, rt, poster, room):
    first = make_volunteer(rt, north_m=300)
    open_incident(client, room, rt)

    say(client, first, "YES")

    [post] = poster.posts
    assert post.url == EVENTS_URL
    assert post.headers["content-type"] == "application/json"
    assert post.headers["webhook-id"].startswith("msg_")
    event = post.event
    assert event["type"] == "responder.accepted"
    assert event["timestamp"] == "2026-11-23T10:00:00Z"
    assert set(event["data"]) == {"id", "responder", "role", "distance_m", "eta_s", "aed"}
    assert event["data"]["id"] == "CAD-1"
    assert event["data"]["responder"] == first.ref
    assert event["data"]["role"] == "cpr"
    assert event["data"]["distance_m"] == 300
    assert 0 < event["data"]["eta_s"] < 600 and isinstance(event["data"]["eta_s"], int)
    assert event["data"]["aed"] is None


def test_an_aed_runner_is_announced_with_the_aed_they_fetch(client, rt, poster, room):
    first = make_volunteer(rt, north_m=300)
    second = make_volunteer(rt, north_m=400)
    make_aed(rt, at=offset(30), name="Sergels torg metro")
    open_incident(client, room, rt)

    say(client, first, "YES")
    say(client, second, "YES")

    runner = poster.posts[-1].event["data"]
    assert runner["responder"] == second.ref
    assert runner["role"] == "aed"
    assert runner["aed"] == "Sergels torg metro"


def test_here_tells_the_control_room_the_volunteer_is_on_scene(client, rt, clock, poster, room):
    first = make_volunteer(rt, north_m=300)
    open_incident(client, room, rt)
    say(client, first, "YES")
    clock.advance(minutes=4)

    say(client, first, "HERE")

    assert poster.types() == ["responder.accepted", "responder.arrived"]
    arrived = poster.posts[-1].event
    assert arrived["timestamp"] == "2026-11-23T10:04:00Z"
    assert arrived["data"] == {"id": "CAD-1", "responder": first.ref, "role": "cpr",
                               "arrived_at": "2026-11-23T10:04:00Z"}


def test_here_without_yes_sends_accepted_then_arrived(client, rt, poster, room):
    first = make_volunteer(rt, north_m=300)
    open_incident(client, room, rt)

    say(client, first, "HERE")

    assert poster.types() == ["responder.accepted", "responder.arrived"]


def test_targets_met_is_sent_once_when_enough_are_going(cpr_is_enough, client, rt, poster, room):
    first, second = make_volunteer(rt, north_m=300), make_volunteer(rt, north_m=400)
    open_incident(client, room, rt)

    say(client, first, "YES")
    say(client, second, "YES")  # told enough are going: nothing more for the control room

    assert poster.types() == ["responder.accepted", "incident.targets_met"]
    assert poster.posts[-1].event["data"] == {"id": "CAD-1", "going": 1}


def test_no_responders_is_sent_when_nobody_can_be_asked(client, rt, poster, room):
    open_incident(client, room, rt)

    [post] = poster.posts
    assert post.event["type"] == "incident.no_responders"
    assert post.event["data"] == {
        "id": "CAD-1", "alerted": 0, "reason": "no more eligible volunteers within 3000 m",
    }


def test_no_responders_is_sent_when_the_last_wave_goes_unanswered(
    client, rt, clock, queue, poster, room
):
    make_volunteer(rt, north_m=300)
    open_incident(client, room, rt)
    assert poster.posts == []

    run_timed_jobs(clock, queue, clock.now() + timedelta(minutes=5))

    assert poster.types() == ["incident.no_responders"]
    assert poster.posts[0].event["data"]["alerted"] == 1
    assert poster.posts[0].event["timestamp"] == "2026-11-23T10:00:30Z"


def test_a_control_room_without_an_events_url_gets_no_events(client, rt, poster):
    room = make_control_room(rt)
    first = make_volunteer(rt, north_m=300)
    open_incident(client, room, rt)

    say(client, first, "HERE")

    assert poster.posts == []
    assert outbox(rt) == []
    assert status_of(client, room)["events"] == []


# --- signatures ---------------------------------------------------------------------------


def test_each_event_verifies_with_the_clients_secret(client, rt, clock, poster, room):
    # The library checks the timestamp against the real clock, so the service's stands there.
    clock.set(datetime.now(UTC).replace(microsecond=0))
    first = make_volunteer(rt, north_m=300)
    open_incident(client, room, rt)

    say(client, first, "HERE")

    assert len(poster.posts) == 2
    for post in poster.posts:
        assert Webhook(room.secret).verify(post.body, post.headers) == post.event
        with pytest.raises(WebhookVerificationError):
            Webhook(make_control_room(rt).secret).verify(post.body, post.headers)


def test_a_retry_keeps_its_webhook_id_and_is_signed_when_it_is_sent(
    client, rt, clock, queue, poster, room
):
    # Retries at 0, 2, 6, ... 510 s fail; the one at 810 s is taken. The clock is set so that
    # the last one is signed at the real time, which the library checks.
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=810)
    clock.set(start)
    first = make_volunteer(rt, north_m=300)
    open_incident(client, room, rt)
    poster.answer = 503
    say(client, first, "YES")

    run_timed_jobs(clock, queue, start + timedelta(minutes=10))
    poster.answer = 200
    run_timed_jobs(clock, queue, start + timedelta(minutes=15))

    assert len(poster.posts) == 10
    assert len({p.headers["webhook-id"] for p in poster.posts}) == 1
    assert {p.body for p in poster.posts} == {poster.posts[0].body}
    assert signed_at(poster.posts[0]) == start
    assert signed_at(poster.posts[-1]) == start + timedelta(seconds=810)
    Webhook(room.secret).verify(poster.posts[-1].body, poster.posts[-1].headers)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(room.secret).verify(poster.posts[0].body, poster.posts[0].headers)


# --- retries ------------------------------------------------------------------------------


def test_failed_posts_are_retried_with_doubling_waits_up_to_the_cap(
    client, rt, clock, queue, poster, room
):
    first = make_volunteer(rt, north_m=300)
    open_incident(client, room, rt)
    poster.answer = 503
    say(client, first, "YES")

    run_timed_jobs(clock, queue, clock.now() + timedelta(minutes=30))

    times = [signed_at(p) for p in poster.posts]
    waits = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    assert waits[:10] == [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    assert set(waits[8:]) == {300}
    [entry] = status_of(client, room)["events"]
    assert entry["state"] == "pending"
    assert entry["attempts"] == len(poster.posts)
    assert (entry["last_status"], entry["last_error"]) == (503, "HTTP 503")


@pytest.mark.parametrize("status", [302, 400, 401, 404, 422, 429, 500, 502, 503])
def test_any_answer_but_2xx_or_410_is_retried(client, rt, clock, queue, poster, room, status):
    first = make_volunteer(rt, north_m=300)
    open_incident(client, room, rt)
    poster.answer = status
    say(client, first, "YES")
    poster.answer = 200

    run_timed_jobs(clock, queue, clock.now() + timedelta(seconds=2))

    assert len(poster.posts) == 2
    assert [e.state for e in outbox(rt)] == ["delivered"]


def test_410_gone_gives_the_event_up_at_once_and_lets_the_next_go(
    client, rt, clock, queue, poster, room
):
    first = make_volunteer(rt, north_m=300)
    open_incident(client, room, rt)
    poster.answer = 410
    say(client, first, "YES")
    poster.answer = 200

    say(client, first, "HERE")
    run_timed_jobs(clock, queue, clock.now() + timedelta(hours=1))

    assert poster.types() == ["responder.accepted", "responder.arrived"]
    accepted, arrived = status_of(client, room)["events"]
    assert accepted["state"] == "abandoned"
    assert accepted["last_error"] == "the endpoint answered 410 Gone"
    assert arrived["state"] == "delivered"


def test_an_event_not_taken_within_the_maximum_age_is_given_up(
    one_hour_to_deliver, client, rt, clock, queue, poster, room
):
    first = make_volunteer(rt, north_m=300)
    open_incident(client, room, rt)
    start = clock.now()
    poster.answer = 503
    say(client, first, "YES")
    run_timed_jobs(clock, queue, start + timedelta(minutes=30))
    say(client, first, "HERE")  # waits behind the accepted event

    run_timed_jobs(clock, queue, start + timedelta(minutes=60))
    assert set(poster.types()) == {"responder.accepted"}
    poster.answer = 200
    run_timed_jobs(clock, queue, start + timedelta(hours=3))

    assert set(poster.types()) == {"responder.accepted", "responder.arrived"}
    assert poster.types()[-1] == "responder.arrived"
    accepted, arrived = status_of(client, room)["events"]
    assert accepted["state"] == "abandoned"
    assert accepted["last_error"] == "not taken within 1 h (last: HTTP 503)"
    assert accepted["next_attempt_at"] is None
    assert arrived["state"] == "delivered" and arrived["attempts"] == 1
    assert queue.due(clock.now() + timedelta(days=2)) == []


def test_events_pending_when_the_url_is_removed_are_given_up(
    client, rt, clock, queue, poster, room
):
    first = make_volunteer(rt, north_m=300)
    open_incident(client, room, rt)
    poster.down = True
    say(client, first, "YES")
    with rt.transaction() as session:
        session.execute(update(Client).values(events_url=None))
    poster.down = False

    run_timed_jobs(clock, queue, clock.now() + timedelta(minutes=5))
    say(client, first, "HERE")

    assert poster.posts == []
    [entry] = status_of(client, room)["events"]
    assert entry["state"] == "abandoned"
    assert entry["last_error"] == "the client has no events URL any more"


# --- the endpoint down for ten minutes ----------------------------------------------------


def taken_in_order(rt, posts) -> dict[str, list[str]]:
    """Return each incident's taken event types; fail on a repeat or an event out of order."""
    ids = [p.headers["webhook-id"] for p in posts]
    assert len(set(ids)) == len(ids), "an event was sent again after it was taken"
    written = {e.webhook_id: e.id for e in outbox(rt)}
    per_incident: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for post in posts:
        per_incident[post.event["data"]["id"]].append((written[post.headers["webhook-id"]],
                                                       post.event["type"]))
    for sent in per_incident.values():
        assert sent == sorted(sent), "a later event overtook an earlier one"
    return {incident: [t for _, t in sent] for incident, sent in per_incident.items()}


@pytest.mark.parametrize("outage", ["unreachable", "503"])
def test_an_endpoint_down_ten_minutes_gets_every_event_in_order_once_back(
    one_aed_is_enough, client, rt, clock, queue, poster, room, outage
):
    near = [make_volunteer(rt, north_m=300), make_volunteer(rt, north_m=400)]
    far = [make_volunteer(rt, at=offset(300, origin=FAR)),
           make_volunteer(rt, at=offset(400, origin=FAR))]
    make_aed(rt, at=offset(30), name="Sergels torg metro")
    make_aed(rt, at=offset(30, origin=FAR), name="Far AED")
    script = {  # seconds into the outage: who says what
        0: (near[0], "YES"), 20: (far[0], "YES"), 60: (near[1], "YES"), 150: (far[1], "YES"),
        240: (near[0], "HERE"), 420: (far[0], "HERE"), 500: (near[1], "HERE"),
        560: (far[1], "HERE"),
    }
    open_incident(client, room, rt, "CAD-1")
    open_incident(client, room, rt, "CAD-2", at=FAR)
    start = clock.now()
    poster.down, poster.answer = outage == "unreachable", 503

    while clock.now() < start + timedelta(minutes=10):
        if (line := script.get(int((clock.now() - start).total_seconds()))) is not None:
            say(client, *line)
        clock.advance(seconds=10)
        queue.run_due(clock.now())
    tried = list(poster.posts)
    back = len(poster.posts)
    poster.down, poster.answer = False, 200
    while clock.now() < start + timedelta(minutes=30):
        clock.advance(seconds=10)
        queue.run_due(clock.now())

    everything = ["responder.accepted", "responder.accepted", "incident.targets_met",
                  "responder.arrived", "responder.arrived"]
    assert taken_in_order(rt, poster.posts[back:]) == {"CAD-1": everything, "CAD-2": everything}
    assert [e.state for e in outbox(rt)] == ["delivered"] * 10
    # While it was down, only each incident's first event was tried.
    assert {p.event["type"] for p in tried} <= {"responder.accepted"}
    assert len({p.headers["webhook-id"] for p in tried}) == (2 if outage == "503" else 0)


def test_one_incidents_backlog_does_not_hold_up_another(client, rt, clock, queue, poster, room):
    near, far = make_volunteer(rt, north_m=300), make_volunteer(rt, at=offset(300, origin=FAR))
    open_incident(client, room, rt, "CAD-1")
    open_incident(client, room, rt, "CAD-2", at=FAR)
    poster.down = True
    say(client, near, "YES")
    run_timed_jobs(clock, queue, clock.now() + timedelta(seconds=20))  # CAD-1 waits till 30 s
    poster.down = False

    say(client, far, "YES")
    assert [p.event["data"]["id"] for p in poster.posts] == ["CAD-2"]
    run_timed_jobs(clock, queue, clock.now() + timedelta(seconds=10))

    assert [p.event["data"]["id"] for p in poster.posts] == ["CAD-2", "CAD-1"]


# --- lost doorbells and pushes at once ----------------------------------------------------


def act_on_texts(rt) -> None:
    """Run the `reply` job for every text stored and not yet acted on, as a worker would."""
    with rt.transaction() as session:
        waiting = session.scalars(select(Message.id).where(
            Message.direction == "in", Message.processed_at.is_(None))).all()
    for message_id in waiting:
        tasks.runner(rt)("reply", (message_id,))


def test_the_sweeper_pushes_an_event_whose_doorbell_was_lost(
    client, rt, clock, queue, poster, room
):
    first = make_volunteer(rt, north_m=300)
    open_incident(client, room, rt)
    queue.down = True
    say(client, first, "YES")
    act_on_texts(rt)  # the reply is acted on; the doorbell of the event it writes is lost
    queue.down = False
    assert poster.posts == []

    clock.advance(seconds=3)
    sweeper.sweep(rt)

    assert poster.types() == ["responder.accepted"]
    assert [e.state for e in outbox(rt)] == ["delivered"]


def test_the_sweeper_pushes_a_retry_whose_doorbell_was_lost(
    client, rt, clock, queue, poster, room
):
    first = make_volunteer(rt, north_m=300)
    open_incident(client, room, rt)
    poster.down = queue.down = True  # the first try fails, and its retry's doorbell is lost
    say(client, first, "YES")
    act_on_texts(rt)
    poster.down = queue.down = False
    assert queue.named("push") == []

    clock.advance(seconds=4)
    sweeper.sweep(rt)

    assert poster.types() == ["responder.accepted"]


def test_the_sweeper_leaves_alone_an_incident_whose_oldest_event_is_backing_off(
    client, rt, clock, queue, poster, room
):
    first = make_volunteer(rt, north_m=300)
    open_incident(client, room, rt)
    poster.answer = 503
    say(client, first, "YES")
    run_timed_jobs(clock, queue, clock.now() + timedelta(seconds=40))  # next try at 62 s
    say(client, first, "HERE")  # due at once, but behind the accepted event

    clock.advance(seconds=10)

    assert ("push", (1,)) not in sweeper.overdue(rt)
    with rt.transaction() as session:
        assert events.due_incidents(session, clock.now() + timedelta(seconds=20)) == [1]


def incident_id(rt, external_id="CAD-1") -> int:
    """Return an incident's row id."""
    with rt.transaction() as session:
        return session.scalar(select(Incident.id).where(Incident.external_id == external_id))


def failed_once(client, rt, clock, poster, room) -> int:
    """Open an incident whose responder.accepted failed once and is due again; return its id."""
    first = make_volunteer(rt, north_m=300)
    open_incident(client, room, rt)
    poster.down = True
    say(client, first, "YES")
    poster.down = False
    clock.advance(seconds=2)
    return incident_id(rt)


def test_a_second_push_while_one_is_posting_sends_nothing(client, rt, clock, poster, room):
    incident = failed_once(client, rt, clock, poster, room)
    release, results = poster.hold_next(), []
    worker = threading.Thread(target=lambda: results.append(events.push(rt, incident)))
    worker.start()
    assert poster.held.wait(10)

    assert events.push(rt, incident) == 0  # the event is claimed by the first push
    release.set()
    worker.join(10)

    assert results == [1]
    assert poster.types() == ["responder.accepted"]
    assert [(e.state, e.attempts) for e in outbox(rt)] == [("delivered", 2)]


def test_a_push_whose_claim_ran_out_leaves_the_outcome_to_the_one_that_took_over(
    client, rt, clock, queue, poster, room
):
    incident = failed_once(client, rt, clock, poster, room)
    release, results = poster.hold_next(), []
    worker = threading.Thread(target=lambda: results.append(events.push(rt, incident)))
    worker.start()
    assert poster.held.wait(10)
    clock.advance(seconds=16)  # past the claim of three timeouts: that post is given up for lost

    assert events.push(rt, incident) == 1  # sent again, with the same webhook-id
    poster.answer = 503
    release.set()  # the first post comes back refused, after the event was taken
    worker.join(10)

    assert results == [0]
    assert len(poster.posts) == 2 and len({p.headers["webhook-id"] for p in poster.posts}) == 1
    [entry] = status_of(client, room)["events"]
    assert (entry["state"], entry["last_status"], entry["last_error"]) == ("delivered", 200, None)
    assert entry["attempts"] == 3
    assert [j for j in queue.named("push") if j.at and j.at > clock.now()] == []  # no retry


# --- the delivery log in the status -------------------------------------------------------


def test_the_status_shows_each_events_delivery(client, rt, clock, queue, poster, room):
    first = make_volunteer(rt, north_m=300)
    open_incident(client, room, rt)
    poster.answer = 503
    say(client, first, "YES")

    [waiting] = status_of(client, room)["events"]
    poster.answer = 200
    run_timed_jobs(clock, queue, clock.now() + timedelta(seconds=2))
    [taken] = status_of(client, room)["events"]

    assert waiting == {
        "webhook_id": poster.posts[0].headers["webhook-id"], "type": "responder.accepted",
        "state": "pending", "attempts": 1, "last_status": 503, "last_error": "HTTP 503",
        "created_at": "2026-11-23T10:00:00Z", "delivered_at": None,
        "next_attempt_at": "2026-11-23T10:00:02Z",
    }
    assert taken == {**waiting, "state": "delivered", "attempts": 2, "last_status": 200,
                     "last_error": None, "delivered_at": "2026-11-23T10:00:02Z",
                     "next_attempt_at": None}
    assert EVENTS_URL not in str(taken) and first.phone not in str(taken)
