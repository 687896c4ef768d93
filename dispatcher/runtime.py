"""What one app instance runs on: settings, database, SMS port, clock, policy and index."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from dispatcher.aeds import AedDirectory
from dispatcher.clock import Clock
from dispatcher.db import transaction
from dispatcher.policy import Policy
from dispatcher.sms import SmsSender
from geo import ResponderIndex


@dataclass
class Runtime:
    """The ports and state one app instance runs on; built once by create_app."""

    settings: dict[str, Any]
    engine: Engine
    sessions: sessionmaker[Session]
    sms: SmsSender
    clock: Clock
    policy: Policy
    timezone: ZoneInfo
    index: ResponderIndex = field(default_factory=ResponderIndex)
    aeds: AedDirectory = field(default_factory=AedDirectory)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Yield a session that commits on success and rolls back on error."""
        with transaction(self.sessions) as session:
            yield session


def runtime() -> Runtime:
    """Return the runtime of the current Flask app."""
    return current_app.extensions["dispatcher"]
