"""Project roadmaps ("一张图"): templates per category, each project's copy of its steps, the
plan over China's working-day calendar, progress entry, deadline states and notifications.

Services flush and log; the caller commits. Who may see a project is `policy.can_see_project`
(the owning enterprise's accounts, staff and admins): another project is simply not found.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import flag_modified, set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from registry import policy, yamlfile
from registry.extensions import db
from registry.models.accounts import User
from registry.models.catalogue import ApprovalItem, ServiceItem, TimeUnit
from registry.models.projects import Enterprise, Project, ProjectCategory
from registry.models.roadmap import (
    STAGE_NAMES,
    DeadlineState,
    Notification,
    NotificationRead,
    RoadmapStep,
    RoadmapTemplate,
    StepKind,
    StepStatus,
    TemplateStep,
)
from registry.models.types import utcnow
from registry.pure import workdays
from registry.pure.scheduling import CycleError, Schedule, Step, plan
from registry.pure.uscc import validate_uscc
from registry.pure.workdays import CalendarRangeError, working_days_between
from registry.services import market
from registry.services.audit import record, snapshot
from registry.services.errors import Forbidden, NotFound, RegistryError

STEP_FIELDS = (
    "key",
    "name",
    "kind",
    "stage",
    "sequence",
    "duration",
    "unit",
    "duration_source",
    "depends_on",
    "services",
    "conditional",
    "self_prepare_duration",
    "regional_assessment",
    "applies_when",
    "note",
)
MAX_DURATION = 730
SOURCE_TAG = re.compile(r"\[(S|S-2nd|GK)[\]::]")
STEP_KEY = re.compile(r"[A-Z]{1,4}-[0-9A-Z]{1,10}")


# --------------------------------------------------------------------------- templates


def _kind_of(key: str) -> str:
    return StepKind.SERVICE.value if key.startswith("ZJ-") else StepKind.APPROVAL.value


def _catalogue_link(key: str) -> dict[str, Any]:
    """The approval or service item a step key names (SP-xx / ZJ-xx), if the catalogue has it."""
    model = ServiceItem if key.startswith("ZJ-") else ApprovalItem
    item = db.session.scalar(select(model).where(model.code == key))
    if item is None:
        return {"approval_item": None, "service_item": None}
    if model is ServiceItem:
        return {"approval_item": None, "service_item": item}
    return {"approval_item": item, "service_item": None}


def _check_steps(rows: list[dict[str, Any]]) -> None:
    """Durations, units, known service codes and an acyclic dependency graph."""
    keys = [row["key"] for row in rows]
    repeated = sorted(k for k, n in Counter(keys).items() if n > 1)
    if repeated:
        raise RegistryError("key", f"步骤编号重复:{', '.join(repeated)}")
    known = set(db.session.scalars(select(ServiceItem.code)))
    for row in rows:
        if not isinstance(row.get("duration"), int) or not 0 <= row["duration"] <= MAX_DURATION:
            raise RegistryError("duration", f"步骤 {row['key']} 的时长须为 0–{MAX_DURATION} 的整数")
        source = str(row.get("duration_source") or "")
        if not SOURCE_TAG.search(source):
            raise RegistryError(
                "duration_source",
                f"步骤 {row['key']} 须注明时长来源及来源标记([S] 已核原文、[S-2nd] 二手来源或 [GK] 待核)",
            )
        if row.get("unit") not in (TimeUnit.DAY.value, TimeUnit.WORKING_DAY.value):
            raise RegistryError("unit", f"步骤 {row['key']} 的时长单位须为“日”或“工作日”")
        prepared = row.get("self_prepare_duration")
        if prepared is not None and not (
            isinstance(prepared, int) and 0 <= prepared <= row["duration"]
        ):
            raise RegistryError(
                "self_prepare_duration", f"步骤 {row['key']} 的自行编制时长须为不超过原时长的整数"
            )
        unknown = sorted(set(row.get("services") or []) - known)
        if unknown:
            raise RegistryError(
                "services", f"步骤 {row['key']} 引用的中介服务不存在:{', '.join(unknown)}"
            )
    try:
        plan(
            [
                Step(r["key"], r["key"], 0, TimeUnit.DAY.value, tuple(r.get("depends_on") or ()))
                for r in rows
            ],
            date(2000, 1, 1),
        )
    except (CycleError, ValueError) as error:
        raise RegistryError("depends_on", str(error)) from None


def _template_row(raw: dict[str, Any], sequence: int) -> dict[str, Any]:
    key = str(raw["key"]).strip()
    link = _catalogue_link(key)
    item = link["approval_item"] or link["service_item"]
    row = {
        "key": key,
        "name": raw.get("name") or (item.name if item else key),
        "kind": _kind_of(key),
        "stage": str(raw.get("stage") or "1"),
        "sequence": sequence,
        "duration": raw.get("duration"),
        "unit": raw.get("unit"),
        "duration_source": raw.get("duration_source"),
        "depends_on": [str(k) for k in raw.get("depends_on") or []],
        "services": [str(c) for c in raw.get("services") or []],
        "conditional": bool(raw.get("conditional")),
        "self_prepare_duration": raw.get("self_prepare_duration"),
        "regional_assessment": bool(raw.get("regional_assessment")),
        "applies_when": raw.get("applies_when"),
        "note": raw.get("note"),
    }
    return row | link


def seed_templates(seeds_dir: Path) -> dict[str, int]:
    """Create each category's template from seeds/roadmaps/templates.yaml. A template that exists
    is left alone: after the first seed it belongs to the admins who edit it."""
    path = Path(seeds_dir) / "roadmaps" / "templates.yaml"
    try:
        data = yamlfile.read(path)
    except (OSError, yaml.YAMLError) as error:
        raise RegistryError(None, f"无法读取路线图模板 {path.name}:{error}") from None
    counts = {"created": 0, "unchanged": 0}
    for entry in data:
        category = ProjectCategory(entry["category"]).value
        if db.session.scalar(
            select(RoadmapTemplate.id).where(RoadmapTemplate.category == category)
        ):
            counts["unchanged"] += 1
            continue
        rows = [_template_row(raw, n) for n, raw in enumerate(entry["steps"], start=1)]
        _check_steps(rows)
        template = RoadmapTemplate(
            category=category,
            name=entry["name"],
            simplifications=entry.get("simplifications"),
            source_note=entry.get("source_note"),
            steps=[TemplateStep(**row) for row in rows],
        )
        db.session.add(template)
        db.session.flush()
        record(
            "roadmap_template.create",
            actor="system:seed",
            object_type="roadmap_template",
            object_id=category,
            after=template_snapshot(template),
        )
        counts["created"] += 1
    return counts


def template_snapshot(template: RoadmapTemplate) -> dict[str, Any]:
    """The template and its steps as plain data (audit log, API)."""
    return {
        "category": template.category,
        "name": template.name,
        "simplifications": template.simplifications,
        "steps": [{f: getattr(s, f) for f in STEP_FIELDS} for s in template.steps],
    }


def list_templates() -> list[RoadmapTemplate]:
    """All templates, in category order."""
    order = [c.value for c in ProjectCategory]
    templates = db.session.scalars(select(RoadmapTemplate)).all()
    return sorted(templates, key=lambda t: order.index(t.category))


def get_template(category: str) -> RoadmapTemplate:
    """The template of a category."""
    template = db.session.scalar(
        select(RoadmapTemplate).where(RoadmapTemplate.category == category)
    )
    if template is None:
        raise NotFound("该项目类别尚无路线图模板")
    return template


def save_template_step(
    actor: User,
    category: str,
    key: str | None,
    values: dict[str, Any],
    *,
    version: int | None = None,
) -> TemplateStep:
    """Add a step (key None: values carry the new key) or change one; the whole template is
    re-checked (durations, units, services, no dependency loop). Projects keep their own copy."""
    template = get_template(category)
    if version is not None and version != template.version:
        raise RegistryError(None, "模板已被他人修改,请刷新后重试")
    before = template_snapshot(template)
    if key is None:
        new_key = str(values.get("key") or "").strip().upper()
        if not STEP_KEY.fullmatch(new_key):
            raise RegistryError("key", "步骤编号格式如 SP-05 或 ZJ-03(字母、短横线、数字)")
        step = TemplateStep(
            key=new_key, sequence=len(template.steps) + 1, **_catalogue_link(new_key)
        )
        step.kind = _kind_of(new_key)
        template.steps.append(step)
    else:
        step = next((s for s in template.steps if s.key == key), None)
        if step is None:
            raise NotFound("模板中没有该步骤")
    for name in (
        "name",
        "stage",
        "duration",
        "unit",
        "duration_source",
        "depends_on",
        "services",
        "conditional",
        "self_prepare_duration",
        "regional_assessment",
        "applies_when",
        "note",
    ):
        if name in values:
            setattr(step, name, values[name])
    if not step.name:
        raise RegistryError("name", "请填写步骤名称")
    rows = [{f: getattr(s, f) for f in STEP_FIELDS} for s in template.steps]
    # No autoflush while checking: a half-filled new step must fail the checks (RegistryError),
    # not reach the database as an INSERT that breaks a NOT NULL constraint.
    with db.session.no_autoflush:
        _check_steps(rows)
    _touch(template)
    try:
        db.session.flush()
    except StaleDataError:
        raise RegistryError(None, "模板已被他人修改,请刷新后重试") from None
    record(
        "roadmap_template.update",
        actor=actor,
        object_type="roadmap_template",
        object_id=category,
        before=before,
        after=template_snapshot(template),
    )
    return step


def remove_template_step(
    actor: User, category: str, key: str, *, version: int | None = None
) -> None:
    """Remove a step no other step depends on."""
    template = get_template(category)
    if version is not None and version != template.version:
        raise RegistryError(None, "模板已被他人修改,请刷新后重试")
    step = next((s for s in template.steps if s.key == key), None)
    if step is None:
        raise NotFound("模板中没有该步骤")
    users = [s.key for s in template.steps if key in (s.depends_on or [])]
    if users:
        raise RegistryError(None, f"步骤 {key} 仍是 {', '.join(users)} 的前置步骤,请先修改它们")
    before = template_snapshot(template)
    template.steps.remove(step)
    _touch(template)
    db.session.flush()
    record(
        "roadmap_template.update",
        actor=actor,
        object_type="roadmap_template",
        object_id=category,
        before=before,
        after=template_snapshot(template),
    )


# --------------------------------------------------------------------------- project roadmaps


def _touch(template: RoadmapTemplate) -> None:
    """Mark the template changed so its version moves even when the clock has not (two edits in
    the same instant, or a frozen clock): a step change is a template change."""
    template.updated_at = utcnow()
    flag_modified(template, "updated_at")


def create_roadmap(project: Project, actor: User | str | None = None) -> list[RoadmapStep]:
    """Copy the category's template into the project; conditional steps start as 不适用."""
    if project.steps:
        return project.steps
    template = get_template(project.category)
    for step in template.steps:
        project.steps.append(
            RoadmapStep(
                **{f: getattr(step, f) for f in STEP_FIELDS},
                approval_item_id=step.approval_item_id,
                service_item_id=step.service_item_id,
                status=(
                    StepStatus.NOT_APPLICABLE if step.conditional else StepStatus.PENDING
                ).value,
            )
        )
    db.session.flush()
    replan(project)
    record(
        "roadmap.create",
        actor=actor,
        object_type="project",
        object_id=project.code,
        after={"template": template.category, "steps": [s.key for s in project.steps]},
    )
    return project.steps


def ensure_roadmaps(actor: User | str) -> int:
    """Give every project without steps its category's roadmap (projects registered before
    roadmaps existed, or whose copy is empty); returns how many were created. A category that
    has no template yet is left for a later run rather than failing the whole run."""
    categories = set(db.session.scalars(select(RoadmapTemplate.category)))
    projects = db.session.scalars(
        select(Project)
        .where(~Project.steps.any(), Project.category.in_(categories))
        .order_by(Project.id)
    ).all()
    for project in projects:
        create_roadmap(project, actor=actor)
    return len(projects)


def schedule_of(project: Project, *, as_of: date | None = None) -> Schedule | None:
    """The plan from the land-contract date with the project's options and actual dates; dates
    past the calendar's known years are left out (Schedule.unscheduled), never guessed. None
    without a land-contract date."""
    if project.land_contract_date is None:
        return None
    steps = [
        Step(s.key, s.name, s.duration, s.unit, tuple(s.depends_on or ()), s.self_prepare_duration)
        for s in project.steps
    ]
    return plan(
        steps,
        project.land_contract_date,
        target_days=ProjectCategory(project.category).target_days,
        skip=[s.key for s in project.steps if s.skipped],
        self_prepared=[s.key for s in project.steps if s.self_prepared],
        actual={s.key: (s.started_on, s.finished_on) for s in project.steps},
        partial=True,
        as_of=as_of,
    )


def replan(project: Project) -> Schedule | None:
    """Recompute the plan and store each step's planned dates (the deadline check reads them)."""
    schedule = schedule_of(project)
    db.session.flush()
    for step in project.steps:
        planned = schedule.steps.get(step.key) if schedule else None
        start = planned.start if planned and not planned.skipped else None
        finish = planned.finish if planned and not planned.skipped else None
        if (step.planned_start, step.planned_finish) != (start, finish):
            # A derived cache, written without the version bump: re-planning (the cron, another
            # step's progress) must not make someone's open progress form stale.
            db.session.execute(
                update(RoadmapStep)
                .where(RoadmapStep.id == step.id)
                .values(planned_start=start, planned_finish=finish)
                .execution_options(synchronize_session=False)
            )
            set_committed_value(step, "planned_start", start)
            set_committed_value(step, "planned_finish", finish)
    return schedule


def deadline_state(step: RoadmapStep, today: date, lead: int) -> DeadlineState:
    """Overdue after the planned finish; a warning from `lead` working days before it. Only a
    step that could be worked on counts: started, or every predecessor done or skipped (a step
    still waiting for a late predecessor is not itself late — the predecessor is)."""
    return _state(step, step.planned_finish, today, lead, _startable(step))


def _startable(step: RoadmapStep) -> bool:
    if step.started_on is not None or step.status != StepStatus.PENDING.value:
        return True
    before = {s.key: s for s in step.project.steps if s.key in (step.depends_on or [])}
    return all(s.status_enum.is_closed or s.skipped for s in before.values())


def _state(
    step: RoadmapStep, finish: date | None, today: date, lead: int, startable: bool = True
) -> DeadlineState:
    if step.status_enum.is_closed or step.skipped or finish is None or not startable:
        return DeadlineState.ON_TRACK
    if today > finish:
        return DeadlineState.OVERDUE
    try:
        left = working_days_between(today, finish)
    except CalendarRangeError:
        left = (finish - today).days  # past the known calendar: calendar days, never a guess
    return DeadlineState.WARNING if left <= lead else DeadlineState.ON_TRACK


@dataclass
class RoadmapRow:
    """One step as the roadmap page, the checklist and the API show it."""

    step: RoadmapStep
    stage_name: str
    ready: date | None
    start: date | None
    finish: date | None
    critical: bool
    slack_days: int | None
    state: DeadlineState
    services: list[ServiceItem]
    department: Any
    # The dates were counted over a year without an official holiday arrangement (or follow
    # such a step): shown as 暂按法定节假日推算.
    provisional: bool = False


@dataclass
class Roadmap:
    """A project's roadmap: rows in stage order and the totals against the target."""

    project: Project
    schedule: Schedule | None
    rows: list[RoadmapRow] = field(default_factory=list)
    today: date | None = None
    # The plan as of today: unfinished work pushed past today (scheduling.plan's as_of).
    forecast: Schedule | None = None

    @property
    def provisional_years(self) -> list[int]:
        """Years without an official holiday arrangement that the plan or forecast touches."""
        years = set(self.schedule.provisional_years if self.schedule else [])
        years.update(self.forecast.provisional_years if self.forecast else [])
        return sorted(years)

    @property
    def unscheduled_steps(self) -> list[str]:
        """Steps that apply but could not be dated (the calendar ends first)."""
        if self.schedule is None:
            return []
        skipped = {s.key for s in self.project.steps if s.skipped}
        return [key for key in self.schedule.unscheduled if key not in skipped]

    @property
    def dated_days(self) -> int | None:
        """For an incomplete plan: days to the last finish that could be dated (a lower bound)."""
        if self.schedule is None or self.schedule.complete or not self.schedule.steps:
            return None
        return self.schedule.total_days

    @property
    def forecast_days(self) -> int | None:
        """Days from the land contract to the forecast finish (complete forecasts)."""
        if self.forecast is None or not self.forecast.complete:
            return None
        return self.forecast.total_days

    @property
    def forecast_margin_days(self) -> int | None:
        """Target minus the forecast: slack when positive, overrun when negative."""
        return None if self.forecast_days is None else self.target_days - self.forecast_days

    @property
    def target_days(self) -> int:
        """The category's target in days."""
        return ProjectCategory(self.project.category).target_days

    @property
    def total_days(self) -> int | None:
        """Calendar days from the land contract to the last planned finish (complete plans)."""
        if self.schedule is None or not self.schedule.complete:
            return None
        return self.schedule.total_days

    @property
    def margin_days(self) -> int | None:
        """Target minus total: slack when positive, overrun when negative."""
        return None if self.total_days is None else self.target_days - self.total_days

    @property
    def counts(self) -> Counter:
        """How many open steps are in warning and overdue."""
        return Counter(row.state for row in self.rows)


def _with_plan(query):
    """Load what a roadmap view reads (steps, their catalogue items and departments, the
    enterprise, concierge and expert) in a fixed number of queries, not one per project."""
    steps = selectinload(Project.steps)
    return query.options(
        steps.selectinload(RoadmapStep.approval_item).selectinload(ApprovalItem.department),
        steps.selectinload(RoadmapStep.service_item).selectinload(ServiceItem.department),
        selectinload(Project.enterprise),
        selectinload(Project.concierge),
        selectinload(Project.expert),
    )


def _services_of(projects: list[Project]) -> dict[str, ServiceItem]:
    """The service items the projects' steps name, by code, in one query."""
    codes = {code for project in projects for step in project.steps for code in step.services or []}
    if not codes:
        return {}
    items = db.session.scalars(select(ServiceItem).where(ServiceItem.code.in_(codes)))
    return {item.code: item for item in items}


def roadmap(
    project: Project,
    *,
    today: date | None = None,
    lead: int = 3,
    services: dict[str, ServiceItem] | None = None,
) -> Roadmap:
    """The project's roadmap as of `today`. Pages showing many projects pass `services`, the
    service items of all of them loaded once (see _services_of)."""
    today = today or market.today()
    schedule = schedule_of(project)
    if services is None:
        services = _services_of([project])
    result = Roadmap(project, schedule, today=today, forecast=schedule_of(project, as_of=today))
    ordered = sorted(project.steps, key=lambda s: (s.stage, s.sequence))
    for step in ordered:
        planned = schedule.steps.get(step.key) if schedule else None
        item = step.approval_item or step.service_item
        result.rows.append(
            RoadmapRow(
                step=step,
                stage_name=STAGE_NAMES.get(step.stage, f"第{step.stage}阶段"),
                ready=planned.ready if planned else None,
                start=planned.start if planned and not planned.skipped else None,
                finish=planned.finish if planned and not planned.skipped else None,
                critical=bool(planned and planned.critical),
                slack_days=planned.slack_days if planned else None,
                state=_state(
                    step,
                    planned.finish if planned and not planned.skipped else None,
                    today,
                    lead,
                    _startable(step),
                ),
                services=[services[c] for c in step.services or [] if c in services],
                department=item.department if item else None,
                provisional=bool(planned and planned.provisional and not planned.skipped),
            )
        )
    return result


def get_roadmap_for(user: User, code: str) -> Project:
    """A project whose roadmap the user may see (another's project is simply not found)."""
    return market.get_project_for(user, code)


def get_step_for(user: User, code: str, key: str) -> RoadmapStep:
    """A step of a project the user may see; NotFound for an unknown project or step."""
    return _step(market.get_project_for(user, code), key)


def list_roadmaps(user: User, *, today: date, lead: int) -> list[Roadmap]:
    """The roadmaps of every project the user may see, newest first (the staff project list)."""
    query = (
        select(Project)
        .where(Project.id.in_(_visible_projects(user)))
        .order_by(Project.created_at.desc(), Project.id.desc())
    )
    projects = db.session.scalars(_with_plan(query)).all()
    services = _services_of(projects)
    return [roadmap(p, today=today, lead=lead, services=services) for p in projects]


def _step(project: Project, key: str) -> RoadmapStep:
    step = next((s for s in project.steps if s.key == key), None)
    if step is None:
        raise NotFound("该项目没有这个步骤")
    return step


def record_progress(
    user: User,
    code: str,
    key: str,
    *,
    status: str,
    started_on: date | None = None,
    submitted_on: date | None = None,
    finished_on: date | None = None,
    version: int | None = None,
    today: date | None = None,
) -> RoadmapStep:
    """Enter a step's progress (办理中 / 已提交 / 已完成 with dates) and re-plan from it."""
    project = market.get_project_for(user, code)
    step = _step(project, key)
    today = today or market.today()
    if version is not None and version != step.version:
        raise RegistryError(None, "该步骤已被他人更新,请刷新后重试")
    try:
        new = StepStatus(status)
    except ValueError:
        raise RegistryError("status", "请选择办理状态") from None
    if new == StepStatus.NOT_APPLICABLE:
        raise RegistryError("status", "“不适用”请在办理选项中设置")
    if step.status == StepStatus.NOT_APPLICABLE.value:
        raise RegistryError("status", "该步骤目前设为“不适用”,请先在办理选项中设为适用")
    # Only the dates the status has are kept (and checked): 办理中 has a start, 已提交 a start and
    # a submission, 已完成 a start, perhaps a submission, and a finish; 未开始 none.
    kept = {
        StepStatus.PENDING: (),
        StepStatus.STARTED: ("started_on",),
        StepStatus.SUBMITTED: ("started_on", "submitted_on"),
        StepStatus.DONE: ("started_on", "submitted_on", "finished_on"),
    }[new]
    given = {"started_on": started_on, "submitted_on": submitted_on, "finished_on": finished_on}
    dates = {name: value if name in kept else None for name, value in given.items()}
    started_on, submitted_on, finished_on = (
        dates["started_on"],
        dates["submitted_on"],
        dates["finished_on"],
    )
    needed = {
        StepStatus.STARTED: ("started_on",),
        StepStatus.SUBMITTED: ("started_on", "submitted_on"),
        StepStatus.DONE: ("started_on", "finished_on"),
    }.get(new, ())
    labels = {"started_on": "开始日期", "submitted_on": "提交日期", "finished_on": "办结日期"}
    for name in needed:
        if dates[name] is None:
            raise RegistryError(name, f"状态为“{new.value}”时须填写{labels[name]}")
    for name, value in dates.items():
        if value is None:
            continue
        if value > today:
            raise RegistryError(name, f"{labels[name]}不能晚于今天")
        if project.land_contract_date and value < project.land_contract_date:
            raise RegistryError(name, f"{labels[name]}不能早于土地出让合同签订日")
    if started_on and submitted_on and submitted_on < started_on:
        raise RegistryError("submitted_on", "提交日期不能早于开始日期")
    if started_on and finished_on and finished_on < started_on:
        raise RegistryError("finished_on", "办结日期不能早于开始日期")
    if submitted_on and finished_on and finished_on < submitted_on:
        raise RegistryError("finished_on", "办结日期不能早于提交日期")
    before = snapshot(step)
    step.status = new.value
    step.started_on, step.submitted_on, step.finished_on = started_on, submitted_on, finished_on
    try:
        db.session.flush()
    except StaleDataError:
        raise RegistryError(None, "该步骤已被他人更新,请刷新后重试") from None
    replan(project)
    record(
        "roadmap.progress",
        actor=user,
        object_type="project",
        object_id=f"{code}/{key}",
        before=before,
        after=snapshot(step),
    )
    return step


def set_options(
    user: User,
    code: str,
    key: str,
    *,
    applicable: bool,
    covered_by_regional: bool,
    self_prepared: bool,
    version: int | None = None,
) -> RoadmapStep:
    """Choose whether a step applies, is covered by the zone's regional assessment (no time), or
    is prepared by the enterprise itself (shorter); then re-plan."""
    project = market.get_project_for(user, code)
    step = _step(project, key)
    if version is not None and version != step.version:
        raise RegistryError(None, "该步骤已被他人更新,请刷新后重试")
    if covered_by_regional and not step.regional_assessment:
        raise RegistryError("covered_by_regional", "该步骤不在区域评估覆盖范围内")
    if self_prepared and step.self_prepare_duration is None:
        raise RegistryError("self_prepared", "该步骤不可由企业自行编制")
    if not applicable and step.status in (StepStatus.DONE.value, StepStatus.SUBMITTED.value):
        raise RegistryError("applicable", "已提交或已完成的步骤不能设为不适用")
    before = snapshot(step)
    step.covered_by_regional, step.self_prepared = covered_by_regional, self_prepared
    if not applicable:
        step.status = StepStatus.NOT_APPLICABLE.value
        step.started_on = step.submitted_on = step.finished_on = None
    elif step.status == StepStatus.NOT_APPLICABLE.value:
        step.status = StepStatus.PENDING.value
    try:
        db.session.flush()
    except StaleDataError:
        raise RegistryError(None, "该步骤已被他人更新,请刷新后重试") from None
    replan(project)
    record(
        "roadmap.options",
        actor=user,
        object_type="project",
        object_id=f"{code}/{key}",
        before=before,
        after=snapshot(step),
    )
    return step


def assign_staff(actor: User, code: str, *, concierge: User | None, expert: User | None) -> Project:
    """Name the project's 帮办管家 and 审批专家 (staff accounts)."""
    if not policy.is_office(actor):
        raise Forbidden()
    project = market.get_project_for(actor, code)
    for field_name, person in (("concierge", concierge), ("expert", expert)):
        if person is not None and not policy.may_serve_projects(person):
            raise RegistryError(field_name, "请选择在岗的政务办工作人员账号")
    before = {"concierge": project.concierge_id, "expert": project.expert_id}
    project.concierge, project.expert = concierge, expert
    db.session.flush()
    record(
        "project.assign",
        actor=actor,
        object_type="project",
        object_id=code,
        before=before,
        after={"concierge": project.concierge_id, "expert": project.expert_id},
    )
    return project


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


def register_project_for(
    actor: User,
    *,
    enterprise_uscc: str,
    enterprise_name: str | None,
    code: str,
    name: str,
    category: str,
    location: str,
    land_contract_date: date | None,
    building_type: str | None = None,
    floor_area=None,
    concierge: User | None = None,
    expert: User | None = None,
) -> Project:
    """Staff register a project pushed by investment promotion (招商推送) for the enterprise
    named by its USCC, registering the enterprise first when it is new."""
    if not policy.may_register_for_enterprises(actor):
        raise Forbidden()
    enterprise = _enterprise_by_uscc(actor, enterprise_uscc, enterprise_name)
    return register_project(
        actor,
        code=code,
        name=name,
        category=category,
        location=location,
        land_contract_date=land_contract_date,
        building_type=building_type,
        floor_area=floor_area,
        enterprise=enterprise,
        concierge=concierge,
        expert=expert,
    )


# --------------------------------------------------------------------------- deadlines


def _message(step: RoadmapStep, kind: DeadlineState, provisional: bool = False) -> str:
    due = step.planned_finish.isoformat() + ("(暂定)" if provisional else "")
    if kind == DeadlineState.OVERDUE:
        return f"超时通报:项目 {step.project.code} 的“{step.name}”计划 {due} 办结,现已超时。"
    return f"到期预警:项目 {step.project.code} 的“{step.name}”计划 {due} 办结,请抓紧办理。"


def _provisional(schedule: Schedule | None, step: RoadmapStep) -> bool:
    planned = schedule.steps.get(step.key) if schedule else None
    return bool(planned and planned.provisional)


def check_deadlines(today: date, lead: int) -> dict[str, int]:
    """Re-plan every project and raise a notification for each open step in warning or overdue.
    Idempotent: one notification per step, kind and planned finish (a unique key), so running
    it again the same day — or every day — adds nothing until a step's state or plan changes.
    Projects without a roadmap (registered before roadmaps existed) are given one first."""
    counts = {"warning": 0, "overdue": 0, "projects": 0}
    if db.session.get_bind().dialect.name == "postgresql":
        # Two runs at once (cron overlapping a manual run) take turns; SQLite's BEGIN IMMEDIATE
        # already serialises writers.
        db.session.execute(text("SELECT pg_advisory_xact_lock(hashtext('check-deadlines'))"))
    counts["roadmaps"] = ensure_roadmaps("system:check-deadlines")
    projects = db.session.scalars(
        select(Project)
        .where(Project.land_contract_date.is_not(None))
        .options(selectinload(Project.steps))
        .order_by(Project.id)
    ).all()
    # What was already raised, loaded once rather than looked up step by step.
    raised = {
        tuple(row)
        for row in db.session.execute(
            select(Notification.step_id, Notification.kind, Notification.due_on)
        )
    }
    for project in projects:
        schedule = replan(project)
        counts["projects"] += 1
        for step in project.steps:
            state = deadline_state(step, today, lead)
            if state == DeadlineState.ON_TRACK:
                continue
            key = (step.id, state.value, step.planned_finish)
            if key in raised:
                continue
            raised.add(key)
            try:
                with db.session.begin_nested():
                    db.session.add(
                        Notification(
                            project_id=project.id,
                            step_id=step.id,
                            kind=state.value,
                            due_on=step.planned_finish,
                            message=_message(step, state, _provisional(schedule, step)),
                        )
                    )
            except IntegrityError:
                continue  # a concurrent run created it first
            counts["warning" if state == DeadlineState.WARNING else "overdue"] += 1
    if counts["warning"] or counts["overdue"]:
        record(
            "deadlines.check",
            actor="system:check-deadlines",
            object_type="notification",
            object_id=today.isoformat(),
            after=counts,
        )
    return counts


def _visible_projects(user: User):
    """A select of the project ids the user may see (policy.visible_projects)."""
    return select(Project.id).where(policy.visible_projects(user))


def _addressed_to(user: User, projects):
    """Notifications on the given projects, and those addressed to the user."""
    return Notification.project_id.in_(projects) | (Notification.user_id == user.id)


def notifications_for(
    user: User, *, mine_only: bool = False, limit: int = 200
) -> list[tuple[Notification, bool]]:
    """Notifications on the projects the user may see, newest first, with whether they were read.
    `mine_only` keeps a staff member to the projects they serve as concierge or expert."""
    projects = _visible_projects(user)
    if mine_only and policy.is_project_staff(user):
        projects = projects.where(policy.served_projects(user))
    rows = db.session.scalars(
        select(Notification)
        .where(_addressed_to(user, projects))
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
    ).all()
    read = (
        set(
            db.session.scalars(
                select(NotificationRead.notification_id).where(
                    NotificationRead.user_id == user.id,
                    NotificationRead.notification_id.in_([n.id for n in rows]),
                )
            )
        )
        if rows
        else set()
    )
    return [(n, n.id in read) for n in rows]


def unread_count(user: User) -> int:
    """Unread notifications on the user's projects (the badge in the header): one COUNT."""
    was_read = (
        select(NotificationRead.notification_id)
        .where(
            NotificationRead.notification_id == Notification.id,
            NotificationRead.user_id == user.id,
        )
        .exists()
    )
    query = select(func.count(Notification.id)).where(
        _addressed_to(user, _visible_projects(user)), ~was_read
    )
    return db.session.scalar(query) or 0


def mark_read(user: User, notification_ids: list[int]) -> int:
    """Mark notifications the user may see as read; others are ignored. Returns how many this
    call marked: one already marked by a concurrent request (two tabs' "mark all read") is
    skipped, not a unique-key error."""
    visible = {n.id for n, was_read in notifications_for(user, limit=10_000) if not was_read}
    count = 0
    # In id order, so two concurrent requests take the rows' locks in the same order (no deadlock).
    for ident in sorted(set(notification_ids) & visible):
        try:
            with db.session.begin_nested():
                db.session.add(NotificationRead(notification_id=ident, user_id=user.id))
        except IntegrityError:
            continue  # a concurrent request marked it first
        count += 1
    return count


@dataclass
class DashboardRow:
    """An open step in warning or overdue, for the staff dashboard."""

    project: Project
    step: RoadmapStep
    state: DeadlineState
    finish: date  # the plan's finish as computed now, not the stored (possibly stale) cache
    days_late: int
    # Working days from today to the finish (a warning's countdown, in the unit of its lead).
    working_days_left: int | None = None
    provisional: bool = False  # the finish was counted over a year without an arrangement


def dashboard(
    today: date, lead: int, *, user: User | None = None, mine_only: bool = False
) -> dict[str, Any]:
    """Across projects: every step in warning or overdue (overdue first), and each project's plan
    against its target."""
    query = select(Project).where(Project.land_contract_date.is_not(None)).order_by(Project.code)
    if mine_only and policy.is_project_staff(user):
        query = query.where(policy.served_projects(user))
    alerts: list[DashboardRow] = []
    summaries = []
    projects = db.session.scalars(_with_plan(query)).all()
    services = _services_of(projects)
    for project in projects:
        view = roadmap(project, today=today, lead=lead, services=services)
        summaries.append(view)
        for row in view.rows:
            # The state comes from the plan just computed, so do the dates: the stored
            # planned_finish is None before the first re-plan and stale after any change.
            if row.state != DeadlineState.ON_TRACK:
                late = (today - row.finish).days
                try:
                    left = working_days_between(today, row.finish) if late < 0 else 0
                except CalendarRangeError:
                    left = None
                alerts.append(
                    DashboardRow(
                        project, row.step, row.state, row.finish, late, left, row.provisional
                    )
                )
    alerts.sort(key=lambda a: (a.state != DeadlineState.OVERDUE, -a.days_late, a.project.code))
    return {"alerts": alerts, "projects": summaries}


def roadmap_json(view: Roadmap) -> dict[str, Any]:
    """The roadmap as the API returns it."""
    project = view.project

    def day(value: date | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "code": project.code,
        "name": project.name,
        "category": project.category,
        "land_contract_date": day(project.land_contract_date),
        "target_days": view.target_days,
        "total_days": view.total_days,
        "margin_days": view.margin_days,
        "planned_finish": day(view.schedule.finish)
        if view.schedule and view.schedule.complete
        else None,
        "forecast_days": view.forecast_days,
        "forecast_finish": day(view.forecast.finish)
        if view.forecast and view.forecast.complete
        else None,
        "calendar_error": view.schedule.error if view.schedule else None,
        "provisional_years": view.provisional_years,
        "provisional_note": workdays.PROVISIONAL_NOTE if view.provisional_years else None,
        "critical_path": view.schedule.critical_path if view.schedule else [],
        "steps": [
            {
                "key": row.step.key,
                "name": row.step.name,
                "kind": row.step.kind,
                "stage": row.step.stage,
                "department": row.department.name if row.department else None,
                "duration": row.step.duration,
                "unit": row.step.unit,
                "duration_source": row.step.duration_source,
                "depends_on": list(row.step.depends_on or []),
                "status": row.step.status,
                "covered_by_regional_assessment": row.step.covered_by_regional,
                "self_prepared": row.step.self_prepared,
                "planned_start": day(row.start),
                "planned_finish": day(row.finish),
                "started_on": day(row.step.started_on),
                "submitted_on": day(row.step.submitted_on),
                "finished_on": day(row.step.finished_on),
                "critical": row.critical,
                "slack_days": row.slack_days if row.finish else None,
                "provisional": row.provisional,
                "deadline_state": row.state.value or None,
                "services": [{"code": s.code, "name": s.name} for s in row.services],
            }
            for row in view.rows
        ],
    }


BUILDING_TYPES = ("厂房", "办公楼", "研发楼", "仓库", "其他")


def _floor_area(value) -> Decimal | None:
    """A floor area in ㎡ (0 < area < 10,000,000) to the cent; NaN and infinity are refused
    rather than raising InvalidOperation on the comparison."""
    if value is None or value == "":
        return None
    try:
        area = Decimal(str(value).strip())
    except InvalidOperation:
        area = Decimal("NaN")
    if not area.is_finite() or not 0 < area < 10_000_000:
        raise RegistryError("floor_area", "建筑面积须为大于 0 的数值(平方米)")
    return area.quantize(Decimal("0.01"))


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
    return _floor_area(floor_area)


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
    floor_area = _particulars(building_type, floor_area, land_contract_date)
    project = market.create_project(
        user,
        code=code,
        name=name,
        category=category,
        location=location,
        enterprise=enterprise,
        land_contract_date=land_contract_date,
        building_type=building_type or None,
        floor_area=floor_area,
        description=description or None,
        is_demo=is_demo,
    )
    create_roadmap(project, actor=user)
    if concierge is not None or expert is not None:
        assign_staff(user, project.code, concierge=concierge, expert=expert)
    return project


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
    record(
        "project.update",
        actor=user,
        object_type="project",
        object_id=code,
        before=before,
        after=snapshot(project),
    )
    return project
