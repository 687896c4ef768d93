"""Service areas: which policy applies where, and the zones where no incident dispatches.

The areas live in the `service_areas` table; each process keeps them in shapely indexes
and reloads the whole set when it changes. A load replaces the whole set in one
transaction and always gives the new rows ids above the old ones, so the count and the
highest id together tell a process cheaply whether its copy is current.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatcher.areas.files import AreaProperties, AreaRecord
from dispatcher.domain.policy import Policy
from dispatcher.store.models import ServiceArea
from geo import AreaIndex, polygon_shape

log = logging.getLogger(__name__)

# Area parameters that set the Policy field of the same name.
SAME_NAME = ("radius_start_m", "radius_max_m", "radius_step_m", "wave_size", "max_alerted",
             "target_cpr", "target_aed", "max_accepted", "fatigue_max_24h", "quiet_hours")


@dataclass(frozen=True)
class Placement:
    """The policy that applies at a place, and the exclusion zone it lies in, if any."""

    policy: Policy
    exclusion_zone: str | None = None


def policy_for(default: Policy, name: str, params: Mapping[str, Any]) -> Policy:
    """Return the default policy with an area's parameters (docs/areas.md) set on it."""
    changes: dict[str, Any] = {k: params[k] for k in SAME_NAME if params.get(k) is not None}
    if params.get("wave_timeout_s") is not None:
        changes["wave_timeout"] = timedelta(seconds=params["wave_timeout_s"])
    if params.get("excluded_kinds") is not None:
        changes["excluded_kinds"] = frozenset(params["excluded_kinds"])
    return replace(default, area=name, **changes)


@dataclass(frozen=True)
class _Loaded:
    """One consistent copy of the areas: the indexes, the parameters, and its version."""

    version: tuple
    areas: AreaIndex
    exclusions: AreaIndex
    params: dict[str, dict[str, Any]]


class AreaDirectory:
    """The service areas of one process, reloaded from the database when they change.

    The smallest area (of kind "area") containing a point gives its policy; elsewhere the
    default applies. An exclusion zone applies wherever it lies, inside any area or none.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: _Loaded | None = None

    def place(self, session: Session, default: Policy, lat: float, lon: float) -> Placement:
        """Return the policy of the smallest area containing the point, else the default."""
        loaded = self.sync(session)
        name = loaded.areas.smallest(lat, lon)
        policy = default if name is None else policy_for(default, name, loaded.params[name])
        return Placement(policy, loaded.exclusions.smallest(lat, lon))

    def sync(self, session: Session) -> _Loaded:
        """Reload the areas if the table changed since the last look; return the current copy."""
        version = tuple(session.execute(
            select(func.count(ServiceArea.id), func.max(ServiceArea.id))
        ).one())
        loaded = self._loaded
        if loaded is not None and loaded.version == version:
            return loaded
        with self._lock:  # one thread rebuilds; the others wait for its copy
            loaded = self._loaded
            if loaded is None or loaded.version != version:
                loaded = self._loaded = _build(session, version)
        return loaded


def _build(session: Session, version: tuple) -> _Loaded:
    """Read every area row into fresh indexes.

    A row the loader would refuse (only a hand edit of the table makes one) is left out
    and logged, rather than stopping every dispatch.
    """
    areas, exclusions, params = [], [], {}
    for row in session.scalars(select(ServiceArea).order_by(ServiceArea.id)):
        try:
            shape = polygon_shape(row.geometry)
            if row.kind != "exclusion":
                checked = AreaProperties.model_validate({**(row.params or {}), "name": row.name})
        except ValueError as exc:  # pydantic's ValidationError is one too
            log.error("service area %r left out: %s", row.name, " ".join(str(exc).split()))
            continue
        if row.kind == "exclusion":
            exclusions.append((row.name, shape))
        else:
            areas.append((row.name, shape))
            params[row.name] = checked.model_dump(exclude={"name", "kind"}, exclude_none=True)
    log.info("loaded %d service areas and %d exclusion zones", len(areas), len(exclusions))
    return _Loaded(version, AreaIndex(areas), AreaIndex(exclusions), params)


def replace_areas(session: Session, records: Iterable[AreaRecord], now: datetime) -> int:
    """Replace every stored area with the records, in the caller's transaction.

    Returns how many areas were removed. The new rows are written before the old ones
    are deleted, so their ids are above all the old ones on every database (SQLite hands
    out the highest id plus one); the old rows step aside from their names first.
    """
    old = session.scalars(select(ServiceArea)).all()
    for row in old:
        row.name = f"\x1f{row.id}"  # a control character: no loaded name can have one
    session.flush()
    session.add_all(
        ServiceArea(name=r.name, kind=r.kind, geometry=r.geometry, params=r.params,
                    created_at=now)
        for r in records
    )
    session.flush()
    for row in old:
        session.delete(row)
    session.flush()
    return len(old)
