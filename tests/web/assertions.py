"""Checks shared by the control-room API tests: error documents and what the database holds."""

from __future__ import annotations

from sqlalchemy import func, select

from dispatcher.runtime import Runtime
from dispatcher.store.models import Alert, Incident, Message, TimelineEvent, WebhookReceipt

WRITTEN_BY_EVENTS = (Incident, Alert, Message, TimelineEvent, WebhookReceipt)
NOTHING_WRITTEN = {model.__tablename__: 0 for model in WRITTEN_BY_EVENTS}


def row_counts(rt: Runtime) -> dict[str, int]:
    """Return how many rows each table that events write to holds."""
    with rt.transaction() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in WRITTEN_BY_EVENTS
        }


def assert_error(response, status: int, code: str, field: str | None = None) -> dict:
    """Assert the response is the service's JSON error document; return its fields."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json, response.content_type
    body = response.get_json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], dict)
    if field is not None:
        assert field in error["fields"], error["fields"]
    return error["fields"]


def bearer(token: str) -> dict[str, str]:
    """Return the Authorization header for a bearer token."""
    return {"Authorization": f"Bearer {token}"}
