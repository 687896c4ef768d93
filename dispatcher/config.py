"""Configuration: one defaults mapping, overridden by DISPATCHER_* environment variables.

The flat mapping is read here and in `dispatcher.settings`, which turns it into typed groups
(Twilio, sending, queue, events, conversation, retention) that the use cases are given.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

PREFIX = "DISPATCHER_"

# Every setting the service reads, with its default. The README documents each one.
DEFAULTS: dict[str, Any] = {
    # Storage. None means a SQLite file under the Flask instance folder.
    "DATABASE_URL": None,
    # SMS provider: "outbox" keeps messages in the database; "twilio" sends them.
    "SMS_BACKEND": "outbox",
    "TWILIO_ACCOUNT_SID": "",
    "TWILIO_AUTH_TOKEN": "",
    "TWILIO_FROM": "",
    "TWILIO_MESSAGING_SERVICE_SID": "",
    "TWILIO_TIMEOUT_S": 5.0,
    # The whole of one call, however slowly the answer comes; at most half of SEND_LEASE_S.
    "TWILIO_DEADLINE_S": 3.0,
    "TWILIO_VALIDITY_PERIOD_S": 120,
    # A second provider for while the first is down: "" (none) or "46elks".
    "SMS_FAILOVER_BACKEND": "",
    "ELKS_USERNAME": "",
    "ELKS_PASSWORD": "",
    "ELKS_FROM": "",
    "ELKS_TIMEOUT_S": 5.0,
    "ELKS_DEADLINE_S": 3.0,
    # The URL Twilio and control rooms see; signatures are checked against it.
    "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
    # Where a phone number without a country code is taken to be.
    "DEFAULT_REGION": "SE",
    # Local time zone of the service area, for messages and schedules.
    "TIMEZONE": "Europe/Stockholm",
    # Whose public holidays (PH in opening hours) apply: a country code such as "SE", or ""
    # to take each AED's country from its position.
    "HOLIDAY_REGION": "SE",
    # Intake.
    "SIGNATURE_TOLERANCE_S": 300,
    "MAX_BODY_BYTES": 64 * 1024,
    # Positions.
    "LIVE_POSITION_TTL_S": 15 * 60,
    # Dispatch policy defaults (DESIGN.md section 6).
    "RADIUS_START_M": 1000,
    "RADIUS_MAX_M": 3000,
    "WAVE_SIZE": 10,
    "MAX_ALERTED": 30,
    "MIN_AGE": 18,
    "MIN_PATIENT_AGE": 8,
    "FATIGUE_MAX_ALERTS_24H": 3,
    "DISPATCHABLE_KINDS": "cardiac_arrest",
    "WAVE_TIMEOUT_S": 30,
    # Targets: at least this many doing CPR, up to this many fetching an AED, this many at most.
    "TARGET_CPR": 1,
    "TARGET_AED": 2,
    "MAX_ACCEPTED": 5,
    # An AED run must arrive before the ambulance, with a detour of at most this share of the
    # direct way (or this many metres, whichever is more), plus the time to take the AED.
    "AED_MAX_DETOUR_PCT": 50,
    "AED_MIN_DETOUR_M": 400,
    "AED_PICKUP_S": 60,
    # Assumed when the control room does not say when the ambulance arrives.
    "DEFAULT_EMS_ETA_S": 600,
    "PAUSE_DEFAULT_H": 8,
    # Escalation: each wave that leaves the targets unmet widens the radius by this much.
    "RADIUS_STEP_M": 500,
    # Rest after going to an incident, and the ETA difference counted as a tie (broken in
    # favour of whoever was alerted least recently).
    "REST_AFTER_INCIDENT_H": 4,
    "ETA_TIE_S": 10,
    # Service areas (GeoJSON, loaded with `flask areas load`) override the policy above.
    # Queue: empty runs huey on a SQLite file under the instance folder; redis://host:port/db
    # runs it on Redis; sqlite:///path picks the file.
    "QUEUE_URL": "",
    "QUEUE_NAME": "dispatcher",
    "QUEUE_WORKERS": 4,
    # How long a worker of the SQLite queue sleeps at most between looks for work.
    "QUEUE_POLL_MAX_S": 0.1,
    # Messages handed to the provider at once, and how long a claimed message may go
    # unanswered before the sweeper hands it out again (never once it has a provider id).
    "SEND_CONCURRENCY": 32,
    "SEND_LEASE_S": 6,
    # A message that failed for a moment is tried again after RETRY_BASE_S, doubling (with
    # jitter) up to RETRY_MAX_S, for up to RETRY_FOR_S; the briefing after YES gets
    # BRIEFING_DEADLINE_S before its volunteer is withdrawn and replaced.
    "RETRY_BASE_S": 2,
    "RETRY_MAX_S": 30,
    "RETRY_FOR_S": 900,
    "BRIEFING_DEADLINE_S": 60,
    # A provider whose breaker opened is probed after PROBE_FIRST_S, doubling to PROBE_MAX_S.
    "PROVIDER_PROBE_FIRST_S": 2,
    "PROVIDER_PROBE_MAX_S": 60,
    # Seconds between sweeps for stuck messages and overdue timers, events and follow-ups.
    "SWEEP_INTERVAL_S": 2,
    # Inbound SMS and delivery reports are stored first, then processed by a job: a failed
    # try is tried again after this, doubling, and given up (logged at ERROR) after the maximum.
    "INBOUND_RETRY_S": 10,
    "INBOUND_MAX_ATTEMPTS": 5,
    # Events back to the control room: first retry after this, doubling up to the cap,
    # and given up after the maximum age.
    "EVENTS_TIMEOUT_S": 5.0,
    "EVENTS_RETRY_BASE_S": 2,
    "EVENTS_RETRY_MAX_S": 300,
    "EVENTS_MAX_AGE_H": 24,
    # Minutes after an incident ends until those who went are asked whether they are OK.
    "FOLLOW_UP_AFTER_MIN": 90,
    # Signs the web pages' sessions (CSRF tokens). When unset, one is made once and kept in
    # the instance folder (instance/secret_key), so every worker on the host agrees.
    "SECRET_KEY": "",
    # The virtual phones page (/phones/): off unless asked for (`make run` asks), and only
    # with the outbox; enabling it with a real provider stops the app from starting.
    "PHONES_ENABLED": False,
    # Message templates.
    "MAP_LINK_TEMPLATE": "https://www.openstreetmap.org/?mlat={lat:.5f}&mlon={lon:.5f}#map=18/{lat:.5f}/{lon:.5f}",
    # Privacy: personal data of incidents older than this is erased or coarsened; live
    # positions are deleted after LIVE_POSITION_RETENTION_H.
    "RETENTION_DAYS": 30,
    "LIVE_POSITION_RETENTION_H": 72,
    # Logging: "text" lines, or "json" (one object a line); both redacted the same way.
    "LOG_LEVEL": "INFO",
    "LOG_FORMAT": "text",
    # Serving with gunicorn (gunicorn.conf.py): the address, worker processes, and whether
    # requests are logged (method, path and status only: never a query string).
    "BIND": "127.0.0.1:8000",
    "WEB_WORKERS": 2,
    "ACCESS_LOG": False,
    # /readyz refuses while this process's spatial index is more changes than this behind.
    "READY_MAX_INDEX_LAG": 5000,
}


def _coerce(default: Any, raw: str) -> Any:
    """Convert an environment string to the type of its default."""
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, (list, dict)):
        return json.loads(raw)
    return raw


def load_config(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Return the settings: defaults, then DISPATCHER_* variables, then explicit overrides."""
    environ = os.environ if environ is None else environ
    settings = dict(DEFAULTS)
    for key, default in DEFAULTS.items():
        raw = environ.get(PREFIX + key)
        if raw is not None and raw != "":
            try:
                settings[key] = _coerce(default, raw) if default is not None else raw
            except ValueError as exc:
                raise ValueError(f"{PREFIX}{key}: {exc}") from exc
    for key, value in (overrides or {}).items():
        settings[key] = value
    return settings


def policy_fields(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Return the default dispatch policy's fields, typed, from the flat settings."""
    kinds = settings["DISPATCHABLE_KINDS"]
    if isinstance(kinds, str):
        kinds = [k.strip() for k in kinds.split(",") if k.strip()]
    return dict(
        radius_start_m=int(settings["RADIUS_START_M"]),
        radius_max_m=int(settings["RADIUS_MAX_M"]),
        wave_size=int(settings["WAVE_SIZE"]),
        max_alerted=int(settings["MAX_ALERTED"]),
        min_age=int(settings["MIN_AGE"]),
        min_patient_age=int(settings["MIN_PATIENT_AGE"]),
        fatigue_max_24h=int(settings["FATIGUE_MAX_ALERTS_24H"]),
        live_ttl=timedelta(seconds=int(settings["LIVE_POSITION_TTL_S"])),
        dispatchable_kinds=frozenset(kinds),
        wave_timeout=timedelta(seconds=int(settings["WAVE_TIMEOUT_S"])),
        target_cpr=int(settings["TARGET_CPR"]),
        target_aed=int(settings["TARGET_AED"]),
        max_accepted=int(settings["MAX_ACCEPTED"]),
        aed_max_detour_pct=float(settings["AED_MAX_DETOUR_PCT"]),
        aed_min_detour_m=float(settings["AED_MIN_DETOUR_M"]),
        aed_pickup_s=float(settings["AED_PICKUP_S"]),
        default_ems_eta_s=int(settings["DEFAULT_EMS_ETA_S"]),
        radius_step_m=int(settings["RADIUS_STEP_M"]),
        rest_after_incident=timedelta(hours=float(settings["REST_AFTER_INCIDENT_H"])),
        eta_tie_s=float(settings["ETA_TIE_S"]),
    )

