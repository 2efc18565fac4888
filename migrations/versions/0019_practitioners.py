"""Practitioners (从业人员): people with a digest of their ID number, their employments at
providers (one open employment per person, a partial unique index) and their certificates
(one number per certificate type)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 18:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

import registry.models.types

# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

OPEN_EMPLOYMENT = sa.text('ended_on IS NULL')


def upgrade():
    op.create_table('practitioners',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('id_digest', sa.String(length=64), nullable=False),
    sa.Column('id_tail', sa.String(length=4), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('is_demo', sa.Boolean(), nullable=False),
    sa.Column('created_at', registry.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', registry.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['users.id'], name=op.f('fk_practitioners_account_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_practitioners')),
    sa.UniqueConstraint('account_id', name=op.f('uq_practitioners_account_id')),
    sa.UniqueConstraint('id_digest', name=op.f('uq_practitioners_id_digest'))
    )
    op.create_table('employments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('practitioner_id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=50), nullable=True),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('created_at', registry.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioners.id'], name=op.f('fk_employments_practitioner_id_practitioners')),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_employments_provider_id_providers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_employments'))
    )
    with op.batch_alter_table('employments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_employments_practitioner_id'), ['practitioner_id'], unique=False)
        batch_op.create_index('ix_employments_provider_open', ['provider_id', 'ended_on'], unique=False)
        batch_op.create_index('uq_employments_open', ['practitioner_id'], unique=True,
                              sqlite_where=OPEN_EMPLOYMENT, postgresql_where=OPEN_EMPLOYMENT)
    op.create_table('practitioner_certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('practitioner_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=100), nullable=False),
    sa.Column('number', sa.String(length=100), nullable=False),
    sa.Column('number_key', sa.String(length=100), nullable=False),
    sa.Column('issuer', sa.String(length=200), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=False),
    sa.Column('scan_id', sa.Integer(), nullable=True),
    sa.Column('expired_flagged_at', registry.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', registry.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioners.id'], name=op.f('fk_practitioner_certificates_practitioner_id_practitioners')),
    sa.ForeignKeyConstraint(['scan_id'], ['uploads.id'], name=op.f('fk_practitioner_certificates_scan_id_uploads')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_practitioner_certificates')),
    sa.UniqueConstraint('kind', 'number_key', name=op.f('uq_practitioner_certificates_kind'))
    )
    with op.batch_alter_table('practitioner_certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_practitioner_certificates_practitioner_id'), ['practitioner_id'], unique=False)


def downgrade():
    with op.batch_alter_table('practitioner_certificates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_practitioner_certificates_practitioner_id'))
    op.drop_table('practitioner_certificates')
    with op.batch_alter_table('employments', schema=None) as batch_op:
        batch_op.drop_index('uq_employments_open')
        batch_op.drop_index('ix_employments_provider_open')
        batch_op.drop_index(batch_op.f('ix_employments_practitioner_id'))
    op.drop_table('employments')
    op.drop_table('practitioners')
