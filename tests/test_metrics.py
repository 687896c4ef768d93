"""/metrics shows what the service did: intake, texts sent and failed, replies, the breaker,
work waiting and the index lag, each under its name once the action has happened."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from dispatcher.health import readiness
from dispatcher.sms.failures import refusal
from dispatcher.store.models import Message
from tests.builders import (
    create_incident,
    make_volunteer,
    open_incident,
    sms_arrives,
    status_report,
)

pytestmark = pytest.mark.usefixtures("twilio_hooks")

NAMES = {
    "dispatcher_intake_seconds", "dispatcher_candidate_search_seconds", "dispatcher_sms_sent",
    "dispatcher_sms_failed", "dispatcher_replies", "dispatcher_sms_breaker_open",
    "dispatcher_queue_depth", "dispatcher_index_lag",
}


@pytest.fixture
def settings(settings):
    """Waves of one, so each test knows how many texts go."""
    settings.update(WAVE_SIZE=1, TARGET_CPR=1, TARGET_AED=0)
    return settings


def scrape(client) -> dict[tuple[str, frozenset], float]:
    """Return every sample of /metrics by name and labels."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            for s in family.samples}


def value(samples: dict, name: str, **labels) -> float:
    """Return one sample's value; 0 for a labelled series not counted yet."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def families(client) -> set[str]:
    """Return the names of the metric families /metrics describes."""
    text = client.get("/metrics").get_data(as_text=True)
    return {f.name for f in text_string_to_metric_families(text)}


def test_metrics_describe_every_metric_of_the_service(client):
    assert NAMES <= families(client)


def test_a_signed_incident_event_counts_in_the_intake_histogram(rt, client, room):
    before = value(scrape(client), "dispatcher_intake_seconds_count")

    open_incident(client, room, rt, "CAD-1")

    assert value(scrape(client), "dispatcher_intake_seconds_count") == before + 1


def test_a_refused_event_counts_in_the_intake_histogram_too(rt, client, room):
    before = value(scrape(client), "dispatcher_intake_seconds_count")

    response = create_incident(client, room, rt, "CAD-1", kind=17)

    assert response.status_code == 422
    assert value(scrape(client), "dispatcher_intake_seconds_count") == before + 1


def test_an_alert_taken_by_the_provider_counts_as_sent(rt, client, room, sms):
    make_volunteer(rt, north_m=200)
    before = value(scrape(client), "dispatcher_sms_sent_total", purpose="alert")

    open_incident(client, room, rt, "CAD-1")

    assert len(sms.sent) == 1
    assert value(scrape(client), "dispatcher_sms_sent_total", purpose="alert") == before + 1


def test_an_alert_to_a_bad_number_counts_as_failed_for_the_number(rt, client, room, sms):
    volunteer = make_volunteer(rt, north_m=200)
    sms.failures[volunteer.phone] = refusal(21211, 400)  # not a valid phone number
    before = scrape(client)

    open_incident(client, room, rt, "CAD-1")

    after = scrape(client)
    failed = {"purpose": "alert", "reason": "number"}
    assert value(after, "dispatcher_sms_failed_total", **failed) == \
        value(before, "dispatcher_sms_failed_total", **failed) + 1
    assert value(after, "dispatcher_sms_sent_total", purpose="alert") == \
        value(before, "dispatcher_sms_sent_total", purpose="alert")


def test_an_account_error_opens_the_breaker_and_counts_the_alert_held(rt, client, room, sms):
    make_volunteer(rt, north_m=200)
    sms.down = refusal(20003, 401)  # the provider refuses our credentials
    before = scrape(client)
    assert value(before, "dispatcher_sms_breaker_open", provider=sms.name) == 0

    open_incident(client, room, rt, "CAD-1")

    after = scrape(client)
    held = {"purpose": "alert", "reason": "held"}
    assert value(after, "dispatcher_sms_failed_total", **held) == \
        value(before, "dispatcher_sms_failed_total", **held) + 1
    assert value(after, "dispatcher_sms_breaker_open", provider=sms.name) == 1


def test_an_undelivered_report_counts_as_failed_by_its_kind(rt, client, room, sms):
    make_volunteer(rt, north_m=200)
    open_incident(client, room, rt, "CAD-1")
    before = scrape(client)

    assert status_report(client, sms.sent[0].sid, "undelivered", 30003).status_code == 200

    failed = {"purpose": "alert", "reason": "transient"}  # 30003: the handset is away
    assert value(scrape(client), "dispatcher_sms_failed_total", **failed) == \
        value(before, "dispatcher_sms_failed_total", **failed) + 1


def test_a_reply_counts_by_what_it_meant(rt, client, room):
    volunteer = make_volunteer(rt, north_m=200)
    open_incident(client, room, rt, "CAD-1")
    before = scrape(client)

    sms_arrives(rt, volunteer, "YES")
    sms_arrives(rt, volunteer, "what?")

    after = scrape(client)
    for kind in ("accept", "unknown"):
        assert value(after, "dispatcher_replies_total", kind=kind) == \
            value(before, "dispatcher_replies_total", kind=kind) + 1


def test_queue_depth_counts_texts_not_yet_sent_and_waves_due(rt, client, room, queue, clock):
    make_volunteer(rt, north_m=200)
    queue.eager = False  # nobody runs the jobs: the work waits in the database
    open_incident(client, room, rt, "CAD-1")

    waiting = scrape(client)
    clock.advance(seconds=rt.settings.values["WAVE_TIMEOUT_S"] + 1)
    due = scrape(client)

    assert value(waiting, "dispatcher_queue_depth", work="messages") == 1
    assert value(waiting, "dispatcher_queue_depth", work="waves") == 0
    assert value(due, "dispatcher_queue_depth", work="waves") == 1
    assert value(due, "dispatcher_queue_depth", work="events") == 0
    assert value(due, "dispatcher_queue_depth", work="inbound") == 0


def test_queue_depth_counts_replies_not_yet_acted_on(rt, client, room, queue):
    volunteer = make_volunteer(rt, north_m=200)
    open_incident(client, room, rt, "CAD-1")
    queue.eager = False

    sms_arrives(rt, volunteer, "YES")

    assert value(scrape(client), "dispatcher_queue_depth", work="inbound") == 1


def test_index_lag_is_the_changes_the_index_has_not_applied(rt, client, room):
    for north_m in (100, 200, 300):
        make_volunteer(rt, north_m=north_m)
    behind = readiness.change_seq(rt)

    lagging = scrape(client)
    open_incident(client, room, rt, "CAD-1")  # a search brings the index up to date

    assert behind >= 3
    assert value(lagging, "dispatcher_index_lag") == behind
    assert value(scrape(client), "dispatcher_index_lag") == 0


def test_metrics_carry_no_phone_number(rt, client, room, sms):
    volunteer = make_volunteer(rt, north_m=200)
    sms.failures[volunteer.phone] = refusal(21211, 400)
    open_incident(client, room, rt, "CAD-1")
    sms_arrives(rt, volunteer, "YES")

    text = client.get("/metrics").get_data(as_text=True)

    assert volunteer.phone not in text and volunteer.phone.lstrip("+") not in text
    assert volunteer.ref not in text


def test_a_metrics_store_that_fails_never_stops_a_text(rt, client, room, sms, monkeypatch):
    class Broken:
        def labels(self, *args):
            raise OSError("the metrics file cannot grow")

        def observe(self, value):
            raise OSError("the metrics file cannot grow")

    for name in ("SMS_SENT", "SMS_FAILED", "INTAKE_SECONDS", "CANDIDATE_SEARCH_SECONDS"):
        monkeypatch.setattr(f"dispatcher.metrics.{name}", Broken())
    volunteer = make_volunteer(rt, north_m=100)

    response = create_incident(client, room, rt)

    assert response.status_code == 202
    assert [s.to for s in sms.sent] == [volunteer.phone]
    with rt.transaction() as session:  # and it is recorded as sent, not left mid-send
        assert session.scalars(select(Message.status)).all() == ["sent"]
