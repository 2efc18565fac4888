"""The staff dashboards over stored plans (stored.py): open steps in 超时 / 到期预警 and projects
by urgency, filtered (category, state, department, project name or code, "mine") and paged by
keyset, in a fixed number of statements whatever the number of projects. Nothing is re-planned
here, except a forecast not yet stored for today (the daily check not run yet), which is
computed for the projects on the page only."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import and_, case, false, func, or_, select
from sqlalchemy.orm import aliased, contains_eager, joinedload, selectinload

from registry import policy
from registry.extensions import db
from registry.models.accounts import User
from registry.models.catalogue import ApprovalItem, Department, ServiceItem
from registry.models.projects import Project, ProjectCategory
from registry.models.roadmap import DeadlineState, ProjectPlan, RoadmapStep
from registry.pure.workdays import CalendarRangeError, working_days_between
from registry.services.roadmaps.plans import AgainstTarget, schedule_of
from registry.services.roadmaps.stored import complete_days, warn_until

PAGE_SIZE = 50
# The state filter's values (query string) and labels.
STATES = {"overdue": "超时", "warning": "到期预警", "on_track": "正常推进"}
MAX_QUERY = 50


@dataclass
class BoardFilter:
    """What a dashboard shows: filters as read (bad values dropped, with a note), the page's
    cursor, and today's thresholds."""

    today: date
    lead: int
    category: str | None = None
    state: str | None = None
    department: Department | None = None
    q: str = ""
    mine: bool = False
    after: tuple[date | None, int] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def until(self) -> date:
        """The last planned finish still in 到期预警 today."""
        return warn_until(self.today, self.lead)

    def args(self) -> dict[str, str]:
        """The query-string values that keep these filters (the cursor excluded)."""
        values = {
            "category": self.category,
            "state": self.state,
            "department": self.department.code if self.department else None,
            "q": self.q,
            "mine": "1" if self.mine else None,
        }
        return {k: v for k, v in values.items() if v}


def departments() -> list[Department]:
    """Every department, for the filter's choices."""
    return list(db.session.scalars(select(Department).order_by(Department.code)))


def read_filter(
    args: Any, *, today: date, lead: int, mine: bool, choices: list[Department]
) -> BoardFilter:
    """The filters from a query string; a value that is not a choice is ignored with a note."""
    found = BoardFilter(today=today, lead=lead, mine=mine)
    category = (args.get("category") or "").strip()
    if category in {c.value for c in ProjectCategory}:
        found.category = category
    elif category:
        found.notes.append("项目类别无效,已忽略。")
    state = (args.get("state") or "").strip()
    if state in STATES:
        found.state = state
    elif state:
        found.notes.append("状态筛选无效,已忽略。")
    code = (args.get("department") or "").strip()
    found.department = next((d for d in choices if d.code == code), None)
    if code and found.department is None:
        found.notes.append("部门无效,已忽略。")
    found.q = " ".join((args.get("q") or "").split())[:MAX_QUERY]
    found.after = _cursor(args.get("after"))
    return found


def _cursor(text: str | None) -> tuple[date | None, int] | None:
    """ "YYYY-MM-DD.id" or "-.id" (no date): the last row of the previous page; else None."""
    day, _, ident = (text or "").strip()[:40].partition(".")
    if not ident.isascii() or not ident.isdigit() or len(ident) > 12:
        return None
    if day == "-":
        return None, int(ident)
    try:
        return date.fromisoformat(day), int(ident)
    except ValueError:
        return None


def cursor_text(day: date | None, ident: int) -> str:
    """The cursor of a row (see _cursor)."""
    return f"{day.isoformat() if day else '-'}.{ident}"


def _project_filters(query, f: BoardFilter, user: User | None):
    """Category, name or code, and "mine" on a query that has Project in it."""
    if f.category:
        query = query.where(Project.category == f.category)
    if f.q:
        query = query.where(
            or_(
                Project.name.contains(f.q, autoescape=True),
                Project.code.contains(f.q, autoescape=True),
            )
        )
    if f.mine and user is not None and policy.is_project_staff(user):
        query = query.where(policy.served_projects(user))
    return query


def _department_of_step(department: Department):
    """A condition on RoadmapStep: the step's approval or service item is the department's."""
    return or_(
        RoadmapStep.approval_item_id.in_(
            select(ApprovalItem.id).where(ApprovalItem.department_id == department.id)
        ),
        RoadmapStep.service_item_id.in_(
            select(ServiceItem.id).where(ServiceItem.department_id == department.id)
        ),
    )


def _state_of(column, f: BoardFilter):
    """A condition on a due date column for the state filter."""
    if f.state == "overdue":
        return column < f.today
    if f.state == "warning":
        return and_(column >= f.today, column <= f.until)
    return or_(column.is_(None), column > f.until)


# --------------------------------------------------------------------------- open steps


@dataclass
class AlertRow:
    """An open step in warning or overdue, as the dashboard shows it."""

    project: Project
    step: RoadmapStep
    state: DeadlineState
    finish: date
    days_late: int
    working_days_left: int | None
    provisional: bool
    department: Department | None


@dataclass
class Page:
    """One page of a dashboard: its rows, the totals over every page and the next cursor."""

    rows: list
    totals: Counter
    next_after: str | None
    filter: BoardFilter
    projects: list = field(default_factory=list)


def _alerts_query(f: BoardFilter, user: User | None):
    query = select(RoadmapStep).join(RoadmapStep.project)
    query = query.where(RoadmapStep.due_on.is_not(None), RoadmapStep.due_on <= f.until)
    if f.state in ("overdue", "warning"):
        query = query.where(_state_of(RoadmapStep.due_on, f))
    elif f.state == "on_track":
        query = query.where(false())
    if f.department is not None:
        query = query.where(_department_of_step(f.department))
    return _project_filters(query, f, user)


def alert_page(f: BoardFilter, user: User | None) -> Page:
    """A page of open steps in 超时 or 到期预警, most urgent (earliest due) first."""
    query = _alerts_query(f, user)
    approval, service = aliased(ApprovalItem), aliased(ServiceItem)
    counted = query.with_only_columns(
        func.count(RoadmapStep.id),
        func.coalesce(func.sum(case((RoadmapStep.due_on < f.today, 1), else_=0)), 0),
    ).order_by(None)
    total, overdue = db.session.execute(counted).one()
    if f.after is not None and f.after[0] is not None:
        day, ident = f.after
        query = query.where(
            or_(RoadmapStep.due_on > day, and_(RoadmapStep.due_on == day, RoadmapStep.id > ident))
        )
    project = contains_eager(RoadmapStep.project)
    steps = db.session.scalars(
        query.outerjoin(approval, RoadmapStep.approval_item)
        .outerjoin(service, RoadmapStep.service_item)
        .options(
            project.joinedload(Project.enterprise),
            project.joinedload(Project.plan),
            project.joinedload(Project.concierge),
            project.joinedload(Project.expert),
            contains_eager(RoadmapStep.approval_item.of_type(approval)).joinedload(
                approval.department
            ),
            contains_eager(RoadmapStep.service_item.of_type(service)).joinedload(
                service.department
            ),
        )
        .order_by(RoadmapStep.due_on, RoadmapStep.id)
        .limit(PAGE_SIZE + 1)
    ).all()
    more = len(steps) > PAGE_SIZE
    steps = steps[:PAGE_SIZE]
    rows = [_alert_row(step, f) for step in steps]
    totals = Counter({DeadlineState.OVERDUE: overdue, DeadlineState.WARNING: total - overdue})
    last = steps[-1] if more else None
    next_after = cursor_text(last.due_on, last.id) if last else None
    return Page(rows, totals, next_after, f, summaries([s.project for s in steps], f))


def _alert_row(step: RoadmapStep, f: BoardFilter) -> AlertRow:
    finish = step.due_on
    late = (f.today - finish).days
    try:
        left = working_days_between(f.today, finish) if late < 0 else 0
    except CalendarRangeError:
        left = None
    item = step.approval_item or step.service_item
    state = DeadlineState.OVERDUE if late > 0 else DeadlineState.WARNING
    return AlertRow(
        step.project,
        step,
        state,
        finish,
        late,
        left,
        step.planned_provisional,
        item.department if item else None,
    )


# --------------------------------------------------------------------------- projects


@dataclass
class PlanSummary(AgainstTarget):
    """A project's stored plan against its target, with today's counts of steps in warning and
    overdue (what the project tables show)."""

    project: Project
    plan: ProjectPlan | None
    counts: Counter
    forecast_days: int | None = None

    @property
    def scheduled(self) -> bool:
        return bool(self.plan and self.plan.scheduled)

    @property
    def finish(self) -> date | None:
        return self.plan.finish if self.plan else None

    @property
    def total_days(self) -> int | None:
        return self.plan.total_days if self.plan else None

    def days_late(self, today: date) -> int | None:
        """Calendar days its most overdue open step is past its due date (the stored earliest
        due date, pure/lateness.py grades it); None when nothing is overdue."""
        due = self.plan.next_due_on if self.plan else None
        return (today - due).days if due is not None and due < today else None


def _counts(ids: list[int], f: BoardFilter) -> dict[int, Counter]:
    """Steps in 超时 and 到期预警 per project, as of today: one grouped statement."""
    if not ids:
        return {}
    late = func.sum(case((RoadmapStep.due_on < f.today, 1), else_=0))
    soon = func.sum(case((RoadmapStep.due_on >= f.today, 1), else_=0))
    rows = db.session.execute(
        select(RoadmapStep.project_id, late, soon)
        .where(RoadmapStep.project_id.in_(ids), RoadmapStep.due_on <= f.until)
        .group_by(RoadmapStep.project_id)
    )
    return {
        pid: Counter({DeadlineState.OVERDUE: o or 0, DeadlineState.WARNING: w or 0})
        for pid, o, w in rows
    }


def summaries(projects: list[Project], f: BoardFilter) -> list[PlanSummary]:
    """The stored plans of these projects (each once, in order) with today's counts; a forecast
    stored for another day is computed afresh for them."""
    unique = list(dict.fromkeys(projects))
    ids = [p.id for p in unique]
    plans = {p.id: p.plan for p in unique if p.plan is not None}
    counts = _counts(ids, f)
    stale = [p for p in unique if p.id in plans and plans[p.id].forecast_on != f.today]
    fresh: dict[int, int | None] = {}
    if stale:
        db.session.scalars(
            select(Project)
            .where(Project.id.in_([p.id for p in stale]))
            .options(selectinload(Project.steps))
        ).all()
        for project in stale:
            fresh[project.id] = complete_days(schedule_of(project, as_of=f.today))
    result = []
    for project in unique:
        plan = plans.get(project.id)
        forecast = fresh.get(project.id, plan.forecast_days if plan else None)
        result.append(PlanSummary(project, plan, counts.get(project.id, Counter()), forecast))
    return result


def project_page(f: BoardFilter, user: User) -> Page:
    """A page of the projects the user may see, most urgent first: earliest open due date
    (overdue before warning before on track), projects with nothing due last."""
    urgency = ProjectPlan.next_due_on
    query = select(Project).outerjoin(Project.plan).where(policy.visible_projects(user))
    query = _project_filters(query, f, user)
    if f.state:
        query = query.where(_state_of(urgency, f))
    if f.department is not None:
        query = query.where(
            Project.steps.any(
                and_(RoadmapStep.due_on.is_not(None), _department_of_step(f.department))
            )
        )
    total = db.session.scalar(query.with_only_columns(func.count(Project.id)).order_by(None))
    if f.after is not None:
        day, ident = f.after
        if day is None:
            query = query.where(urgency.is_(None), Project.id > ident)
        else:
            query = query.where(
                or_(urgency > day, and_(urgency == day, Project.id > ident), urgency.is_(None))
            )
    found = db.session.scalars(
        query.options(
            contains_eager(Project.plan),
            joinedload(Project.enterprise),
            joinedload(Project.concierge),
            joinedload(Project.expert),
        )
        .order_by(urgency.is_(None), urgency, Project.id)
        .limit(PAGE_SIZE + 1)
    ).all()
    more = len(found) > PAGE_SIZE
    found = found[:PAGE_SIZE]
    counts = _counts([p.id for p in found], f)
    rows = [
        PlanSummary(
            p, p.plan, counts.get(p.id, Counter()), p.plan.forecast_days if p.plan else None
        )
        for p in found
    ]
    last = found[-1] if more else None
    next_after = (
        cursor_text(last.plan.next_due_on if last.plan else None, last.id) if last else None
    )
    return Page(rows, Counter({"projects": total}), next_after, f)
