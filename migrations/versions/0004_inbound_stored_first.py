"""inbound SMS and delivery reports stored first, processed once by a job

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa
import dispatcher.store.columns
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('delivery_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sid', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('error_code', sa.Integer(), nullable=True),
    sa.Column('received_at', dispatcher.store.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('processed_at', dispatcher.store.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'),
    sa.Column('next_attempt_at', dispatcher.store.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('gave_up_at', dispatcher.store.columns.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_reports')),
    sa.UniqueConstraint('sid', 'status', name=op.f('uq_delivery_reports_sid_status'))
    )
    with op.batch_alter_table('delivery_reports', schema=None) as batch_op:
        batch_op.create_index('ix_delivery_reports_due', ['processed_at', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_reports_received_at'), ['received_at'], unique=False)

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('processed_at', dispatcher.store.columns.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('next_attempt_at', dispatcher.store.columns.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('gave_up_at', dispatcher.store.columns.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_messages_inbox', ['direction', 'processed_at'], unique=False)

    # Inbound messages stored before this revision were acted on when they arrived: without
    # this, the sweeper would take every one of them for new and answer it again.
    op.execute("UPDATE messages SET processed_at = created_at WHERE direction = 'in'")


def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_inbox')
        batch_op.drop_column('gave_up_at')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('attempts')
        batch_op.drop_column('processed_at')

    with op.batch_alter_table('delivery_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_reports_received_at'))
        batch_op.drop_index('ix_delivery_reports_due')

    op.drop_table('delivery_reports')
