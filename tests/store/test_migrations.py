"""The migrations build exactly the schema the models describe, and can be walked back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import column, create_engine, insert, select, table, text

from dispatcher.store.columns import UTCDateTime
from dispatcher.store.db import alembic_config, make_engine, upgrade
from dispatcher.store.models import Base, Message
from tests.conftest import DATABASES, POSTGRES_URL, _postgres_schema_url


@pytest.fixture(params=DATABASES)
def empty_url(request, tmp_path):
    """A database of the test's own, with no schema yet."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    schema = f"dispatcher_migrations_{uuid.uuid4().hex[:8]}"
    yield _postgres_schema_url(schema)
    engine = create_engine(POSTGRES_URL)
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    engine.dispose()


def test_the_newest_migration_matches_the_models(empty_url):
    engine = make_engine(empty_url)
    upgrade(engine)

    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)

    engine.dispose()
    assert differences == []


def test_every_migration_can_be_undone_and_done_again(empty_url):
    engine = make_engine(empty_url)
    upgrade(engine)

    command.downgrade(alembic_config(engine), "base")
    upgrade(engine)

    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    engine.dispose()


def test_inbound_messages_stored_before_0004_count_as_processed(empty_url):
    engine = make_engine(empty_url)
    upgrade(engine, "0003")
    at = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    old = table("messages", column("direction"), column("channel"), column("address"),
                column("body"), column("purpose"), column("provider"), column("sid"),
                column("status"), column("created_at", UTCDateTime()),
                column("updated_at", UTCDateTime()))
    with engine.begin() as conn:
        for direction, sid, status in (("in", "SMold-in", "received"),
                                       ("out", "SMold-out", "sent")):
            conn.execute(insert(old).values(
                direction=direction, channel="sms", address="+46700000001", body="YES",
                purpose="reply", provider="twilio", sid=sid, status=status, created_at=at,
                updated_at=at))

    upgrade(engine)

    with engine.connect() as conn:
        rows = {sid: (processed, attempts) for sid, processed, attempts in conn.execute(
            select(Message.sid, Message.processed_at, Message.attempts))}
    engine.dispose()
    # Acted on when they arrived: the sweeper must not take them for new ones.
    assert rows == {"SMold-in": (at, 0), "SMold-out": (None, 0)}


def test_clients_made_before_0006_keep_the_right_to_post_events(empty_url):
    engine = make_engine(empty_url)
    upgrade(engine, "0005")
    at = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    old = table("clients", column("name"), column("secret"), column("token_hash"),
                column("scopes"), column("created_at", UTCDateTime()))
    with engine.begin() as conn:
        for name, scopes in (("room", "incidents:read positions:write"), ("coord", "follow-ups"),
                             ("again", "events incidents:read"), ("none", "")):
            conn.execute(insert(old).values(name=name, secret="whsec_x", token_hash=name,
                                            scopes=scopes, created_at=at))

    upgrade(engine)
    with engine.connect() as conn:
        after = dict(conn.execute(select(old.c.name, old.c.scopes)).all())
    command.downgrade(alembic_config(engine), "0005")
    with engine.connect() as conn:
        before = dict(conn.execute(select(old.c.name, old.c.scopes)).all())
    engine.dispose()

    assert after == {"room": "events incidents:read positions:write",
                     "coord": "events follow-ups", "again": "events incidents:read",
                     "none": "events"}
    assert before == {"room": "incidents:read positions:write", "coord": "follow-ups",
                      "again": "incidents:read", "none": ""}
