"""volunteers are registered by an organisation (a client) that alone may move them;
webhook-ids up to 255 characters

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Volunteers registered so far have no owner: no client may move them until one is set
    # (flask import volunteers FILE --owner CLIENT). On SQLite the batch copies the table,
    # with foreign keys off while it does (migrations/env.py).
    with op.batch_alter_table('responders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_responders_owner_id'), ['owner_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_responders_owner_id_clients'), 'clients',
                                    ['owner_id'], ['id'], ondelete='SET NULL')
    with op.batch_alter_table('webhook_receipts', schema=None) as batch_op:
        batch_op.alter_column('webhook_id', existing_type=sa.String(length=200),
                              type_=sa.String(length=255), existing_nullable=False)


def downgrade() -> None:
    # A webhook-id longer than 200 characters stops the way back on PostgreSQL: delete
    # those receipts first if going back is worth forgetting them.
    with op.batch_alter_table('webhook_receipts', schema=None) as batch_op:
        batch_op.alter_column('webhook_id', existing_type=sa.String(length=255),
                              type_=sa.String(length=200), existing_nullable=False)
    with op.batch_alter_table('responders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_responders_owner_id_clients'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_responders_owner_id'))
        batch_op.drop_column('owner_id')
