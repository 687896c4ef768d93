"""a volunteer's writes take a number of the change sequence, so every process's search
learns of a new travel mode, status or certificate from one query

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing volunteers are numbered 0: a process loads every volunteer when it starts,
    # and only changes made from now on need a number above the one it loaded to.
    with op.batch_alter_table('responders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.BigInteger(), nullable=False,
                                      server_default='0'))
        batch_op.create_index(batch_op.f('ix_responders_seq'), ['seq'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('responders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_responders_seq'))
        batch_op.drop_column('seq')
