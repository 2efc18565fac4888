"""Marketplace use cases: enterprises and projects, selection requests, sealed quotes, decisions
with verifiable draws, award notices. Services flush, audit and raise; they never commit."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from registry import policy
from registry.extensions import db
from registry.kernel import clock
from registry.kernel.paging import Page
from registry.models import (
    Award,
    Engagement,
    Enterprise,
    Exclusion,
    Offer,
    Project,
    ProjectCategory,
    Provider,
    ProviderStatus,
    Quote,
    RequestStatus,
    SelectionMethod,
    SelectionRequest,
    ServiceItem,
    User,
)
from registry.models.types import utcnow
from registry.pure import selection_engine as engine
from registry.pure.uscc import validate_uscc
from registry.services.audit import record, snapshot
from registry.services.catalogue import get_service
from registry.services.errors import Forbidden, NotFound, RegistryError

SHANGHAI = clock.ZONE


def today() -> date:
    """Today in the zone's time (dates of contracts, windows and deadlines are local dates)."""
    return clock.today()


# --------------------------------------------------------------------- enterprises and projects


def create_enterprise(
    name: str,
    uscc: str,
    *,
    contact_name: str | None = None,
    contact_phone: str | None = None,
    is_demo: bool = False,
    actor: User | None = None,
) -> Enterprise:
    """Register an enterprise (项目业主)."""
    try:
        code = validate_uscc(uscc)
    except ValueError as error:
        raise RegistryError("uscc", str(error)) from None
    if db.session.scalar(select(Enterprise.id).where(Enterprise.uscc == code)):
        raise RegistryError("uscc", "该统一社会信用代码的企业已登记")
    enterprise = Enterprise(
        name=name.strip(),
        uscc=code,
        contact_name=contact_name,
        contact_phone=contact_phone,
        is_demo=is_demo,
    )
    db.session.add(enterprise)
    db.session.flush()
    record(
        "enterprise.create",
        actor=actor,
        object_type="enterprise",
        object_id=code,
        after=snapshot(enterprise),
    )
    return enterprise


def create_project(
    user: User,
    *,
    code: str,
    name: str,
    category: str,
    location: str,
    enterprise: Enterprise | None = None,
    **details,
) -> Project:
    """A project for the user's own enterprise (staff and admins name the enterprise)."""
    if policy.is_enterprise_account(user):
        if user.enterprise_id is None:
            raise RegistryError(None, "您的账号尚未关联企业,请联系政务办")
        enterprise = db.session.get(Enterprise, user.enterprise_id)
    elif not policy.may_register_for_enterprises(user) or enterprise is None:
        raise Forbidden()
    code = (code or "").strip()
    if not code or len(code) > 40:
        raise RegistryError("code", "请填写项目代码(不超过 40 个字符)")
    if category not in {c.value for c in ProjectCategory}:
        raise RegistryError("category", "请选择项目类别")
    if db.session.scalar(select(Project.id).where(Project.code == code)):
        raise RegistryError("code", "该项目代码已存在")
    project = Project(
        code=code,
        name=name.strip(),
        category=category,
        location=location.strip(),
        enterprise=enterprise,
        created_by_id=user.id,
        **details,
    )
    db.session.add(project)
    db.session.flush()
    record(
        "project.create", actor=user, object_type="project", object_id=code, after=snapshot(project)
    )
    return project


def get_project_for(user: User, code: str) -> Project:
    """A project the user may see; another enterprise's project is simply not found (no IDOR)."""
    project = db.session.scalar(select(Project).where(Project.code == code))
    if project is None or not policy.can_see_project(user, project):
        raise NotFound("未找到该项目")
    return project


def projects_for(user: User) -> list[Project]:
    """The projects a user may see."""
    query = select(Project).where(policy.visible_projects(user))
    return list(db.session.scalars(query.order_by(Project.created_at.desc())))


# --------------------------------------------------------------------- selection requests


def _decimal(value, field: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        raise RegistryError(field, "请填写有效的金额(元)") from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e10"):
        raise RegistryError(field, "金额须为 0 到 100 亿元之间的数")
    return amount.quantize(Decimal("0.01"))


def provider_by_uscc(uscc: str) -> Provider:
    """A provider by its code, or NotFound."""
    provider = db.session.scalar(select(Provider).where(Provider.uscc == (uscc or "").upper()))
    if provider is None:
        raise NotFound("未找到该中介机构")
    return provider


def open_request(
    user: User,
    project_code: str,
    *,
    service_code: str,
    method: str,
    deadline: datetime,
    price_min=None,
    price_max=None,
    qualification_requirement: str | None = None,
    requirements: str | None = None,
    exclusions: list[tuple[str, str]] | None = None,
    reposted_from: SelectionRequest | None = None,
) -> SelectionRequest:
    """Open a selection request on one of the enterprise's own projects."""
    project = get_project_for(user, project_code)
    if not policy.owns_project(user, project):
        raise Forbidden("只有项目业主可以发布选取公告")
    service = get_service(service_code)
    if not service.is_current:
        raise RegistryError("service", "该中介服务事项已不在清单内")
    if method not in {m.value for m in SelectionMethod}:
        raise RegistryError("method", "请选择选取方式")
    low, high = _decimal(price_min, "price_min"), _decimal(price_max, "price_max")
    if low is not None and high is not None and low > high:
        raise RegistryError("price_max", "价格区间上限不能低于下限")
    if deadline.tzinfo is None:
        raise ValueError("deadline must be timezone-aware")
    if deadline <= utcnow() + timedelta(minutes=30):
        raise RegistryError("deadline", "报名截止时间须晚于当前时间至少 30 分钟")
    request = SelectionRequest(
        ref=f"tmp-{secrets.token_hex(8)}",
        project=project,
        service_item=service,
        method=method,
        price_min=low,
        price_max=high,
        deadline=deadline,
        qualification_requirement=(qualification_requirement or "").strip() or None,
        requirements=(requirements or "").strip() or None,
        created_by_id=user.id,
        reposted_from_id=reposted_from.id if reposted_from else None,
    )
    db.session.add(request)
    db.session.flush()
    # The public number comes from the row id, so concurrent requests never share one.
    request.ref = f"XQ-{deadline.astimezone(SHANGHAI):%Y}-{request.id:06d}"
    for uscc, reason in exclusions or []:
        if not (reason or "").strip():
            raise RegistryError("exclusions", "每个回避机构都须说明回避理由")
        try:
            provider = provider_by_uscc(uscc)
        except NotFound:
            raise RegistryError("exclusions", f"回避机构 {uscc} 不存在") from None
        if any(e.provider_id == provider.id for e in request.exclusions):
            raise RegistryError("exclusions", f"回避机构 {uscc} 重复")
        request.exclusions.append(Exclusion(provider=provider, reason=reason.strip()))
    db.session.flush()
    record(
        "selection.open",
        actor=user,
        object_type="selection_request",
        object_id=request.ref,
        after={
            **snapshot(request),
            "exclusions": [(e.provider.uscc, e.reason) for e in request.exclusions],
        },
    )
    return request


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


def list_requests(*, status: str | None = None, limit: int = 50) -> list[SelectionRequest]:
    """Recent requests (the public list of 选取公告)."""
    query = select(SelectionRequest).order_by(SelectionRequest.id.desc()).limit(limit)
    if status:
        query = query.where(SelectionRequest.status == status)
    return list(db.session.scalars(query))


def candidate_for(provider: Provider, request: SelectionRequest, on: date) -> engine.Candidate:
    """How the selection rules see one provider on one request."""
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
            if q.valid_from <= on and (not wanted or wanted in q.kind)
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
    )


def eligible_providers(request: SelectionRequest, on: date | None = None) -> list[Provider]:
    """Providers that may apply: active, offering the item, qualified, not blacklisted, not
    excluded."""
    on = on or today()
    providers = db.session.scalars(
        select(Provider)
        .join(Offer, Offer.provider_id == Provider.id)
        .where(Offer.service_item_id == request.service_item_id, Offer.is_active.is_(True))
        .where(Provider.status == ProviderStatus.ACTIVE.value)
        .options(selectinload(Provider.qualifications), selectinload(Provider.offers))
        .order_by(Provider.uscc)
    ).all()
    keep, _reasons = engine.eligibility([candidate_for(p, request, on) for p in providers], on)
    keys = {c.key for c in keep}
    return [p for p in providers if p.uscc in keys]


def provider_of(user: User) -> Provider:
    """The provider a provider account acts for."""
    provider = db.session.scalar(select(Provider).where(Provider.account_id == user.id))
    if provider is None:
        raise RegistryError(None, "您的账号尚未登记中介机构信息,请先申请入驻")
    return provider


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
) -> Quote:
    """A provider applies (and, for price methods, quotes). Sealed until the deadline; a new
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
    if provider not in eligible_providers(request, now.astimezone(SHANGHAI).date()):
        raise RegistryError(
            None, "贵机构不符合本次选取的报名条件(未提供该服务、资质无效、被列入黑名单或已回避)"
        )
    method = request.method_enum
    value = _decimal(amount, "amount")
    if method.uses_price:
        if value is None or value <= 0:
            raise RegistryError("amount", "本次选取须填写报价(元)")
        if request.price_min is not None and value < request.price_min:
            raise RegistryError("amount", f"报价低于价格区间下限 {request.price_min} 元")
        if request.price_max is not None and value > request.price_max:
            raise RegistryError("amount", f"报价高于价格区间上限 {request.price_max} 元")
    proposal = (proposal or "").strip() or None
    if method == SelectionMethod.BEST_PROPOSAL and not proposal:
        raise RegistryError("proposal", "方案择优须填写服务方案")
    for _attempt in range(5):
        revision = (
            db.session.scalar(
                select(func.max(Quote.revision)).where(
                    Quote.request_id == request.id, Quote.provider_id == provider.id
                )
            )
            or 0
        ) + 1
        quote = Quote(
            request_id=request.id,
            provider_id=provider.id,
            revision=revision,
            amount=value if method.uses_price else None,
            proposal=proposal,
            submission_key=submission_key,
            submitted_by_id=user.id,
            submitted_at=now,
        )
        try:
            with db.session.begin_nested():
                db.session.add(quote)
            break
        except IntegrityError:
            # Another submission won the race: the same form (then that row is the answer) or
            # another form of this provider (then this one becomes the next revision).
            same = db.session.scalar(select(Quote).where(Quote.submission_key == submission_key))
            if same is not None:
                return same
    else:
        raise RegistryError(None, "提交过于频繁,请稍后重试")
    record(
        "selection.quote",
        actor=user,
        object_type="selection_request",
        object_id=ref,
        after={"provider": provider.uscc, "revision": revision, "sealed": True},
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


# --------------------------------------------------------------------- deciding


@dataclass
class Decision:
    """What decide() did: an award, or a failure with its reason."""

    award: Award | None
    failure: str | None = None


def _claim(
    request: SelectionRequest, status: RequestStatus, now: datetime, reason: str | None = None
) -> None:
    """Move the request out of OPEN atomically: of two concurrent deciders exactly one wins."""
    claimed = db.session.execute(
        update(SelectionRequest)
        .where(
            SelectionRequest.id == request.id, SelectionRequest.status == RequestStatus.OPEN.value
        )
        .values(status=status.value, closed_at=now, failure_reason=reason)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise RegistryError(None, "该选取已完成或已撤销,请刷新页面查看结果")
    db.session.refresh(request)


def decide(
    user: User,
    ref: str,
    *,
    chosen_uscc: str | None = None,
    reason: str | None = None,
    now: datetime | None = None,
) -> Decision:
    """Close a request after its deadline and choose by its method. Fewer than two valid
    participants fail the request (it may be reposted)."""
    now = now or utcnow()
    request = get_request_for_owner(user, ref)
    if not policy.owns_project(user, request.project):
        raise Forbidden("只有项目业主可以确定选取结果")
    if request.status != RequestStatus.OPEN.value:
        raise RegistryError(None, "该选取已完成或已撤销")
    if now < request.deadline:
        raise RegistryError(None, "报名尚未截止,截止后方可确定结果")
    on = request.deadline.astimezone(SHANGHAI).date()
    eligible = {p.id for p in eligible_providers(request, on)}
    quotes = [q for q in latest_quotes(request).values() if q.provider_id in eligible]
    providers = {q.provider_id: q.provider for q in quotes}
    keys = sorted(p.uscc for p in providers.values())
    method = request.method_enum
    # As the public reads it (Beijing time, +08:00), the form the seed's documentation shows.
    deadline_text = request.deadline.astimezone(SHANGHAI).isoformat()
    seed = engine.draw_seed(request.ref, keys, deadline_text)
    grades = {p.uscc: p.grade for p in providers.values()}
    try:
        if len(keys) < 2:
            raise engine.NotEnoughCandidates(len(keys))
        if method == SelectionMethod.RANDOM:
            outcome = engine.random_draw(keys, seed)
        elif method == SelectionMethod.CREDIT_SHORTLIST:
            outcome = engine.credit_shortlist(
                [candidate_for(p, request, on) for p in providers.values()],
                seed,
                shortlist_size=int(current_app.config["CREDIT_SHORTLIST_SIZE"]),
            )
        elif method.uses_price:
            priced = [engine.Quote(providers[q.provider_id].uscc, q.amount) for q in quotes]
            rule = (
                engine.lowest_price
                if method == SelectionMethod.LOWEST_PRICE
                else engine.closest_to_mean
            )
            outcome = rule(priced, grades, seed, band=(request.price_min, request.price_max))
        else:
            outcome = None
    except engine.NotEnoughCandidates as error:
        _claim(request, RequestStatus.FAILED, now, str(error))
        record(
            "selection.fail",
            actor=user,
            object_type="selection_request",
            object_id=ref,
            after={"participants": keys, "reason": str(error)},
        )
        return Decision(None, str(error))
    if outcome is None:  # 直接选取 / 方案择优: the owner picks, with a recorded reason
        if not chosen_uscc or chosen_uscc not in keys:
            raise RegistryError("winner", "请从有效报名的机构中选择中选机构")
        if not (reason or "").strip():
            raise RegistryError("reason", "请填写选择理由")
        winner_key, explanation = chosen_uscc, f"业主{method.value}:{reason.strip()}"
        draw_inputs, used_seed, algorithm = None, None, None
    else:
        winner_key, explanation = outcome.winner, outcome.explanation
        used_seed, algorithm = seed, engine.ALGORITHM_VERSION
        draw_inputs = {
            "request": request.ref,
            "candidates": keys,
            "deadline": deadline_text,
            "method": method.name,
            "quotes": {
                providers[q.provider_id].uscc: str(q.amount) for q in quotes if q.amount is not None
            },
            "grades": grades,
            "credit_scores": {
                p.uscc: None if p.credit_score is None else str(p.credit_score)
                for p in providers.values()
            },
            "price_band": [
                None if v is None else str(v) for v in (request.price_min, request.price_max)
            ],
            "shortlist_size": int(current_app.config["CREDIT_SHORTLIST_SIZE"]),
        }
    _claim(request, RequestStatus.AWARDED, now)
    winner = next(p for p in providers.values() if p.uscc == winner_key)
    winning_quote = next(q for q in quotes if q.provider_id == winner.id)
    offer = next((o for o in winner.offers if o.service_item_id == request.service_item_id), None)
    award = Award(
        request=request,
        provider=winner,
        method=request.method,
        amount=winning_quote.amount,
        reason=(reason or "").strip() or None,
        explanation=explanation,
        draw_inputs=draw_inputs,
        seed=used_seed,
        algorithm=algorithm,
        awarded_at=now,
        awarded_by_id=user.id,
        is_demo=request.is_demo,
    )
    # Built complete and inserted once: the award row is append-only.
    award.engagement = Engagement(committed_days=offer.committed_days if offer else 0)
    db.session.add(award)
    db.session.flush()
    record(
        "selection.award",
        actor=user,
        object_type="award",
        object_id=award.id,
        after=snapshot(award),
    )
    return Decision(award)


def verify_award(award: Award) -> dict:
    """Re-run a draw from the award's stored public inputs: the seed and the winner must come out
    the same. Returns what the public verification page shows."""
    inputs = award.draw_inputs or {}
    if not inputs:
        return {"verifiable": False}
    seed = engine.draw_seed(inputs["request"], inputs["candidates"], inputs["deadline"])
    method = SelectionMethod[inputs["method"]]
    band = tuple(
        None if v is None else Decimal(v) for v in inputs.get("price_band") or (None, None)
    )
    if method == SelectionMethod.RANDOM:
        outcome = engine.random_draw(inputs["candidates"], seed)
    elif method == SelectionMethod.CREDIT_SHORTLIST:
        scores = inputs.get("credit_scores") or {}
        candidates = [
            engine.Candidate(
                key=k,
                name=k,
                active=True,
                offers_item=True,
                qualification_valid_until=date.max,
                blacklisted=False,
                excluded=False,
                grade=(inputs.get("grades") or {}).get(k),
                credit_score=None if scores.get(k) is None else Decimal(scores[k]),
            )
            for k in inputs["candidates"]
        ]
        outcome = engine.credit_shortlist(candidates, seed, shortlist_size=inputs["shortlist_size"])
    else:
        priced = [engine.Quote(k, Decimal(v)) for k, v in sorted(inputs["quotes"].items())]
        rule = (
            engine.lowest_price
            if method == SelectionMethod.LOWEST_PRICE
            else engine.closest_to_mean
        )
        outcome = rule(priced, inputs.get("grades") or {}, seed, band=band)
    return {
        "verifiable": True,
        "seed": seed,
        "seed_matches": seed == award.seed,
        "winner": outcome.winner,
        "winner_matches": outcome.winner == award.provider.uscc,
        "explanation": outcome.explanation,
        "draw_pool": outcome.draw_pool,
        "algorithm": engine.ALGORITHM_VERSION,
        "algorithm_matches": award.algorithm == engine.ALGORITHM_VERSION,
    }


def repost(user: User, ref: str, *, deadline: datetime) -> SelectionRequest:
    """Post a failed request again with a new deadline."""
    old = get_request_for_owner(user, ref)
    if old.status != RequestStatus.FAILED.value:
        raise RegistryError(None, "只有流标的选取公告可以重新发布")
    return open_request(
        user,
        old.project.code,
        service_code=old.service_item.code,
        method=old.method,
        deadline=deadline,
        price_min=old.price_min,
        price_max=old.price_max,
        qualification_requirement=old.qualification_requirement,
        requirements=old.requirements,
        exclusions=[(e.provider.uscc, e.reason) for e in old.exclusions],
        reposted_from=old,
    )


def get_award(award_id: int) -> Award:
    """An award (public notice) by id."""
    award = db.session.get(Award, award_id)
    if award is None:
        raise NotFound("未找到该中选公示")
    return award


def list_awards(*, page: int = 1, per_page: int = 20, service_code: str | None = None) -> Page:
    """Award notices, newest first, one page."""
    query = select(Award)
    if service_code:
        query = (
            query.join(SelectionRequest).join(ServiceItem).where(ServiceItem.code == service_code)
        )
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(
        query.order_by(Award.awarded_at.desc(), Award.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return Page(list(rows), total, page, per_page)
