"""Flask command for the retention purge."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Attach the commands to an app."""
