"""The volunteer responder dispatcher: texts CPR volunteers near a cardiac arrest.

The package itself imports nothing, so its pure parts (`dispatcher.domain`) load without
Flask or a database; `create_app` brings in the web app when it is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: dict[str, Any] | None = None, **ports: Any) -> Flask:
    """Build the app from settings: database, ports (SMS, queue, events, clock), blueprints.

    Tests pass fakes for the ports (`sms`, `clock`, `queue`, `poster`); otherwise the
    settings choose the real adapters. See `dispatcher.app.create_app`.
    """
    from dispatcher import app  # here, not at the top: importing the package stays light

    return app.create_app(config, **ports)
