"""practitioner_certificates.withdrawn_on and withdrawn_reason: a certificate withdrawn (注销) by
its provider is kept and marked, and stops counting from that day

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-09 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("practitioner_certificates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("withdrawn_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("withdrawn_reason", sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table("practitioner_certificates", schema=None) as batch_op:
        batch_op.drop_column("withdrawn_reason")
        batch_op.drop_column("withdrawn_on")
