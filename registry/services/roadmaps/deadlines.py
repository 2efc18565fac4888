"""Deadlines: the daily check that raises warning and overdue notifications (idempotent) and the
notifications a user may read. The staff dashboards over the stored plans are in boards.py."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from registry import policy
from registry.extensions import db
from registry.models.accounts import User
from registry.models.projects import Project
from registry.models.roadmap import (
    DeadlineState,
    Notification,
    NotificationRead,
    RoadmapStep,
)
from registry.pure.scheduling import Schedule
from registry.services import notify
from registry.services.audit import record
from registry.services.batches import Batches, batch_rows, exhaust, id_batches
from registry.services.roadmaps.plans import (
    deadline_state,
    ensure_roadmaps,
    replan,
    visible_project_ids,
)

# Projects per batch of deadline_batches (each is re-planned on the working-day calendar).
DEADLINE_BATCH = 8


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
    Projects without a roadmap (registered before roadmaps existed) are given one first.
    Runs in the current transaction; `deadline_batches` is the same check in batches."""
    return exhaust(deadline_batches(today, lead))


def deadline_batches(today: date, lead: int, size: int = DEADLINE_BATCH) -> Batches[dict[str, int]]:
    """check_deadlines in batches of `size` projects (services/batches.py): the caller commits
    after each. Each batch is idempotent (the notifications' unique key), so a run stopped
    between batches is completed by the next one."""
    counts = {"warning": 0, "overdue": 0, "projects": 0}
    _serialise_runs()
    counts["roadmaps"] = ensure_roadmaps("system:check-deadlines")
    yield counts["roadmaps"]
    planned = select(Project.id).where(Project.land_contract_date.is_not(None))
    for ids in id_batches(planned, Project.id, size):
        _serialise_runs()
        _check_projects(ids, today, lead, counts)
        yield len(ids)
    if counts["warning"] or counts["overdue"]:
        record(
            "deadlines.check",
            actor="system:check-deadlines",
            object_type="notification",
            object_id=today.isoformat(),
            after=counts,
        )
    return counts


def _serialise_runs() -> None:
    """Two runs at once (cron overlapping a manual run) take turns batch by batch on
    PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(hashtext('check-deadlines'))"))


def _check_projects(ids: list[int], today: date, lead: int, counts: dict[str, int]) -> None:
    """Re-plan these projects and raise their new notifications (one batch)."""
    projects = batch_rows(Project, ids, selectinload(Project.steps), selectinload(Project.plan))
    # What was already raised on these projects, loaded once rather than step by step.
    raised = {
        tuple(row)
        for row in db.session.execute(
            select(Notification.step_id, Notification.kind, Notification.due_on).where(
                Notification.project_id.in_(ids)
            )
        )
    }
    for project in projects:
        schedule = replan(project, today)  # the stored plan and forecast as of the check's day
        counts["projects"] += 1
        raised_here: list[tuple[DeadlineState, str]] = []
        for step in project.steps:
            state = deadline_state(step, today, lead)
            if state == DeadlineState.ON_TRACK:
                continue
            key = (step.id, state.value, step.planned_finish)
            if key in raised:
                continue
            raised.add(key)
            message = _message(step, state, _provisional(schedule, step))
            try:
                with db.session.begin_nested():
                    db.session.add(
                        Notification(
                            project_id=project.id,
                            step_id=step.id,
                            kind=state.value,
                            due_on=step.planned_finish,
                            message=message,
                        )
                    )
            except IntegrityError:
                continue  # a concurrent run created it first
            raised_here.append((state, message))
            counts["warning" if state == DeadlineState.WARNING else "overdue"] += 1
        if raised_here:
            _mail_project_people(project, raised_here)


def project_people(project: Project) -> list[User]:
    """Who acts on a project's roadmap: its enterprise's accounts, its 帮办管家 and 审批专家."""
    owners = db.session.scalars(
        select(User).where(policy.enterprise_accounts(project.enterprise_id)).order_by(User.id)
    )
    return [*owners, project.concierge, project.expert]


def _mail_project_people(project: Project, raised: list[tuple[DeadlineState, str]]) -> None:
    """One mail to each of the project's people with the notices this check raised on it
    (everyone who may see the project already reads them in the site)."""
    states = {state for state, _message in raised}
    kind = DeadlineState.OVERDUE.value if DeadlineState.OVERDUE in states else raised[0][0].value
    lines = "\n".join(f"{number}. {message}" for number, (_s, message) in enumerate(raised, 1))
    notify.notify(
        project_people(project),
        "roadmap",
        f"审批路线图有 {len(raised)} 条新的提醒:\n{lines}",
        link=f"/projects/{project.code}/roadmap",
        kind=kind,
        subject=f"审批路线图{kind}:项目 {project.code} {project.name}",
        in_site=False,
    )


def _addressed_to(user: User, projects):
    """Notifications on the given projects, and those addressed to the user."""
    return Notification.project_id.in_(projects) | (Notification.user_id == user.id)


def notifications_for(
    user: User, *, mine_only: bool = False, limit: int = 200
) -> list[tuple[Notification, bool]]:
    """Notifications on the projects the user may see, newest first, with whether they were read.
    `mine_only` keeps a staff member to the projects they serve as concierge or expert."""
    projects = visible_project_ids(user)
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
        _addressed_to(user, visible_project_ids(user)), ~was_read
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
