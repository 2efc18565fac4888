"""awards by (awarded_at, id), active providers by name, a provider's published credit records:
the award notices, the directory and a profile without sorting or scanning every row

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 01:30:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('awards', schema=None) as batch_op:
        batch_op.create_index('ix_awards_newest', ['awarded_at', 'id'], unique=False)
    with op.batch_alter_table('providers', schema=None) as batch_op:
        batch_op.create_index('ix_providers_directory', ['status', 'name', 'id'], unique=False)
    with op.batch_alter_table('credit_records', schema=None) as batch_op:
        batch_op.create_index(
            'ix_credit_records_of_provider', ['provider_id', 'status', 'published_at', 'id'], unique=False
        )


def downgrade():
    with op.batch_alter_table('credit_records', schema=None) as batch_op:
        batch_op.drop_index('ix_credit_records_of_provider')
    with op.batch_alter_table('providers', schema=None) as batch_op:
        batch_op.drop_index('ix_providers_directory')
    with op.batch_alter_table('awards', schema=None) as batch_op:
        batch_op.drop_index('ix_awards_newest')
