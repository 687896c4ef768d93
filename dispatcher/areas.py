"""Service areas: which policy applies where, and the zones where no incident dispatches."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from dispatcher.policy import Policy


@dataclass(frozen=True)
class Placement:
    """The policy that applies at a place, and the exclusion zone it lies in, if any."""

    policy: Policy
    exclusion_zone: str | None = None


class AreaDirectory:
    """The service areas of one process, reloaded from the database when they change."""

    def place(self, session: Session, default: Policy, lat: float, lon: float) -> Placement:
        """Return the policy of the smallest area containing the point, else the default."""
        return Placement(default)
