"""Projects as the roadmap sees them: registration (by the enterprise, or by staff for the
enterprise named by its USCC) with the roadmap of its category, the particulars that move the
plan (land-contract date, building type, floor area), and the staff who serve it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from registry import policy
from registry.extensions import db
from registry.models.accounts import User
from registry.models.projects import Enterprise, Project
from registry.pure.uscc import validate_uscc
from registry.services import market
from registry.services.audit import record, snapshot
from registry.services.errors import Forbidden, RegistryError, decimal_field
from registry.services.roadmaps.plans import create_roadmap, replan

BUILDING_TYPES = ("厂房", "办公楼", "研发楼", "仓库", "其他")


EARLIEST_LAND_CONTRACT = date(2000, 1, 1)


LAND_CONTRACT_YEARS_AHEAD = 5


def _particulars(
    building_type: str | None,
    floor_area,
    land_contract_date: date | None,
    project: Project | None = None,
) -> Decimal | None:
    """Check the building type, floor area and land-contract date; returns the area."""
    if building_type and building_type not in BUILDING_TYPES:
        raise RegistryError("building_type", "请选择建筑类型")
    if land_contract_date is not None:
        latest = date(market.today().year + LAND_CONTRACT_YEARS_AHEAD, 12, 31)
        if not EARLIEST_LAND_CONTRACT <= land_contract_date <= latest:
            raise RegistryError(
                "land_contract_date",
                f"土地出让合同签订日期须在 {EARLIEST_LAND_CONTRACT.year} 年至 {latest.year} 年之间",
            )
        recorded = [
            d
            for s in (project.steps if project else [])
            for d in (s.started_on, s.submitted_on, s.finished_on)
            if d is not None
        ]
        if recorded and land_contract_date > min(recorded):
            raise RegistryError(
                "land_contract_date",
                f"已登记的办理日期最早为 {min(recorded).isoformat()},签订日期不能晚于该日",
            )
    return decimal_field(
        floor_area, "floor_area", "建筑面积", unit="平方米", limit="9999999.99", above_zero=True
    )


def register_project(
    user: User,
    *,
    code: str,
    name: str,
    category: str,
    location: str,
    land_contract_date: date | None,
    building_type: str | None = None,
    floor_area=None,
    description: str | None = None,
    enterprise=None,
    concierge: User | None = None,
    expert: User | None = None,
    is_demo: bool = False,
) -> Project:
    """Register a project (by its enterprise, or by staff when 招商 pushes it) and give it the
    roadmap of its category; staff may name its concierge and expert at once."""
    project = market.create_project(
        user,
        code=code,
        name=name,
        category=category,
        location=location,
        enterprise=enterprise,
        building_type=building_type or None,
        floor_area=_particulars(building_type, floor_area, land_contract_date),
        land_contract_date=land_contract_date,
        description=description or None,
        is_demo=is_demo,
    )
    create_roadmap(project, actor=user)
    if concierge is not None or expert is not None:
        assign_staff(user, project.code, concierge=concierge, expert=expert)
    return project


def register_project_for(
    actor: User,
    *,
    enterprise_uscc: str,
    enterprise_name: str | None,
    **project: Any,
) -> Project:
    """Staff register a project pushed by investment promotion (招商推送) for the enterprise
    named by its USCC, registering the enterprise first when it is new; `project` is what
    register_project takes (code, name, category, particulars, concierge and expert)."""
    if not policy.may_register_for_enterprises(actor):
        raise Forbidden()
    enterprise = _enterprise_by_uscc(actor, enterprise_uscc, enterprise_name)
    return register_project(actor, enterprise=enterprise, **project)


def _enterprise_by_uscc(actor: User, uscc: str, name: str | None) -> Enterprise:
    """The enterprise with this USCC, created when new (its name is then required)."""
    try:
        code = validate_uscc(uscc)
    except ValueError as error:
        raise RegistryError("enterprise_uscc", str(error)) from None
    enterprise = db.session.scalar(select(Enterprise).where(Enterprise.uscc == code))
    if enterprise is not None:
        return enterprise
    name = (name or "").strip()
    if not name:
        raise RegistryError(
            "enterprise_name", "该统一社会信用代码的企业尚未登记,请填写企业名称以新建企业。"
        )
    try:
        return market.create_enterprise(name, code, actor=actor)
    except RegistryError as error:
        raise RegistryError("enterprise_uscc", error.message) from None


def update_project(
    user: User,
    code: str,
    *,
    land_contract_date: date | None,
    building_type: str | None,
    floor_area,
    location: str,
) -> Project:
    """Change a project's land-contract date and particulars, then re-plan."""
    project = market.get_project_for(user, code)
    floor_area = _particulars(building_type, floor_area, land_contract_date, project)
    if not (location or "").strip():
        raise RegistryError("location", "请填写建设地点")
    before = snapshot(project)
    project.land_contract_date = land_contract_date
    project.building_type = building_type or None
    project.floor_area = floor_area
    project.location = location.strip()
    db.session.flush()
    replan(project)
    record("project.update", actor=user, of=project, before=before, after=snapshot(project))
    return project


def assign_staff(actor: User, code: str, *, concierge: User | None, expert: User | None) -> Project:
    """Name the project's 帮办管家 and 审批专家 (staff accounts)."""
    if not policy.is_office(actor):
        raise Forbidden()
    project = market.get_project_for(actor, code)
    for field_name, person in (("concierge", concierge), ("expert", expert)):
        if person is not None and not policy.may_serve_projects(person):
            raise RegistryError(field_name, "请选择在岗的政务办工作人员账号")
    before = _staff(project)
    project.concierge, project.expert = concierge, expert
    db.session.flush()
    record("project.assign", actor=actor, of=project, before=before, after=_staff(project))
    return project


def _staff(project: Project) -> dict[str, int | None]:
    """Who serves the project, as the audit log keeps it."""
    return {"concierge": project.concierge_id, "expert": project.expert_id}
