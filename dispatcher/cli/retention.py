"""Flask command for the retention purge."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext

from dispatcher.current import runtime
from dispatcher.privacy import retention


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Only count what would be erased; change nothing.")
@with_appcontext
def purge(dry_run: bool) -> None:
    """Erase personal data older than the retention period and print the counts."""
    rt = runtime()
    try:
        cutoff, live_cutoff = retention.cutoffs(rt)
        report = retention.purge(rt, dry_run=dry_run)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"incident data from before {cutoff:%Y-%m-%d %H:%M} UTC, live positions "
               f"observed before {live_cutoff:%Y-%m-%d %H:%M} UTC")
    for name, count in report.counts().items():
        click.echo(f"  {name.replace('_', ' ')}: {count}")
    click.echo("dry run: nothing was changed" if dry_run else "done")


def register(app: Flask) -> None:
    """Attach the commands to an app."""
    app.cli.add_command(purge)
