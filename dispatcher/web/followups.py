"""The follow-up API for coordinators: who asked for a call after an incident."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("followups", __name__, url_prefix="/api/v1")
