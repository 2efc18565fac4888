"""Award notices' 公示期 and objections: awards.round and awards.disclosure_workdays (unique per
request and round instead of per request), award_objections (write-once) and award_withdrawals
(append-only)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 14:00:00.000000

An award withdrawn after an upheld objection keeps its row; the owner's new decision is the next
round of the same request. Downgrading refuses a database that holds a second round.
"""
import sqlalchemy as sa
from alembic import op

import registry.models.types
from registry.models.evidence import (
    drop_triggers,
    drop_write_once_triggers,
    triggers,
    write_once_triggers,
)

# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

FIXED = ('award_id', 'party', 'party_name', 'party_uscc', 'reason', 'evidence',
         'submitted_by_id', 'submitted_at', 'answer_due')
ANSWER = ('outcome', 'answer', 'answered_by_id', 'answered_at')


def _run(statements):
    dialect = op.get_bind().dialect.name
    for statement in statements.get(dialect, []):
        op.execute(statement)


def upgrade():
    with op.batch_alter_table('awards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('round', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('disclosure_workdays', sa.Integer(), nullable=True))
        batch_op.drop_constraint('uq_awards_request_id', type_='unique')
        batch_op.create_unique_constraint('uq_awards_request_round', ['request_id', 'round'])
    # SQLite rebuilt the table above: its append-only triggers went with the old one.
    _run({'sqlite': triggers('awards')['sqlite']})

    op.create_table('award_objections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('award_id', sa.Integer(), nullable=False),
    sa.Column('party', sa.String(length=8), nullable=False),
    sa.Column('party_name', sa.String(length=200), nullable=False),
    sa.Column('party_uscc', sa.String(length=18), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=True),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.Column('submitted_at', registry.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('answer_due', sa.Date(), nullable=False),
    sa.Column('outcome', sa.String(length=8), nullable=True),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('answered_at', registry.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['answered_by_id'], ['users.id'], name=op.f('fk_award_objections_answered_by_id_users')),
    sa.ForeignKeyConstraint(['award_id'], ['awards.id'], name=op.f('fk_award_objections_award_id_awards')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_award_objections_submitted_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_award_objections'))
    )
    with op.batch_alter_table('award_objections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_award_objections_award_id'), ['award_id'], unique=False)
    op.create_table('award_withdrawals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('award_id', sa.Integer(), nullable=False),
    sa.Column('objection_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('withdrawn_at', registry.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['award_id'], ['awards.id'], name=op.f('fk_award_withdrawals_award_id_awards')),
    sa.ForeignKeyConstraint(['objection_id'], ['award_objections.id'], name=op.f('fk_award_withdrawals_objection_id_award_objections')),
    sa.ForeignKeyConstraint(['withdrawn_by_id'], ['users.id'], name=op.f('fk_award_withdrawals_withdrawn_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_award_withdrawals')),
    sa.UniqueConstraint('award_id', name=op.f('uq_award_withdrawals_award_id'))
    )
    _run(write_once_triggers('award_objections', FIXED, ANSWER))
    _run(triggers('award_withdrawals'))


def downgrade():
    _run(drop_triggers('award_withdrawals'))
    _run(drop_write_once_triggers('award_objections'))
    op.drop_table('award_withdrawals')
    with op.batch_alter_table('award_objections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_award_objections_award_id'))
    op.drop_table('award_objections')
    with op.batch_alter_table('awards', schema=None) as batch_op:
        batch_op.drop_constraint('uq_awards_request_round', type_='unique')
        batch_op.create_unique_constraint('uq_awards_request_id', ['request_id'])
        batch_op.drop_column('disclosure_workdays')
        batch_op.drop_column('round')
    _run({'sqlite': triggers('awards')['sqlite']})
