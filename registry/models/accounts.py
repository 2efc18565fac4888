"""User accounts: one role each; regulators are bound to one department, a practitioner's own
account to one person (Practitioner.account_id)."""

from __future__ import annotations

import secrets
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.extensions import db
from registry.models.catalogue import Department
from registry.models.projects import Enterprise
from registry.models.types import Created, Flag, IntPK, Moment


class Role(StrEnum):
    """The roles a user can hold."""

    ADMIN = "admin"
    REGULATOR = "regulator"
    ENTERPRISE = "enterprise"
    PROVIDER = "provider"
    STAFF = "staff"
    # A person (从业人员) with their own account: sees their own record, nothing of firms.
    PRACTITIONER = "practitioner"

    @property
    def label(self) -> str:
        """Chinese name of the role."""
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.ADMIN: "管理员(政务办)",
    Role.REGULATOR: "行业主管部门",
    Role.ENTERPRISE: "企业(项目业主)",
    Role.PROVIDER: "中介机构",
    Role.STAFF: "政务办工作人员",
    Role.PRACTITIONER: "从业人员",
}


def new_session_token() -> str:
    """A fresh alternative id; rotating it invalidates every session and remember cookie."""
    return secrets.token_urlsafe(32)


class User(UserMixin, db.Model):
    """A person or organisation account."""

    __tablename__ = "users"
    audit_type = "user"
    # One self-registered account per organisation and role (a firm may be owner and provider).
    __table_args__ = (UniqueConstraint("role", "org_uscc"),)

    id: Mapped[IntPK]
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"))
    session_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_session_token)
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    is_demo: Mapped[Flag]
    # Contact and organisation, given at self-registration (admins may add an address later).
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    email_confirmed_at: Mapped[Moment | None]
    phone: Mapped[str | None] = mapped_column(String(20))
    org_name: Mapped[str | None] = mapped_column(String(200))
    org_uscc: Mapped[str | None] = mapped_column(String(18))
    # Set for accounts an admin or the CLI created or reset: the next sign-in must choose a password.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[Moment | None]
    last_login_at: Mapped[Moment | None]
    password_changed_at: Mapped[Created]
    created_at: Mapped[Created]

    department: Mapped[Department | None] = relationship()
    enterprise: Mapped[Enterprise | None] = relationship()

    def get_id(self) -> str:
        """Flask-Login stores the rotating session token, never the primary key."""
        return self.session_token

    @property
    def is_active(self) -> bool:  # Flask-Login refuses disabled users
        return self.is_enabled

    @property
    def role_enum(self) -> Role:
        """The role as an enum member."""
        return Role(self.role)

    @property
    def email_confirmed(self) -> bool:
        """Whether the account's e-mail address was confirmed by its one-time link."""
        return self.email is not None and self.email_confirmed_at is not None

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"
