"""The real stack the queue's fault tests run on: huey, the Twilio adapter, a real clock.

Two setups: a SQLite database with the SQLite queue (the embedded default), and
PostgreSQL with Redis. SMS go through the real Twilio adapter and SDK to the fake Twilio
on loopback; the control room's events go to the recording poster.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from dispatcher import create_app
from dispatcher.clock import SystemClock
from dispatcher.config import load_config
from dispatcher.hooks.fake import RecordingPoster
from dispatcher.runtime import Runtime
from dispatcher.store.models import Message, Responder
from tests.support.consumer import twilio_sender
from tests.support.fake_twilio import ACCOUNT, FROM, TOKEN, FakeTwilio


def settings_for(db_url: str, queue_url: str, queue_name: str, **overrides: Any) -> dict:
    """Return settings for the stack: small, quick leases and sweeps; the fake's credentials."""
    return {
        "DATABASE_URL": db_url, "QUEUE_URL": queue_url, "QUEUE_NAME": queue_name,
        "QUEUE_WORKERS": 2, "QUEUE_POLL_MAX_S": 0.05, "SEND_CONCURRENCY": 4,
        "SEND_LEASE_S": 2, "SWEEP_INTERVAL_S": 1, "TWILIO_TIMEOUT_S": 2.0,
        "SMS_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_FROM": FROM, "PUBLIC_BASE_URL": "https://dispatch.example.org",
        "LOG_LEVEL": "WARNING", **overrides,
    }


def build_app(settings: dict, fake: FakeTwilio) -> Flask:
    """Build an app on the settings' database and queue, texting through the fake Twilio."""
    app = create_app(settings, sms=twilio_sender(fake.url, load_config(settings)),
                     clock=SystemClock(), poster=RecordingPoster())
    app.testing = True
    return app


def close_app(app: Flask) -> None:
    """Empty the app's queue (Redis is shared between tests) and close its connections."""
    if app.extensions.setdefault("closed", False):
        return
    app.extensions["closed"] = True
    rt: Runtime = app.extensions["dispatcher"]
    huey = rt.queue.huey
    if rt.queue.name == "RedisHuey":
        try:
            huey.storage.flush_all()
        finally:
            huey.storage.pool.disconnect()
    else:
        huey.storage.close()
    rt.engine.dispose()


def alert_messages(rt: Runtime) -> list[Message]:
    """Return every alert message, oldest first."""
    with rt.transaction() as session:
        return list(session.scalars(
            select(Message).where(Message.purpose == "alert").order_by(Message.id)
        ))


def status_of(rt: Runtime, responder: Responder) -> str:
    """Return a volunteer's status as stored now."""
    with rt.transaction() as session:
        return session.get(Responder, responder.id).status
