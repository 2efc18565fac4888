"""indexes the list pages need: rows by provider, requests by project and item, the notice board

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 00:30:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

# (table, column): one index each, named by the metadata's convention (ix_<table>_<column>).
SINGLE = [
    ('quotes', 'provider_id'),
    ('awards', 'provider_id'),
    ('owner_ratings', 'provider_id'),
    ('behaviour_events', 'provider_id'),
    ('qualifications', 'provider_id'),
    ('offers', 'service_item_id'),
    ('score_entries', 'provider_id'),
    ('selection_requests', 'project_id'),
    ('selection_requests', 'service_item_id'),
]


def upgrade():
    for table, column in SINGLE:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f'ix_{table}_{column}'), [column], unique=False)
    with op.batch_alter_table('credit_records', schema=None) as batch_op:
        batch_op.create_index('ix_credit_records_board', ['status', 'published_at', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('credit_records', schema=None) as batch_op:
        batch_op.drop_index('ix_credit_records_board')
    for table, column in reversed(SINGLE):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_{column}'))
