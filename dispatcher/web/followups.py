"""The follow-up API for coordinators: who asked for a call after an incident.

A token needs the "follow-ups" scope, which no client gets unless asked for: the list holds
volunteers' names and phone numbers, across every control room, so that a coordinator can
call them back.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from dispatcher.control_rooms import clients
from dispatcher.current import runtime
from dispatcher.incidents import followup

bp = Blueprint("followups", __name__, url_prefix="/api/v1")

SCOPE = "follow-ups"


@bp.get("/follow-ups")
def list_follow_ups():
    """List requests for a call, newest first (?state=open|resolved|all, ?limit=1..1000)."""
    rt = runtime()
    with rt.transaction() as session:
        clients.authenticate(session, request.headers.get("Authorization"), SCOPE)
        found = followup.flags(session, request.args.get("state", "open"),
                               request.args.get("limit", followup.DEFAULT_LIMIT))
        return jsonify({"follow_ups": found})


@bp.post("/follow-ups/<flag_id>/resolve")
def resolve_follow_up(flag_id: str):
    """Mark a request for a call as dealt with; resolving it again changes nothing."""
    rt = runtime()
    with rt.transaction() as session:
        client = clients.authenticate(session, request.headers.get("Authorization"), SCOPE)
        return jsonify(followup.resolve(session, flag_id, rt.clock.now(), by=client.name))
