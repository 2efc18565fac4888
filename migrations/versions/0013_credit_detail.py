"""providers.credit_detail: the credit detail stored when the grade is recomputed

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 01:00:00.000000

Filled by the next recompute (`registry recompute-grades`, the daily job, or any change of a
provider's inputs); until then the profile computes the detail as before.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('providers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credit_detail', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('providers', schema=None) as batch_op:
        batch_op.drop_column('credit_detail')
