"""The database schema: SQLAlchemy 2.0 models, the source of truth (their base: store.base)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dispatcher.store.base import Base
from dispatcher.store.columns import UTCDateTime


class Client(Base):
    """A control room's system that posts incidents and reads their status."""

    __tablename__ = "clients"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    # The Standard Webhooks secret must be kept to verify HMACs; the bearer token is only hashed.
    secret: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(200), default="")
    events_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookReceipt(Base):
    """The first answer given to a webhook-id, replayed for repeated deliveries."""

    __tablename__ = "webhook_receipts"
    __table_args__ = (UniqueConstraint("client_id", "webhook_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    webhook_id: Mapped[str] = mapped_column(String(255))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # SHA-256 of the body first received: the same id with another body is refused.
    body_digest: Mapped[str | None] = mapped_column(String(64))


class Responder(Base):
    """A certified volunteer who can be alerted by SMS."""

    __tablename__ = "responders"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(16), unique=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    language: Mapped[str] = mapped_column(String(5), default="en")
    birth_year: Mapped[int] = mapped_column(Integer)
    cert_expires: Mapped[date] = mapped_column(Date)
    # active | opted_out | invalid_number (the provider says the number cannot take texts)
    status: Mapped[str] = mapped_column(String(16), default="active")
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    travel_mode: Mapped[str] = mapped_column(String(8), default="walk")  # walk | bike | car
    channel: Mapped[str] = mapped_column(String(12), default="sms")  # sms | whatsapp
    # The organisation (client) that registered the volunteer: the only one that may report
    # their positions. None (volunteers from before migration 0007): no client may.
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("clients.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The change sequence number of the last write that a search must know of (travel mode,
    # status, pause, birth year, certificate): see store.sequence.
    seq: Mapped[int] = mapped_column(BigInteger, index=True, default=0, server_default="0")
    positions: Mapped[list[Position]] = relationship(back_populates="responder")


class Position(Base):
    """A place a volunteer may be found: a registered place or the live position.

    Every write takes the next value of the change sequence, and a delete leaves a
    tombstone, so each process can bring its spatial index up to date with one query.
    """

    __tablename__ = "positions"
    __table_args__ = (UniqueConstraint("responder_id", "label"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    responder_id: Mapped[int] = mapped_column(ForeignKey("responders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # live | home | work | place
    label: Mapped[str] = mapped_column(String(40))  # unique per volunteer; "live" for live
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    schedule: Mapped[str | None] = mapped_column(String(200))  # OSM opening_hours syntax
    observed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    seq: Mapped[int] = mapped_column(BigInteger, index=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    responder: Mapped[Responder] = relationship(back_populates="positions")


class ChangeCounter(Base):
    """The single-row counter behind the position change sequence.

    Taking numbers locks its row until commit, so sequence numbers become visible in order: a
    reader that sees N has already been able to see everything below N. A writer either
    increments it (`UPDATE ... RETURNING`), or, for live positions written in one statement
    (`responders.live`), locks it first, numbers its rows after its value and sets it to the
    highest number written. Either way the lock is taken before any position row is written
    and held until commit, so the guarantee and the order of locks are the same for all.
    """

    __tablename__ = "change_counter"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class Aed(Base):
    """An automated external defibrillator and when it can be reached."""

    __tablename__ = "aeds"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_ref: Mapped[str | None] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    access_notes: Mapped[str] = mapped_column(Text, default="")
    opening_hours: Mapped[str | None] = mapped_column(String(500))
    hours_valid: Mapped[bool | None] = mapped_column(Boolean)  # None: no hours given
    access: Mapped[str] = mapped_column(String(20), default="public")  # public | restricted
    cabinet_code_note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Each process's AED index reloads when the count or the newest change moves.
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class Incident(Base):
    """A suspected cardiac arrest reported by a control room."""

    __tablename__ = "incidents"
    __table_args__ = (UniqueConstraint("client_id", "external_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    external_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str] = mapped_column(String(300), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    patient_age: Mapped[int | None] = mapped_column(Integer)
    flags: Mapped[list] = mapped_column(JSON, default=list)
    ems_eta_s: Mapped[int | None] = mapped_column(Integer)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(12), default="open")  # open | cancelled | closed
    dispatch_status: Mapped[str] = mapped_column(String(30), default="alerting")
    reason: Mapped[str | None] = mapped_column(String(200))
    radius_m: Mapped[int | None] = mapped_column(Integer)
    # The service area whose policy applies (None: the default policy).
    area: Mapped[str | None] = mapped_column(String(120))
    # The current wave and when it ends: the wave timer, kept here so no restart loses it.
    wave: Mapped[int] = mapped_column(Integer, default=0)
    next_wave_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    targets_met_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    no_responders_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When those who went are asked whether they are OK, and when that was done.
    follow_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    followed_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the retention purge erased its personal data.
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    alerts: Mapped[list[Alert]] = relationship(back_populates="incident", order_by="Alert.id")
    events: Mapped[list[TimelineEvent]] = relationship(order_by="TimelineEvent.id")


class TimelineEvent(Base):
    """One entry in an incident's timeline."""

    __tablename__ = "timeline_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    event: Mapped[str] = mapped_column(String(60))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class Alert(Base):
    """One volunteer asked to help at one incident."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("incident_id", "responder_id"),
        Index("ix_alerts_responder_state", "responder_id", "state"),
        # Coordinators list the follow-ups that asked for a call and are not resolved.
        Index("ix_alerts_follow_up", "follow_up", "follow_up_resolved_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    responder_id: Mapped[int] = mapped_column(ForeignKey("responders.id"))
    wave: Mapped[int] = mapped_column(Integer, default=1)
    # Set and changed only by dispatcher.alerts.lifecycle (its STATES).
    state: Mapped[str] = mapped_column(String(12))
    code: Mapped[str] = mapped_column(String(8))  # lets a reply pick this alert: "YES 4821"
    distance_m: Mapped[float] = mapped_column(Float)
    eta_s: Mapped[float] = mapped_column(Float)
    position_kind: Mapped[str] = mapped_column(String(12))
    # Where the volunteer was taken to be when alerted: the start of their route.
    origin_lat: Mapped[float | None] = mapped_column(Float)
    origin_lon: Mapped[float | None] = mapped_column(Float)
    # An alert unanswered by then expires and the next volunteer is asked.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    role: Mapped[str | None] = mapped_column(String(8))  # cpr | aed
    aed_id: Mapped[int | None] = mapped_column(ForeignKey("aeds.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # After the incident: None | asked | fine | call_me; a call_me is a flag for coordinators
    # until one resolves it.
    follow_up: Mapped[str | None] = mapped_column(String(8))
    follow_up_asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    follow_up_answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    follow_up_resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    incident: Mapped[Incident] = relationship(back_populates="alerts")
    responder: Mapped[Responder] = relationship()


class Message(Base):
    """Every SMS in and out, with its provider id and delivery status."""

    __tablename__ = "messages"
    # The sweeper looks for messages stuck in one status since before a time, and for
    # inbound messages not yet processed.
    __table_args__ = (Index("ix_messages_status_updated", "status", "updated_at"),
                      Index("ix_messages_inbox", "direction", "processed_at"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))  # out | in
    channel: Mapped[str] = mapped_column(String(12), default="sms")
    address: Mapped[str] = mapped_column(String(40))  # the volunteer's side of the exchange
    body: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(String(20))  # alert | stand_down | reply | inbound
    responder_id: Mapped[int | None] = mapped_column(ForeignKey("responders.id"), index=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), index=True)
    provider: Mapped[str] = mapped_column(String(12))
    sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    # queued | sending | sent | delivered | failed | undelivered | cancelled | received
    status: Mapped[str] = mapped_column(String(12))
    error_code: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Inbound only: stored first, then acted on once by the `reply` job (store.inbox).
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    gave_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutgoingEvent(Base):
    """An event for a control room, kept until its endpoint has taken it (the events outbox)."""

    __tablename__ = "outgoing_events"
    __table_args__ = (Index("ix_outgoing_events_due", "state", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    # The same webhook-id on every retry, so the receiver can drop repeats.
    webhook_id: Mapped[str] = mapped_column(String(64), unique=True)
    type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(12), default="pending")  # pending|delivered|abandoned
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ServiceArea(Base):
    """A polygon with its own dispatch parameters, or an exclusion zone where none dispatches."""

    __tablename__ = "service_areas"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(12), default="area")  # area | exclusion
    geometry: Mapped[dict] = mapped_column(JSON)  # a GeoJSON Polygon or MultiPolygon
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
