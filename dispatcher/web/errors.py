"""One place that turns failures into JSON error bodies."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from dispatcher.errors import DispatchError

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
}


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    """Return the machine-readable error document every endpoint uses."""
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def register(app: Flask) -> None:
    """Install the error handlers on an app."""

    @app.errorhandler(DispatchError)
    def _domain(exc: DispatchError):
        return jsonify(error_body(exc.code, exc.message, exc.fields)), exc.status, exc.headers

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        code = HTTP_CODES.get(exc.code or 500, "http_error")
        # Keep what HTTP requires of the answer, such as Allow on a 405.
        headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
        return jsonify(error_body(code, exc.description or exc.name)), exc.code, headers

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        # Logged by type and traceback only; request bodies may hold personal data.
        log.exception("unhandled %s", type(exc).__name__)
        return jsonify(error_body("internal_error", "the service failed; it has been logged")), 500
