"""Stored plans: what the staff dashboards read instead of re-planning every project per request.

`plans.replan` writes them — each step's planned dates, its `due_on` (the planned finish while the
step is open and could be worked on) and the project's `ProjectPlan` (plan and forecast against
the target, the earliest due date) — whenever a plan's inputs change: a step's progress or
options, the project's particulars (both also caught by the session hooks in `hooks.py`), a
year's holiday arrangement (services/calendars.py) and, for the forecast, which moves with
today, the daily check. Deadline states are never stored: a step is 超时 when its `due_on` is
before today and 到期预警 up to `warn_until(today, lead)`, so a new day changes no row.

Services flush and log; the caller commits."""

from __future__ import annotations

from datetime import date, timedelta

from registry.extensions import db
from registry.models.projects import Project
from registry.models.roadmap import ProjectPlan
from registry.pure.scheduling import Schedule
from registry.pure.workdays import CalendarRangeError, working_days_between

# The session's set of projects whose plan inputs changed since they were last re-planned.
PENDING = "roadmap_plans_pending"


def complete_days(schedule: Schedule | None) -> int | None:
    """A plan's days from the land contract to its last finish, when every step could be dated."""
    if schedule is None or not schedule.complete:
        return None
    return schedule.total_days


def store_plan(
    project: Project, schedule: Schedule | None, forecast: Schedule | None, today: date
) -> ProjectPlan:
    """Write the project's ProjectPlan from the plan and forecast just computed (the steps'
    due_on already written); only changed values reach the database."""
    plan = project.plan
    if plan is None:
        plan = ProjectPlan(project_id=project.id)
        db.session.add(plan)
        project.plan = plan
    total = complete_days(schedule)
    dues = [s.due_on for s in project.steps if s.due_on is not None]
    years = set(schedule.provisional_years if schedule else [])
    years.update(forecast.provisional_years if forecast else [])
    values = {
        "scheduled": schedule is not None,
        "total_days": total,
        "finish": schedule.finish if total is not None else None,
        "forecast_days": complete_days(forecast),
        "forecast_on": today,
        "next_due_on": min(dues) if dues else None,
        "provisional": bool(years),
    }
    for name, value in values.items():
        if getattr(plan, name) != value:
            setattr(plan, name, value)
    return plan


def warn_until(today: date, lead: int) -> date:
    """The last planned finish still in 到期预警 today: at most `lead` working days ahead (past
    the known calendar, `lead` calendar days — as the deadline state counts)."""
    day = today
    try:
        while working_days_between(today, day + timedelta(days=1)) <= lead:
            day += timedelta(days=1)
    except CalendarRangeError:
        return max(day, today + timedelta(days=lead))
    return day


def replanned(project: Project) -> None:
    """replan() stored this project's plan: the commit hook need not re-plan it (hooks.py)."""
    pending = db.session.info.get(PENDING)
    if pending:
        pending.discard(project.id)
