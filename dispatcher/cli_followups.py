"""Flask commands for follow-ups: list volunteers who asked for a call, resolve them."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Attach the commands to an app."""
