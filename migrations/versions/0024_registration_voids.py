"""registration_voids: 政务办's voids and applicants' registrations given way, kept as records
(lifted at most once: 撤销作废); practitioner_certificates.voided with a partial unique index on
(kind, number_key) in place of the "~void<id>" key suffix; practitioners.invited_by_provider_id

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-10 09:00:00.000000

Before this revision a void was written into strings: a voided certificate's number_key carried
"~void<id>" (its number freed), 政务办's withdrawn_reason began with "政务服务办公室作废:", and an
employment's void was an audit entry (practitioner.registration_void, its detail the reason of
政务办's void, none when an applicant's registration gave way). Upgrading writes one
registration_voids row for each: the certificate's key back without the suffix and marked
voided (the partial index leaves it out of the uniqueness), the reason without the prefix, the
firm that employed the holder on the day it was voided, and the time and actor from the audit
log. The inviter of each linked account is read from the audit log's last invitation.

Downgrading puts the suffix and the prefix back; a lifted certificate void keeps the suffix
(its number stays free) without the prefix (it no longer blocks). A lifted employment void is
forgotten: the old code reads its audit entry and blocks the firm again.
"""

import sqlalchemy as sa
from alembic import op

from registry.models.evidence import drop_write_once_triggers, write_once_triggers
from registry.models.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

OFFICE_VOID = "政务服务办公室作废:"
VOID_SUFFIX = "~void"
FIXED = (
    "subject",
    "employment_id",
    "certificate_id",
    "practitioner_id",
    "provider_id",
    "cause",
    "reason",
    "voided_at",
    "voided_by_id",
)
LIFT = ("lifted_at", "lifted_by_id", "lift_reason")
INVITER_FK = "fk_practitioners_invited_by_provider_id_providers"
NUMBER_HELD = sa.text("NOT voided")

voids = sa.table(
    "registration_voids",
    sa.column("id", sa.Integer),
    sa.column("subject", sa.String),
    sa.column("employment_id", sa.Integer),
    sa.column("certificate_id", sa.Integer),
    sa.column("practitioner_id", sa.Integer),
    sa.column("provider_id", sa.Integer),
    sa.column("cause", sa.String),
    sa.column("reason", sa.String),
    sa.column("voided_at", UTCDateTime),
    sa.column("voided_by_id", sa.Integer),
    sa.column("lifted_at", UTCDateTime),
)
certificates = sa.table(
    "practitioner_certificates",
    sa.column("id", sa.Integer),
    sa.column("practitioner_id", sa.Integer),
    sa.column("number_key", sa.String),
    sa.column("withdrawn_on", sa.Date),
    sa.column("withdrawn_reason", sa.String),
    sa.column("voided", sa.Boolean),
    sa.column("created_at", UTCDateTime),
)
employments = sa.table(
    "employments",
    sa.column("id", sa.Integer),
    sa.column("practitioner_id", sa.Integer),
    sa.column("provider_id", sa.Integer),
    sa.column("started_on", sa.Date),
    sa.column("ended_on", sa.Date),
)
practitioners = sa.table(
    "practitioners",
    sa.column("id", sa.Integer),
    sa.column("account_id", sa.Integer),
    sa.column("invited_by_provider_id", sa.Integer),
)
providers = sa.table("providers", sa.column("id", sa.Integer), sa.column("account_id", sa.Integer))
audit_log = sa.table(
    "audit_log",
    sa.column("id", sa.Integer),
    sa.column("at", UTCDateTime),
    sa.column("actor_id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("object_type", sa.String),
    sa.column("object_id", sa.String),
    sa.column("after", sa.JSON),
    sa.column("detail", sa.String),
)


def _run(statements):
    dialect = op.get_bind().dialect.name
    for statement in statements.get(dialect, []):
        op.execute(statement)


def _create_table():
    op.create_table(
        "registration_voids",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=20), nullable=False),
        sa.Column("employment_id", sa.Integer(), nullable=True),
        sa.Column("certificate_id", sa.Integer(), nullable=True),
        sa.Column("practitioner_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=True),
        sa.Column("cause", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("voided_at", UTCDateTime(), nullable=False),
        sa.Column("voided_by_id", sa.Integer(), nullable=True),
        sa.Column("lifted_at", UTCDateTime(), nullable=True),
        sa.Column("lifted_by_id", sa.Integer(), nullable=True),
        sa.Column("lift_reason", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["practitioner_certificates.id"],
            name=op.f("fk_registration_voids_certificate_id_practitioner_certificates"),
        ),
        sa.ForeignKeyConstraint(
            ["employment_id"],
            ["employments.id"],
            name=op.f("fk_registration_voids_employment_id_employments"),
        ),
        sa.ForeignKeyConstraint(
            ["lifted_by_id"], ["users.id"], name=op.f("fk_registration_voids_lifted_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioners.id"],
            name=op.f("fk_registration_voids_practitioner_id_practitioners"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_registration_voids_provider_id_providers"),
        ),
        sa.ForeignKeyConstraint(
            ["voided_by_id"], ["users.id"], name=op.f("fk_registration_voids_voided_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registration_voids")),
    )
    op.create_index(
        "ix_registration_voids_of",
        "registration_voids",
        ["practitioner_id", "subject", "provider_id"],
        unique=False,
    )


def _last_void_entry(bind, object_type, object_id):
    return bind.execute(
        sa.select(audit_log.c.at, audit_log.c.actor_id, audit_log.c.after, audit_log.c.detail)
        .where(
            audit_log.c.action == "practitioner.registration_void",
            audit_log.c.object_type == object_type,
            audit_log.c.object_id == str(object_id),
        )
        .order_by(audit_log.c.id.desc())
        .limit(1)
    ).first()


def _employer_on(bind, practitioner_id, day):
    """The firm that employed the person on that day (the day an employment ends too)."""
    if day is None:
        return None
    return bind.execute(
        sa.select(employments.c.provider_id)
        .where(
            employments.c.practitioner_id == practitioner_id,
            employments.c.started_on <= day,
            sa.or_(employments.c.ended_on.is_(None), employments.c.ended_on >= day),
        )
        .order_by(employments.c.id.desc())
        .limit(1)
    ).scalar()


def _convert_certificates(bind):
    rows = bind.execute(
        sa.select(certificates).where(certificates.c.number_key.like(f"%{VOID_SUFFIX}%"))
    ).all()
    for row in rows:
        reason = row.withdrawn_reason or ""
        office = reason.startswith(OFFICE_VOID)
        reason = reason.removeprefix(OFFICE_VOID)
        entry = _last_void_entry(bind, "practitioner_certificate", row.id)
        bind.execute(
            certificates.update()
            .where(certificates.c.id == row.id)
            .values(
                number_key=row.number_key.split(VOID_SUFFIX)[0],
                withdrawn_reason=reason or None,
                voided=True,
            )
        )
        bind.execute(
            voids.insert().values(
                subject="certificate",
                certificate_id=row.id,
                practitioner_id=row.practitioner_id,
                provider_id=_employer_on(bind, row.practitioner_id, row.withdrawn_on),
                cause="office" if office else "displaced",
                reason=(reason or "(原因未记录)")[:200],
                voided_at=entry.at if entry else row.created_at,
                voided_by_id=entry.actor_id if entry else None,
            )
        )


def _convert_employments(bind):
    entries = bind.execute(
        sa.select(audit_log)
        .where(
            audit_log.c.action == "practitioner.registration_void",
            audit_log.c.object_type == "employment",
        )
        .order_by(audit_log.c.id)
    ).all()
    for entry in entries:
        employment = bind.execute(
            sa.select(employments).where(employments.c.id == int(entry.object_id))
        ).first()
        if employment is None:
            continue
        after = entry.after or {}
        reason = entry.detail or after.get("reason") or "(原因未记录)"
        bind.execute(
            voids.insert().values(
                subject="employment",
                employment_id=employment.id,
                practitioner_id=employment.practitioner_id,
                provider_id=employment.provider_id,
                cause="office" if entry.detail is not None else "displaced",
                reason=reason[:200],
                voided_at=entry.at,
                voided_by_id=entry.actor_id,
            )
        )


def _backfill_inviters(bind):
    linked = bind.execute(
        sa.select(practitioners.c.id).where(practitioners.c.account_id.is_not(None))
    ).scalars()
    for person_id in list(linked):
        actor = bind.execute(
            sa.select(audit_log.c.actor_id)
            .where(
                audit_log.c.action.in_(
                    ("practitioner.account_invite", "practitioner.account_resend")
                ),
                audit_log.c.object_type == "practitioner",
                audit_log.c.object_id == str(person_id),
            )
            .order_by(audit_log.c.id.desc())
            .limit(1)
        ).scalar()
        firm = (
            actor
            and bind.execute(
                sa.select(providers.c.id).where(providers.c.account_id == actor).limit(1)
            ).scalar()
        )
        if firm:
            bind.execute(
                practitioners.update()
                .where(practitioners.c.id == person_id)
                .values(invited_by_provider_id=firm)
            )


def upgrade():
    bind = op.get_bind()
    _create_table()
    _run(write_once_triggers("registration_voids", FIXED, LIFT))
    if bind.dialect.name == "sqlite":
        # A plain ADD COLUMN, no rebuild of a table so many others point at.
        op.execute(
            "ALTER TABLE practitioners ADD COLUMN invited_by_provider_id INTEGER "
            f"CONSTRAINT {INVITER_FK} REFERENCES providers (id)"
        )
    else:
        op.add_column(
            "practitioners",
            sa.Column(
                "invited_by_provider_id",
                sa.Integer(),
                sa.ForeignKey("providers.id", name=INVITER_FK),
                nullable=True,
            ),
        )
    with op.batch_alter_table("practitioner_certificates", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("voided", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.drop_constraint("uq_practitioner_certificates_kind", type_="unique")
    _convert_certificates(bind)
    _convert_employments(bind)
    _backfill_inviters(bind)
    op.create_index(
        "uq_practitioner_certificates_number",
        "practitioner_certificates",
        ["kind", "number_key"],
        unique=True,
        sqlite_where=NUMBER_HELD,
        postgresql_where=NUMBER_HELD,
    )


def downgrade():
    bind = op.get_bind()
    op.drop_index("uq_practitioner_certificates_number", table_name="practitioner_certificates")
    rows = bind.execute(
        sa.select(voids.c.certificate_id, voids.c.cause, voids.c.reason, voids.c.lifted_at).where(
            voids.c.subject == "certificate"
        )
    ).all()
    for row in rows:
        key = bind.execute(
            sa.select(certificates.c.number_key).where(certificates.c.id == row.certificate_id)
        ).scalar()
        values = {"number_key": f"{key[:80]}{VOID_SUFFIX}{row.certificate_id}"}
        if row.cause == "office":
            blocking = row.lifted_at is None
            values["withdrawn_reason"] = (f"{OFFICE_VOID}{row.reason}" if blocking else row.reason)[
                :200
            ]
        bind.execute(
            certificates.update().where(certificates.c.id == row.certificate_id).values(**values)
        )
    with op.batch_alter_table("practitioner_certificates", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            "uq_practitioner_certificates_kind", ["kind", "number_key"]
        )
        batch_op.drop_column("voided")
    with op.batch_alter_table("practitioners", schema=None) as batch_op:
        # Dropping the column drops its foreign key with it (both databases).
        batch_op.drop_column("invited_by_provider_id")
    _run(drop_write_once_triggers("registration_voids"))
    op.drop_index("ix_registration_voids_of", table_name="registration_voids")
    op.drop_table("registration_voids")
