"""The change sequence: one counter that numbers every write a spatial search must know of.

Positions take a number on every write (`responders.registry`), and so does a volunteer
whenever a field the search filters or ranks by changes: travel mode, status, pause, birth
year or certificate. Each process then brings its index up to date with the rows numbered
above the last number it has seen. Incrementing the single counter row holds its lock until
commit, so numbers become visible in order: a reader that sees N can see everything below N.
"""

from __future__ import annotations

from sqlalchemy import Connection, event, inspect, select, update
from sqlalchemy.orm import Session

from dispatcher.store.models import ChangeCounter, Responder

# The volunteer's fields that a search reads from its index rather than from the database.
SEARCHED = ("status", "paused_until", "birth_year", "cert_expires", "travel_mode")


def take(connection: Connection) -> int:
    """Take the next number of the change sequence (the counter stays locked until commit)."""
    value = connection.execute(
        update(ChangeCounter)
        .where(ChangeCounter.id == 1)
        .values(value=ChangeCounter.value + 1)
        .returning(ChangeCounter.value)
    ).scalar_one_or_none()
    if value is None:
        raise RuntimeError("change_counter row missing: run the migrations")
    return value


def hold(connection: Connection) -> None:
    """Lock the counter until commit without taking a number (PostgreSQL; SQLite has one
    writer anyway): a writer that locks position rows takes this first, as every one does."""
    connection.execute(select(ChangeCounter.id).where(ChangeCounter.id == 1).with_for_update())


def current(connection: Connection) -> int:
    """Return the highest number taken and committed so far."""
    return connection.execute(
        select(ChangeCounter.value).where(ChangeCounter.id == 1)
    ).scalar_one_or_none() or 0


@event.listens_for(Session, "before_flush")
def _number_volunteer_writes(session: Session, _context, _instances) -> None:
    """Give a new volunteer, or one whose searched fields changed, the next number."""
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, Responder):
            continue
        state = inspect(obj)
        if state.pending or any(state.attrs[name].history.has_changes() for name in SEARCHED):
            obj.seq = take(session.connection())
