"""Flask commands: thin translators from a command line to one use case each."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Attach every command group to an app."""
    from dispatcher.cli import (
        areas,
        clients,
        database,
        demo,
        followups,
        imports,
        phones,
        queue,
        retention,
    )

    for module in (database, clients, imports, phones, demo, queue, areas, followups, retention):
        module.register(app)
