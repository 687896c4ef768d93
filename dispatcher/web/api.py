"""The control-room API (DESIGN.md section 4)."""

from __future__ import annotations

import time

from flask import Blueprint, jsonify, request

from dispatcher import metrics
from dispatcher.control_rooms import clients
from dispatcher.current import runtime
from dispatcher.errors import UnsupportedMediaType
from dispatcher.incidents import intake, status
from dispatcher.responders import feeds, positions

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _json_body() -> bytes:
    """Return the raw body of a JSON request; refuse other content types."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("send the body as application/json")
    return request.get_data(cache=False)


@bp.post("/events")
def events():
    """Take a signed incident event from a control room."""
    started = time.perf_counter()
    try:
        answer = intake.receive(runtime(), request.headers, _json_body())
    finally:  # refused events count too
        metrics.observe(metrics.INTAKE_SECONDS, time.perf_counter() - started)
    return jsonify(answer.body), answer.status


@bp.get("/incidents/<incident_id>")
def incident_status(incident_id: str):
    """Tell a control room the state of one of its incidents."""
    rt = runtime()
    with rt.transaction() as session:
        client = clients.authenticate(
            session, request.headers.get("Authorization"), "incidents:read"
        )
        return jsonify(status.read(session, client, incident_id))


@bp.put("/responders/<ref>/position")
def responder_position(ref: str):
    """Take a volunteer's live position from an app or a positioning feed."""
    rt = runtime()
    with rt.transaction() as session:
        client = clients.authenticate(
            session, request.headers.get("Authorization"), "positions:write"
        )
        answer = positions.report_position(rt, session, client.id, ref, _json_body())
    return jsonify(answer)


@bp.post("/positions")
def position_feed():
    """Take many volunteers' live positions at once from an operator's feed."""
    request.max_content_length = feeds.MAX_BODY_BYTES  # before the body is read
    rt = runtime()
    with rt.transaction() as session:
        client = clients.authenticate(
            session, request.headers.get("Authorization"), "positions:write"
        )
        answer = feeds.report_positions(rt, session, client.id, _json_body())
    return jsonify(answer)
