"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-21 05:31:33.723746
"""

from alembic import op
import sqlalchemy as sa
import dispatcher.store.models
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('aeds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_ref', sa.String(length=80), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('access_notes', sa.Text(), nullable=False),
    sa.Column('opening_hours', sa.String(length=500), nullable=True),
    sa.Column('hours_valid', sa.Boolean(), nullable=True),
    sa.Column('access', sa.String(length=20), nullable=False),
    sa.Column('cabinet_code_note', sa.String(length=200), nullable=False),
    sa.Column('created_at', dispatcher.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_aeds')),
    sa.UniqueConstraint('source_ref', name=op.f('uq_aeds_source_ref'))
    )
    change_counter = op.create_table('change_counter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_change_counter'))
    )
    # The one row of the position change sequence.
    op.bulk_insert(change_counter, [{'id': 1, 'value': 0}])
    op.create_table('clients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('secret', sa.String(length=120), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('scopes', sa.String(length=200), nullable=False),
    sa.Column('events_url', sa.String(length=500), nullable=True),
    sa.Column('created_at', dispatcher.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clients')),
    sa.UniqueConstraint('name', name=op.f('uq_clients_name')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_clients_token_hash'))
    )
    op.create_table('responders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=16), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('birth_year', sa.Integer(), nullable=False),
    sa.Column('cert_expires', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('paused_until', dispatcher.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('travel_mode', sa.String(length=8), nullable=False),
    sa.Column('channel', sa.String(length=12), nullable=False),
    sa.Column('created_at', dispatcher.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', dispatcher.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_responders')),
    sa.UniqueConstraint('phone', name=op.f('uq_responders_phone')),
    sa.UniqueConstraint('ref', name=op.f('uq_responders_ref'))
    )
    op.create_table('incidents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('patient_age', sa.Integer(), nullable=True),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('ems_eta_s', sa.Integer(), nullable=True),
    sa.Column('reported_at', dispatcher.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('dispatch_status', sa.String(length=30), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('radius_m', sa.Integer(), nullable=True),
    sa.Column('created_digest', sa.String(length=64), nullable=False),
    sa.Column('created_at', dispatcher.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', dispatcher.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', dispatcher.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_incidents_client_id_clients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents')),
    sa.UniqueConstraint('client_id', 'external_id', name=op.f('uq_incidents_client_id_external_id'))
    )
    op.create_table('positions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('responder_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('label', sa.String(length=40), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.Column('schedule', sa.String(length=200), nullable=True),
    sa.Column('observed_at', dispatcher.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['responder_id'], ['responders.id'], name=op.f('fk_positions_responder_id_responders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_positions')),
    sa.UniqueConstraint('responder_id', 'label', name=op.f('uq_positions_responder_id_label'))
    )
    with op.batch_alter_table('positions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_positions_responder_id'), ['responder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_positions_seq'), ['seq'], unique=False)

    op.create_table('webhook_receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('webhook_id', sa.String(length=200), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response', sa.JSON(), nullable=False),
    sa.Column('received_at', dispatcher.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_webhook_receipts_client_id_clients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_receipts')),
    sa.UniqueConstraint('client_id', 'webhook_id', name=op.f('uq_webhook_receipts_client_id_webhook_id'))
    )
    op.create_table('alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('responder_id', sa.Integer(), nullable=False),
    sa.Column('wave', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('code', sa.String(length=8), nullable=False),
    sa.Column('distance_m', sa.Float(), nullable=False),
    sa.Column('eta_s', sa.Float(), nullable=False),
    sa.Column('position_kind', sa.String(length=12), nullable=False),
    sa.Column('role', sa.String(length=8), nullable=True),
    sa.Column('aed_id', sa.Integer(), nullable=True),
    sa.Column('created_at', dispatcher.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', dispatcher.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('responded_at', dispatcher.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('arrived_at', dispatcher.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['aed_id'], ['aeds.id'], name=op.f('fk_alerts_aed_id_aeds')),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_alerts_incident_id_incidents')),
    sa.ForeignKeyConstraint(['responder_id'], ['responders.id'], name=op.f('fk_alerts_responder_id_responders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts')),
    sa.UniqueConstraint('incident_id', 'responder_id', name=op.f('uq_alerts_incident_id_responder_id'))
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alerts_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_alerts_responder_state', ['responder_id', 'state'], unique=False)

    op.create_table('timeline_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('at', dispatcher.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('event', sa.String(length=60), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_timeline_events_incident_id_incidents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_timeline_events'))
    )
    with op.batch_alter_table('timeline_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_timeline_events_incident_id'), ['incident_id'], unique=False)

    op.create_table('messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('channel', sa.String(length=12), nullable=False),
    sa.Column('address', sa.String(length=40), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('responder_id', sa.Integer(), nullable=True),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('provider', sa.String(length=12), nullable=False),
    sa.Column('sid', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('error_code', sa.Integer(), nullable=True),
    sa.Column('created_at', dispatcher.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', dispatcher.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_messages_alert_id_alerts')),
    sa.ForeignKeyConstraint(['responder_id'], ['responders.id'], name=op.f('fk_messages_responder_id_responders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages')),
    sa.UniqueConstraint('sid', name=op.f('uq_messages_sid'))
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_messages_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_messages_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_messages_responder_id'), ['responder_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_messages_responder_id'))
        batch_op.drop_index(batch_op.f('ix_messages_created_at'))
        batch_op.drop_index(batch_op.f('ix_messages_alert_id'))

    op.drop_table('messages')
    with op.batch_alter_table('timeline_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_timeline_events_incident_id'))

    op.drop_table('timeline_events')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_alerts_responder_state')
        batch_op.drop_index(batch_op.f('ix_alerts_created_at'))

    op.drop_table('alerts')
    op.drop_table('webhook_receipts')
    with op.batch_alter_table('positions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_positions_seq'))
        batch_op.drop_index(batch_op.f('ix_positions_responder_id'))

    op.drop_table('positions')
    op.drop_table('incidents')
    op.drop_table('responders')
    op.drop_table('clients')
    op.drop_table('change_counter')
    op.drop_table('aeds')
