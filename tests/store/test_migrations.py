"""The migrations build exactly the schema the models describe, and can be walked back."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import column, create_engine, delete, insert, select, table, text
from sqlalchemy.exc import IntegrityError

from dispatcher.store.columns import UTCDateTime
from dispatcher.store.db import alembic_config, make_engine, upgrade
from dispatcher.store.models import Base, Client, Message, Position, Responder, WebhookReceipt
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


def test_volunteers_made_before_0007_keep_their_places_and_have_no_owner(empty_url):
    engine = make_engine(empty_url)
    upgrade(engine, "0006")
    at = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    responders = table("responders", column("id"), column("ref"), column("phone"),
                       column("name"), column("language"), column("birth_year"),
                       column("cert_expires"), column("status"), column("travel_mode"),
                       column("channel"), column("created_at", UTCDateTime()),
                       column("updated_at", UTCDateTime()))
    places = table("positions", column("responder_id"), column("kind"), column("label"),
                   column("lat"), column("lon"), column("seq"), column("deleted"))
    with engine.begin() as conn:
        conn.execute(insert(responders).values(
            id=1, ref="ROLD0001", phone="+46700000001", name="Old Volunteer", language="sv",
            birth_year=1980, cert_expires=date(2027, 1, 1), status="active", travel_mode="walk",
            channel="sms", created_at=at, updated_at=at))
        conn.execute(insert(places).values(responder_id=1, kind="home", label="home",
                                           lat=59.33, lon=18.06, seq=1, deleted=False))

    upgrade(engine)

    with engine.connect() as conn:
        owners = conn.execute(select(Responder.ref, Responder.owner_id)).all()
        kept = conn.execute(select(Position.responder_id, Position.label)).all()
    # The volunteers' table was copied on SQLite: its references must still hold.
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(places).values(responder_id=99, kind="home", label="home",
                                           lat=59.33, lon=18.06, seq=2, deleted=False))
    engine.dispose()
    assert owners == [("ROLD0001", None)]
    assert kept == [(1, "home")]


def test_0007_takes_webhook_ids_of_255_characters_and_can_be_undone_with_volunteers(empty_url):
    engine = make_engine(empty_url)
    upgrade(engine)
    rt_now = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(insert(Client).values(id=1, name="room", secret="whsec_x",
                                           token_hash="room", scopes="", created_at=rt_now))
        conn.execute(insert(WebhookReceipt).values(
            client_id=1, webhook_id="w" * 255, status_code=202, response={},
            received_at=rt_now))
        conn.execute(insert(Responder).values(
            id=1, ref="RNEW0001", phone="+46700000002", name="New Volunteer", language="sv",
            birth_year=1980, cert_expires=date(2027, 1, 1), status="active", travel_mode="walk",
            channel="sms", owner_id=1, created_at=rt_now, updated_at=rt_now))
        conn.execute(insert(Position).values(responder_id=1, kind="home", label="home",
                                             lat=59.33, lon=18.06, seq=1, deleted=False))
        conn.execute(delete(WebhookReceipt))

    command.downgrade(alembic_config(engine), "0006")

    with engine.connect() as conn:
        refs = conn.execute(text("SELECT ref FROM responders")).scalars().all()
        homes = conn.execute(text("SELECT responder_id FROM positions")).scalars().all()
    engine.dispose()
    assert refs == ["RNEW0001"]
    assert homes == [1]
