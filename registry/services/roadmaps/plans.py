"""A project's roadmap ("一张图"): its copy of the template's steps, the plan over China's
working-day calendar (planned dates stored, re-planned on every change), deadline states, and the
`Roadmap` view that the pages, the checklist and the API show.

Services flush and log; the caller commits. Who may see a project is `policy.can_see_project`
(the owning enterprise's accounts, staff and admins): another project is simply not found.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from registry import policy
from registry.extensions import db
from registry.models.accounts import User
from registry.models.catalogue import ApprovalItem, ServiceItem
from registry.models.projects import Project, ProjectCategory
from registry.models.roadmap import (
    STAGE_NAMES,
    DeadlineState,
    RoadmapStep,
    RoadmapTemplate,
    StepStatus,
)
from registry.pure.scheduling import Schedule, Step, plan
from registry.pure.workdays import CalendarRangeError, working_days_between
from registry.services import market
from registry.services.audit import record
from registry.services.batches import Batches, id_batches
from registry.services.roadmaps.stored import complete_days, replanned, store_plan
from registry.services.roadmaps.templates import STEP_FIELDS, get_template


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
        of=project,
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


def replan(project: Project, today: date | None = None) -> Schedule | None:
    """Recompute the plan and the forecast as of `today` and store them: each step's planned
    dates and due date, and the project's ProjectPlan (stored.py) that the dashboards read."""
    schedule = schedule_of(project)
    db.session.flush()
    today = today or market.today()
    forecast = schedule_of(project, as_of=today) if schedule is not None else None
    for step in project.steps:
        planned = schedule.steps.get(step.key) if schedule else None
        dated = planned is not None and not planned.skipped
        start, finish = (planned.start, planned.finish) if dated else (None, None)
        values = {
            "planned_start": start,
            "planned_finish": finish,
            "due_on": finish if _tracked(step) else None,
            "planned_provisional": bool(dated and planned.provisional),
        }
        if any(getattr(step, name) != value for name, value in values.items()):
            # A derived cache, written without the version bump: re-planning (the cron, another
            # step's progress) must not make someone's open progress form stale.
            db.session.execute(
                update(RoadmapStep)
                .where(RoadmapStep.id == step.id)
                .values(**values)
                .execution_options(synchronize_session=False, roadmap_internal=True)
            )
            for name, value in values.items():
                set_committed_value(step, name, value)
    store_plan(project, schedule, forecast, today)
    replanned(project)
    return schedule


def _tracked(step: RoadmapStep) -> bool:
    """Whether the step's deadline counts: open, taking time, and startable (deadline_state)."""
    closed = step.status_enum.is_closed or step.skipped
    return not closed and _startable(step)


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
    # The finish as of today (the forecast the headline reads) when it differs from the plan.
    forecast_finish: date | None = None
    # Calendar days past the planned finish while the step is 超时 (pure/lateness.py levels).
    days_late: int | None = None


_complete_days = complete_days


class AgainstTarget:
    """The days against the project category's target, for a view with `project`, `total_days`
    (the plan) and `forecast_days` (as of today): the roadmap and a project table's row."""

    @property
    def target_days(self) -> int:
        """The category's target in days."""
        return ProjectCategory(self.project.category).target_days

    @property
    def margin_days(self) -> int | None:
        """Target minus total: slack when positive, overrun when negative."""
        return self._margin(self.total_days)

    @property
    def forecast_margin_days(self) -> int | None:
        """Target minus the forecast: slack when positive, overrun when negative."""
        return self._margin(self.forecast_days)

    def _margin(self, days: int | None) -> int | None:
        return None if days is None else self.target_days - days


@dataclass
class Roadmap(AgainstTarget):
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
        return _complete_days(self.forecast)

    @property
    def total_days(self) -> int | None:
        """Calendar days from the land contract to the last planned finish (complete plans)."""
        return _complete_days(self.schedule)

    @property
    def counts(self) -> Counter:
        """How many open steps are in warning and overdue."""
        return Counter(row.state for row in self.rows)

    @property
    def most_days_late(self) -> int | None:
        """The lateness of the latest overdue step (the plan's alerts show its level)."""
        return max((row.days_late for row in self.rows if row.days_late), default=None)

    @property
    def leads_with_forecast(self) -> bool:
        """Whether the page's headline is the forecast: when it could be worked out in full and
        differs from the plan (a late step moved it); otherwise the plan, which it equals."""
        return self.forecast_days is not None and self.forecast_days != self.total_days


def planned_projects() -> list[Project]:
    """Every project with a land-contract date (so with a plan) and its steps, by id."""
    return list(
        db.session.scalars(
            select(Project)
            .where(Project.land_contract_date.is_not(None))
            .options(selectinload(Project.steps), selectinload(Project.plan))
            .order_by(Project.id)
        )
    )


def store_missing_plans(size: int = 50) -> Batches[int]:
    """Store the plan of every project that has none yet (projects registered before plans were
    stored: `registry init-db` runs it after migrating), in batches the caller commits."""
    missing = select(Project.id).where(~Project.plan.has())
    total = 0
    for ids in id_batches(missing, Project.id, size):
        query = select(Project).where(Project.id.in_(ids))
        for project in db.session.scalars(query.options(selectinload(Project.steps))):
            replan(project)
        total += len(ids)
        yield len(ids)
    return total


def with_plan(query):
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


def services_of(projects: list[Project]) -> dict[str, ServiceItem]:
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
    service items of all of them loaded once (see services_of)."""
    today = today or market.today()
    schedule = schedule_of(project)
    if services is None:
        services = services_of([project])
    forecast = schedule_of(project, as_of=today)
    result = Roadmap(project, schedule, today=today, forecast=forecast)
    ordered = sorted(project.steps, key=lambda s: (s.stage, s.sequence))
    for step in ordered:
        planned = schedule.steps.get(step.key) if schedule else None
        finish = planned.finish if planned and not planned.skipped else None
        expected = forecast.steps.get(step.key) if forecast else None
        expected_finish = expected.finish if expected and not expected.skipped else None
        state = _state(step, finish, today, lead, _startable(step))
        item = step.approval_item or step.service_item
        result.rows.append(
            RoadmapRow(
                step=step,
                stage_name=STAGE_NAMES.get(step.stage, f"第{step.stage}阶段"),
                ready=planned.ready if planned else None,
                start=planned.start if planned and not planned.skipped else None,
                finish=finish,
                critical=bool(planned and planned.critical),
                slack_days=planned.slack_days if planned else None,
                state=state,
                services=[services[c] for c in step.services or [] if c in services],
                department=item.department if item else None,
                provisional=bool(planned and planned.provisional and not planned.skipped),
                forecast_finish=expected_finish if expected_finish != finish else None,
                days_late=(today - finish).days if state == DeadlineState.OVERDUE else None,
            )
        )
    return result


def get_roadmap_for(user: User, code: str) -> Project:
    """A project whose roadmap the user may see (another's project is simply not found)."""
    return market.get_project_for(user, code)


def visible_project_ids(user: User):
    """A select of the project ids the user may see (policy.visible_projects)."""
    return select(Project.id).where(policy.visible_projects(user))
