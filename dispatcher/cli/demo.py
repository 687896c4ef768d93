"""Flask commands for demos and drills: demo data, and a control room that posts incidents."""

from __future__ import annotations

import json
import random
import sys
import urllib.error
import urllib.request
import uuid

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from dispatcher.control_rooms import clients
from dispatcher.current import runtime
from dispatcher.drills import demo
from dispatcher.store.models import Client

DEMO_CLIENT = "demo-control-room"

demo_cli = AppGroup("demo", help="Demo data and a demo control room.")


@demo_cli.command("seed")
@click.option("--volunteers", default=3000, show_default=True)
@click.option("--aeds", default=300, show_default=True)
@click.option("--seed", "seed_value", default=42, show_default=True)
def demo_seed(volunteers: int, aeds: int, seed_value: int) -> None:
    """Fill an empty database with demo data; print the demo client's secret and a fresh token."""
    rt = runtime()
    now = rt.clock.now()
    with rt.transaction() as session:
        if demo.is_empty(session):
            summary = demo.seed(session, now, volunteers=volunteers, aeds=aeds, seed=seed_value)
            click.echo(f"demo data: {summary.volunteers} volunteers, {summary.aeds} AEDs")
        client = session.scalars(select(Client).where(Client.name == DEMO_CLIENT)).first()
        if client is None:
            made = clients.create_client(session, DEMO_CLIENT, now)
            client, token = made.client, made.token
        else:
            token = clients.rotate_token(session, client)
        secret = client.secret
    click.echo(f"demo control-room client: {DEMO_CLIENT}\n  secret: {secret}\n  token:  {token}")


@demo_cli.command("incident")
@click.option("--url", default=None, help="Service base URL (default: PUBLIC_BASE_URL).")
@click.option("--id", "external_id", default=None, help="Incident id (default: a new one).")
@click.option("--lat", type=float, default=None)
@click.option("--lon", type=float, default=None)
@click.option("--seed", "seed_value", type=int, default=None, help="Seed for the random place.")
def demo_incident(url, external_id, lat, lon, seed_value) -> None:
    """Sign and post an incident.created as the demo control room would."""
    now = runtime().clock.now()
    event = demo.demo_incident(random.Random(seed_value), now, external_id)
    if lat is not None and lon is not None:
        event["data"]["location"].update(lat=lat, lon=lon)
    _post(url, event)


@demo_cli.command("end")
@click.argument("external_id")
@click.option("--cancelled", is_flag=True, help="Cancel it instead of closing it.")
@click.option("--url", default=None, help="Service base URL (default: PUBLIC_BASE_URL).")
def demo_end(external_id: str, cancelled: bool, url: str | None) -> None:
    """Sign and post an incident.closed (or .cancelled) as the demo control room would."""
    now = runtime().clock.now()
    kind = "incident.cancelled" if cancelled else "incident.closed"
    _post(url, {"type": kind, "timestamp": now.isoformat().replace("+00:00", "Z"),
                "data": {"id": external_id}})


def _post(url: str | None, event: dict) -> None:
    """Sign an event with the demo client's secret, post it and print the answer."""
    rt = runtime()
    with rt.transaction() as session:
        client = session.scalars(select(Client).where(Client.name == DEMO_CLIENT)).first()
        if client is None:
            raise click.ClickException("no demo client: run `flask demo seed` first")
        secret = client.secret
    now = rt.clock.now()
    body = json.dumps(event)
    headers = clients.sign(secret, f"msg_{uuid.uuid4().hex}", now, body)
    target = (url or rt.settings.public_base_url).rstrip("/") + "/api/v1/events"
    request = urllib.request.Request(
        target, data=body.encode(), method="POST",
        headers={**headers, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, answer = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, answer = exc.code, exc.read()
    except urllib.error.URLError as exc:
        raise click.ClickException(f"cannot reach {target}: {exc.reason}") from exc
    click.echo(f"POST {target} -> {status}")
    click.echo(json.dumps(json.loads(answer), indent=2, ensure_ascii=False))
    if status >= 400:
        sys.exit(1)


def register(app: Flask) -> None:
    """Attach the demo commands to an app."""
    app.cli.add_command(demo_cli)
