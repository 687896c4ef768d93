"""The runtime of the Flask app in use, for the entry points: views and commands."""

from __future__ import annotations

from flask import Flask, current_app

from dispatcher.runtime import Runtime

EXTENSION = "dispatcher"


def attach(app: Flask, rt: Runtime) -> Runtime:
    """Make a runtime the one an app's views and commands use; return it."""
    app.extensions[EXTENSION] = rt
    return rt


def runtime() -> Runtime:
    """Return the runtime of the current Flask app (for views and commands)."""
    return current_app.extensions[EXTENSION]
