"""Timeliness: days from land contract to construction permit against the category's target,
time per stage and per department against the step's limit, warnings and overdue steps by
department and the 超时通报 list."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import and_, case, func, select

from registry.extensions import db
from registry.models.projects import Project, ProjectCategory
from registry.models.roadmap import STAGE_NAMES, ProjectPlan, RoadmapStep, StepStatus
from registry.pure.workdays import CalendarRangeError, TimeUnit, is_workday
from registry.services.roadmaps.stored import warn_until
from registry.services.stats.common import (
    NO_DEPARTMENT,
    Settings,
    Table,
    one,
    pct,
    quarter,
    step_department,
)


@dataclass
class _Runs:
    """Days of a group of projects."""

    days: list[int] = field(default_factory=list)

    def add(self, value: int) -> None:
        self.days.append(value)

    def mean(self) -> float | None:
        return sum(self.days) / len(self.days) if self.days else None

    def within(self, target: int) -> int:
        return sum(1 for d in self.days if d <= target)


def _permit_days(s: Settings):
    """Days to permit of the projects that have it (by category, and by quarter and category),
    and the expected days of those still on their way (by category)."""
    permit = (
        select(Project.id, Project.category, Project.land_contract_date, RoadmapStep.finished_on)
        .join(RoadmapStep, RoadmapStep.project_id == Project.id)
        .where(
            RoadmapStep.key == s.permit_step,
            RoadmapStep.status == StepStatus.DONE.value,
            RoadmapStep.finished_on.is_not(None),
            Project.land_contract_date.is_not(None),
        )
    )
    done: dict[str, _Runs] = defaultdict(_Runs)
    by_quarter: dict[tuple[str, str], _Runs] = defaultdict(_Runs)
    done_ids = set()
    for row in db.session.execute(permit):
        days = (row.finished_on - row.land_contract_date).days
        done[row.category].add(days)
        by_quarter[(quarter(row.finished_on), row.category)].add(days)
        done_ids.add(row.id)
    # Projects still on their way: the stored forecast (or the plan when none is stored).
    expected = func.coalesce(ProjectPlan.forecast_days, ProjectPlan.total_days)
    open_rows = db.session.execute(
        select(Project.id, Project.category, expected.label("days"))
        .join(ProjectPlan, ProjectPlan.project_id == Project.id)
        .where(Project.land_contract_date.is_not(None))
    )
    forecast: dict[str, _Runs] = defaultdict(_Runs)
    for row in open_rows:
        if row.id not in done_ids and row.days is not None:
            forecast[row.category].add(row.days)
    return done, by_quarter, forecast


def permit_tables(s: Settings) -> tuple[Table, Table]:
    """Days from land contract to construction permit by category (done and forecast) and by
    quarter of the permit, against the 160 / 60 / 210 day targets."""
    done, by_quarter, forecast = _permit_days(s)
    by_category = Table(
        "permit-by-category",
        "土地出让合同至施工许可用时(按项目类别)",
        (
            "项目类别",
            "目标(天)",
            "已取得施工许可(个)",
            "平均用时(天)",
            "最短(天)",
            "最长(天)",
            "达标(个)",
            "达标率",
            "在办项目(个)",
            "在办预计平均(天)",
            "在办预计超目标(个)",
        ),
        note="用时 = 施工许可办结日减土地出让合同签订日(日历天);在办项目按存储的进度预测(每日更新)。",
    )
    for category in ProjectCategory:
        target, runs, ahead = category.target_days, done[category.value], forecast[category.value]
        by_category.rows.append(
            (
                category.value,
                target,
                len(runs.days),
                one(runs.mean()),
                min(runs.days) if runs.days else "—",
                max(runs.days) if runs.days else "—",
                runs.within(target),
                pct(runs.within(target), len(runs.days)),
                len(ahead.days),
                one(ahead.mean()),
                len(ahead.days) - ahead.within(target),
            )
        )
    quarters = Table(
        "permit-by-quarter",
        "土地出让合同至施工许可用时(按取得许可的季度)",
        ("季度", "项目类别", "目标(天)", "项目(个)", "平均用时(天)", "达标率"),
    )
    order = {c.value: n for n, c in enumerate(ProjectCategory)}
    for (label, category), runs in sorted(
        by_quarter.items(), key=lambda i: (i[0][0], order.get(i[0][1], 9))
    ):
        target = ProjectCategory(category).target_days
        quarters.rows.append(
            (
                label,
                category,
                target,
                len(runs.days),
                one(runs.mean()),
                pct(runs.within(target), len(runs.days)),
            )
        )
    return by_category, quarters


# --------------------------------------------------------------------------- time per stage


class _WorkdayCounter:
    """Working days within [start, end] from one cumulative count over the span asked for, so
    thousands of steps cost one pass over the calendar."""

    def __init__(self, first: date, last: date) -> None:
        self.first = first
        self.cumulative: list[int] = []
        total, day = 0, first
        while day <= last:
            total += is_workday(day)
            self.cumulative.append(total)
            day += timedelta(days=1)

    def between(self, start: date, end: date) -> int:
        """Working days from start to end, both included."""
        before = (start - self.first).days - 1
        return self.cumulative[(end - self.first).days] - (
            self.cumulative[before] if before >= 0 else 0
        )


@dataclass
class _Usage:
    """Finished steps of a group against their limits."""

    count: int = 0
    used: int = 0
    limit: int = 0
    on_time: int = 0
    over: int = 0  # days beyond the limit, summed over the late steps

    def add(self, used: int, limit: int, n: int) -> None:
        self.count += n
        self.used += used * n
        self.limit += limit * n
        if used <= limit:
            self.on_time += n
        else:
            self.over += (used - limit) * n

    def cells(self) -> tuple:
        late = self.count - self.on_time
        return (
            self.count,
            one(self.used / self.count if self.count else None),
            one(self.limit / self.count if self.count else None),
            self.on_time,
            pct(self.on_time, self.count),
            one(self.over / late if late else None),
        )


USAGE_COLUMNS = (
    "已办结步骤(个)",
    "平均用时",
    "平均时限",
    "按时办结(个)",
    "按时办结率",
    "超时步骤平均超出",
)


def _finished_steps() -> list:
    """Finished steps (not covered by the regional assessment) grouped by what their time used
    and limit depend on: stage, kind, unit, department, limit and the two dates."""
    department, approval, service = step_department()
    limit = case(
        (
            and_(
                RoadmapStep.self_prepared.is_(True), RoadmapStep.self_prepare_duration.is_not(None)
            ),
            RoadmapStep.self_prepare_duration,
        ),
        else_=RoadmapStep.duration,
    )
    grouped = (
        select(
            RoadmapStep.stage,
            RoadmapStep.kind,
            RoadmapStep.unit,
            department.label("department"),
            limit.label("limit"),
            RoadmapStep.started_on,
            RoadmapStep.finished_on,
            func.count().label("n"),
        )
        .outerjoin(approval, approval.id == RoadmapStep.approval_item_id)
        .outerjoin(service, service.id == RoadmapStep.service_item_id)
        .where(
            RoadmapStep.status == StepStatus.DONE.value,
            RoadmapStep.started_on.is_not(None),
            RoadmapStep.finished_on.is_not(None),
            RoadmapStep.covered_by_regional.is_(False),
        )
        .group_by(
            RoadmapStep.stage,
            RoadmapStep.kind,
            RoadmapStep.unit,
            department,
            limit,
            RoadmapStep.started_on,
            RoadmapStep.finished_on,
        )
    )
    return list(db.session.execute(grouped))


def stage_tables(departments: dict[int, str]) -> tuple[Table, Table]:
    """Finished steps' time used against their limit, by stage and by department (each in its
    unit: 日 or 工作日)."""
    rows = _finished_steps()
    counter = None
    if rows:
        try:
            counter = _WorkdayCounter(
                min(r.started_on for r in rows), max(r.finished_on for r in rows)
            )
        except CalendarRangeError:
            counter = None
    stages: dict[tuple[str, str], _Usage] = defaultdict(_Usage)
    by_department: dict[tuple[str, str, str], _Usage] = defaultdict(_Usage)
    for r in rows:
        if r.finished_on < r.started_on:
            continue
        if r.unit == TimeUnit.WORKING_DAY.value:
            if counter is None:
                continue
            used = counter.between(r.started_on, r.finished_on)
        else:
            used = (r.finished_on - r.started_on).days + 1
        stages[(r.stage, r.unit)].add(used, r.limit, r.n)
        name = departments.get(r.department, NO_DEPARTMENT)
        by_department[(name, r.kind, r.unit)].add(used, r.limit, r.n)
    stage_table = Table(
        "time-by-stage",
        "各阶段办理用时与时限",
        ("审批阶段", "计时单位", *USAGE_COLUMNS),
        note="用时自开始日至办结日(两端都计),按步骤自身的计时单位(工作日按工作日历);时限为步骤的法定或规划时限(自行编制的按其较短时限)。由区域评估覆盖的步骤不计。",
    )
    for (stage, unit), usage in sorted(stages.items()):
        stage_table.rows.append((STAGE_NAMES.get(stage, stage), unit, *usage.cells()))
    department_table = Table(
        "time-by-department",
        "各部门办理用时与时限",
        ("部门", "类型", "计时单位", *USAGE_COLUMNS),
        note="审批事项计入审批部门;中介服务计入其监管部门(用时为中介机构的服务时间)。",
    )
    for (name, kind, unit), usage in sorted(
        by_department.items(), key=lambda i: (-i[1].count, i[0])
    ):
        department_table.rows.append((name, kind, unit, *usage.cells()))
    return stage_table, department_table


# --------------------------------------------------------------------------- warnings, overdue


def alert_tables(
    departments: dict[int, str], today: date, lead: int, s: Settings
) -> tuple[Table, Table]:
    """Open steps in 到期预警 and 超时 by department (public counts) and the 超时通报 list of the
    overdue steps with their projects (staff)."""
    until = warn_until(today, lead)
    department, approval, service = step_department()
    overdue = RoadmapStep.due_on < today
    counts = db.session.execute(
        select(
            department.label("department"),
            func.sum(case((RoadmapStep.due_on >= today, 1), else_=0)).label("warning"),
            func.sum(case((overdue, 1), else_=0)).label("overdue"),
            func.min(RoadmapStep.due_on).label("earliest"),
            func.count(func.distinct(case((overdue, RoadmapStep.project_id)))).label("projects"),
        )
        .outerjoin(approval, approval.id == RoadmapStep.approval_item_id)
        .outerjoin(service, service.id == RoadmapStep.service_item_id)
        .where(RoadmapStep.due_on.is_not(None), RoadmapStep.due_on <= until)
        .group_by(department)
    )
    by_department = Table(
        "alerts-by-department",
        "到期预警与超时(按部门)",
        ("部门", "到期预警(个)", "超时(个)", "最长超时(天)", "涉及超时的项目(个)"),
        note=f"截至 {today.isoformat()}:计划办结日已过而未办结为超时;距计划办结日不超过 {lead} 个工作日为到期预警。",
    )
    rows = []
    for r in counts:
        late = (today - r.earliest).days if r.overdue else 0
        rows.append(
            (
                departments.get(r.department, NO_DEPARTMENT),
                int(r.warning),
                int(r.overdue),
                late,
                int(r.projects),
            )
        )
    by_department.rows = sorted(rows, key=lambda row: (-row[2], -row[1], row[0]))
    listing = db.session.execute(
        select(
            Project.code,
            Project.name,
            RoadmapStep.key,
            RoadmapStep.name.label("step"),
            department.label("department"),
            RoadmapStep.due_on,
        )
        .join(Project, Project.id == RoadmapStep.project_id)
        .outerjoin(approval, approval.id == RoadmapStep.approval_item_id)
        .outerjoin(service, service.id == RoadmapStep.service_item_id)
        .where(RoadmapStep.due_on.is_not(None), overdue)
        .order_by(RoadmapStep.due_on, RoadmapStep.id)
    )
    notice = Table(
        "overdue-list",
        "超时通报清单",
        ("项目代码", "项目名称", "步骤", "部门", "计划办结日", "超时(天)"),
        staff=True,
        shown=s.page_rows,
        note="按计划办结日排序,超时最久的在前。",
    )
    for r in listing:
        notice.rows.append(
            (
                r.code,
                r.name,
                f"{r.key} {r.step}",
                departments.get(r.department, NO_DEPARTMENT),
                r.due_on.isoformat(),
                (today - r.due_on).days,
            )
        )
    return by_department, notice
