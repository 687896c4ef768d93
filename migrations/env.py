"""Alembic environment: runs migrations on the engine the service hands over."""

from alembic import context
from sqlalchemy import create_engine

from dispatcher.store.models import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # invoked from the alembic command line
    engine = create_engine(config.get_main_option("sqlalchemy.url"))

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    driver = connection.connection.dbapi_connection
    if sqlite:
        # SQLite's own procedure for changing a table: foreign keys off (possible only outside
        # a transaction, so on the driver's connection before anything begins), so that a
        # batch copy may replace a table that others point at. SQLite runs each migration in
        # a transaction of its own; once they are all done the references are checked.
        driver.execute("PRAGMA foreign_keys=OFF")
    try:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    finally:
        if sqlite:
            if connection.in_transaction():
                connection.rollback()
            driver.execute("PRAGMA foreign_keys=ON")
    if sqlite and (broken := driver.execute("PRAGMA foreign_key_check").fetchone()):
        raise RuntimeError(f"a migration left a broken reference in table {broken[0]}")
