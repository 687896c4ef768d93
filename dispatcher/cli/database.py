"""Flask commands for the database schema."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from dispatcher.current import runtime
from dispatcher.store.db import upgrade

db_cli = AppGroup("db", help="Database schema.")


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema up to date."""
    upgrade(runtime().engine)
    click.echo("database is up to date")


def register(app: Flask) -> None:
    """Attach the commands to an app."""
    app.cli.add_command(db_cli)
