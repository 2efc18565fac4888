"""selection_requests.method_reason: why the owner names the provider itself (直接选取), published
on the request and its award notice

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 12:00:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('selection_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('method_reason', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('selection_requests', schema=None) as batch_op:
        batch_op.drop_column('method_reason')
