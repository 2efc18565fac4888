"""data_generations: the counter a commit raises when it changes what public pages show

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 23:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table('data_generations',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_data_generations'))
    )
    op.execute(table.insert().values(name='public', generation=0, changed_at=sa.func.now()))


def downgrade():
    op.drop_table('data_generations')
