"""The open dates that depend on the working-day calendar (plans of open steps, contract
windows, service due dates, rating windows, credit windows and answer deadlines), as the calendar
answers now: what `calendars` compares before and after a change to tell the people concerned."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from registry import policy
from registry.extensions import db
from registry.kernel import clock
from registry.models.accounts import User
from registry.models.credit import CreditRecord, CreditStatus, Objection
from registry.models.market import Award, Engagement, EngagementStatus, SelectionRequest
from registry.models.providers import Provider


@dataclass(frozen=True)
class Move:
    """One open date that a calendar change moved."""

    key: tuple[str, int]
    label: str
    old: date
    new: date
    user_ids: tuple[int, ...]
    project_id: int | None = None
    link: str | None = None


STORED = ("due", "disclosure", "objection", "answer")
OPEN_ENGAGEMENT = (
    EngagementStatus.IN_PROGRESS.value,
    EngagementStatus.SUBMITTED.value,
    EngagementStatus.RETURNED.value,
)


def _users_of_enterprise(enterprise_id: int | None) -> tuple[int, ...]:
    if enterprise_id is None:
        return ()
    return tuple(
        db.session.scalars(select(User.id).where(policy.enterprise_accounts(enterprise_id)))
    )


def _regulators_of(department_id: int) -> tuple[int, ...]:
    return tuple(
        db.session.scalars(select(User.id).where(policy.department_accounts(department_id)))
    )


# add(key, label, day, user ids, project id, link): note one open date.
Add = Callable[..., None]


def open_dates(*, open_only: bool) -> dict[tuple[str, int], Move]:
    """Every date that depends on the working-day calendar, as the calendar answers now: plans
    of open steps, contract windows, service due dates, rating windows not yet used, credit
    windows and answer deadlines. `open_only` keeps those not yet past (the ones a change may
    move: a passed deadline is never reopened)."""
    today = clock.today()
    found: dict[tuple[str, int], Move] = {}

    def add(
        key: tuple[str, int],
        label: str,
        day: date | None,
        users: tuple[int, ...],
        project_id: int | None = None,
        link: str | None = None,
    ) -> None:
        if day is not None and not (open_only and day < today):
            found[key] = Move(key, label, day, day, tuple(users), project_id, link)

    _step_dates(add)
    _engagement_dates(add)
    _credit_dates(add)
    return found


def _step_dates(add: Add) -> None:
    """Roadmaps: each open step's planned finish."""
    from registry.services.roadmaps import plans

    # Roadmaps: each open step's planned finish (read by everyone who sees the project).
    projects = plans.planned_projects()
    for project in projects:
        schedule = plans.schedule_of(project)
        for step in project.steps:
            planned = schedule.steps.get(step.key) if schedule else None
            if planned is None or planned.skipped or step.status_enum.is_closed:
                continue
            add(
                ("step", step.id),
                f"项目 {project.code}“{step.name}”计划办结日",
                planned.finish,
                (),
                project.id,
                f"/projects/{project.code}/roadmap",
            )


def _engagement_dates(add: Add) -> None:
    """Engagements: the contract window, the service timer, the rating window."""
    from registry.services import delivery

    owners: dict[int | None, tuple[int, ...]] = {}
    # Engagements not finished with: the contract window, the service timer, the rating window.
    engagements = db.session.scalars(
        select(Engagement)
        .where((Engagement.status != EngagementStatus.CONFIRMED.value) | ~Engagement.rating.has())
        .options(
            selectinload(Engagement.award)
            .selectinload(Award.request)
            .selectinload(SelectionRequest.project),
            selectinload(Engagement.award).selectinload(Award.provider),
            selectinload(Engagement.rating),
        )
    ).all()
    for engagement in engagements:
        award = engagement.award
        enterprise_id = award.request.project.enterprise_id
        if enterprise_id not in owners:
            owners[enterprise_id] = _users_of_enterprise(enterprise_id)
        owner_ids = owners[enterprise_id]
        provider = (award.provider.account_id,) if award.provider.account_id else ()
        name, link = award.request.ref, f"/my/engagements/{engagement.id}"
        if engagement.status == EngagementStatus.AWAITING_CONTRACT.value:
            add(
                ("contract", engagement.id),
                f"{name} 签约期限",
                delivery.contract_deadline(engagement),
                owner_ids,
                None,
                link,
            )
        elif engagement.status in OPEN_ENGAGEMENT:
            add(
                ("due", engagement.id),
                f"{name} 服务到期日",
                engagement.due_date,
                owner_ids + provider,
                None,
                link,
            )
        elif engagement.confirmed_at is not None and engagement.rating is None:
            window = delivery.rating_window(engagement)
            add(
                ("rating", engagement.id),
                f"{name} 评价截止日",
                window.closes_on,
                owner_ids,
                None,
                link,
            )


def _credit_dates(add: Add) -> None:
    """Credit notices: the 公示期 and the objection window; open objections: the answer deadline."""
    # Credit notices: the 公示期 and the objection window; open objections: the answer deadline.
    records = db.session.scalars(
        select(CreditRecord).where(
            CreditRecord.status == CreditStatus.PUBLISHED.value,
            CreditRecord.objection_until.is_not(None),
        )
    ).all()
    accounts = (
        dict(
            db.session.execute(
                select(Provider.id, Provider.account_id).where(
                    Provider.id.in_({r.provider_id for r in records})
                )
            ).all()
        )
        if records
        else {}
    )
    for item in records:
        users = (accounts[item.provider_id],) if accounts.get(item.provider_id) else ()
        link = f"/notices/{item.number}"
        add(
            ("disclosure", item.id),
            f"信用记录 {item.number} 公示期截止日",
            item.disclosure_until,
            users + _regulators_of(item.department_id),
            None,
            link,
        )
        add(
            ("objection", item.id),
            f"信用记录 {item.number} 异议截止日",
            item.objection_until,
            users,
            None,
            link,
        )
    for objection in db.session.scalars(select(Objection).where(Objection.outcome.is_(None))):
        add(
            ("answer", objection.id),
            f"对信用记录 {objection.record.number} 的异议答复期限",
            objection.answer_due,
            _regulators_of(objection.record.department_id),
            None,
            f"/regulator/credit/objections/{objection.id}",
        )
