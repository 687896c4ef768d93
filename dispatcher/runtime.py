"""What one app instance runs on: settings, database, SMS port, clock, policy and index."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.aeds.directory import AedDirectory
from dispatcher.areas.directory import AreaDirectory, Placement
from dispatcher.clock import Clock
from dispatcher.domain.policy import Policy
from dispatcher.domain.roster import Roster
from dispatcher.hooks import EventPoster
from dispatcher.queue import JobQueue, take_doorbells
from dispatcher.settings import Settings
from dispatcher.sms import SmsSender
from dispatcher.store.db import transaction
from geo import ResponderIndex


@dataclass
class Runtime:
    """The ports and state one app instance runs on; built once by create_app."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    sms: SmsSender
    clock: Clock
    policy: Policy
    timezone: ZoneInfo
    queue: JobQueue
    poster: EventPoster
    index: ResponderIndex = field(default_factory=ResponderIndex)
    roster: Roster = field(default_factory=Roster)
    # Set once the index has been loaded; /readyz refuses until then.
    index_ready: threading.Event = field(default_factory=threading.Event)
    aeds: AedDirectory = field(default_factory=AedDirectory)
    areas: AreaDirectory = field(default_factory=AreaDirectory)

    def place(self, session: Session, lat: float, lon: float) -> Placement:
        """Return the policy that applies at a place (its service area's, or the default)."""
        return self.areas.place(session, self.policy, lat, lon)

    def policy_for(self, session: Session, incident: Any) -> Policy:
        """Return the policy that applies to an incident where it is now."""
        return self.place(session, incident.lat, incident.lon).policy

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Yield a session that commits on success and rolls back on error.

        Jobs rung during the transaction (`dispatcher.queue.ring`) are handed to the queue
        after the commit, so a worker never looks for rows not yet visible.
        """
        with transaction(self.sessions) as session:
            yield session
        for job, args, at in take_doorbells(session):
            self.queue.enqueue(job, *args, at=at)

