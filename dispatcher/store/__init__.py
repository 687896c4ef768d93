"""The store: SQLAlchemy models, engine and sessions, migrations, row locks."""

# Every table module, so that the schema (models.Base.metadata) is whole as soon as any part
# of the store is imported: the migrations and their tests compare against it.
from dispatcher.store import models, reports, sequence  # noqa: F401
