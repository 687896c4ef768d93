"""The control-room event contract (DESIGN.md section 4), checked field by field."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dispatcher.domain.inputs import FreeText, Line, SaneTime
from dispatcher.errors import translate_errors

# Every string is bounded and free of control characters (domain.inputs).
ID_MAX = 100
Text = FreeText(300)
LongText = FreeText(2000)
IncidentId = Line(ID_MAX, min_length=1)
Kind = Line(40, min_length=1)
Flag = Line(40)


class _Strict(BaseModel):
    """Strict types (no "59.3" for a number), unknown fields ignored for forward compatibility."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class Location(_Strict):
    """Where the patient is."""

    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000, allow_inf_nan=False)


class Created(_Strict):
    """The data of incident.created."""

    id: IncidentId
    kind: Kind
    location: Location
    address: Text = ""
    notes: LongText = ""
    patient_age: int | None = Field(default=None, ge=0, le=130)
    ems_eta_s: int | None = Field(default=None, ge=0, le=24 * 3600)
    flags: list[Flag] = Field(default_factory=list, max_length=20)

    def digest(self) -> str:
        """Return a hash of the content, to tell a redelivery from a conflicting reuse of the id."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


class Updated(_Strict):
    """The data of incident.updated: any of location, address, notes or ems_eta_s."""

    id: IncidentId
    location: Location | None = None
    address: Text | None = None
    notes: LongText | None = None
    ems_eta_s: int | None = Field(default=None, ge=0, le=24 * 3600)


class Ended(_Strict):
    """The data of incident.cancelled and incident.closed."""

    id: IncidentId
    reason: Text | None = None


DATA_MODELS: dict[str, type[_Strict]] = {
    "incident.created": Created,
    "incident.updated": Updated,
    "incident.cancelled": Ended,
    "incident.closed": Ended,
}


class Envelope(_Strict):
    """The outer shape of every event."""

    type: Literal["incident.created", "incident.updated", "incident.cancelled", "incident.closed"]
    timestamp: SaneTime
    data: dict[str, Any]


class Event(BaseModel):
    """A checked event: its type, when the control room sent it, and its typed data."""

    type: str
    timestamp: datetime
    data: Created | Updated | Ended


def parse_event(body: bytes) -> Event:
    """Parse and check an event body; raise MalformedJson (400) or InvalidPayload (422)."""
    try:
        envelope = Envelope.model_validate_json(body)
    except ValidationError as exc:
        raise translate_errors(exc) from None
    try:
        data = DATA_MODELS[envelope.type].model_validate(envelope.data)
    except ValidationError as exc:
        raise translate_errors(exc, prefix="data") from None
    return Event(type=envelope.type, timestamp=envelope.timestamp, data=data)
