"""Flask commands for service areas: load GeoJSON, list what is loaded."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Attach the commands to an app."""
