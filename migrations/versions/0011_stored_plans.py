"""stored plans: project_plans and each step's due date (issue 15)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 10:00:00

The rows are filled by `registry init-db` right after migrating (roadmaps.store_missing_plans:
plans are computed on the working-day calendar in Python, not in SQL).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'  # renumbered: 0010 is data_generations (committed first)
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('project_plans',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('finish', sa.Date(), nullable=True),
    sa.Column('total_days', sa.Integer(), nullable=True),
    sa.Column('scheduled', sa.Boolean(), nullable=False),
    sa.Column('forecast_days', sa.Integer(), nullable=True),
    sa.Column('forecast_on', sa.Date(), nullable=True),
    sa.Column('next_due_on', sa.Date(), nullable=True),
    sa.Column('provisional', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_plans_project_id_projects')),
    sa.PrimaryKeyConstraint('project_id', name=op.f('pk_project_plans'))
    )
    with op.batch_alter_table('project_plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_plans_next_due_on'), ['next_due_on'], unique=False)

    with op.batch_alter_table('roadmap_steps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('due_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('planned_provisional', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index('ix_roadmap_steps_due_on', ['due_on', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('roadmap_steps', schema=None) as batch_op:
        batch_op.drop_index('ix_roadmap_steps_due_on')
        batch_op.drop_column('planned_provisional')
        batch_op.drop_column('due_on')

    with op.batch_alter_table('project_plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_plans_next_due_on'))

    op.drop_table('project_plans')
