"""The service's exception vocabulary: one base and a few named failures."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


class DispatchError(Exception):
    """Base of every failure the service reports to a caller."""

    status = 400
    code = "bad_request"
    headers: dict[str, str] = {}

    def __init__(self, message: str, *, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class InvalidSignature(DispatchError):
    """A webhook signature is missing, expired or does not match."""

    status = 401
    code = "invalid_signature"


class Unauthorized(DispatchError):
    """A bearer token is missing, unknown or lacks the needed scope."""

    status = 401
    code = "unauthorized"
    headers = {"WWW-Authenticate": 'Bearer realm="dispatcher"'}


class Forbidden(DispatchError):
    """A known token that lacks the scope the endpoint needs."""

    status = 403
    code = "forbidden"


class InvalidPayload(DispatchError):
    """A request body is not valid; `fields` names what is wrong."""

    status = 422
    code = "invalid_payload"


class MalformedJson(DispatchError):
    """A request body is not JSON at all."""

    status = 400
    code = "malformed_json"


class UnsupportedMediaType(DispatchError):
    """A request body is not of the content type the endpoint takes."""

    status = 415
    code = "unsupported_media_type"


class UnknownIncident(DispatchError):
    """No incident with that id exists for this client."""

    status = 404
    code = "unknown_incident"


class UnknownResponder(DispatchError):
    """No volunteer has that public reference."""

    status = 404
    code = "unknown_responder"


class UnknownFollowUp(DispatchError):
    """No volunteer's request for a call has that id."""

    status = 404
    code = "unknown_follow_up"


class IdempotencyMismatch(DispatchError):
    """A webhook-id already used for another body: nothing of the new one is applied."""

    status = 409
    code = "idempotency_mismatch"


class IncidentConflict(DispatchError):
    """The incident exists with other content, or is in a state that forbids the change."""

    status = 409
    code = "conflict"


class SmsSendError(DispatchError):
    """The SMS provider did not accept a message."""

    status = 502
    code = "sms_send_failed"

    def __init__(self, message: str, *, provider_code: int | None = None, permanent: bool = False):
        super().__init__(message)
        self.provider_code = provider_code
        self.permanent = permanent


class EventPostError(DispatchError):
    """A control room's event endpoint could not be reached."""

    status = 502
    code = "event_post_failed"


def translate_errors(exc: ValidationError, prefix: str = "") -> Exception:
    """Turn pydantic's errors into the service's: malformed JSON, not an object, or field errors."""
    errors = exc.errors(include_url=False, include_input=False)
    if any(e["type"] == "json_invalid" for e in errors):
        return MalformedJson("the body is not valid JSON")
    if any(not e["loc"] and not prefix for e in errors):
        return InvalidPayload("the body must be a JSON object", fields={"": "expected an object"})
    fields = {}
    for e in errors:
        loc = ".".join(str(p) for p in (prefix, *e["loc"]) if p != "")
        fields.setdefault(loc, e["msg"])
    return InvalidPayload("the event is not valid", fields=fields)
