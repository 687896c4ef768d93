"""Typed settings groups, built once by create_app from the flat configuration."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from dispatcher.config import load_config


@dataclass(frozen=True)
class TwilioSettings:
    """How to reach Twilio: credentials, the sender, and the bounds of one call."""

    account_sid: str
    auth_token: str
    sender: str
    messaging_service_sid: str
    timeout_s: float
    deadline_s: float
    validity_period_s: int | None


@dataclass(frozen=True)
class ElksSettings:
    """How to reach 46elks, the second provider: credentials, the sender, the call's bounds."""

    username: str
    password: str
    sender: str
    timeout_s: float
    deadline_s: float


@dataclass(frozen=True)
class SendingSettings:
    """How outgoing messages are handed to the provider, and where its reports come back."""

    status_callback: str
    concurrency: int
    lease: timedelta
    retry_base: timedelta
    retry_max: timedelta
    retry_for: timedelta
    briefing_deadline: timedelta
    probe_first: timedelta
    probe_max: timedelta

    def backoff(self, attempts: int) -> timedelta:
        """Return the wait before the next try after `attempts` failed ones (doubling, capped)."""
        return min(self.retry_max, self.retry_base * 2 ** max(attempts - 1, 0))


@dataclass(frozen=True)
class QueueSettings:
    """Where the job queue lives and how its consumers and sweeper run."""

    url: str
    name: str
    workers: int
    poll_max_s: float
    sweep_interval: timedelta


@dataclass(frozen=True)
class InboundSettings:
    """How stored inbound SMS and delivery reports are processed: retries and when to give up."""

    retry: timedelta
    max_attempts: int

    def backoff(self, attempt: int) -> timedelta:
        """Return how long after its attempt number `attempt` a row is tried again."""
        return self.retry * 2 ** min(max(attempt - 1, 0), 10)


@dataclass(frozen=True)
class EventSettings:
    """How events are pushed back to a control room: the bound of a call, retries, give-up."""

    timeout_s: float
    retry_base_s: float
    retry_max_s: float
    max_age: timedelta


@dataclass(frozen=True)
class ConversationSettings:
    """What the texts to volunteers need: numbers' region, the map link, pauses, follow-up."""

    default_region: str
    map_link_template: str
    pause_default_h: float
    follow_up_after: timedelta


@dataclass(frozen=True)
class RetentionSettings:
    """How long personal data is kept."""

    incident_data: timedelta
    live_positions: timedelta


@dataclass(frozen=True)
class Settings:
    """The service's settings as typed groups, built once by create_app and read everywhere."""

    database_url: str | None
    sms_backend: str
    sms_failover_backend: str
    public_base_url: str
    timezone: str
    holiday_region: str | None
    signature_tolerance: timedelta
    max_body_bytes: int
    secret_key: str
    phones_enabled: bool
    log_level: str
    log_format: str
    ready_max_index_lag: int
    twilio: TwilioSettings
    elks: ElksSettings
    sending: SendingSettings
    queue: QueueSettings
    inbound: InboundSettings
    events: EventSettings
    conversation: ConversationSettings
    retention: RetentionSettings
    values: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Settings:
        """Build the typed groups from the flat mapping `load_config` returns."""
        v = dict(values)
        base = str(v["PUBLIC_BASE_URL"]).rstrip("/")
        lease = timedelta(seconds=float(v["SEND_LEASE_S"]))
        return cls(
            database_url=v["DATABASE_URL"] or None,
            sms_backend=str(v["SMS_BACKEND"]),
            sms_failover_backend=str(v["SMS_FAILOVER_BACKEND"] or ""),
            public_base_url=base,
            timezone=str(v["TIMEZONE"]),
            holiday_region=str(v["HOLIDAY_REGION"] or "") or None,
            signature_tolerance=timedelta(seconds=float(v["SIGNATURE_TOLERANCE_S"])),
            max_body_bytes=int(v["MAX_BODY_BYTES"]),
            secret_key=str(v["SECRET_KEY"] or ""),
            phones_enabled=bool(v["PHONES_ENABLED"]),
            log_level=str(v["LOG_LEVEL"]),
            log_format=str(v["LOG_FORMAT"]).strip().lower(),
            ready_max_index_lag=int(v["READY_MAX_INDEX_LAG"]),
            twilio=TwilioSettings(
                account_sid=str(v["TWILIO_ACCOUNT_SID"]),
                auth_token=str(v["TWILIO_AUTH_TOKEN"]),
                sender=str(v["TWILIO_FROM"]),
                messaging_service_sid=str(v["TWILIO_MESSAGING_SERVICE_SID"]),
                timeout_s=float(v["TWILIO_TIMEOUT_S"]),
                deadline_s=call_deadline(float(v["TWILIO_DEADLINE_S"]), lease),
                # 0 means "Twilio's default": none is sent.
                validity_period_s=int(v["TWILIO_VALIDITY_PERIOD_S"]) or None,
            ),
            elks=ElksSettings(
                username=str(v["ELKS_USERNAME"]),
                password=str(v["ELKS_PASSWORD"]),
                sender=str(v["ELKS_FROM"]),
                timeout_s=float(v["ELKS_TIMEOUT_S"]),
                deadline_s=call_deadline(float(v["ELKS_DEADLINE_S"]), lease),
            ),
            sending=SendingSettings(
                status_callback=base + "/sms/status",
                concurrency=int(v["SEND_CONCURRENCY"]),
                lease=lease,
                retry_base=timedelta(seconds=float(v["RETRY_BASE_S"])),
                retry_max=timedelta(seconds=float(v["RETRY_MAX_S"])),
                retry_for=timedelta(seconds=float(v["RETRY_FOR_S"])),
                briefing_deadline=timedelta(seconds=float(v["BRIEFING_DEADLINE_S"])),
                probe_first=timedelta(seconds=float(v["PROVIDER_PROBE_FIRST_S"])),
                probe_max=timedelta(seconds=float(v["PROVIDER_PROBE_MAX_S"])),
            ),
            queue=QueueSettings(
                url=str(v["QUEUE_URL"] or ""),
                name=str(v["QUEUE_NAME"]),
                workers=int(v["QUEUE_WORKERS"]),
                poll_max_s=float(v["QUEUE_POLL_MAX_S"]),
                sweep_interval=timedelta(seconds=float(v["SWEEP_INTERVAL_S"])),
            ),
            inbound=InboundSettings(
                retry=timedelta(seconds=float(v["INBOUND_RETRY_S"])),
                max_attempts=int(v["INBOUND_MAX_ATTEMPTS"]),
            ),
            events=EventSettings(
                timeout_s=float(v["EVENTS_TIMEOUT_S"]),
                retry_base_s=float(v["EVENTS_RETRY_BASE_S"]),
                retry_max_s=float(v["EVENTS_RETRY_MAX_S"]),
                max_age=timedelta(hours=float(v["EVENTS_MAX_AGE_H"])),
            ),
            conversation=ConversationSettings(
                default_region=str(v["DEFAULT_REGION"]),
                map_link_template=str(v["MAP_LINK_TEMPLATE"]),
                pause_default_h=float(v["PAUSE_DEFAULT_H"]),
                follow_up_after=timedelta(minutes=float(v["FOLLOW_UP_AFTER_MIN"])),
            ),
            retention=RetentionSettings(
                incident_data=timedelta(days=float(v["RETENTION_DAYS"])),
                live_positions=timedelta(hours=float(v["LIVE_POSITION_RETENTION_H"])),
            ),
            values=v,
        )


def call_deadline(configured_s: float, lease: timedelta) -> float:
    """Return a provider call's total deadline: as configured, but at most half the lease.

    A send that outlives its lease is handed out again and may go twice; half leaves the
    other half for claiming the message and recording the provider's id.
    """
    if configured_s <= 0:
        raise ValueError(f"a provider call's deadline must be positive, not {configured_s}")
    return min(configured_s, lease.total_seconds() / 2)


def load_settings(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Return the typed settings: defaults, then DISPATCHER_* variables, then overrides."""
    return Settings.from_mapping(load_config(overrides, environ))
