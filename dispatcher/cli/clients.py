"""Flask commands for control-room clients: create one, change where its events go."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from dispatcher.control_rooms import clients
from dispatcher.current import runtime
from dispatcher.store.models import Client

clients_cli = AppGroup("clients", help="Control-room clients.")


@clients_cli.command("create")
@click.argument("name")
@click.option("--events-url", help="Where to push signed events back to the control room.")
@click.option("--scope", "scopes", multiple=True, type=click.Choice(clients.SCOPES),
              help="Scopes of the client (default: events, incidents:read).")
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


def register(app: Flask) -> None:
    """Attach the commands to an app."""
    app.cli.add_command(clients_cli)
