"""clients that could post events before the events scope existed keep that right

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

clients = sa.table('clients', sa.column('id', sa.Integer), sa.column('scopes', sa.String))


def upgrade() -> None:
    # Every client's secret could post events until now; the scope keeps that, and an operator
    # takes it from clients that should only read (flask shell, or a new client).
    conn = op.get_bind()
    for id_, scopes in conn.execute(sa.select(clients.c.id, clients.c.scopes)).all():
        words = (scopes or '').split()
        if 'events' not in words:
            conn.execute(clients.update().where(clients.c.id == id_)
                         .values(scopes=' '.join(['events', *words])))


def downgrade() -> None:
    conn = op.get_bind()
    for id_, scopes in conn.execute(sa.select(clients.c.id, clients.c.scopes)).all():
        words = [w for w in (scopes or '').split() if w != 'events']
        conn.execute(clients.update().where(clients.c.id == id_).values(scopes=' '.join(words)))
