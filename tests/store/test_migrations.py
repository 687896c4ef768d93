"""The migrations build exactly the schema the models describe, and can be walked back."""

from __future__ import annotations

import uuid

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from dispatcher.store.db import alembic_config, make_engine, upgrade
from dispatcher.store.models import Base
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
