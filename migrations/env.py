"""Alembic environment: runs migrations on the engine the service hands over."""

from alembic import context
from sqlalchemy import create_engine

from dispatcher.store.models import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # invoked from the alembic command line
    engine = create_engine(config.get_main_option("sqlalchemy.url"))

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
