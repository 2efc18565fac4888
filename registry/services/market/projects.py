"""Enterprises and their projects: registration, and the projects a user may see (whose
project is decided by `policy`). The marketplace's local date lives here too."""

from __future__ import annotations

import re
import unicodedata
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


# The national 投资项目代码 (投资项目在线审批监管平台): year, the 6-digit administrative area code,
# the 2-digit industry and project-type codes and a 6-digit serial, e.g. 2026-120116-47-01-000123.
PROJECT_CODE = re.compile(r"[0-9]{4}-[0-9]{6}-[0-9]{2}-[0-9]{2}-[0-9]{6}")
PROJECT_CODE_FORM = (
    "年份-6 位行政区划代码-2 位行业代码-2 位类型代码-6 位流水号,如 2026-120116-47-01-000123"
)


def validate_project_code(code: str | None) -> str:
    """The project code in the national form (full-width digits and dashes of any width
    accepted, as the USCC is), or RegistryError."""
    code = re.sub(r"[-－—–]", "-", unicodedata.normalize("NFKC", (code or "").strip()))
    if not code:
        raise RegistryError("code", "请填写项目代码")
    if not PROJECT_CODE.fullmatch(code) or not 2000 <= int(code[:4]) <= today().year + 1:
        raise RegistryError("code", f"项目代码格式不正确,应为全国投资项目代码:{PROJECT_CODE_FORM}")
    return code


def land_contract_warning(day: date | None) -> str | None:
    """A warning for a land-contract date after today: accepted (the roadmap may be planned from
    the expected signing), but the owner is told to enter the real date once signed."""
    if day is None or day <= today():
        return None
    return (
        f"土地出让合同签订日期 {day:%Y-%m-%d} 晚于今天,已按预计日期排期;"
        "签订后请更新为实际签订日期。"
    )


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
    code = validate_project_code(code)
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
