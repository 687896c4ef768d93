"""Control-room clients: their webhook secrets, bearer tokens and scopes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from dispatcher.errors import Forbidden, InvalidSignature, Unauthorized
from dispatcher.store.models import Client

SCOPES = ("events", "incidents:read", "positions:write", "follow-ups")
# A control room gets these unless others are asked for: its secret may post incident events,
# its token may read their status. "follow-ups" lists volunteers' names and phone numbers across
# every control room, and "positions:write" moves volunteers: both only on request.
DEFAULT_SCOPES = ("events", "incidents:read")
EVENTS = "events"


@dataclass(frozen=True)
class NewClient:
    """A client just created, with the only copy of its token that will ever be shown."""

    client: Client
    secret: str
    token: str


def hash_token(token: str) -> str:
    """Hash a bearer token for storage (tokens are random, so a plain SHA-256 suffices)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_secret() -> str:
    """Return a fresh Standard Webhooks secret ("whsec_" and 32 random bytes in base64)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def new_token() -> str:
    """Return a fresh bearer token."""
    return "crt_" + secrets.token_urlsafe(32)


def check_events_url(url: str | None) -> str | None:
    """Return an events URL that is plain http(s) with a host, or None; raise ValueError."""
    if url is None or not url.strip():
        return None
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"the events URL must be http:// or https:// with a host, not {url!r}")
    return url.strip()


def create_client(
    session: Session, name: str, now: datetime, *, scopes: tuple[str, ...] = DEFAULT_SCOPES,
    events_url: str | None = None,
) -> NewClient:
    """Create a control-room client; the token is returned once and only its hash is stored."""
    events_url = check_events_url(events_url)
    unknown = set(scopes) - set(SCOPES)
    if unknown:
        raise ValueError(f"unknown scopes: {', '.join(sorted(unknown))}")
    secret, token = new_secret(), new_token()
    client = Client(
        name=name, secret=secret, token_hash=hash_token(token), scopes=" ".join(scopes),
        events_url=events_url, created_at=now,
    )
    session.add(client)
    session.flush()
    return NewClient(client, secret, token)


def id_of(session: Session, name: str) -> int | None:
    """Return the id of the client of that name, or None."""
    return session.scalars(select(Client.id).where(Client.name == name)).first()


def rotate_token(session: Session, client: Client) -> str:
    """Give a client a new bearer token, invalidating the old one; return the new token."""
    token = new_token()
    client.token_hash = hash_token(token)
    session.flush()
    return token


def authenticate(session: Session, authorization: str | None, scope: str) -> Client:
    """Return the client owning a bearer token; raise Unauthorized, or Forbidden lacking scope."""
    kind, _, token = (authorization or "").partition(" ")
    if kind.lower() != "bearer" or not token.strip():
        raise Unauthorized("a bearer token is required")
    client = session.scalars(
        select(Client).where(Client.token_hash == hash_token(token.strip()))
    ).one_or_none()
    if client is None:
        raise Unauthorized("unknown token")
    if scope not in client.scopes.split():
        raise Forbidden(f"the token lacks the {scope} scope")
    return client


def require_scope(client: Client, scope: str) -> None:
    """Raise Forbidden unless the client holds the scope."""
    if scope not in client.scopes.split():
        raise Forbidden(f"the client lacks the {scope} scope")


def sign(secret: str, webhook_id: str, at: datetime, body: str) -> dict[str, str]:
    """Return the Standard Webhooks headers for a body, as a control room sends them."""
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, at, body),
    }


def verify(
    session: Session, headers: Mapping[str, str], body: bytes, *, now: datetime,
    tolerance: timedelta,
) -> tuple[Client, str]:
    """Find the client whose secret signed the body; return it with the webhook-id.

    Signing and comparing use the standardwebhooks library. The timestamp check is ours so
    that it runs on the service's clock, which tests and drills can set.
    """
    msg_id = headers.get("webhook-id", "").strip()
    stamp = headers.get("webhook-timestamp", "").strip()
    signatures = headers.get("webhook-signature", "").split()
    if not (msg_id and stamp and signatures):
        raise InvalidSignature("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        at = datetime.fromtimestamp(int(stamp), UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise InvalidSignature("webhook-timestamp is not a Unix time in seconds") from exc
    if abs(now - at) > tolerance:
        raise InvalidSignature("webhook-timestamp is outside the allowed window")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidSignature("body is not UTF-8") from exc
    offered = [s.split(",", 1)[1] for s in signatures if s.startswith("v1,")]
    for client in session.scalars(select(Client).order_by(Client.id)):
        expected = Webhook(client.secret).sign(msg_id, at, text).split(",", 1)[1]
        if any(hmac.compare_digest(expected, candidate) for candidate in offered):
            return client, msg_id
    raise InvalidSignature("no matching signature")
