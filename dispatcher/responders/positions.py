"""Live positions reported by an app or an operator's positioning feed."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select

from dispatcher.domain.policy import CLOCK_SKEW
from dispatcher.errors import InvalidPayload, UnknownResponder, translate_errors
from dispatcher.responders import registry
from dispatcher.runtime import Runtime
from dispatcher.store.models import Responder


class PositionReport(BaseModel):
    """The body of a position update."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    accuracy_m: float | None = Field(default=None, ge=0, le=10_000, allow_inf_nan=False)
    at: AwareDatetime


def parse_report(body: bytes, now: datetime) -> PositionReport:
    """Parse and check a position body; a time in the future beyond clock skew is refused."""
    try:
        report = PositionReport.model_validate_json(body)
    except ValidationError as exc:
        raise translate_errors(exc) from None
    if report.at - now > CLOCK_SKEW:
        raise InvalidPayload("the position is from the future", fields={"at": "in the future"})
    return report


def report_position(rt: Runtime, ref: str, body: bytes) -> dict:
    """Store a volunteer's live position; an older report than the one known is ignored."""
    now = rt.clock.now()
    report = parse_report(body, now)
    with rt.transaction() as session:
        responder = session.scalars(select(Responder).where(Responder.ref == ref)).one_or_none()
        if responder is None:
            raise UnknownResponder(f"no volunteer {ref}")
        applied = registry.put_live_position(
            session, responder, lat=report.lat, lon=report.lon, accuracy_m=report.accuracy_m,
            at=report.at,
        )
    expires = report.at + rt.policy.live_ttl
    return {
        "ref": ref,
        "applied": applied,
        "reason": None if applied else "a newer position is already known",
        "fresh": applied and expires > now,
        "expires_at": expires.isoformat().replace("+00:00", "Z"),
    }

