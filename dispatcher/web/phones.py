"""Virtual phones: read each volunteer's SMS thread and reply as them (outbox mode only).

For demos, drills and training without real phones. Served only when DISPATCHER_PHONES_ENABLED
is set (`make run` sets it), and never with a real provider: create_app refuses to start so.
The page has no login, so its answers forbid framing, sniffing and anything not its own.
"""

from __future__ import annotations

import hmac
import secrets

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from sqlalchemy import func, or_, select

from dispatcher.conversation import inbound
from dispatcher.current import runtime
from dispatcher.domain.inputs import has_controls, strip_controls
from dispatcher.store.models import Message, Responder

bp = Blueprint("phones", __name__, url_prefix="/phones", template_folder="templates",
               static_folder="static")
QUICK_REPLIES = ("YES", "NO", "HERE", "HELP", "PAUSE 8", "RESUME", "STOP", "START")


SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@bp.after_request
def secure_headers(response):
    """Add the page's security headers to every answer it gives."""
    response.headers.update(SECURITY_HEADERS)
    return response


def csrf_token() -> str:
    """Return this browser session's CSRF token, making one if needed."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def _check_csrf() -> None:
    """Refuse a form post without this session's token."""
    sent = request.form.get("csrf", "")
    if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
        abort(400, "the form expired; reload the page and try again")


def _check_ref(ref: str) -> None:
    """Answer 404 for a reference no volunteer can have (too long, or with control characters)."""
    if len(ref) > 16 or has_controls(ref):
        abort(404)


@bp.get("/")
def threads():
    """List the volunteers who have messages, newest first, or those matching a search."""
    rt = runtime()
    query = strip_controls(request.args.get("q", "")).strip()[:100]
    with rt.transaction() as db:
        latest = (
            select(Message.responder_id, func.max(Message.id).label("last"))
            .where(Message.responder_id.is_not(None))
            .group_by(Message.responder_id)
            .subquery()
        )
        rows = select(Responder, Message).join(latest, latest.c.responder_id == Responder.id)
        rows = rows.join(Message, Message.id == latest.c.last)
        if query:
            like = f"%{query}%"
            rows = rows.where(or_(Responder.ref.ilike(like), Responder.phone.ilike(like),
                                  Responder.name.ilike(like)))
        found = db.execute(rows.order_by(latest.c.last.desc()).limit(100)).all()
        tz = rt.timezone
        return render_template("phones/list.html", rows=found, query=query, tz=tz)


@bp.get("/<ref>")
def thread(ref: str):
    """Show one volunteer's messages, with a box to answer as them."""
    _check_ref(ref)
    rt = runtime()
    with rt.transaction() as db:
        responder = db.scalars(select(Responder).where(Responder.ref == ref)).one_or_none()
        if responder is None:
            abort(404)
        messages = db.scalars(
            select(Message).where(Message.responder_id == responder.id).order_by(Message.id)
        ).all()
        return render_template(
            "phones/thread.html", responder=responder, messages=messages, tz=rt.timezone,
            csrf=csrf_token(), quick=QUICK_REPLIES,
        )


@bp.post("/<ref>")
def reply(ref: str):
    """Send a reply as the volunteer, exactly as if it came from their phone."""
    _check_csrf()
    _check_ref(ref)
    rt = runtime()
    body = request.form.get("body", "").strip()
    with rt.transaction() as db:
        responder = db.scalars(select(Responder).where(Responder.ref == ref)).one_or_none()
        if responder is None:
            abort(404)
        address = responder.phone
    if body:
        inbound.take_now(rt, address=address, body=body[:1600])
    return redirect(url_for("phones.thread", ref=ref) + "#end")
