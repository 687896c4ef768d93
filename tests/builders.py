"""Builders for test data (volunteers, control rooms, AEDs, signed events) and the few
read-backs many tests share: who was texted, an incident's status, a volunteer's alert.
"""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from dispatcher.control_rooms import clients
from dispatcher.conversation import inbound
from dispatcher.responders import registry
from dispatcher.runtime import Runtime
from dispatcher.store.models import Alert, Incident, Responder
from geo import EARTH_RADIUS_M

# Sergels torg, Stockholm.
CENTRE = (59.3326, 18.0649)
_phones = itertools.count(1)


def offset(metres_north: float, metres_east: float = 0.0, origin=CENTRE) -> tuple[float, float]:
    """Return the point so many metres north and east of the origin."""
    import math

    lat = origin[0] + math.degrees(metres_north / EARTH_RADIUS_M)
    lon = origin[1] + math.degrees(
        metres_east / (EARTH_RADIUS_M * math.cos(math.radians(origin[0])))
    )
    return lat, lon


def make_volunteer(
    rt: Runtime, *, at: tuple[float, float] | None = None, north_m: float | None = None,
    place_kind: str = "home", schedule: str | None = None, live: tuple | None = None,
    live_at: datetime | None = None, phone: str | None = None, name: str = "Test Volunteer",
    language: str = "en", birth_year: int = 1985, cert_expires: date | None = None,
    travel_mode: str = "walk", status: str = "active", paused_until: datetime | None = None,
    owner: clients.NewClient | None = None,
) -> Responder:
    """Register a volunteer with one place (and optionally a live position); return them.

    `owner` is the control room that registered them: the only one that may move them.
    """
    now = rt.clock.now()
    with rt.transaction() as session:
        data = registry.VolunteerData(
            phone=phone or f"+4670{next(_phones) % 10**7:07d}", name=name, language=language,
            birth_year=birth_year, cert_expires=cert_expires or now.date() + timedelta(days=365),
            travel_mode=travel_mode, status=status,
        )
        responder = registry.add_volunteer(session, data, now)
        responder.paused_until = paused_until
        responder.owner_id = owner.client.id if owner is not None else None
        if at is None and north_m is not None:
            at = offset(north_m)
        if at is not None:
            registry.put_place(session, responder, label=place_kind, kind=place_kind,
                               lat=at[0], lon=at[1], schedule=schedule)
        if live is not None:
            registry.put_live_position(session, responder, lat=live[0], lon=live[1],
                                       accuracy_m=10, at=live_at or now)
    return responder


def make_control_room(rt: Runtime, name: str | None = None, **kwargs) -> clients.NewClient:
    """Create a control-room client; return it with its secret and token."""
    with rt.transaction() as session:
        return clients.create_client(
            session, name or f"cr-{uuid.uuid4().hex[:6]}", rt.clock.now(), **kwargs
        )


def incident_data(external_id: str = "CAD-1", at=CENTRE, **overrides) -> dict:
    """Return the data of an incident.created at a place."""
    data = {
        "id": external_id, "kind": "cardiac_arrest",
        "location": {"lat": at[0], "lon": at[1], "accuracy_m": 20},
        "address": "Drottninggatan 53, 3 tr", "notes": "Door code 1234",
        "patient_age": 64, "ems_eta_s": 540,
    }
    data.update(overrides)
    return data


def event(type_: str, data: dict, at: datetime) -> dict:
    """Return an event envelope."""
    return {"type": type_, "timestamp": at.isoformat().replace("+00:00", "Z"), "data": data}


def post_event(
    http, control_room: clients.NewClient, body, *, at: datetime, webhook_id: str | None = None,
    secret: str | None = None, content_type: str = "application/json", headers: dict | None = None,
):
    """Sign and post an event (a dict, or raw text/bytes) as a control room does."""
    raw = body if isinstance(body, (str, bytes)) else json.dumps(body)
    text = raw.decode() if isinstance(raw, bytes) else raw
    signed = clients.sign(secret or control_room.secret, webhook_id or f"msg_{uuid.uuid4().hex}",
                          at, text)
    return http.post("/api/v1/events", data=raw, headers={**signed, **(headers or {})},
                     content_type=content_type)


def send_event(http, control_room, rt: Runtime, type_: str, data: dict, **kwargs):
    """Sign and post an event of a type, stamped and signed at the service's clock."""
    now = rt.clock.now()
    return post_event(http, control_room, event(type_, data, now), at=now, **kwargs)


def create_incident(http, control_room, rt: Runtime, external_id="CAD-1", at=CENTRE, **kw):
    """Post an incident.created and return the response."""
    return send_event(http, control_room, rt, "incident.created",
                      incident_data(external_id, at, **kw))


def open_incident(http, control_room, rt: Runtime, external_id: str = "CAD-1", **data) -> dict:
    """Post an incident.created that must be accepted; return the status it answers with."""
    response = create_incident(http, control_room, rt, external_id, **data)
    assert response.status_code == 202, response.json
    return response.json


def post_about(http, control_room, rt: Runtime, type_: str, external_id: str = "CAD-1",
               **data) -> dict:
    """Post an event about an incident that must be accepted; return the status it answers."""
    response = send_event(http, control_room, rt, type_, {"id": external_id, **data})
    assert response.status_code == 202, response.json
    return response.json


def end_incident(http, control_room, rt: Runtime, external_id: str = "CAD-1",
                 how: str = "closed") -> dict:
    """Post an incident.closed (or .cancelled); return the status it answers with."""
    return post_about(http, control_room, rt, f"incident.{how}", external_id)


def status_of(http, control_room, external_id: str = "CAD-1") -> dict:
    """Read an incident's status as its control room does."""
    response = http.get(f"/api/v1/incidents/{external_id}",
                        headers={"Authorization": f"Bearer {control_room.token}"})
    assert response.status_code == 200, response.json
    return response.json


TWILIO_TOKEN = "test-auth-token-0123456789abcdef"


def twilio_settings() -> dict:
    """Settings under which the Twilio webhooks accept requests signed with TWILIO_TOKEN."""
    return {"TWILIO_AUTH_TOKEN": TWILIO_TOKEN, "PUBLIC_BASE_URL": "https://dispatch.example.org"}


def twilio_post(http, path: str, params: dict, *, token: str = TWILIO_TOKEN,
                base: str = "https://dispatch.example.org", signature: str | None = None):
    """Post a form to a Twilio webhook, signed as Twilio signs it for the public URL."""
    from twilio.request_validator import RequestValidator

    if signature is None:
        signature = RequestValidator(token).compute_signature(base + path, params)
    return http.post(path, data=params, headers={"X-Twilio-Signature": signature})


_sids = itertools.count(1)


def sms_from(http, responder, body: str, *, sid: str | None = None):
    """Post a volunteer's SMS to /sms/inbound as Twilio would; return the response."""
    params = {
        "MessageSid": sid or f"SMin{next(_sids):030d}", "From": responder.phone,
        "To": "+46700000000", "Body": body, "NumMedia": "0",
    }
    return twilio_post(http, "/sms/inbound", params)


def say(http, responder, body: str) -> None:
    """Send a volunteer's SMS to the inbound webhook; Twilio always gets its 200."""
    response = sms_from(http, responder, body)
    assert response.status_code == 200, response.data


_received = itertools.count(1)


def sms_arrives(rt: Runtime, responder, body: str) -> None:
    """Let a volunteer's SMS arrive at the use case, past the webhook."""
    assert inbound.receive(rt, sid=f"SMrx{next(_received):030d}", address=responder.phone,
                           body=body, provider="fake")


def status_report(http, sid: str, status: str, error_code: int | None = None):
    """Post a delivery report to /sms/status as Twilio would; return the response."""
    params = {"MessageSid": sid, "MessageStatus": status}
    if error_code is not None:
        params["ErrorCode"] = str(error_code)
    return twilio_post(http, "/sms/status", params)


def make_aed(rt: Runtime, *, at: tuple[float, float], name: str = "Test AED",
             opening_hours: str | None = "24/7", access: str = "public",
             access_notes: str = "By the entrance"):
    """Register an AED; return its id."""
    from dispatcher.domain import hours
    from dispatcher.store.models import Aed

    now = rt.clock.now()
    with rt.transaction() as session:
        aed = Aed(name=name, lat=at[0], lon=at[1], opening_hours=opening_hours,
                  hours_valid=None if opening_hours is None else hours.is_valid(opening_hours),
                  access=access, access_notes=access_notes, created_at=now, updated_at=now)
        session.add(aed)
        session.flush()
        return aed.id


def runner_for(app):
    """Return a function that runs a flask command against an app and returns the result."""
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=list(args))


# --- reading back --------------------------------------------------------------------------


def texted(sms, since: int = 0) -> list[str]:
    """Return the addresses the fake was asked to text, in order, from message `since` on.

    Tests count from a mark instead of calling `sms.clear()`: the fake numbers its SIDs by
    how many it holds, so after a clear it would reuse SIDs that are unique in the database.
    """
    return [m.to for m in sms.sent[since:]]


def count_rows(rt: Runtime, model) -> int:
    """Count the rows of a table."""
    with rt.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def alert_of(rt: Runtime, responder, external_id: str | None = None) -> Alert:
    """Return a volunteer's alert as it is now: their only one, or the one for an incident."""
    query = select(Alert).where(Alert.responder_id == responder.id)
    if external_id is not None:
        query = query.join(Incident).where(Incident.external_id == external_id)
    with rt.transaction() as session:
        return session.scalars(query).one()


def alert_states(rt: Runtime) -> dict[str, str]:
    """Return the state of every alert, keyed by the volunteer's phone."""
    with rt.transaction() as session:
        return dict(session.execute(
            select(Responder.phone, Alert.state).join(Alert, Alert.responder_id == Responder.id)
        ).all())


def last_text(sms, responder) -> str:
    """Return the newest SMS a volunteer received."""
    texts = sms.to(responder.phone)
    assert texts, f"nothing was sent to {responder.phone}"
    return texts[-1]


def wave_details(status: dict) -> list[dict]:
    """Return the detail of each wave entry in an incident status's timeline, oldest first."""
    return [e["detail"] for e in status["timeline"] if e["event"] == "wave"]


def radii(status: dict) -> list[int]:
    """Return the radius of each wave in an incident status's timeline."""
    return [wave["radius_m"] for wave in wave_details(status)]


def after_incident(http, rt: Runtime, queue, clock, control_room, answers: dict,
                   external_id: str = "CAD-1") -> None:
    """Run an incident the volunteers went to, ask them after it, and let them answer.

    `answers` maps each volunteer to their answer to the follow-up question.
    """
    open_incident(http, control_room, rt, external_id)
    for volunteer in answers:
        sms_arrives(rt, volunteer, "YES")
    end_incident(http, control_room, rt, external_id)
    clock.advance(minutes=90)
    queue.run_due(clock.now())
    for volunteer, answer in answers.items():
        clock.advance(minutes=1)
        sms_arrives(rt, volunteer, answer)
