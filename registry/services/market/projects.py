"""Enterprises and their projects: registration, and the projects a user may see (whose
project is decided by `policy`). The marketplace's local date lives here too."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from registry import policy
from registry.extensions import db
from registry.kernel import clock
from registry.models import (
    Enterprise,
    Project,
    ProjectCategory,
    User,
)
from registry.pure.uscc import validate_uscc
from registry.services.audit import record, snapshot
from registry.services.errors import Forbidden, NotFound, RegistryError

SHANGHAI = clock.ZONE


def today() -> date:
    """Today in the zone's time (dates of contracts, windows and deadlines are local dates)."""
    return clock.today()


def create_enterprise(
    name: str,
    uscc: str,
    *,
    contact_name: str | None = None,
    contact_phone: str | None = None,
    is_demo: bool = False,
    actor: User | None = None,
) -> Enterprise:
    """Register an enterprise (项目业主)."""
    try:
        code = validate_uscc(uscc)
    except ValueError as error:
        raise RegistryError("uscc", str(error)) from None
    if db.session.scalar(select(Enterprise.id).where(Enterprise.uscc == code)):
        raise RegistryError("uscc", "该统一社会信用代码的企业已登记")
    enterprise = Enterprise(
        name=name.strip(),
        uscc=code,
        contact_name=contact_name,
        contact_phone=contact_phone,
        is_demo=is_demo,
    )
    db.session.add(enterprise)
    db.session.flush()
    record(
        "enterprise.create",
        actor=actor,
        object_type="enterprise",
        object_id=code,
        after=snapshot(enterprise),
    )
    return enterprise


def create_project(
    user: User,
    *,
    code: str,
    name: str,
    category: str,
    location: str,
    enterprise: Enterprise | None = None,
    **details,
) -> Project:
    """A project for the user's own enterprise (staff and admins name the enterprise)."""
    if policy.is_enterprise_account(user):
        if user.enterprise_id is None:
            raise RegistryError(None, "您的账号尚未关联企业,请联系政务办")
        enterprise = db.session.get(Enterprise, user.enterprise_id)
    elif not policy.may_register_for_enterprises(user) or enterprise is None:
        raise Forbidden()
    code = (code or "").strip()
    if not code or len(code) > 40:
        raise RegistryError("code", "请填写项目代码(不超过 40 个字符)")
    if category not in {c.value for c in ProjectCategory}:
        raise RegistryError("category", "请选择项目类别")
    if db.session.scalar(select(Project.id).where(Project.code == code)):
        raise RegistryError("code", "该项目代码已存在")
    project = Project(
        code=code,
        name=name.strip(),
        category=category,
        location=location.strip(),
        enterprise=enterprise,
        created_by_id=user.id,
        **details,
    )
    db.session.add(project)
    db.session.flush()
    record("project.create", actor=user, of=project, after=snapshot(project))
    return project


def get_project_for(user: User, code: str) -> Project:
    """A project the user may see; another enterprise's project is simply not found (no IDOR)."""
    project = db.session.scalar(select(Project).where(Project.code == code))
    if project is None or not policy.can_see_project(user, project):
        raise NotFound("未找到该项目")
    return project


def projects_for(user: User) -> list[Project]:
    """The projects a user may see."""
    query = select(Project).where(policy.visible_projects(user))
    return list(db.session.scalars(query.order_by(Project.created_at.desc())))
