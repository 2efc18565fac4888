"""Selection requests (选取公告) on a project's service item: opened by the owner, who may take
part (eligible providers, candidates with their credit), and sealed quotes."""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import case, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from registry import policy
from registry.extensions import db
from registry.kernel import clock
from registry.kernel.paging import Page, paginate
from registry.models import (
    Exclusion,
    Offer,
    Provider,
    ProviderStatus,
    Quote,
    RequestStatus,
    SelectionMethod,
    SelectionRequest,
    User,
)
from registry.models.types import utcnow
from registry.pure import selection_engine as engine
from registry.pure.money import format_money
from registry.pure.workdays import add_working_days
from registry.services import notify
from registry.services.audit import record, snapshot
from registry.services.catalogue import get_service
from registry.services.errors import Forbidden, NotFound, RegistryError, decimal_field
from registry.services.market import people, staffing
from registry.services.market.projects import SHANGHAI, get_project_for, today
from registry.services.practitioners import staff
from registry.services.providers import qualification_types
from registry.services.revisions import insert_revision


def provider_by_uscc(uscc: str) -> Provider:
    """A provider by its code, or NotFound."""
    provider = db.session.scalar(select(Provider).where(Provider.uscc == (uscc or "").upper()))
    if provider is None:
        raise NotFound("未找到该中介机构")
    return provider


def min_notice_workdays() -> int:
    """REQUEST_MIN_NOTICE_WORKDAYS: the shortest notice a request may give, in working days."""
    return int(current_app.config["REQUEST_MIN_NOTICE_WORKDAYS"])


def earliest_deadline(on: date | None = None) -> date:
    """The first day a request posted on `on` (today) may close: the REQUEST_MIN_NOTICE_WORKDAYS-th
    working day after it on the China calendar (holidays and make-up days counted)."""
    return add_working_days(on or today(), min_notice_workdays())


def latest_deadline(on: date | None = None) -> date:
    """The last day a request posted on `on` (today) may close: REQUEST_MAX_NOTICE_DAYS calendar
    days after it."""
    return (on or today()) + timedelta(days=int(current_app.config["REQUEST_MAX_NOTICE_DAYS"]))


def _checked_deadline(deadline: datetime) -> datetime:
    """The deadline, refused when sooner than the minimum notice period (or already past) or
    later than the longest."""
    if deadline.tzinfo is None:
        raise ValueError("deadline must be timezone-aware")
    earliest, latest = earliest_deadline(), latest_deadline()
    if deadline <= utcnow() or clock.local(deadline).date() < earliest:
        raise RegistryError(
            "deadline",
            f"报名截止时间过早:公告须至少提前 {min_notice_workdays()} 个工作日发布,"
            f"截止时间最早为 {earliest:%Y-%m-%d}(北京时间)",
        )
    if clock.local(deadline).date() > latest:
        raise RegistryError(
            "deadline",
            f"报名截止时间过晚:最晚可设为 {latest:%Y-%m-%d}(北京时间),请核对年份和日期",
        )
    return deadline


def _method_reason(method: str, reason: str | None) -> str | None:
    """The method must be chosen explicitly; 直接选取 needs the reason, which is published."""
    if method not in {m.value for m in SelectionMethod}:
        raise RegistryError("method", "请选择选取方式")
    reason = (reason or "").strip() or None
    if method == SelectionMethod.DIRECT.value:
        if reason is None:
            raise RegistryError(
                "method_reason", "采用直接选取须说明理由,理由将随选取公告和中选公示一并公开"
            )
        return reason
    return None


def _qualification_requirement(text: str | None, reposted_from) -> str | None:
    """A request's 资质要求: empty, or a type from the controlled list (stored by its canonical
    name). A repost keeps the text of the request it re-posts, written before the list."""
    typed = (text or "").strip()
    if not typed:
        return None
    if reposted_from is not None and typed == reposted_from.qualification_requirement:
        return typed
    name = qualification_types.canonical(typed)
    if name is None or name == qualification_types.OTHER:
        raise RegistryError(
            "qualification_requirement",
            f"资质要求“{typed[:100]}”不在资质类型列表中,请从列表中选择,或留空表示持有任一有效资质即可。",
        )
    return name


def open_request(
    user: User,
    project_code: str,
    *,
    service_code: str,
    method: str,
    deadline: datetime,
    method_reason: str | None = None,
    price_min=None,
    price_max=None,
    qualification_requirement: str | None = None,
    requirements: str | None = None,
    exclusions: list[tuple[str, str]] | None = None,
    reposted_from: SelectionRequest | None = None,
    leader_certificate: str | None = None,
    team_certificates=None,
    alongside: bool = True,
    submission_key: str | None = None,
) -> SelectionRequest:
    """Open a selection request on one of the enterprise's own projects; it may require the
    项目负责人's certificate type and team certificate types with counts (people.py). With the
    form's `submission_key`, the same form sent twice posts one request (the first)."""
    project = get_project_for(user, project_code)
    if not policy.owns_project(user, project):
        raise Forbidden("只有项目业主可以发布选取公告")
    if submission_key is not None:
        sent = _sent_before(project.id, submission_key)
        if sent is not None:
            return sent
    service = get_service(service_code)
    if not service.is_current:
        raise RegistryError("service", "该中介服务事项已不在清单内")
    method_reason = _method_reason(method, method_reason)
    low = decimal_field(price_min, "price_min", "价格区间下限")
    high = decimal_field(price_max, "price_max", "价格区间上限")
    if low is not None and high is not None and low > high:
        raise RegistryError("price_max", "价格区间上限不能低于下限")
    leader, team = people.checked_requirements(service, leader_certificate, team_certificates)
    deadline = _checked_deadline(deadline)
    requirement = _qualification_requirement(qualification_requirement, reposted_from)
    if not alongside:  # the form asks the owner to say so (after the form's own errors)
        _refuse_a_second_open_request(project.id, service.id, service.name)
    request = SelectionRequest(
        ref=f"tmp-{secrets.token_hex(8)}",
        project=project,
        service_item=service,
        deadline=deadline,
        method=method,
        method_reason=method_reason,
        price_min=low,
        price_max=high,
        qualification_requirement=requirement,
        requirements=(requirements or "").strip() or None,
        leader_certificate=leader,
        team_certificates=team,
        created_by_id=user.id,
        reposted_from_id=reposted_from.id if reposted_from else None,
        submission_key=submission_key,
    )
    sent = _insert(request)
    if sent is not request:
        return sent
    _exclude(request, exclusions or [])
    db.session.flush()
    record(
        "selection.open",
        actor=user,
        of=request,
        after={
            **snapshot(request),
            "exclusions": [(e.provider.uscc, e.reason) for e in request.exclusions],
            "team_certificates": {r.kind: r.count for r in request.team_certificates},
        },
    )
    _tell_providers(request)
    return request


def _insert(request: SelectionRequest) -> SelectionRequest:
    """Insert the request and number it; or the one the same form posted at the same moment."""
    db.session.add(request)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        db.session.expunge(request)
        sent = _sent_before(request.project.id, request.submission_key or "")
        if sent is None:
            raise
        return sent
    # The public number comes from the row id, so concurrent requests never share one; its year
    # is the year of publication (Beijing), as with every other number here.
    request.ref = f"XQ-{today():%Y}-{request.id:06d}"
    return request


def _exclude(request: SelectionRequest, exclusions: list[tuple[str, str]]) -> None:
    """The providers kept out of the request (回避), each with its reason."""
    for uscc, reason in exclusions:
        if not (reason or "").strip():
            raise RegistryError("exclusions", "每个回避机构都须说明回避理由")
        try:
            provider = provider_by_uscc(uscc)
        except NotFound:
            raise RegistryError("exclusions", f"回避机构 {uscc} 不存在") from None
        if any(e.provider_id == provider.id for e in request.exclusions):
            raise RegistryError("exclusions", f"回避机构 {uscc} 重复")
        request.exclusions.append(Exclusion(provider=provider, reason=reason.strip()))


def _sent_before(project_id: int, submission_key: str) -> SelectionRequest | None:
    """The request this form already posted (a double click); another project's key is stale."""
    if not submission_key or len(submission_key) > 64:
        raise RegistryError(None, "表单已失效,请刷新页面后重新提交")
    sent = db.session.scalar(
        select(SelectionRequest).where(SelectionRequest.submission_key == submission_key)
    )
    if sent is not None and sent.project_id != project_id:
        raise RegistryError(None, "表单已失效,请刷新页面后重新提交")
    return sent


def _refuse_a_second_open_request(project_id: int, service_id: int, name: str) -> None:
    """Refuse a second request for an item of a project while the first has not ended (it would
    compete with it); the form lets the owner say it is meant (另行发布, separate lots)."""
    pending = db.session.scalar(
        select(SelectionRequest.ref).where(
            SelectionRequest.project_id == project_id,
            SelectionRequest.service_item_id == service_id,
            SelectionRequest.status == RequestStatus.OPEN.value,
        )
    )
    if pending is not None:
        raise RegistryError(
            "alongside",
            f"本项目的“{name}”已有选取公告 {pending} 尚未结束。如需修改,请先在该公告页面"
            "撤销(截止前);确需另行发布(如分标段),请勾选“另行发布”后提交。",
        )


def provider_accounts(provider_ids) -> list[User]:
    """The enabled accounts the given providers (ids, or a select of ids) act through."""
    return notify.people(policy.provider_accounts(provider_ids))


def _tell_providers(request: SelectionRequest) -> None:
    """Invite the providers that may take part (active, offering the item, qualified, not
    blacklisted, not excluded, with people who can meet the certificate requirement): those
    who cannot apply are not told."""
    invited = [p.id for p in eligible_providers(request)]
    if not invited:
        return
    project = request.project
    wanted = people.requirement_text(request)
    notify.notify(
        provider_accounts(invited),
        "request",
        f"{project.enterprise.name}为项目“{project.name}”发布了选取需求 {request.ref}"
        f"({request.service_item.name},{request.method}),"
        f"报名截止 {clock.local(request.deadline):%Y-%m-%d %H:%M}。"
        + (f"人员要求:{wanted}。" if wanted else "")
        + "贵机构可在截止前报名。",
        link=f"/my/requests/{request.ref}/quote",
        kind="新选取需求",
        subject=f"新的选取需求 {request.ref}:{request.service_item.name}",
    )


def get_request(ref: str) -> SelectionRequest:
    """A selection request by its public number."""
    request = db.session.scalar(
        select(SelectionRequest)
        .where(SelectionRequest.ref == ref)
        .options(selectinload(SelectionRequest.exclusions))
    )
    if request is None:
        raise NotFound("未找到该选取公告")
    return request


def get_request_for_owner(user: User, ref: str) -> SelectionRequest:
    """A request on one of the user's projects (others: not found)."""
    request = get_request(ref)
    if not policy.can_see_project(user, request.project):
        raise NotFound("未找到该选取公告")
    return request


def list_requests(
    *, status: str | None = None, project_id: int | None = None, page: int = 1, per_page: int = 20
) -> Page:
    """One page of requests, those still taking applications first, then newest first (the
    public list of 选取公告, a project's requests), with what the lists show loaded alongside.
    Newest first alone put the open ones among the finished (a tester, stop 29)."""
    query = select(SelectionRequest)
    if status:
        query = query.where(SelectionRequest.status == status)
    if project_id is not None:
        query = query.where(SelectionRequest.project_id == project_id)
    taking = (SelectionRequest.status == RequestStatus.OPEN.value) & (
        SelectionRequest.deadline > clock.now()
    )
    query = query.order_by(case((taking, 0), else_=1), SelectionRequest.id.desc())
    options = (joinedload(SelectionRequest.project), joinedload(SelectionRequest.service_item))
    return paginate(db.session, query, page, per_page, *options)


def latest_requests_by_item(project_id: int) -> dict[int, SelectionRequest]:
    """A project's requests by item: the one taking applications, else the newest."""
    latest: dict[int, SelectionRequest] = {}
    for request in list_requests(project_id=project_id, per_page=500).items:
        latest.setdefault(request.service_item_id, request)
    return latest


def open_requests(limit: int = 5) -> list[SelectionRequest]:
    """Requests still taking applications (the home page): 报名中 with its deadline ahead,
    closing soonest first, in one statement. A cached page turns when a deadline passes
    (services/freshness.py), so a closed request leaves the list at its deadline."""
    query = (
        select(SelectionRequest)
        .where(
            SelectionRequest.status == RequestStatus.OPEN.value,
            SelectionRequest.deadline > clock.now(),
        )
        .options(joinedload(SelectionRequest.project), joinedload(SelectionRequest.service_item))
        .order_by(SelectionRequest.deadline, SelectionRequest.id)
        .limit(limit)
    )
    return list(db.session.scalars(query))


def _offered_open_requests(provider: Provider) -> list[SelectionRequest]:
    """Open requests on items the provider offers, closing soonest first."""
    items = select(Offer.service_item_id).where(
        Offer.provider_id == provider.id, Offer.is_active.is_(True)
    )
    return list(
        db.session.scalars(
            select(SelectionRequest)
            .where(
                SelectionRequest.status == RequestStatus.OPEN.value,
                SelectionRequest.service_item_id.in_(items),
            )
            .options(
                joinedload(SelectionRequest.project),
                joinedload(SelectionRequest.service_item),
                selectinload(SelectionRequest.exclusions),
                selectinload(SelectionRequest.team_certificates),
            )
            .order_by(SelectionRequest.deadline, SelectionRequest.id)
        )
    )


def opportunities_for(
    provider: Provider, on: date | None = None
) -> tuple[list[SelectionRequest], list[tuple[SelectionRequest, str]]]:
    """The provider's opportunity list: open requests it may apply to (eligible by the rules of
    `eligible_providers`), and those it could apply to but for its people, each with why (the
    certificate requirement its current valid practitioners cannot meet)."""
    on = on or today()
    open_to, out_of_reach = [], []
    for request in _offered_open_requests(provider):
        gap = staffing.staffing_gaps(request, [provider], on).get(provider.id)
        candidate = candidate_for(provider, request, on, staffed=gap is None)
        eligible, reasons = engine.eligibility([candidate], on)
        if eligible:
            open_to.append(request)
        elif gap is not None and reasons[provider.uscc] == "人员不满足要求":
            out_of_reach.append((request, gap))
    return open_to, out_of_reach


def open_requests_for(provider: Provider, on: date | None = None) -> list[SelectionRequest]:
    """Open requests the provider may apply to: for items it offers, and eligible by the same
    rules as `eligible_providers` (its people included), checked for this one provider."""
    return opportunities_for(provider, on)[0]


def candidate_for(
    provider: Provider, request: SelectionRequest, on: date, *, staffed: bool = True
) -> engine.Candidate:
    """How the selection rules see one provider on one request (`staffed`: whether its people
    meet the request's certificate requirement, see staffing.py)."""
    offer = next(
        (
            o
            for o in provider.offers
            if o.service_item_id == request.service_item_id and o.is_active
        ),
        None,
    )
    wanted = request.qualification_requirement
    valid_until = max(
        (
            q.valid_to
            for q in provider.qualifications
            # Not one awaiting the admins' check (待核验): it counts once accepted.
            if q.valid_from <= on
            and not q.pending_review
            and qualification_types.matches(wanted, q.kind, q.kind_note)
        ),
        default=None,
    )
    return engine.Candidate(
        key=provider.uscc,
        name=provider.name,
        active=provider.is_active,
        offers_item=offer is not None,
        qualification_valid_until=valid_until,
        blacklisted=provider.is_blacklisted(on),
        excluded=any(e.provider_id == provider.id for e in request.exclusions),
        grade=provider.grade,
        credit_score=provider.credit_score,
        staffed=staffed,
    )


def eligible_providers(
    request: SelectionRequest, on: date | None = None, *, gaps: dict[int, str] | None = None
) -> list[Provider]:
    """Providers that may apply: active, offering the item, qualified, not blacklisted, not
    excluded, and staffed: their people meet the request's certificate requirement (`gaps`,
    provider id → why not; by default from their practitioners on the day, see staffing.py)."""
    on = on or today()
    providers = db.session.scalars(
        select(Provider)
        .join(Offer, Offer.provider_id == Provider.id)
        .where(Offer.service_item_id == request.service_item_id, Offer.is_active.is_(True))
        .where(Provider.status == ProviderStatus.ACTIVE.value)
        .options(selectinload(Provider.qualifications), selectinload(Provider.offers))
        .order_by(Provider.uscc)
    ).all()
    if gaps is None:
        gaps = staffing.staffing_gaps(request, providers, on)
    keep, _reasons = engine.eligibility(
        [candidate_for(p, request, on, staffed=p.id not in gaps) for p in providers], on
    )
    keys = {c.key for c in keep}
    return [p for p in providers if p.uscc in keys]


def applicant_gap(provider: Provider, request: SelectionRequest, on: date) -> str | None:
    """Why the provider may not apply to the request on the day, every failed rule named (a
    blacklisting with its end, the staffing gap spelled out), or None when it may: the quote page
    says it before the form, and submit_quote refuses with it."""
    gaps = staffing.staffing_gaps(request, [provider], on)
    candidate = candidate_for(provider, request, on, staffed=provider.id not in gaps)
    _keep, reasons = engine.eligibility([candidate], on)
    reason = reasons.get(provider.uscc)
    if reason is None:
        return None
    if provider.is_blacklisted(on):
        reason = reason.replace(
            "已列入黑名单", f"已列入黑名单(至 {provider.blacklisted_until:%Y-%m-%d})"
        )
    if provider.id in gaps:
        reason = reason.replace("人员不满足要求", gaps[provider.id])
    return f"贵机构不符合本次选取的报名条件:{reason}。"


def applicant_gap_of(user: User, request: SelectionRequest) -> str | None:
    """applicant_gap for the user's own provider today (a user without one is told to apply)."""
    provider = db.session.scalar(select(Provider).where(Provider.account_id == user.id))
    if provider is None:
        return "您的账号尚未登记中介机构信息,请先申请入驻。"
    return applicant_gap(provider, request, today())


def provider_of(user: User) -> Provider:
    """The provider a provider account acts for."""
    provider = db.session.scalar(select(Provider).where(Provider.account_id == user.id))
    if provider is None:
        raise RegistryError(None, "您的账号尚未登记中介机构信息,请先申请入驻")
    return provider


def team_choices(user: User, on: date | None = None) -> list[tuple[str, str]]:
    """(id, label) of the practitioners the user's provider may name on a quote today: its own
    staff, so by full name with their valid certificate types (empty without a provider)."""
    provider = db.session.scalar(select(Provider).where(Provider.account_id == user.id))
    if provider is None:
        return []
    on = on or today()
    return [
        (str(p.id), f"{p.name}({'、'.join(c.kind for c in p.certificates if c.is_valid(on))})")
        for p in staff.valid_practitioners(provider, on)
    ]


def latest_quotes(request: SelectionRequest) -> dict[int, Quote]:
    """provider id → that provider's latest quote revision."""
    latest: dict[int, Quote] = {}
    for quote in db.session.scalars(
        select(Quote).where(Quote.request_id == request.id).order_by(Quote.revision)
    ):
        latest[quote.provider_id] = quote
    return latest


def submit_quote(
    user: User,
    ref: str,
    *,
    amount=None,
    proposal: str | None = None,
    submission_key: str,
    now: datetime | None = None,
    leader_id=None,
    member_ids=(),
) -> Quote:
    """A provider applies (and, for price methods, quotes), naming its 项目负责人 and team
    (people.check_team, on the quote's Beijing day). Sealed until the deadline; a new
    submission is a new revision (the latest counts); the same form twice stores one row."""
    now = now or utcnow()
    provider = provider_of(user)
    request = get_request(ref)
    if not submission_key or len(submission_key) > 64:
        raise RegistryError(None, "表单已失效,请刷新页面后重新提交")
    existing = db.session.scalar(select(Quote).where(Quote.submission_key == submission_key))
    if existing is not None:
        if existing.provider_id != provider.id:
            raise RegistryError(None, "表单已失效,请刷新页面后重新提交")
        return existing  # a double-submit of the same form
    if request.status != RequestStatus.OPEN.value or now >= request.deadline:
        raise RegistryError(None, "报名已截止")
    on = now.astimezone(SHANGHAI).date()
    gap = applicant_gap(provider, request, on)
    if gap is not None:
        raise RegistryError(None, gap)
    method = request.method_enum
    value = decimal_field(amount, "amount", "报价", above_zero=method.uses_price)
    if method.uses_price:
        if value is None:
            raise RegistryError("amount", "本次选取须填写报价(元)")
        if request.price_min is not None and value < request.price_min:
            raise RegistryError("amount", f"报价低于价格区间下限 {format_money(request.price_min)}")
        if request.price_max is not None and value > request.price_max:
            raise RegistryError("amount", f"报价高于价格区间上限 {format_money(request.price_max)}")
    proposal = (proposal or "").strip() or None
    if method == SelectionMethod.BEST_PROPOSAL and not proposal:
        raise RegistryError("proposal", "方案择优须填写服务方案")
    team = people.check_team(request, provider, leader_id, member_ids, on)
    quote, new = insert_revision(
        Quote,
        scope={"request_id": request.id, "provider_id": provider.id},
        attempts=5,
        submission_key=submission_key,
        amount=value if method.uses_price else None,
        proposal=proposal,
        submitted_by_id=user.id,
        submitted_at=now,
        members=people.member_rows(team, on),
    )
    if not new:
        return quote
    revision = quote.revision
    record(
        "selection.quote",
        actor=user,
        object_type="selection_request",
        object_id=ref,
        after={
            "provider": provider.uscc,
            "revision": revision,
            "sealed": True,
            "team": [p.practitioner.id for p in team],
        },
    )
    return quote


def quotes_visible_to(
    user: User | None, request: SelectionRequest, now: datetime | None = None
) -> list[Quote]:
    """Sealed bidding: before the deadline a provider sees only its own quotes and nobody else
    sees any; after it, the owner (and staff) see every latest quote."""
    now = now or utcnow()
    visible = [q for q in latest_quotes(request).values() if policy.can_see_quote(user, q, now=now)]
    return sorted(visible, key=lambda q: q.provider.uscc)
