"""What waits for a signed-in user (待办事项): counts of pending work, each with the page that
lists it. Which kinds a role sees is policy (policy.pending_work_kinds); the counts reuse the
queries of the pages they link to, so a count and its page agree."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import case, func, select

from registry import policy
from registry.extensions import db
from registry.models import (
    EngagementStatus,
    Project,
    Provider,
    ProviderStatus,
    Quote,
    RequestStatus,
    SelectionRequest,
)
from registry.models.accounts import User
from registry.models.evaluation import EvaluationPeriod, PeriodStatus
from registry.models.roadmap import RoadmapStep
from registry.services import credit, delivery, market, objections
from registry.services.practitioners import conflicts, staff, standing
from registry.services.providers import waiting_days
from registry.services.roadmaps.stored import warn_until


@dataclass(frozen=True)
class Pending:
    """One kind of pending work: how many, where they are listed, and a line of detail."""

    kind: str
    label: str
    count: int
    endpoint: str
    args: dict[str, str] = field(default_factory=dict)
    detail: str = ""
    urgent: int = 0  # how many of them are past due (shown as such)


@dataclass(frozen=True)
class Moment:
    """When the counts are taken: now (UTC), today in Beijing, the warning lead."""

    now: datetime
    today: date
    lead: int


# --------------------------------------------------------------------------- enterprise


def _own_requests(user: User):
    """Filter on SelectionRequest: requests on the projects the user may see (its own)."""
    return SelectionRequest.project_id.in_(select(Project.id).where(policy.visible_projects(user)))


def _requests_to_decide(user: User, at: Moment) -> list[Pending]:
    """Open requests past their deadline, waiting for the owner's 确定结果; and the quotes they
    received (counted only after the deadline: before it quotes are sealed, even their number)."""
    closed = select(SelectionRequest.id).where(
        _own_requests(user),
        SelectionRequest.status == RequestStatus.OPEN.value,
        SelectionRequest.deadline <= at.now,
    )
    requests = db.session.scalar(select(func.count()).select_from(closed.subquery())) or 0
    pairs = select(Quote.request_id, Quote.provider_id).where(Quote.request_id.in_(closed))
    bidders = db.session.scalar(select(func.count()).select_from(pairs.distinct().subquery()))
    return [
        Pending(
            "requests.to_decide",
            "报名已截止、待确定结果的选取公告",
            requests,
            "market.my_projects",
            detail="在项目页打开公告,查看报价并确定结果。",
        ),
        Pending(
            "quotes.received",
            "待确定结果的公告收到的报价(家)",
            bidders or 0,
            "market.my_projects",
            detail="报价截止前密封,截止后才计入。",
        ),
    ]


def _engagements_of_owner(user: User, at: Moment) -> list[Pending]:
    """Results waiting for the owner's confirmation, contracts to record, ratings to give."""
    engagements = delivery.engagements_for_owner(user)
    submitted = sum(e.status == EngagementStatus.SUBMITTED.value for e in engagements)
    unsigned = sum(e.status == EngagementStatus.AWAITING_CONTRACT.value for e in engagements)
    to_rate = sum(
        e.status == EngagementStatus.CONFIRMED.value
        and e.rating is None
        and delivery.rating_window(e, at.today).is_open
        for e in engagements
    )
    return [
        Pending(
            "engagements.to_confirm", "待确认的服务成果", submitted, "engagements.list_engagements"
        ),
        Pending(
            "engagements.to_sign", "待登记签约日期的服务", unsigned, "engagements.list_engagements"
        ),
        Pending(
            "engagements.to_rate",
            "待评价的服务",
            to_rate,
            "engagements.list_engagements",
            detail="成果确认后的评价期内可评价。",
        ),
    ]


def _due_steps(user: User, at: Moment, endpoint: str, args: dict[str, str]) -> list[Pending]:
    """Roadmap steps in 到期预警 or 超时 on the projects the user may see (the deadline
    dashboard's rule: a planned finish up to the warning lead ahead)."""
    total, overdue = db.session.execute(
        select(
            func.count(RoadmapStep.id),
            func.coalesce(func.sum(case((RoadmapStep.due_on < at.today, 1), else_=0)), 0),
        )
        .join(RoadmapStep.project)
        .where(
            RoadmapStep.due_on.is_not(None),
            RoadmapStep.due_on <= warn_until(at.today, at.lead),
            policy.visible_projects(user),
        )
    ).one()
    return [
        Pending(
            "steps.due",
            "到期预警或已超时的审批步骤",
            total,
            endpoint,
            args,
            detail=f"其中已超时 {overdue} 项。" if overdue else "",
            urgent=overdue,
        )
    ]


# --------------------------------------------------------------------------- provider


def _provider_work(user: User, at: Moment) -> list[Pending]:
    """Open requests it may still quote on (not yet quoted), and engagements to deliver."""
    provider = db.session.scalar(select(Provider).where(Provider.account_id == user.id))
    if provider is None or provider.status != ProviderStatus.ACTIVE.value:
        status = provider.status if provider is not None else "尚未申请"
        return [
            Pending(
                "provider.entry",
                "本机构入驻",
                0,
                "providers.my_provider",
                detail=f"当前状态:{status}。入驻通过后才能报名选取公告。",
            )
        ]
    quoted = set(
        db.session.scalars(select(Quote.request_id).where(Quote.provider_id == provider.id))
    )
    to_quote = [
        r
        for r in market.open_requests_for(provider, at.today)
        if r.deadline > at.now and r.id not in quoted
    ]
    engagements = delivery.engagements_for_provider(user)
    delivering = {EngagementStatus.IN_PROGRESS.value, EngagementStatus.RETURNED.value}
    returned = sum(e.status == EngagementStatus.RETURNED.value for e in engagements)
    # What the firm may still object to, and documents near their end (the page said 没有 while
    # both waited: a tester, stop 31).
    open_now = [r for r in credit.records_about(user) if credit.can_object(r, at.today)]
    until = at.today + timedelta(days=int(current_app.config["EXPIRY_NOTICE_DAYS"]))
    expiring_qualifications = [
        q for q in provider.qualifications if at.today <= q.valid_to <= until
    ]
    expiring_certificates = [
        c
        for employment in staff.current_staff(provider)
        for c in employment.practitioner.certificates
        if c.withdrawn_on is None and at.today <= c.valid_to <= until
    ]
    return [
        Pending(
            "requests.to_quote",
            "可报名、尚未报名的选取公告",
            len(to_quote),
            "market.opportunities",
        ),
        Pending(
            "credit.to_object",
            "异议期内的本机构信用记录",
            len(open_now),
            "credit.my_records",
            detail="对记录有异议的,请在异议截止日前提出。" if open_now else "",
        ),
        Pending(
            "qualifications.expiring",
            "即将到期的资质",
            len(expiring_qualifications),
            "providers.my_provider",
            detail="请及时办理延续并新增延续后的资质。" if expiring_qualifications else "",
        ),
        Pending(
            "certificates.expiring",
            "在职人员即将到期的证书",
            len(expiring_certificates),
            "practitioners.list_practitioners",
            detail="请及时更新续期后的证书有效期。" if expiring_certificates else "",
        ),
        Pending(
            "engagements.to_deliver",
            "待提交成果的服务",
            sum(e.status in delivering for e in engagements),
            "engagements.list_work",
            detail=f"其中被退回待重新提交 {returned} 项。" if returned else "",
            urgent=returned,
        ),
    ]


# --------------------------------------------------------------------------- regulator


def _regulator_work(user: User, at: Moment) -> list[Pending]:
    """Its department's open evaluation periods, and objections to answer (overdue marked)."""
    if policy.regulator_department(user) is None:
        return []
    periods = db.session.scalar(
        select(func.count(EvaluationPeriod.id)).where(
            policy.department_records(user, EvaluationPeriod.department_id),
            EvaluationPeriod.status == PeriodStatus.OPEN.value,
        )
    )
    waiting = credit.objections_for_department(user, open_only=True)
    return [
        Pending(
            "periods.to_fill",
            "进行中、待录入得分的考评周期",
            periods or 0,
            "evaluations.list_periods",
        ),
        _to_answer("objections", "信用记录", waiting, "credit.regulator_objections", at),
    ]


# --------------------------------------------------------------------------- practitioner


def _person_work(user: User, at: Moment) -> list[Pending]:
    """Records against the person still open to an objection (the window runs, none pending)."""
    person = credit.person_of(user)
    if person is None:
        return [
            Pending(
                "person.unlinked",
                "本人从业信息",
                0,
                "person.show_person",
                detail="账户尚未关联从业人员信息,请联系所在机构或政务服务办公室。",
            )
        ]
    records = standing.person_records(person, public=False)
    open_now = [r for r in records if credit.can_object(r, at.today)]
    return [
        Pending(
            "person.to_object",
            "异议期内的本人信用记录",
            len(open_now),
            "credit.my_person_records",
            detail="对记录有异议的,请在异议截止日前提出。" if open_now else "",
        )
    ]


# --------------------------------------------------------------------------- 政务办


def _review_queue(user: User, at: Moment) -> list[Pending]:
    """Provider applications waiting for review, and how long the oldest has waited."""
    oldest = db.session.scalars(
        select(Provider)
        .where(Provider.status == ProviderStatus.PENDING.value)
        .order_by(Provider.submitted_at, Provider.id)
    ).all()
    waited = waiting_days(oldest[0], at.today) if oldest else None
    return [
        Pending(
            "providers.to_review",
            "待审核的入驻申请",
            len(oldest),
            "admin.providers.review_queue",
            detail=f"等待最久的已 {waited} 天。" if waited else "",
        )
    ]


def _award_objections(user: User, at: Moment) -> list[Pending]:
    """Objections to award notices waiting for an answer (those past their deadline marked)."""
    waiting = [o for o in market.objections_queue(user) if o.is_open]
    return [_to_answer("award_objections", "中选结果", waiting, "market.award_objections", at)]


def _to_answer(key: str, about: str, waiting: list, endpoint: str, at: Moment) -> Pending:
    """Open objections (to `about`) waiting for an answer; those past their deadline are urgent."""
    overdue = sum(objections.is_overdue(o, at.today) for o in waiting)
    return Pending(
        f"{key}.to_answer",
        f"待答复的{about}异议",
        len(waiting),
        endpoint,
        detail=f"其中已逾期 {overdue} 件。" if overdue else "",
        urgent=overdue,
    )


def _conflicts(user: User, at: Moment) -> list[Pending]:
    """Recent 挂证嫌疑 conflicts between two entered providers (a regulator: its supervised
    providers'), so that someone checks which registration is true."""
    events = conflicts.recent_conflicts(at.today, policy.review_scope(user))
    return [
        Pending(
            "practitioner.conflicts",
            f"近 {conflicts.CONFLICT_DAYS} 天两家已入驻机构的挂证嫌疑冲突",
            len(events),
            "people.list_conflicts",
            detail="请核实哪一方的登记属实;政务服务办公室可在从业人员完整信息页作废登记。"
            if events
            else "",
        )
    ]


# Each kind policy may name → how it is counted.
COUNTERS: dict[str, Callable[[User, Moment], list[Pending]]] = {
    "requests.to_decide": _requests_to_decide,
    "engagements.owner": _engagements_of_owner,
    "steps.own": lambda user, at: _due_steps(user, at, "market.my_projects", {}),
    "provider.work": _provider_work,
    "regulator.work": _regulator_work,
    "person.work": _person_work,
    "providers.to_review": _review_queue,
    "award_objections": _award_objections,
    "practitioner.conflicts": _conflicts,
    "steps.all": lambda user, at: _due_steps(user, at, "deadlines.show_dashboard", {}),
}


def pending_work(user: User, at: Moment) -> list[Pending]:
    """The pending work the user's role sees (policy.pending_work_kinds), in policy's order."""
    found: list[Pending] = []
    for kind in policy.pending_work_kinds(user):
        found += COUNTERS[kind](user, at)
    return found
