"""Twilio's webhooks: inbound SMS and delivery reports (DESIGN.md section 5).

Each is stored first, in its own transaction, and answered with empty TwiML once stored; a
job acts on it afterwards. Only a request that could not be stored gets a 5xx, so that
Twilio tries its fallback URL.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from dispatcher.conversation import inbound
from dispatcher.current import runtime
from dispatcher.incidents import delivery

log = logging.getLogger(__name__)
bp = Blueprint("twilio", __name__, url_prefix="/sms")

SID_MAX = 64  # the width of the columns that keep it


def _twiml() -> Response:
    """Answer with empty TwiML: every text we send goes through the SMS port and is tracked."""
    return Response(str(MessagingResponse()), mimetype="application/xml")


def _forbidden() -> Response:
    """Answer a request that Twilio did not sign."""
    return Response("invalid signature", status=403, mimetype="text/plain")


def _signed() -> bool:
    """Check X-Twilio-Signature against the public URL, since a proxy changes scheme and host."""
    token = runtime().settings.twilio.auth_token
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    base = runtime().settings.public_base_url
    url = base + request.full_path.rstrip("?")
    # The whole form, so a repeated key is checked with every value Twilio signed.
    return RequestValidator(token).validate(url, request.form, signature)


def _unstored() -> Response:
    """Answer a request we could not store: Twilio then tries its fallback URL."""
    return Response("not stored", status=500, mimetype="text/plain")


def _usable_sid(sid: str) -> bool:
    """Say whether a MessageSid can be stored and matched (Twilio's are 34 characters)."""
    return 0 < len(sid) <= SID_MAX and "\x00" not in sid


def _error_code(raw: str) -> int | None:
    """Read Twilio's ErrorCode: a number of a few digits, or nothing."""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None


@bp.post("/inbound", endpoint="inbound")
def take_sms():
    """Store a volunteer's SMS; the `reply` job acts on it."""
    if not _signed():
        return _forbidden()
    sid, sender = request.form.get("MessageSid", ""), request.form.get("From", "")
    if not _usable_sid(sid) or not sender:
        log.info("inbound webhook without a usable MessageSid or From ignored")
        return _twiml()
    try:
        inbound.receive(
            runtime(), sid=sid, address=sender, body=request.form.get("Body", ""),
            provider="twilio",
        )
    except Exception as exc:  # noqa: BLE001 - not stored: Twilio must try its fallback URL
        # The type only: a database error's text carries the number and the message.
        log.error("inbound SMS %s could not be stored (%s)", sid, type(exc).__name__)
        return _unstored()
    return _twiml()


@bp.post("/status", endpoint="status")
def take_report():
    """Store a delivery report for a message we sent; the `report` job applies it."""
    if not _signed():
        return _forbidden()
    sid = request.form.get("MessageSid", "")
    if not _usable_sid(sid):
        log.info("delivery report without a usable MessageSid ignored")
        return _twiml()
    state, code = request.form.get("MessageStatus", ""), request.form.get("ErrorCode", "")
    try:
        delivery.receive_status(runtime(), sid, state, _error_code(code))
    except Exception as exc:  # noqa: BLE001 - not stored: Twilio must try its fallback URL
        log.error("delivery report for %s could not be stored (%s)", sid, type(exc).__name__)
        return _unstored()
    return _twiml()
