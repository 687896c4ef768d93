"""intake.receive: a control room's signed event, verified, applied once, answered again on repeat.

These call the use case directly with the headers a control room signs; the HTTP layer
(content type, size, JSON errors) is tested in tests/web/test_intake.py.
"""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from dispatcher.control_rooms import clients
from dispatcher.errors import IncidentConflict, InvalidPayload, InvalidSignature, UnknownIncident
from dispatcher.incidents import intake
from dispatcher.store.models import Alert, Incident, WebhookReceipt
from tests.builders import count_rows, event, incident_data, make_control_room, make_volunteer
from tests.web.assertions import NOTHING_WRITTEN, row_counts


def signed(rt, secret: str, body: dict, webhook_id: str | None = None) -> tuple[dict, bytes]:
    """Return the headers and bytes of an event signed with a secret at the service's clock."""
    text = json.dumps(body)
    headers = clients.sign(secret, webhook_id or f"msg_{uuid.uuid4().hex}", rt.clock.now(), text)
    return headers, text.encode()


def created(rt, external_id: str = "CAD-1", **changes) -> dict:
    """Return an incident.created stamped with the service's clock."""
    return event("incident.created", incident_data(external_id, **changes), rt.clock.now())


@pytest.fixture
def nearby(rt):
    """A volunteer 200 m from the incident."""
    return make_volunteer(rt, north_m=200)


def test_a_signed_incident_is_opened_and_the_nearest_volunteer_is_texted(rt, sms, room, nearby):
    headers, body = signed(rt, room.secret, created(rt))

    answer = intake.receive(rt, headers, body)

    assert answer.status == 202
    assert answer.body["id"] == "CAD-1"
    assert answer.body["state"] == "open"
    assert answer.body["counts"]["alerted"] == 1
    assert [m.to for m in sms.sent] == [nearby.phone]
    assert count_rows(rt, WebhookReceipt) == 1


def test_header_names_are_read_in_any_case(rt, sms, room, nearby):
    headers, body = signed(rt, room.secret, created(rt))

    answer = intake.receive(rt, {k.title(): v for k, v in headers.items()}, body)

    assert answer.status == 202
    assert count_rows(rt, Incident) == 1


def test_a_repeated_webhook_id_gets_the_first_answer_and_writes_and_sends_nothing_more(
    rt, sms, clock, room, nearby
):
    headers, body = signed(rt, room.secret, created(rt), webhook_id="msg_once")
    first = intake.receive(rt, headers, body)
    before, sent = row_counts(rt), list(sms.sent)
    clock.advance(seconds=30)

    again = intake.receive(rt, headers, body)

    assert again == first
    assert row_counts(rt) == before
    assert sms.sent == sent


def test_the_same_incident_with_other_content_is_a_conflict_and_writes_nothing(
    rt, sms, room, nearby
):
    intake.receive(rt, *signed(rt, room.secret, created(rt)))
    before, sent = row_counts(rt), list(sms.sent)
    headers, body = signed(rt, room.secret, created(rt, address="Vasagatan 1"))

    with pytest.raises(IncidentConflict):
        intake.receive(rt, headers, body)

    assert row_counts(rt) == before
    assert sms.sent == sent


def test_the_same_incident_with_the_same_content_under_a_new_id_is_answered_without_texting(
    rt, sms, room, nearby
):
    first = intake.receive(rt, *signed(rt, room.secret, created(rt)))

    second = intake.receive(rt, *signed(rt, room.secret, created(rt)))

    assert second.status == 202
    assert second.body["counts"] == first.body["counts"]
    assert len(sms.sent) == 1
    assert count_rows(rt, Incident) == 1
    assert count_rows(rt, WebhookReceipt) == 2


def test_an_unknown_event_type_is_invalid_names_the_type_and_writes_nothing(
    rt, sms, room, nearby
):
    body = event("incident.exploded", {"id": "CAD-1"}, rt.clock.now())

    with pytest.raises(InvalidPayload) as raised:
        intake.receive(rt, *signed(rt, room.secret, body))

    assert "type" in raised.value.fields
    assert row_counts(rt) == NOTHING_WRITTEN
    assert sms.sent == []


def test_an_unknown_type_is_not_remembered_so_a_corrected_event_under_its_id_is_applied(
    rt, sms, room, nearby
):
    wrong = event("incident.exploded", {"id": "CAD-1"}, rt.clock.now())
    with pytest.raises(InvalidPayload):
        intake.receive(rt, *signed(rt, room.secret, wrong, webhook_id="msg_fixed"))

    answer = intake.receive(rt, *signed(rt, room.secret, created(rt), webhook_id="msg_fixed"))

    assert answer.status == 202
    assert [m.to for m in sms.sent] == [nearby.phone]


def test_an_event_signed_with_another_secret_is_refused_and_writes_nothing(rt, sms, room, nearby):
    headers, body = signed(rt, clients.new_secret(), created(rt))

    with pytest.raises(InvalidSignature):
        intake.receive(rt, headers, body)

    assert row_counts(rt) == NOTHING_WRITTEN
    assert sms.sent == []


def test_an_event_changed_after_signing_is_refused(rt, sms, room, nearby):
    headers, body = signed(rt, room.secret, created(rt))

    with pytest.raises(InvalidSignature):
        intake.receive(rt, headers, body.replace(b"CAD-1", b"CAD-2"))

    assert row_counts(rt) == NOTHING_WRITTEN


def test_the_event_belongs_to_the_control_room_whose_secret_signed_it(rt, sms, room, nearby):
    other = make_control_room(rt)
    intake.receive(rt, *signed(rt, other.secret, created(rt)))
    closing = event("incident.closed", {"id": "CAD-1"}, rt.clock.now())

    with pytest.raises(UnknownIncident):
        intake.receive(rt, *signed(rt, room.secret, closing))

    with rt.transaction() as session:
        incident = session.scalars(select(Incident)).one()
        assert (incident.client_id, incident.state) == (other.client.id, "open")
    assert count_rows(rt, Alert) == 1
