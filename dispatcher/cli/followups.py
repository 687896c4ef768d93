"""Flask commands for follow-ups: list volunteers who asked for a call, resolve them."""

from __future__ import annotations

from datetime import datetime

import click
from flask import Flask
from flask.cli import AppGroup

from dispatcher.current import runtime
from dispatcher.errors import UnknownFollowUp
from dispatcher.incidents import followup

followups_cli = AppGroup("follow-ups", help="Volunteers who asked for a call after an incident.")


@followups_cli.command("list")
@click.option("--all", "everything", is_flag=True, help="Include the resolved ones.")
def list_follow_ups(everything: bool) -> None:
    """List the volunteers waiting for a call, newest first (with --all, resolved ones too)."""
    rt = runtime()
    with rt.transaction() as session:
        found = followup.flags(session, "all" if everything else "open", followup.MAX_LIMIT)
    if not found:
        click.echo("nobody is waiting for a call" if not everything else "no requests for a call")
        return
    for flag in found:
        answered = _local(flag["answered_at"], rt.timezone)
        click.echo(f"{flag['id']:>6}  {flag['state']:<8}  {answered}  {flag['phone']:<16}  "
                   f"{flag['name']} ({flag['ref']}, {flag['language']})  "
                   f"incident {flag['incident']} of {flag['control_room']}")


@followups_cli.command("resolve")
@click.argument("flag_id")
def resolve_follow_up(flag_id: str) -> None:
    """Mark a request for a call as dealt with (FLAG_ID as shown by `follow-ups list`)."""
    rt = runtime()
    try:
        with rt.transaction() as session:
            before = followup.get(session, flag_id)
            flag = followup.resolve(session, flag_id, rt.clock.now(), by="cli")
    except UnknownFollowUp as exc:
        raise click.ClickException(exc.message) from exc
    done = "was already" if before["state"] == "resolved" else "is now"
    click.echo(f"follow-up {flag['id']} {done} resolved ({flag['ref']})")


def _local(iso: str | None, zone) -> str:
    """Write an ISO time in the service's time zone, to the minute."""
    if iso is None:
        return "-"
    return f"{datetime.fromisoformat(iso).astimezone(zone):%Y-%m-%d %H:%M}"


def register(app: Flask) -> None:
    """Attach the commands to an app."""
    app.cli.add_command(followups_cli)
