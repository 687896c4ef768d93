"""The store: SQLAlchemy models, engine and sessions, migrations, row locks."""
