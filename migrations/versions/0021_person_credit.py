"""credit_records.practitioner_id: credit records against a person (从业人员), the firm at the
time kept in provider_*; fixed once published by a trigger of its own

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

from registry.models.credit import credit_triggers, drop_subject_triggers, subject_triggers

# revision identifiers, used by Alembic.
revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


FK_NAME = "fk_credit_records_practitioner_id_practitioners"


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        # A plain ADD COLUMN, no table rebuild: the credit triggers on the table stay in place
        # (SQLite accepts a REFERENCES clause on an added column that defaults to NULL).
        op.execute(
            f"ALTER TABLE credit_records ADD COLUMN practitioner_id INTEGER "
            f"CONSTRAINT {FK_NAME} REFERENCES practitioners (id)"
        )
    else:
        op.add_column(
            "credit_records",
            sa.Column(
                "practitioner_id",
                sa.Integer(),
                sa.ForeignKey("practitioners.id", name=FK_NAME),
                nullable=True,
            ),
        )
    op.create_index(
        "ix_credit_records_of_practitioner",
        "credit_records",
        ["practitioner_id", "status", "published_at", "id"],
        unique=False,
    )
    for statement in subject_triggers().get(dialect, []):
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    for statement in drop_subject_triggers().get(dialect, []):
        op.execute(statement)
    op.drop_index("ix_credit_records_of_practitioner", table_name="credit_records")
    with op.batch_alter_table("credit_records", schema=None) as batch_op:
        # Dropping the column drops its foreign key with it (both databases).
        batch_op.drop_column("practitioner_id")
    if dialect == "sqlite":
        # The rebuilt SQLite table lost its triggers: the guards as they stood before 0021.
        for statement in credit_triggers()["sqlite"]:
            op.execute(statement)
