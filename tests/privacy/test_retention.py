"""The retention purge: old incidents lose their personal data, old live positions go.

Incidents are made through HTTP as a control room and volunteers make them; time is moved
with the clock (Monday 2026-11-23 10:00 UTC at the start), and the purge runs as the
queue job, the command or the function. What is checked is the rows themselves, the
status a control room reads back, and the spatial index of a second app instance.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from dispatcher.jobs import sweeper, tasks
from dispatcher.privacy import retention
from dispatcher.responders import registry, spatial
from dispatcher.store.models import (
    Alert,
    Base,
    Incident,
    Message,
    OutgoingEvent,
    Position,
    TimelineEvent,
    WebhookReceipt,
)
from dispatcher.store.reports import DeliveryReport
from tests.builders import (
    create_incident,
    event,
    make_volunteer,
    offset,
    open_incident,
    post_about,
    post_event,
    say,
    status_of,
    status_report,
)

pytestmark = pytest.mark.usefixtures("twilio_hooks")

ADDRESS = "Drottninggatan 53, 3 tr"
REASON = "Handed over; patient Anna Svensson taken to Karolinska"
# Tables that hold what a volunteer registered: kept while they are registered.
REGISTRATION = {"responders", "positions", "change_counter", "clients"}


@pytest.fixture
def room_options():
    """The control room takes events back at its own URL."""
    return {"events_url": "https://control-room.example.org/events"}


# --- helpers ------------------------------------------------------------------------------


def attended(client, rt, room, external_id: str = "CAD-1", *, close: bool = True):
    """Run an incident: two volunteers alerted, one goes, one declines; then it closes.

    Returns the two volunteers, the one who went first.
    """
    going = make_volunteer(rt, north_m=200)
    declining = make_volunteer(rt, north_m=300)
    open_incident(client, room, rt, external_id)
    for volunteer, answer in ((going, "YES"), (declining, "NO")):
        say(client, volunteer, answer)
    if close:
        post_about(client, room, rt, "incident.closed", external_id, reason=REASON)
    return going, declining


def incident(rt, external_id: str = "CAD-1") -> Incident:
    """Load an incident by the control room's id."""
    with rt.transaction() as session:
        return session.scalars(select(Incident).where(Incident.external_id == external_id)).one()


def columns(rows_: list) -> list[tuple]:
    """Return the column values of ORM rows, to compare them."""
    return [tuple(getattr(r, c.key) for c in r.__table__.columns) for r in rows_]


def rows(rt, model, **where) -> list:
    """Load the rows of a model, in id order, filtered by equal columns."""
    with rt.transaction() as session:
        query = select(model).filter_by(**where).order_by(model.id)
        return list(session.scalars(query))


def messages_of(rt, external_id: str = "CAD-1") -> list[Message]:
    """Load the messages exchanged about an incident, in and out, in id order."""
    alert_ids = [a.id for a in rows(rt, Alert, incident_id=incident(rt, external_id).id)]
    return [m for m in rows(rt, Message) if m.alert_id in alert_ids]


def snapshot(rt) -> dict[str, list]:
    """Return every row of every table, to tell whether anything changed."""
    with rt.engine.connect() as conn:
        return {
            t.name: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {t.name} ORDER BY 1"))]
            for t in Base.metadata.sorted_tables
        }


def outside_registration(rt) -> str:
    """Return the text of every row outside the volunteers' own registration."""
    return repr({k: v for k, v in snapshot(rt).items() if k not in REGISTRATION})


def index_of_another_process(make_app):
    """Build a second app instance on the same database; return a function syncing its index."""
    other = make_app().extensions["dispatcher"]

    def synced():
        with other.transaction() as session:
            spatial.sync(other.index, session)
        return other.index

    return synced


# --- incidents ----------------------------------------------------------------------------


def test_an_incident_past_the_retention_period_loses_its_personal_data(
    client, rt, room, clock, caplog
):
    going, declining = attended(client, rt, room)
    alerts_before = rows(rt, Alert)
    messages_before = rows(rt, Message)
    assert any(ADDRESS in m.body for m in messages_before)  # the briefing carried it
    assert rows(rt, OutgoingEvent) and rows(rt, WebhookReceipt)
    clock.advance(days=31)
    caplog.set_level(logging.INFO, logger="dispatcher.privacy.retention")

    report = retention.purge(rt)

    purged = incident(rt)
    assert (purged.address, purged.notes, purged.accuracy_m) == ("", "", None)
    assert (purged.lat, purged.lon) == (59.33, 18.06)
    assert purged.purged_at == clock.now()
    assert (purged.state, purged.kind, purged.patient_age) == ("closed", "cardiac_arrest", 64)
    alerts = rows(rt, Alert)
    assert [(a.origin_lat, a.origin_lon) for a in alerts] == [(None, None)] * 2
    assert [(a.role, a.state, a.distance_m, a.eta_s, a.responded_at) for a in alerts] == [
        (a.role, a.state, a.distance_m, a.eta_s, a.responded_at) for a in alerts_before]
    messages = rows(rt, Message)
    assert {"in", "out"} == {m.direction for m in messages}
    assert [(m.body, m.address) for m in messages] == [("", "")] * len(messages_before)
    assert [(m.direction, m.purpose, m.status, m.sid, m.created_at) for m in messages] == [
        (m.direction, m.purpose, m.status, m.sid, m.created_at) for m in messages_before]
    assert [(e.payload, e.state) for e in rows(rt, OutgoingEvent)] == [
        ({}, "delivered")] * len(rows(rt, OutgoingEvent))
    assert rows(rt, WebhookReceipt) == []
    closed = rows(rt, TimelineEvent, event="incident.closed")[0]
    assert closed.detail == {"reason": None, "stood_down": 1}
    leftover = outside_registration(rt)
    for trace in ("Drottninggatan", "1234", "Anna", "59.3326", going.phone, declining.phone):
        assert trace not in leftover
    assert report == retention.PurgeReport(
        incidents=1, alerts=2, messages=len(messages_before),
        events=len(rows(rt, OutgoingEvent)), receipts=2,
    )
    assert "Drottninggatan" not in caplog.text and going.phone not in caplog.text
    assert "incidents=1" in caplog.text


def test_a_purged_incident_status_keeps_its_counts_roles_distances_and_times(
    client, rt, room, clock
):
    attended(client, rt, room)
    before = status_of(client, room)
    clock.advance(days=31)

    retention.purge(rt)

    after = status_of(client, room)
    for kept in ("state", "dispatch", "area", "counts", "responders", "created_at",
                 "closed_at", "radius_m"):
        assert after[kept] == before[kept], kept
    assert after["counts"]["accepted"] == 1 and after["counts"]["declined"] == 1
    assert [(e["at"], e["event"]) for e in after["timeline"]] == [
        (e["at"], e["event"]) for e in before["timeline"]]
    assert after["events"] == before["events"]


def test_an_incident_inside_the_retention_period_is_left_untouched(client, rt, room, clock):
    attended(client, rt, room, "CAD-OLD")
    clock.advance(days=2)
    attended(client, rt, room, "CAD-RECENT")
    recent_alerts = rows(rt, Alert, incident_id=incident(rt, "CAD-RECENT").id)
    recent_messages = messages_of(rt, "CAD-RECENT")
    clock.advance(days=29)

    report = retention.purge(rt)

    assert report.incidents == 1
    assert incident(rt, "CAD-OLD").address == ""
    recent = incident(rt, "CAD-RECENT")
    assert (recent.address, recent.notes, recent.purged_at) == (ADDRESS, "Door code 1234", None)
    assert (recent.lat, recent.lon, recent.accuracy_m) == (59.3326, 18.0649, 20)
    assert columns(rows(rt, Alert, incident_id=recent.id)) == columns(recent_alerts)
    assert [(m.body, m.address) for m in messages_of(rt, "CAD-RECENT")] == [
        (m.body, m.address) for m in recent_messages]
    assert status_of(client, room, "CAD-RECENT")["timeline"][-1]["detail"]["reason"] == REASON


def test_a_stale_open_incident_is_purged_and_purged_again_after_a_later_update(
    client, rt, room, clock
):
    attended(client, rt, room, close=False)
    clock.advance(days=31)

    assert retention.purge(rt).incidents == 1
    assert (incident(rt).state, incident(rt).address) == ("open", "")
    update = post_event(client, room, event(
        "incident.updated", {"id": "CAD-1", "address": "Vasagatan 7"}, clock.now()),
        at=clock.now())
    assert update.status_code == 202 and incident(rt).address == "Vasagatan 7"

    again = retention.purge(rt)

    assert again.incidents == 1 and incident(rt).address == ""
    assert all("Vasagatan" not in m.body for m in rows(rt, Message))
    assert retention.purge(rt).counts() == retention.PurgeReport().counts()


def test_an_event_never_delivered_is_given_up_not_sent_empty(
    client, rt, room, clock, poster
):
    poster.down = True
    attended(client, rt, room)
    assert {e.state for e in rows(rt, OutgoingEvent)} == {"pending"}
    clock.advance(days=31)
    poster.down = False

    retention.purge(rt)
    tasks.runner(rt)("push", (incident(rt).id,))

    assert {(e.state, repr(e.payload)) for e in rows(rt, OutgoingEvent)} == {("abandoned", "{}")}
    assert poster.posts == []


def test_a_message_never_handed_to_the_provider_is_cancelled_not_sent_empty(
    client, rt, room, clock, queue, sms
):
    queue.down = True  # the alerts stay queued
    make_volunteer(rt, north_m=200)
    assert create_incident(client, room, rt).status_code == 202
    assert {m.status for m in rows(rt, Message)} == {"queued"}
    clock.advance(days=31)
    queue.down = False

    retention.purge(rt)

    assert {(m.status, m.body) for m in rows(rt, Message)} == {("cancelled", "")}
    assert "deliver" not in [job for job, _ in sweeper.overdue(rt)]
    assert sms.sent == []


def test_an_inbound_text_never_processed_is_given_up_not_acted_on_empty(
    client, rt, clock, queue, sms
):
    volunteer = make_volunteer(rt, north_m=200)
    queue.down = True  # stored, never acted on
    say(client, volunteer, "HELP")
    clock.advance(days=31)

    retention.purge(rt)
    queue.down = False

    [kept] = rows(rt, Message)
    assert (kept.body, kept.address, kept.processed_at) == ("", "", None)
    assert kept.gave_up_at == clock.now()
    assert "reply" not in [job for job, _ in sweeper.overdue(rt)]
    assert sms.sent == []


def test_delivery_reports_past_the_retention_period_are_deleted(client, rt, room, clock):
    make_volunteer(rt, north_m=200)
    open_incident(client, room, rt)
    [alert] = rows(rt, Message)
    status_report(client, alert.sid, "delivered")
    clock.advance(days=29)
    status_report(client, alert.sid, "read")  # a later report, still inside the period
    clock.advance(days=2)

    report = retention.purge(rt)

    assert report.reports == 1
    assert [r.status for r in rows(rt, DeliveryReport)] == ["read"]


# --- positions ----------------------------------------------------------------------------


def test_live_positions_past_their_retention_leave_every_process_index(
    rt, clock, make_app
):
    now = clock.now()
    old = make_volunteer(rt, north_m=300, live=offset(100), live_at=now - timedelta(hours=73))
    recent = make_volunteer(rt, north_m=400, live=offset(150), live_at=now - timedelta(hours=71))
    other_index = index_of_another_process(make_app)
    assert other_index().live_position(old.id) is not None

    report = retention.purge(rt)

    index = other_index()
    assert report.live_positions == 1
    assert index.live_position(old.id) is None
    assert index.live_position(recent.id) is not None
    hits = index.nearest_responders(*offset(100), 1_000)
    assert {(h.responder_id, h.position.kind) for h in hits} == {
        (old.id, "home"), (recent.id, "live")}
    [tombstone] = rows(rt, Position, responder_id=old.id, kind="live")
    assert tombstone.deleted is True
    assert (tombstone.lat, tombstone.lon, tombstone.accuracy_m) == (0, 0, None)
    assert tombstone.observed_at == now - timedelta(hours=73)


def test_a_late_report_older_than_a_purged_live_position_does_not_bring_it_back(rt, clock):
    now = clock.now()
    volunteer = make_volunteer(rt, north_m=300, live=offset(100),
                               live_at=now - timedelta(hours=73))
    retention.purge(rt)

    with rt.transaction() as session:
        responder = session.get(type(volunteer), volunteer.id)
        late = registry.put_live_position(session, responder, lat=59.34, lon=18.07,
                                          accuracy_m=5, at=now - timedelta(hours=80))
        fresh = registry.put_live_position(session, responder, lat=59.34, lon=18.07,
                                           accuracy_m=5, at=now)

    assert (late, fresh) == (False, True)
    [live] = rows(rt, Position, responder_id=volunteer.id, kind="live")
    assert (live.deleted, live.lat) == (False, 59.34)


def test_tombstones_of_earlier_deletes_lose_their_coordinates_and_keep_their_place_in_order(
    rt, make_app
):
    volunteer = make_volunteer(rt, north_m=300)
    other_index = index_of_another_process(make_app)
    assert len(other_index()) == 1
    with rt.transaction() as session:
        [home] = session.scalars(select(Position).where(Position.responder_id == volunteer.id))
        registry.remove_position(session, home)
    [tombstone] = rows(rt, Position, responder_id=volunteer.id)

    report = retention.purge(rt)

    [wiped] = rows(rt, Position, responder_id=volunteer.id)
    assert report.tombstones == 1
    assert (wiped.deleted, wiped.lat, wiped.lon, wiped.seq) == (True, 0, 0, tombstone.seq)
    assert len(other_index()) == 0


def test_registered_places_are_never_purged(rt, clock, make_app):
    volunteer = make_volunteer(rt, north_m=300)
    with rt.transaction() as session:
        responder = session.get(type(volunteer), volunteer.id)
        registry.put_place(session, responder, label="work", kind="work", lat=59.34, lon=18.05)
    places = rows(rt, Position)
    clock.advance(days=400)

    report = retention.purge(rt)

    assert (report.live_positions, report.tombstones) == (0, 0)
    assert columns(rows(rt, Position)) == columns(places)
    assert len(index_of_another_process(make_app)()) == 2


# --- running it ---------------------------------------------------------------------------


def test_a_second_purge_finds_nothing_to_do(client, rt, room, clock):
    attended(client, rt, room)
    make_volunteer(rt, north_m=500, live=offset(100), live_at=clock.now())
    clock.advance(days=31)
    assert retention.purge(rt).incidents == 1
    after_first = snapshot(rt)

    second = retention.purge(rt)

    assert second == retention.PurgeReport()
    assert snapshot(rt) == after_first


def test_a_dry_run_changes_nothing_and_counts_what_a_purge_in_batches_does(
    client, rt, room, clock
):
    for n in range(3):
        attended(client, rt, room, f"CAD-{n}")
        clock.advance(days=1)
    make_volunteer(rt, north_m=500, live=offset(100), live_at=clock.now())
    clock.advance(days=30)
    before = snapshot(rt)

    dry = retention.purge(rt, dry_run=True)

    assert snapshot(rt) == before
    assert dry.dry_run and dry.incidents == 3 and dry.live_positions == 1
    real = retention.purge(rt, batch=2)
    assert not real.dry_run
    assert real.counts() == dry.counts()
    assert {i.address for i in rows(rt, Incident)} == {""}


def test_the_purge_job_runs_by_name_as_the_queue_runs_it(client, rt, room, clock, queue):
    attended(client, rt, room)
    clock.advance(days=31)

    report = tasks.runner(rt)("purge", ())

    assert report.incidents == 1 and incident(rt).address == ""
    assert queue.enqueue("purge")
    assert queue.done[-1].job == "purge"


@pytest.mark.parametrize("setting", ["RETENTION_DAYS", "LIVE_POSITION_RETENTION_H"])
def test_a_retention_period_under_one_is_refused(make_app, setting):
    rt = make_app(**{setting: 0}).extensions["dispatcher"]

    with pytest.raises(ValueError, match="at least 1"):
        retention.purge(rt)


# --- the command --------------------------------------------------------------------------


def test_flask_purge_dry_run_prints_the_counts_and_changes_nothing(app, client, rt, room, clock):
    attended(client, rt, room)
    clock.advance(days=31)
    before = snapshot(rt)

    result = app.test_cli_runner().invoke(args=["purge", "--dry-run"])

    assert result.exit_code == 0, result.output
    assert "incidents: 1" in result.output and "alerts: 2" in result.output
    assert "dry run" in result.output
    assert snapshot(rt) == before


def test_flask_purge_erases_and_prints_the_counts(app, client, rt, room, clock):
    attended(client, rt, room)
    clock.advance(days=31)

    result = app.test_cli_runner().invoke(args=["purge"])

    assert result.exit_code == 0, result.output
    assert "incidents: 1" in result.output and "receipts: 2" in result.output
    assert "2026-11-24 10:00 UTC" in result.output  # the cutoff, 30 days back
    assert incident(rt).address == ""


def test_flask_purge_refuses_a_retention_period_under_one(make_app):
    app = make_app(RETENTION_DAYS=0)

    result = app.test_cli_runner().invoke(args=["purge"])

    assert result.exit_code != 0 and "at least 1" in result.output
