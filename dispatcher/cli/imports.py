"""Flask commands that import volunteers and AEDs from files, with a report of each bad row."""

from __future__ import annotations

import io
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from dispatcher.aeds import imports as aed_imports
from dispatcher.control_rooms import clients
from dispatcher.current import runtime
from dispatcher.errors import InvalidPayload
from dispatcher.responders import imports as volunteer_imports
from dispatcher.store.batches import decode

import_cli = AppGroup("import", help="Import volunteers and AEDs.")


def _import(kind: str, path: Path, owner: str | None = None) -> None:
    """Run one import with a progress line and print its report."""
    rt = runtime()
    now = rt.clock.now()
    owner_id = None
    if owner is not None:
        with rt.transaction() as session:
            owner_id = clients.id_of(session, owner)
        if owner_id is None:
            raise click.ClickException(f"no client named {owner!r}; nothing imported")

    def progress(n: int) -> None:
        click.echo(f"  ... {n} rows", err=True)

    try:
        text = decode(path.read_bytes())
    except InvalidPayload as exc:
        raise click.ClickException(f"{path.name}: {exc.message}; nothing imported") from exc
    with io.StringIO(text, newline="") as stream:
        if kind == "volunteers":
            report = volunteer_imports.import_volunteers(
                rt.sessions, stream, region=rt.settings.conversation.default_region, now=now,
                owner_id=owner_id, progress=progress)
        elif path.suffix.lower() in (".geojson", ".json"):
            report = aed_imports.import_aeds_geojson(rt.sessions, stream, now=now,
                                                     progress=progress)
        else:
            report = aed_imports.import_aeds_csv(rt.sessions, stream, now=now, progress=progress)
    for p in report.problems:
        status = "kept" if p.written else "skipped"
        click.echo(f"line {p.line}: {p.field or '-'}: {p.reason} ({status})")
    click.echo(f"{report.written} {kind} written, {report.rejected} rows skipped, "
               f"{sum(p.written for p in report.problems)} warnings")
    if kind == "AEDs":
        click.echo(f"{report.without_hours} AEDs have no opening hours and are never offered")


@import_cli.command("volunteers")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--owner", metavar="CLIENT_NAME",
              help="The client (organisation) registering them: it alone may report their "
                   "positions. Without it, volunteers already registered keep their owner.")
def import_volunteers(path: Path, owner: str | None) -> None:
    """Import volunteers from a CSV file."""
    _import("volunteers", path, owner)


@import_cli.command("aeds")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_aeds(path: Path) -> None:
    """Import AEDs from a CSV of OSM tags or an OSM GeoJSON export."""
    _import("AEDs", path)


def register(app: Flask) -> None:
    """Attach the commands to an app."""
    app.cli.add_command(import_cli)
