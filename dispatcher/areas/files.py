"""Service-area files: a GeoJSON FeatureCollection checked feature by feature, all or nothing.

Each feature is a Polygon or MultiPolygon whose properties name it and set its dispatch
parameters (docs/areas.md). Every problem in a file is reported, each with the feature's
index, its name, the field and the reason; a file with any problem loads nothing.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from dispatcher.domain import hours
from geo import geometry_problem

# Descriptive keys that drawing tools and people add; they are accepted and not stored.
IGNORED_KEYS = frozenset({
    "description", "comment", "source", "title",
    "stroke", "stroke-width", "stroke-opacity", "fill", "fill-opacity",
})
# Names of the coordinate system meaning WGS 84 longitude, latitude (RFC 7946 has no "crs").
WGS84 = frozenset({
    "urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84", "EPSG:4326",
    "urn:ogc:def:crs:EPSG::4326",
})

# Printable, one line (no control characters), as names appear in SMS and listings.
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120,
                                        pattern=r"^[^\x00-\x1f\x7f]+$")]
Kind = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Radius = Annotated[int, Field(gt=0, le=50_000)]
Count = Annotated[int, Field(gt=0, le=1000)]


class _Properties(BaseModel):
    """Strict types (800, not "800" or 800.0) and no unknown keys: a typo must not pass."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    name: Name


class AreaProperties(_Properties):
    """The properties of a service area: its name and the parameters it sets."""

    kind: Literal["area"] = "area"
    radius_start_m: Radius
    radius_max_m: Radius
    radius_step_m: Radius | None = None
    wave_size: Count | None = None
    wave_timeout_s: Annotated[int, Field(gt=0, le=3600)] | None = None
    target_cpr: Count | None = None
    target_aed: Annotated[int, Field(ge=0, le=1000)] | None = None
    max_accepted: Count | None = None
    max_alerted: Count | None = None
    fatigue_max_24h: Count | None = None
    quiet_hours: str | None = None
    excluded_kinds: list[Kind] | None = Field(default=None, max_length=50)

    @field_validator("radius_max_m")
    @classmethod
    def _not_below_start(cls, value: int, info: ValidationInfo) -> int:
        """The search widens from the start radius, so the maximum cannot be smaller."""
        start = info.data.get("radius_start_m")
        if start is not None and value < start:
            raise ValueError(f"must be at least radius_start_m ({start})")
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _readable_hours(cls, value: str | None) -> str | None:
        """Quiet hours are OSM opening_hours, in the service's local time."""
        if value is None:
            return None
        value = " ".join(value.split())
        reason = hours.parse_error(value) if value else "empty"
        if reason:
            raise ValueError(f"not OSM opening_hours syntax (e.g. \"23:00-07:00\"): {reason}")
        return value


class ExclusionProperties(_Properties):
    """The properties of an exclusion zone, where no incident dispatches to volunteers."""

    kind: Literal["exclusion"]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None


@dataclass(frozen=True)
class AreaRecord:
    """One checked feature, ready to store."""

    name: str
    kind: str  # area | exclusion
    geometry: dict[str, Any]  # the GeoJSON Polygon or MultiPolygon, type and coordinates
    params: dict[str, Any]  # the parameters the feature sets; unset ones are left out


@dataclass(frozen=True)
class AreaProblem:
    """One thing wrong in a file: which feature (None: the file), its name, field and why."""

    feature: int | None
    name: str | None
    field: str
    reason: str

    def __str__(self) -> str:
        """Write the problem as `feature N (name): field: reason`."""
        where = "file" if self.feature is None else f"feature {self.feature}"
        if self.name:
            where += f" ({self.name})"
        return f"{where}: {self.field}: {self.reason}"


@dataclass
class AreaFile:
    """What a file holds: the checked records, and every problem found."""

    records: list[AreaRecord] = field(default_factory=list)
    problems: list[AreaProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Tell whether the file may be loaded: it has no problem at all."""
        return not self.problems


def read_areas(source: str | bytes | dict) -> AreaFile:
    """Check a FeatureCollection of service areas; return its records and every problem."""
    result = AreaFile()

    def problem(feature: int | None, name: str | None, where: str, reason: str) -> None:
        result.problems.append(AreaProblem(feature, name, where, reason))

    if isinstance(source, (str, bytes)):
        try:
            source = json.loads(source)
        except json.JSONDecodeError as exc:
            problem(None, None, "json", f"{exc.msg} at line {exc.lineno} column {exc.colno}")
            return result
        except UnicodeDecodeError as exc:
            problem(None, None, "json", f"not UTF-8 text (byte {exc.start})")
            return result
    if not isinstance(source, dict) or source.get("type") != "FeatureCollection":
        problem(None, None, "type", "the file must be a GeoJSON FeatureCollection")
        return result
    crs = _crs_name(source.get("crs"))
    if crs is not None and crs not in WGS84:
        problem(None, None, "crs", f"coordinates must be WGS 84 longitude, latitude; got {crs}")
        return result
    features = source.get("features")
    if not isinstance(features, list):
        problem(None, None, "features", "must be a list of features")
        return result
    seen: dict[str, int] = {}
    for index, feature in enumerate(features):
        before = len(result.problems)
        record = _feature(index, feature, problem)
        name = _name(feature)
        if name is not None and name in seen:
            problem(index, name, "name", f"repeats the name of feature {seen[name]}")
        elif name is not None:
            seen[name] = index
        if record is not None and len(result.problems) == before:
            result.records.append(record)
    return result


def _feature(index: int, feature: Any, problem) -> AreaRecord | None:
    """Check one feature, reporting each problem; return its record when it has none."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        problem(index, None, "type", "must be a GeoJSON Feature")
        return None
    properties = feature.get("properties")
    if not isinstance(properties, dict):
        problem(index, None, "properties", "must be an object with at least a name")
        return None
    name = _name(feature)
    geometry = feature.get("geometry")
    reason = geometry_problem(geometry)
    if reason:
        problem(index, name, "geometry", reason)
    given = {k: v for k, v in properties.items() if k not in IGNORED_KEYS}
    kind = given.get("kind", "area")
    if kind not in ("area", "exclusion"):
        problem(index, name, "kind", f"must be \"area\" or \"exclusion\", got {kind!r}")
        del given["kind"]  # the other properties are still checked, as for an area
    model = ExclusionProperties if kind == "exclusion" else AreaProperties
    try:
        checked = model.model_validate(given)
    except ValidationError as exc:
        for error in exc.errors():
            key = ".".join(str(part) for part in error["loc"]) or "properties"
            problem(index, name, key, _reason(error, model))
        return None
    if reason or kind not in ("area", "exclusion"):
        return None
    params = checked.model_dump(exclude={"name", "kind"}, exclude_none=True)
    return AreaRecord(checked.name, kind, {"type": geometry["type"],
                                           "coordinates": geometry["coordinates"]}, params)


def _name(feature: Any) -> str | None:
    """Return the name a feature gives itself, for reports and the repeated-name check."""
    properties = feature.get("properties") if isinstance(feature, dict) else None
    name = properties.get("name") if isinstance(properties, dict) else None
    return (name.strip() or None) if isinstance(name, str) else None


def _reason(error: dict, model: type[_Properties]) -> str:
    """Say in plain words what pydantic found wrong with one property."""
    kind, key = error["type"], str(error["loc"][0]) if error["loc"] else ""
    if kind == "missing":
        return "required for an exclusion zone" if model is ExclusionProperties else (
            "required for an area")
    if kind == "extra_forbidden":
        if model is ExclusionProperties and key in AreaProperties.model_fields:
            return "applies to areas only; an exclusion zone takes name, kind and reason"
        known = sorted(set(model.model_fields) | IGNORED_KEYS)
        close = difflib.get_close_matches(key, known, n=1)
        return "unknown property" + (f"; did you mean {close[0]}?" if close else "")
    message = error["msg"].removeprefix("Value error, ")
    value = error.get("input")
    if kind != "value_error" and isinstance(value, (str, int, float, bool)) and value is not None:
        message += f" (got {json.dumps(value)})"
    return message


def _crs_name(crs: Any) -> str | None:
    """Return the name of a legacy GeoJSON "crs" member, or None when there is none."""
    if crs is None:
        return None
    if isinstance(crs, dict) and isinstance(crs.get("properties"), dict):
        name = crs["properties"].get("name")
        if isinstance(name, str):
            return name
    return json.dumps(crs)[:80]
