"""People in the marketplace: offers' key personnel by certificate type (offer_personnel), a
request's required certificates (selection_requests.leader_certificate, request_certificates),
the people a quote names (quote_members, append-only like the quote) and who signed an
engagement's result (engagements.signatory_id)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 20:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

from registry.models.evidence import drop_triggers, triggers

# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def _run(statements):
    dialect = op.get_bind().dialect.name
    for statement in statements.get(dialect, []):
        op.execute(statement)


def upgrade():
    op.create_table('offer_personnel',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('offer_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=100), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['offer_id'], ['offers.id'], name=op.f('fk_offer_personnel_offer_id_offers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offer_personnel')),
    sa.UniqueConstraint('offer_id', 'kind', name=op.f('uq_offer_personnel_offer_id'))
    )
    with op.batch_alter_table('selection_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('leader_certificate', sa.String(length=100), nullable=True))
    op.create_table('request_certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=100), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['selection_requests.id'], name=op.f('fk_request_certificates_request_id_selection_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_request_certificates')),
    sa.UniqueConstraint('request_id', 'kind', name=op.f('uq_request_certificates_request_id'))
    )
    op.create_table('quote_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quote_id', sa.Integer(), nullable=False),
    sa.Column('practitioner_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=8), nullable=False),
    sa.Column('certificate_kind', sa.String(length=100), nullable=False),
    sa.Column('certificate_number', sa.String(length=100), nullable=False),
    sa.Column('certificate_valid_to', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioners.id'], name=op.f('fk_quote_members_practitioner_id_practitioners')),
    sa.ForeignKeyConstraint(['quote_id'], ['quotes.id'], name=op.f('fk_quote_members_quote_id_quotes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quote_members')),
    sa.UniqueConstraint('quote_id', 'practitioner_id', 'certificate_kind', name=op.f('uq_quote_members_quote_id'))
    )
    with op.batch_alter_table('quote_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quote_members_practitioner_id'), ['practitioner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quote_members_quote_id'), ['quote_id'], unique=False)
    _run(triggers('quote_members'))
    with op.batch_alter_table('engagements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signatory_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_engagements_signatory_id_practitioners'), 'practitioners', ['signatory_id'], ['id'])


def downgrade():
    with op.batch_alter_table('engagements', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_engagements_signatory_id_practitioners'), type_='foreignkey')
        batch_op.drop_column('signatory_id')
    _run(drop_triggers('quote_members'))
    with op.batch_alter_table('quote_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quote_members_quote_id'))
        batch_op.drop_index(batch_op.f('ix_quote_members_practitioner_id'))
    op.drop_table('quote_members')
    op.drop_table('request_certificates')
    with op.batch_alter_table('selection_requests', schema=None) as batch_op:
        batch_op.drop_column('leader_certificate')
    op.drop_table('offer_personnel')
