"""Flask commands for service areas: load GeoJSON, list what is loaded, check a place."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from dispatcher.areas.directory import replace_areas
from dispatcher.areas.files import read_areas
from dispatcher.current import runtime
from dispatcher.domain import hours
from dispatcher.store.models import ServiceArea
from geo import area_m2, check_coordinates, polygon_shape

areas_cli = AppGroup("areas", help="Service areas: per-area policy and exclusion zones.")


@areas_cli.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and write nothing.")
def areas_load(path: Path, dry_run: bool) -> None:
    """Replace the service areas with those of a GeoJSON file, if the whole file is valid."""
    found = read_areas(path.read_bytes())
    for problem in found.problems:
        click.echo(str(problem))
    if not found.ok:
        click.echo(f"{len(found.problems)} problems in {path.name}; nothing was loaded")
        raise SystemExit(1)
    counts = _summary(r.kind for r in found.records)
    if dry_run:
        click.echo(f"{path.name} is valid: {counts}; nothing written (dry run)")
        return
    rt = runtime()
    with rt.transaction() as session:
        removed = replace_areas(session, found.records, rt.clock.now())
    click.echo(f"loaded {counts} from {path.name}, replacing {removed} before")


@areas_cli.command("list")
def areas_list() -> None:
    """List the loaded areas: kind, radius, quiet hours and excluded kinds."""
    rt = runtime()
    with rt.transaction() as session:
        rows = session.scalars(select(ServiceArea).order_by(ServiceArea.kind, ServiceArea.name))
        lines = [_describe(row) for row in rows]
    for line in lines:
        click.echo(line)
    if not lines:
        click.echo("no service areas: the default policy applies everywhere")


@areas_cli.command("check")
@click.argument("lat", type=float)
@click.argument("lon", type=float)
def areas_check(lat: float, lon: float) -> None:
    """Say which area's policy applies at a place (LAT LON in degrees) and whether it is quiet."""
    try:
        check_coordinates(lat, lon)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    rt = runtime()
    with rt.transaction() as session:
        place = rt.place(session, lat, lon)
    policy, local = place.policy, rt.clock.now().astimezone(rt.timezone)
    click.echo(f"area:        {policy.area or '(none: the default policy)'}")
    if place.exclusion_zone:
        click.echo(f"exclusion:   {place.exclusion_zone} (no incident dispatches here)")
    click.echo(f"radius:      {policy.radius_start_m} -> {policy.radius_max_m} m, "
               f"step {policy.radius_step_m} m")
    click.echo(f"waves:       {policy.wave_size} every {policy.wave_timeout.total_seconds():g} s,"
               f" at most {policy.max_alerted} alerted")
    quiet = ""
    if policy.quiet_hours:
        now_quiet = hours.is_open(policy.quiet_hours, local) is True
        quiet = f" ({'quiet' if now_quiet else 'not quiet'} now, {local:%a %H:%M} local)"
    click.echo(f"quiet hours: {policy.quiet_hours or '-'}{quiet}")
    click.echo(f"excluded:    {', '.join(sorted(policy.excluded_kinds)) or '-'}")


def _describe(row: ServiceArea) -> str:
    """Write one area as a line of the listing."""
    try:
        size = f"{area_m2(polygon_shape(row.geometry)) / 1e6:.2f} km2"
    except ValueError as exc:
        size = f"unusable geometry ({exc}), left out"
    if row.kind == "exclusion":
        reason = (row.params or {}).get("reason")
        return f"{row.name}: exclusion zone, {size}" + (f" ({reason})" if reason else "")
    p = row.params or {}
    kinds = ", ".join(p.get("excluded_kinds") or []) or "-"
    return (f"{row.name}: area, {size}, radius {p.get('radius_start_m')} -> "
            f"{p.get('radius_max_m')} m, quiet hours {p.get('quiet_hours') or '-'}, "
            f"excluded kinds {kinds}")


def _summary(kinds) -> str:
    """Count areas and exclusion zones in words."""
    kinds = list(kinds)
    areas, zones = kinds.count("area"), kinds.count("exclusion")
    return (f"{areas} area{'s' * (areas != 1)} and "
            f"{zones} exclusion zone{'s' * (zones != 1)}")


def register(app: Flask) -> None:
    """Attach the commands to an app."""
    app.cli.add_command(areas_cli)
