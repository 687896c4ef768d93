"""Flask commands for the outbox: read the newest messages, and read and answer as a volunteer."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select

from dispatcher.conversation import inbound
from dispatcher.current import runtime
from dispatcher.errors import InvalidPayload
from dispatcher.responders.registry import normalise_phone
from dispatcher.store.models import Message, Responder


@click.command("outbox")
@click.option("--limit", default=20, show_default=True)
@with_appcontext
def outbox(limit: int) -> None:
    """Show the newest messages in the outbox, newest last."""
    rt = runtime()
    with rt.transaction() as session:
        rows = session.scalars(select(Message).order_by(Message.id.desc()).limit(limit)).all()
        for m in reversed(rows):
            arrow = "->" if m.direction == "out" else "<-"
            click.echo(f"{m.created_at:%H:%M:%S} {arrow} {m.address} [{m.status}] {m.body}")


phones_cli = AppGroup("phones", help="Virtual phones: read and answer as a volunteer (outbox).")


def _volunteer(session, who: str):
    """Find a volunteer by public reference or phone number."""
    found = session.scalars(select(Responder).where(Responder.ref == who.upper())).one_or_none()
    if found is None:
        try:
            phone = normalise_phone(who, runtime().settings.conversation.default_region)
        except InvalidPayload:  # not a reference, not a number either: not found
            return None
        found = session.scalars(select(Responder).where(Responder.phone == phone)).one_or_none()
    return found


@phones_cli.command("show")
@click.argument("who")
def phones_show(who: str) -> None:
    """Show a volunteer's SMS thread (WHO: public reference or phone number)."""
    rt = runtime()
    with rt.transaction() as session:
        responder = _volunteer(session, who)
        if responder is None:
            raise click.ClickException(f"no volunteer {who}")
        click.echo(f"{responder.name} ({responder.ref}, {responder.phone}, {responder.status})")
        rows = session.scalars(
            select(Message).where(Message.responder_id == responder.id).order_by(Message.id)
        ).all()
        for m in rows:
            arrow = "->" if m.direction == "out" else "<-"
            click.echo(f"{m.created_at.astimezone(rt.timezone):%H:%M:%S} {arrow} {m.body}")


@phones_cli.command("reply")
@click.argument("who")
@click.argument("body")
def phones_reply(who: str, body: str) -> None:
    """Answer as a volunteer, as if from their phone (WHO: reference or phone number)."""
    rt = runtime()
    if rt.settings.sms_backend != "outbox":
        raise click.ClickException("virtual phones work only with the outbox SMS backend")
    with rt.transaction() as session:
        responder = _volunteer(session, who)
        if responder is None:
            raise click.ClickException(f"no volunteer {who}")
        address, ref = responder.phone, responder.ref
        seen = session.scalar(select(func.max(Message.id))) or 0
    inbound.take_now(rt, address=address, body=body)
    click.echo(f"{ref} <- {body}")
    with rt.transaction() as session:
        answers = session.scalars(
            select(Message)
            .where(Message.responder_id == responder.id, Message.direction == "out",
                   Message.id > seen)
            .order_by(Message.id)
        ).all()
        for m in answers:
            click.echo(f"{ref} -> {m.body}")


def register(app: Flask) -> None:
    """Attach the commands to an app."""
    app.cli.add_command(outbox)
    app.cli.add_command(phones_cli)
