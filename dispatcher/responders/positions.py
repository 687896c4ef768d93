"""Live positions reported by an app or an operator's positioning feed."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from dispatcher.domain.inputs import SaneTime, checked_parameter
from dispatcher.domain.policy import CLOCK_SKEW
from dispatcher.errors import InvalidPayload, UnknownResponder, translate_errors
from dispatcher.responders import live
from dispatcher.runtime import Runtime

REF_MAX = 16  # the width of a volunteer's public reference


class PositionReport(BaseModel):
    """The body of a position update."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    accuracy_m: float | None = Field(default=None, ge=0, le=10_000, allow_inf_nan=False)
    at: SaneTime


def parse_report(body: bytes, now: datetime) -> PositionReport:
    """Parse and check a position body; a time in the future beyond clock skew is refused."""
    try:
        report = PositionReport.model_validate_json(body)
    except ValidationError as exc:
        raise translate_errors(exc) from None
    if report.at - now > CLOCK_SKEW:
        raise InvalidPayload("the position is from the future", fields={"at": "in the future"})
    return report


def report_position(rt: Runtime, session: Session, owner_id: int, ref: str, body: bytes) -> dict:
    """Store the live position of a volunteer the client registered; ignore an older report."""
    now = rt.clock.now()
    ref = checked_parameter("ref", ref, REF_MAX)
    report = parse_report(body, now)
    found = live.write(session, [live.LiveReport(ref, report.lat, report.lon, report.accuracy_m,
                                                 report.at)], owner_id=owner_id)
    if ref not in found:
        # Another organisation's volunteer gets the same answer: nobody can probe for them.
        raise UnknownResponder(f"no volunteer {ref} registered by this client")
    return outcome(ref, found[ref], report.at, now, rt.policy.live_ttl)


def outcome(ref: str, applied: bool, at: datetime, now: datetime, ttl: timedelta) -> dict:
    """Return the answer for one report: applied or why not, and until when it counts."""
    expires = at + ttl
    return {
        "ref": ref,
        "applied": applied,
        "reason": None if applied else "a newer position is already known",
        "fresh": applied and expires > now,
        "expires_at": expires.isoformat().replace("+00:00", "Z"),
    }
