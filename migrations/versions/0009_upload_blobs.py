"""upload blobs: uploaded bytes in the database (UPLOAD_STORAGE = "database")

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 21:50:00

"""
from alembic import op
import sqlalchemy as sa

import registry.models.types


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('upload_blobs',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', registry.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_upload_blobs'))
    )


def downgrade():
    op.drop_table('upload_blobs')
