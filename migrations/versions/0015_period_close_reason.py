"""evaluation_periods.close_reason: why a period was closed before its end

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 12:00:00.000000

A period's results may be published only after its end, or once it was closed early with this
recorded reason.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('evaluation_periods', schema=None) as batch_op:
        batch_op.add_column(sa.Column('close_reason', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('evaluation_periods', schema=None) as batch_op:
        batch_op.drop_column('close_reason')
