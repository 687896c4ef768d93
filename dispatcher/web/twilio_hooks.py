"""Twilio's webhooks: inbound SMS and delivery reports (DESIGN.md section 5)."""

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


@bp.post("/inbound", endpoint="inbound")
def take_sms():
    """Take a volunteer's SMS."""
    if not _signed():
        return _forbidden()
    sid, sender = request.form.get("MessageSid", ""), request.form.get("From", "")
    if not sid or not sender:
        log.info("inbound webhook without MessageSid or From ignored")
        return _twiml()
    try:
        inbound.receive(
            runtime(), sid=sid, address=sender, body=request.form.get("Body", ""),
            provider="twilio",
        )
    except Exception:  # noqa: BLE001 - Twilio must always get its answer
        log.exception("inbound SMS %s could not be handled", sid)
    return _twiml()


@bp.post("/status", endpoint="status")
def take_report():
    """Take a delivery report for a message we sent."""
    if not _signed():
        return _forbidden()
    sid = request.form.get("MessageSid", "")
    state = request.form.get("MessageStatus", "")
    code = request.form.get("ErrorCode", "")
    try:
        delivery.receive_status(runtime(), sid, state, int(code) if code.isdigit() else None)
    except Exception:  # noqa: BLE001 - Twilio must always get its answer
        log.exception("delivery report for %s could not be handled", sid)
    return _twiml()
