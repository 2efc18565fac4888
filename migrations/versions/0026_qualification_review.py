"""qualifications.pending_review: a qualification an active provider adds waits for the admins'
check on its own, instead of taking the whole provider out of the directory

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-08 09:00:00.000000

Existing qualifications were reviewed with their provider: they upgrade as not pending.
Downgrading drops the column (a pending qualification then counts as reviewed).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("qualifications", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("pending_review", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade():
    with op.batch_alter_table("qualifications", schema=None) as batch_op:
        batch_op.drop_column("pending_review")
