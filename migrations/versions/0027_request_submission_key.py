"""selection_requests.submission_key: the new-request form's one-time key, so that a double
click (or two tabs sending one form) posts one request

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-08 11:00:00.000000

Existing requests have none (NULLs never collide, on both databases). Downgrading drops it.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("selection_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("submission_key", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_selection_requests_submission_key"), ["submission_key"]
        )


def downgrade():
    with op.batch_alter_table("selection_requests", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_selection_requests_submission_key"), type_="unique"
        )
        batch_op.drop_column("submission_key")
