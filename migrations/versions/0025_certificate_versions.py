"""certificate_versions (append-only) and employments.ended_recorded_at: what was on record when,
so that the draw pool judges each quote's team by the record at the deadline instant

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-11 09:00:00.000000

Upgrading writes one version per existing certificate, its current state recorded at its
created_at (nothing older is known), and leaves ended_recorded_at empty on existing employments:
an end entered before this revision is taken as on record. Downgrading drops both; the versions
are lost (the certificate rows keep their current state).
"""

import sqlalchemy as sa
from alembic import op

from registry.models.evidence import drop_triggers, triggers
from registry.models.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

OPEN_EMPLOYMENT = sa.text("ended_on IS NULL")
FIELDS = ("kind", "number_key", "valid_from", "valid_to", "withdrawn_on")

certificates = sa.table(
    "practitioner_certificates",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("number_key", sa.String),
    sa.column("valid_from", sa.Date),
    sa.column("valid_to", sa.Date),
    sa.column("withdrawn_on", sa.Date),
    sa.column("created_at", UTCDateTime),
)
versions = sa.table(
    "certificate_versions",
    sa.column("certificate_id", sa.Integer),
    *(sa.column(name) for name in FIELDS),
    sa.column("recorded_at", UTCDateTime),
    sa.column("recorded_by_id", sa.Integer),
)


def _run(statements):
    dialect = op.get_bind().dialect.name
    for statement in statements.get(dialect, []):
        op.execute(statement)


def _create_table():
    op.create_table(
        "certificate_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("certificate_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=100), nullable=False),
        sa.Column("number_key", sa.String(length=100), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("withdrawn_on", sa.Date(), nullable=True),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["practitioner_certificates.id"],
            name=op.f("fk_certificate_versions_certificate_id_practitioner_certificates"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_certificate_versions_recorded_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_versions")),
    )
    op.create_index(
        "ix_certificate_versions_certificate",
        "certificate_versions",
        ["certificate_id", "recorded_at"],
        unique=False,
    )


def upgrade():
    _create_table()
    op.execute(
        versions.insert().from_select(
            ["certificate_id", *FIELDS, "recorded_at"],
            sa.select(
                certificates.c.id,
                *(certificates.c[name] for name in FIELDS),
                certificates.c.created_at,
            ).order_by(certificates.c.id),
        )
    )
    _run(triggers("certificate_versions"))
    # A plain nullable column: ADD COLUMN on both databases, no rebuild of the table.
    op.add_column("employments", sa.Column("ended_recorded_at", UTCDateTime(), nullable=True))


def downgrade():
    # The batch rebuild of employments on SQLite would not keep the partial unique index's WHERE:
    # it is dropped first and made again after.
    op.drop_index("uq_employments_open", table_name="employments")
    with op.batch_alter_table("employments", schema=None) as batch_op:
        batch_op.drop_column("ended_recorded_at")
    op.create_index(
        "uq_employments_open",
        "employments",
        ["practitioner_id"],
        unique=True,
        sqlite_where=OPEN_EMPLOYMENT,
        postgresql_where=OPEN_EMPLOYMENT,
    )
    _run(drop_triggers("certificate_versions"))
    op.drop_index("ix_certificate_versions_certificate", table_name="certificate_versions")
    op.drop_table("certificate_versions")
