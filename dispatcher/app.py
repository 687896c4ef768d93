"""The application factory: settings, database, ports, jobs, blueprints and commands."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask

from dispatcher import current, logs
from dispatcher.aeds.directory import AedDirectory
from dispatcher.clock import Clock, SystemClock
from dispatcher.config import load_config
from dispatcher.domain.policy import Policy
from dispatcher.hooks import EventPoster
from dispatcher.hooks.http import HttpPoster
from dispatcher.queue import JobQueue, build_queue
from dispatcher.runtime import Runtime
from dispatcher.settings import Settings
from dispatcher.sms import SmsSender, build_failover_sender, build_sender
from dispatcher.sms.switchboard import Switchboard
from dispatcher.store.db import make_engine, make_sessionmaker
from dispatcher.web import sessions


def create_app(
    config: dict[str, Any] | None = None, *, sms: SmsSender | None = None,
    clock: Clock | None = None, queue: JobQueue | None = None, poster: EventPoster | None = None,
    failover: SmsSender | None = None,
) -> Flask:
    """Build the app from settings: database, ports (SMS, queue, events, clock), blueprints.

    Tests pass fakes for the ports; otherwise the settings choose the real adapters. Every
    send goes through a switchboard: the provider, and a second one for while it is down.
    """
    app = Flask(__name__, instance_relative_config=True)
    settings = Settings.from_mapping(load_config(config))
    if settings.database_url is None:
        os.makedirs(app.instance_path, exist_ok=True)
        path = os.path.join(app.instance_path, "dispatcher.db")
        settings = replace(settings, database_url=f"sqlite:///{path}")
    if settings.phones_enabled and settings.sms_backend != "outbox":
        raise ValueError("DISPATCHER_PHONES_ENABLED needs DISPATCHER_SMS_BACKEND=outbox: the "
                         "virtual phones would show real volunteers' numbers and texts")
    app.config.update(MAX_CONTENT_LENGTH=settings.max_body_bytes,
                      **sessions.session_config(settings, app.instance_path))
    logs.configure(settings.log_level, settings.log_format)

    engine = make_engine(settings.database_url)
    clock = clock if clock is not None else SystemClock()
    if sms is None:
        sms, failover = build_sender(settings), failover or build_failover_sender(settings)
    switchboard = Switchboard(sms, failover, clock=clock, first_wait=settings.sending.probe_first,
                              max_wait=settings.sending.probe_max)
    rt = current.attach(app, Runtime(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        sms=switchboard,
        clock=clock,
        policy=Policy.from_settings(settings.values),
        timezone=ZoneInfo(settings.timezone),
        queue=queue if queue is not None else build_queue(settings.queue, app.instance_path),
        poster=poster if poster is not None else HttpPoster(settings.events.timeout_s),
        aeds=AedDirectory(region=settings.holiday_region),
    ))

    from dispatcher import cli
    from dispatcher.jobs import tasks
    from dispatcher.web import api, errors, followups, health, phones, twilio_hooks

    rt.queue.bind(tasks.runner(rt), list(tasks.JOBS))
    # The index catches up with the database before each search, so it counts as loaded
    # from the start; a loader at start-up takes this over and sets it when done.
    rt.index_ready.set()

    errors.register(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(followups.bp)
    app.register_blueprint(twilio_hooks.bp)
    if settings.phones_enabled:  # only with the outbox: checked above
        app.register_blueprint(phones.bp)
    cli.register(app)
    return app


