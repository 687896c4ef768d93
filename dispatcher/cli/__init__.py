"""Flask commands: migrations, control-room clients, imports, demo data and the outbox."""

from __future__ import annotations

import uuid
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select

from dispatcher.app import runtime
from dispatcher.control_rooms import clients
from dispatcher.responders import imports
from dispatcher.store.db import upgrade
from dispatcher.store.models import Client, Message

db_cli = AppGroup("db", help="Database schema.")
clients_cli = AppGroup("clients", help="Control-room clients.")
import_cli = AppGroup("import", help="Import volunteers and AEDs.")


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema up to date."""
    upgrade(runtime().engine)
    click.echo("database is up to date")


@clients_cli.command("create")
@click.argument("name")
@click.option("--events-url", help="Where to push signed events back to the control room.")
@click.option("--scope", "scopes", multiple=True, type=click.Choice(clients.SCOPES),
              help="Scopes of the bearer token (default: incidents:read, positions:write).")
def clients_create(name: str, events_url: str | None, scopes: tuple[str, ...]) -> None:
    """Create a control-room client and print its secret and token (shown only now)."""
    rt = runtime()
    with rt.transaction() as session:
        if session.scalars(select(Client).where(Client.name == name)).first():
            raise click.ClickException(f"a client named {name!r} exists already")
        try:
            made = clients.create_client(session, name, rt.clock.now(), events_url=events_url,
                                         scopes=scopes or clients.DEFAULT_SCOPES)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"client:  {name}\nsecret:  {made.secret}\ntoken:   {made.token}")
    click.echo("Store both now: the token is kept only as a hash and cannot be shown again.")


@clients_cli.command("set-events-url")
@click.argument("name")
@click.argument("url", required=False)
def clients_set_events_url(name: str, url: str | None) -> None:
    """Set where a client's events go; without URL, stop sending it events."""
    rt = runtime()
    with rt.transaction() as session:
        client = session.scalars(select(Client).where(Client.name == name)).first()
        if client is None:
            raise click.ClickException(f"no client named {name!r}")
        try:
            client.events_url = clients.check_events_url(url)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"{name}: events go to {url}" if url else f"{name}: no events are sent")


def _import(kind: str, path: Path) -> None:
    """Run one import with a progress line and print its report."""
    rt = runtime()
    now = rt.clock.now()

    def progress(n: int) -> None:
        click.echo(f"  ... {n} rows", err=True)

    with path.open(newline="", encoding="utf-8-sig") as stream:
        if kind == "volunteers":
            report = imports.import_volunteers(
                rt.sessions, stream, region=rt.settings.conversation.default_region, now=now,
                progress=progress)
        elif path.suffix.lower() in (".geojson", ".json"):
            report = imports.import_aeds_geojson(rt.sessions, stream, now=now, progress=progress)
        else:
            report = imports.import_aeds_csv(rt.sessions, stream, now=now, progress=progress)
    for p in report.problems:
        status = "kept" if p.written else "skipped"
        click.echo(f"line {p.line}: {p.field or '-'}: {p.reason} ({status})")
    click.echo(f"{report.written} {kind} written, {report.rejected} rows skipped, "
               f"{sum(p.written for p in report.problems)} warnings")


@import_cli.command("volunteers")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_volunteers(path: Path) -> None:
    """Import volunteers from a CSV file."""
    _import("volunteers", path)


@import_cli.command("aeds")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_aeds(path: Path) -> None:
    """Import AEDs from a CSV of OSM tags or an OSM GeoJSON export."""
    _import("AEDs", path)


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


def register(app: Flask) -> None:
    """Attach the commands to an app."""
    for group in (db_cli, clients_cli, import_cli, phones_cli):
        app.cli.add_command(group)
    app.cli.add_command(outbox)
    from dispatcher.cli import areas, demo, followups, queue, retention

    for module in (demo, queue, areas, followups, retention):
        module.register(app)


phones_cli = AppGroup("phones", help="Virtual phones: read and answer as a volunteer (outbox).")


def _volunteer(session, who: str):
    """Find a volunteer by public reference or phone number."""
    from dispatcher.errors import InvalidPayload
    from dispatcher.responders.registry import normalise_phone
    from dispatcher.store.models import Responder

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
    from dispatcher.conversation import inbound

    rt = runtime()
    if rt.settings.sms_backend != "outbox":
        raise click.ClickException("virtual phones work only with the outbox SMS backend")
    with rt.transaction() as session:
        responder = _volunteer(session, who)
        if responder is None:
            raise click.ClickException(f"no volunteer {who}")
        address, ref = responder.phone, responder.ref
        seen = session.scalar(select(func.max(Message.id))) or 0
    inbound.receive(rt, sid=f"VP{uuid.uuid4().hex}", address=address, body=body,
                         provider="outbox")
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
