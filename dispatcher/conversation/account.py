"""Replies about the volunteer's own standing: STOP, START, HELP, PAUSE, RESUME, or unclear."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from dispatcher.conversation import answers
from dispatcher.domain.replies import Reply
from dispatcher.runtime import Runtime
from dispatcher.store.models import Message, Responder

log = logging.getLogger(__name__)


def heard_from(rt: Runtime, responder: Responder) -> None:
    """Mark a number the provider called unable to take texts as valid: a text came from it."""
    if responder.status == "invalid_number":
        log.info("volunteer %s texted in: number marked valid again", responder.ref)
        responder.status, responder.updated_at = "active", rt.clock.now()


def stop(rt: Runtime, session: Session, responder: Responder, reply: Reply,
         record: Message) -> None:
    """Opt the volunteer out, confirm once, and take a STOP as a NO to what they were asked."""
    now = rt.clock.now()
    answers.say(rt, session, responder, "stopped")  # written before the opt-out takes effect
    responder.status, responder.opted_out_at, responder.updated_at = "opted_out", now, now
    answers.withdraw(rt, session, responder, now)


def start(rt: Runtime, session: Session, responder: Responder, reply: Reply,
          record: Message) -> None:
    """Take an opted-out volunteer back; confirm that alerts come again."""
    if responder.status == "opted_out":
        now = rt.clock.now()
        responder.status, responder.opted_out_at, responder.updated_at = "active", None, now
    answers.say(rt, session, responder, "started")


def help_text(rt: Runtime, session: Session, responder: Responder, reply: Reply,
              record: Message) -> None:
    """Send the short help text."""
    answers.say(rt, session, responder, "help")


def not_understood(rt: Runtime, session: Session, responder: Responder, reply: Reply,
                   record: Message) -> None:
    """Ask back in one short text: an unclear reply is never taken as YES or NO."""
    answers.say(rt, session, responder, "unknown")


def pause(rt: Runtime, session: Session, responder: Responder, reply: Reply,
          record: Message) -> None:
    """Pause alerts for the hours asked (or the default) and say until when."""
    now = rt.clock.now()
    hours = reply.hours or rt.settings.conversation.pause_default_h
    responder.paused_until, responder.updated_at = now + timedelta(hours=hours), now
    answers.say(rt, session, responder, "paused", until=_local(rt, responder.paused_until, now))


def resume(rt: Runtime, session: Session, responder: Responder, reply: Reply,
           record: Message) -> None:
    """End a pause."""
    responder.paused_until, responder.updated_at = None, rt.clock.now()
    answers.say(rt, session, responder, "resumed")


def _local(rt: Runtime, when: datetime, now: datetime) -> str:
    """Write a time as the volunteer reads it: "18:30", or "24/11 18:30" on another day."""
    local, today = when.astimezone(rt.timezone), now.astimezone(rt.timezone).date()
    return f"{local:%H:%M}" if local.date() == today else f"{local:%d/%m %H:%M}"
