"""Deciding a selection after its deadline: by the request's method (a verifiable draw, the
credit shortlist, a price rule, or the owner's recorded choice), the award and its engagement,
re-verifying a draw, reposting a failed request, and the award notices."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TypedDict, Unpack

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload, selectinload

from registry import policy
from registry.extensions import db
from registry.kernel.paging import Page, paginate
from registry.models import (
    Award,
    Engagement,
    Project,
    Provider,
    Quote,
    RequestStatus,
    SelectionMethod,
    SelectionRequest,
    ServiceItem,
    User,
)
from registry.models.types import utcnow
from registry.pure import selection_engine as engine
from registry.sanitize import as_clause
from registry.services import notify
from registry.services.audit import record, snapshot
from registry.services.batches import BATCH_SIZE, Batches, id_batches
from registry.services.errors import Forbidden, NotFound, RegistryError, text_field
from registry.services.market import staffing
from registry.services.market.projects import SHANGHAI
from registry.services.market.selection import (
    candidate_for,
    eligible_providers,
    get_request_for_owner,
    latest_quotes,
    open_request,
    provider_accounts,
)


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


def _draw(
    request: SelectionRequest,
    on: date,
    keys: list[str],
    providers: dict[int, Provider],
    quotes: list[Quote],
    grades: dict[str, str | None],
    seed: str,
) -> engine.Outcome | None:
    """The outcome of the request's method (None: the owner chooses); fewer than two
    candidates raise engine.NotEnoughCandidates."""
    method = request.method_enum
    if len(keys) < 2:
        raise engine.NotEnoughCandidates(len(keys))
    if method == SelectionMethod.RANDOM:
        return engine.random_draw(keys, seed)
    if method == SelectionMethod.CREDIT_SHORTLIST:
        return engine.credit_shortlist(
            [candidate_for(p, request, on) for p in providers.values()],
            seed,
            shortlist_size=int(current_app.config["CREDIT_SHORTLIST_SIZE"]),
        )
    if method.uses_price:
        priced = [engine.Quote(providers[q.provider_id].uscc, q.amount) for q in quotes]
        rule = (
            engine.lowest_price
            if method == SelectionMethod.LOWEST_PRICE
            else engine.closest_to_mean
        )
        return rule(priced, grades, seed, band=(request.price_min, request.price_max))
    return None


def _draw_inputs(
    request: SelectionRequest,
    keys: list[str],
    deadline_text: str,
    quotes: list[Quote],
    providers: dict[int, Provider],
    grades: dict[str, str | None],
    unstaffed: dict[str, str],
    on: date,
) -> dict:
    """Everything the draw used, stored with the award so the public can re-run it: with the
    quoting providers whose team did not meet the requirement on the deadline day `on`
    (`unstaffed`, the engine's staffed flag, masked reasons; `unstaffed_on`, the day judged)."""
    return {
        "request": request.ref,
        "candidates": keys,
        "unstaffed": unstaffed,
        "unstaffed_on": on.isoformat(),
        "deadline": deadline_text,
        "method": request.method_enum.name,
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


def _award(
    user: User,
    request: SelectionRequest,
    winner: Provider,
    quotes: list[Quote],
    *,
    reason: str | None,
    explanation: str,
    draw: tuple[dict | None, str | None, str | None],
    now: datetime,
) -> Award:
    """Insert the award with its engagement (audited); `draw` is (inputs, seed, algorithm)."""
    draw_inputs, used_seed, algorithm = draw
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
        # A later round only after an upheld objection withdrew the earlier award.
        round=len(request.awards) + 1,
        disclosure_workdays=int(current_app.config["AWARD_OBJECTION_WORKDAYS"]),
    )
    # Built complete and inserted once: the award row is append-only.
    award.engagement = Engagement(committed_days=offer.committed_days if offer else 0)
    db.session.add(award)
    db.session.flush()
    record("selection.award", actor=user, of=award, after=snapshot(award))
    return award


@dataclass
class Plan:
    """What deciding a request comes to, worked out without writing anything (the confirmation
    page shows it): a failure with its reason, or the winner with its quote, how it was chosen
    and the draw's (inputs, seed, algorithm)."""

    request: SelectionRequest
    participants: list[str]
    quotes: list[Quote]
    failure: str | None = None
    winner: Provider | None = None
    explanation: str = ""
    draw: tuple[dict | None, str | None, str | None] = (None, None, None)
    # Providers that quoted but whose team did not meet the requirement on the deadline day
    # (staffing_on): (name, uscc, why).
    unstaffed: list[tuple[str, str, str]] = field(default_factory=list)
    staffing_on: date = date.min

    @property
    def amount(self) -> Decimal | None:
        """The winner's quoted amount (None: no winner, or it quoted none)."""
        if self.winner is None:
            return None
        return next((q.amount for q in self.quotes if q.provider_id == self.winner.id), None)

    @property
    def expected(self) -> str:
        """What the confirmation page names and the confirmed POST carries back: the winner's
        code, or 流标."""
        return self.winner.uscc if self.winner is not None else "流标"


class Choice(TypedDict, total=False):
    """The owner's own choice where the method leaves it to them (直接选取, 方案择优): the winner's
    code and the recorded reason; the other methods need neither."""

    chosen_uscc: str | None
    reason: str | None


def plan_decision(
    user: User, ref: str, *, now: datetime | None = None, **choice: Unpack[Choice]
) -> Plan:
    """Check that the owner may decide now and work out the result by the request's method,
    writing nothing. Fewer than two valid participants: a failure."""
    chosen_uscc, reason = choice.get("chosen_uscc"), choice.get("reason")
    now = now or utcnow()
    request = get_request_for_owner(user, ref)
    if not policy.owns_project(user, request.project):
        raise Forbidden("只有项目业主可以确定选取结果")
    if request.status != RequestStatus.OPEN.value:
        raise RegistryError(None, "该选取已完成或已撤销")
    if now < request.deadline:
        raise RegistryError(None, "报名尚未截止,截止后方可确定结果")
    on = request.deadline.astimezone(SHANGHAI).date()
    quoted = latest_quotes(request)
    # Teams are judged as of the deadline day, not the decision day: the seed is public, so a
    # change after the deadline (a bidder dropping its own leader to pick the winner, an owner
    # waiting for a certificate to lapse) must not change the candidates (the staffed flag).
    gaps = staffing.team_gaps(request, quoted.values(), on)
    eligible = {p.id for p in eligible_providers(request, on, gaps=gaps)}
    quotes = [q for q in quoted.values() if q.provider_id in eligible]
    unstaffed = sorted(
        (quoted[pid].provider.name, quoted[pid].provider.uscc, why) for pid, why in gaps.items()
    )
    providers = {q.provider_id: q.provider for q in quotes}
    keys = sorted(p.uscc for p in providers.values())
    method = request.method_enum
    # As the public reads it (Beijing time, +08:00), the form the seed's documentation shows.
    deadline_text = request.deadline.astimezone(SHANGHAI).isoformat()
    seed = engine.draw_seed(request.ref, keys, deadline_text)
    grades = {p.uscc: p.grade for p in providers.values()}
    try:
        outcome = _draw(request, on, keys, providers, quotes, grades, seed)
    except engine.NotEnoughCandidates as error:
        return Plan(request, keys, quotes, failure=str(error), unstaffed=unstaffed, staffing_on=on)
    if outcome is None:  # 直接选取 / 方案择优: the owner picks, with a recorded reason
        if not chosen_uscc or chosen_uscc not in keys:
            raise RegistryError("winner", "请从有效报名的机构中选择中选机构")
        if not (reason or "").strip():
            raise RegistryError("reason", "请填写选择理由")
        winner_key, explanation = chosen_uscc, f"业主{method.value}:{reason.strip()}"
        draw = (None, None, None)
    else:
        winner_key, explanation = outcome.winner, outcome.explanation
        out = {uscc: why for _name, uscc, why in unstaffed}
        inputs = _draw_inputs(request, keys, deadline_text, quotes, providers, grades, out, on)
        draw = (inputs, seed, engine.ALGORITHM_VERSION)
    winner = next(p for p in providers.values() if p.uscc == winner_key)
    return Plan(
        request,
        keys,
        quotes,
        winner=winner,
        explanation=explanation,
        draw=draw,
        unstaffed=unstaffed,
        staffing_on=on,
    )


def decide(
    user: User,
    ref: str,
    *,
    now: datetime | None = None,
    expect: str | None = None,
    **choice: Unpack[Choice],
) -> Decision:
    """Close a request after its deadline and choose by its method (see plan_decision); with
    `expect` (what the confirmation page named) only if that is still the result. Fewer than two
    valid participants fail the request (it may be reposted)."""
    now = now or utcnow()
    plan = plan_decision(user, ref, now=now, **choice)
    if expect is not None and expect != plan.expected:
        raise RegistryError(None, "选取结果与确认页面所示的不一致(报名情况已变化),请重新确认")
    request = plan.request
    if plan.failure is not None:
        _claim(request, RequestStatus.FAILED, now, plan.failure)
        record(
            "selection.fail",
            actor=user,
            object_type="selection_request",
            object_id=ref,
            after={
                "participants": plan.participants,
                "reason": plan.failure,
                "unstaffed": {uscc: why for _name, uscc, why in plan.unstaffed},
                "unstaffed_on": plan.staffing_on.isoformat(),
            },
        )
        _tell_failure(request, plan.failure)
        return Decision(None, plan.failure)
    _claim(request, RequestStatus.AWARDED, now)
    award = _award(
        user,
        request,
        plan.winner,
        plan.quotes,
        reason=choice.get("reason"),
        explanation=plan.explanation,
        draw=plan.draw,
        now=now,
    )
    _tell_award(award, set(latest_quotes(request)))
    return Decision(award)


def decide_reminder_batches(now: datetime, size: int = BATCH_SIZE) -> Batches[int]:
    """The owners of requests whose deadline has passed and that are not decided yet: told once
    per request to decide (确定结果) — the quotes are open to them now, and nothing else moves
    the request on (a tester, stop 31: no one said so). In batches (services/batches.py)."""
    told = 0
    past = select(SelectionRequest.id).where(
        SelectionRequest.status == RequestStatus.OPEN.value, SelectionRequest.deadline <= now
    )
    for ids in id_batches(past, SelectionRequest.id, size):
        for request in db.session.scalars(
            select(SelectionRequest)
            .where(SelectionRequest.id.in_(ids))
            .options(
                joinedload(SelectionRequest.project), joinedload(SelectionRequest.service_item)
            )
        ):
            told += notify.notify(
                db.session.scalars(
                    select(User).where(policy.enterprise_accounts(request.project.enterprise_id))
                ),
                "award",
                f"项目“{request.project.name}”的选取公告 {request.ref}({request.service_item.name})"
                "已截止报名,报价已开启。请确定选取结果(有效报名不足两家的为流标)。",
                link=f"/my/requests/{request.ref}",
                kind="待确定结果",
                subject=f"请确定选取结果:{request.ref}",
                once_key=f"decide:{request.ref}",
            )
        yield len(ids)
    return told


def _tell_failure(request: SelectionRequest, reason: str) -> None:
    """The owner's accounts: the request failed (流标) and may be posted again."""
    notify.notify(
        db.session.scalars(
            select(User).where(policy.enterprise_accounts(request.project.enterprise_id))
        ),
        "award",
        f"项目“{request.project.name}”的选取需求 {request.ref}({request.service_item.name})"
        f"选取失败(流标):{as_clause(reason)}。可修改后重新发布。",
        link=f"/my/requests/{request.ref}",
        kind="选取失败",
        subject=f"选取失败(流标):{request.ref}",
    )


def _tell_award(award: Award, participants: set[int]) -> None:
    """The winner (中选, to its work page) and every other provider that applied (未中选, to the
    public award notice)."""
    request = award.request
    what = f"项目“{request.project.name}”的选取需求 {request.ref}({request.service_item.name})"
    notify.notify(
        provider_accounts([award.provider_id]),
        "award",
        f"贵机构在{what}中中选。请与业主签订合同,业主登记签约日期后服务计时开始。",
        link=f"/my/work/{award.engagement.id}",
        kind="中选",
        subject=f"中选通知:{request.ref}",
    )
    others = participants - {award.provider_id}
    if others:
        notify.notify(
            provider_accounts(sorted(others)),
            "award",
            f"贵机构参与的{what}已确定结果,中选机构为{award.provider.name},贵机构未中选。",
            link=f"/awards/{award.id}",
            kind="未中选",
            subject=f"选取结果:{request.ref}",
        )


def verify_award(award: Award) -> dict:
    """Re-run a draw from the award's stored public inputs: the seed and the winner must come out
    the same. Returns what the public verification page shows."""
    inputs = award.draw_inputs or {}
    if not inputs:
        return {"verifiable": False}
    candidates = _recorded_candidates(inputs)
    seed = engine.draw_seed(inputs["request"], candidates, inputs["deadline"])
    method = SelectionMethod[inputs["method"]]
    band = tuple(
        None if v is None else Decimal(v) for v in inputs.get("price_band") or (None, None)
    )
    if method == SelectionMethod.RANDOM:
        outcome = engine.random_draw(candidates, seed)
    elif method == SelectionMethod.CREDIT_SHORTLIST:
        scores = inputs.get("credit_scores") or {}
        candidates = [
            _recorded_candidate(
                k,
                grade=(inputs.get("grades") or {}).get(k),
                credit_score=None if scores.get(k) is None else Decimal(scores[k]),
            )
            for k in candidates
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
        "candidates_match": candidates == sorted(inputs["candidates"]),
        "unstaffed": inputs.get("unstaffed") or {},
        # The day the teams were judged on (the deadline's; absent from awards made before).
        "unstaffed_on": inputs.get("unstaffed_on"),
    }


def _recorded_candidates(inputs: dict) -> list[str]:
    """The draw's candidates re-derived by the engine from the recorded inputs: the eligible
    quoting providers and those recorded as unstaffed (staffed=False), which it drops. Awards
    made before the flag was recorded have no `unstaffed`."""
    unstaffed = inputs.get("unstaffed") or {}
    recorded = [
        _recorded_candidate(k, staffed=k not in unstaffed)
        for k in sorted({*inputs["candidates"], *unstaffed})
    ]
    eligible, _reasons = engine.eligibility(recorded, date.min)
    return [c.key for c in eligible]


def _recorded_candidate(
    key: str,
    *,
    grade: str | None = None,
    credit_score: Decimal | None = None,
    staffed: bool = True,
) -> engine.Candidate:
    """A candidate re-made from a draw's recorded inputs, keyed (and named) by its USCC: the
    inputs keep only its grade, credit score and staffing, so it passes every other check."""
    return engine.Candidate(
        key=key,
        name=key,
        active=True,
        offers_item=True,
        qualification_valid_until=date.max,
        blacklisted=False,
        excluded=False,
        grade=grade,
        credit_score=credit_score,
        staffed=staffed,
    )


CANCEL_REASON_MAX = 2000


def cancellable(user: User, ref: str, *, reason: str | None, now: datetime | None = None):
    """The owner's request that may be withdrawn (撤销) now, and the checked public reason:
    only while it takes applications. After the deadline the owner decides instead (fewer than
    two valid participants: 流标), so that no one withdraws a result they have seen coming."""
    request = get_request_for_owner(user, ref)
    if not policy.owns_project(user, request.project):
        raise Forbidden("只有项目业主可以撤销选取公告")
    if request.status != RequestStatus.OPEN.value:
        raise RegistryError(None, "该选取已完成或已撤销")
    if (now or utcnow()) >= request.deadline:
        raise RegistryError(None, "报名已截止,不能撤销;请确定选取结果(有效报名不足两家的为流标)")
    return request, text_field(reason, "reason", "撤销原因", CANCEL_REASON_MAX)


def cancel_request(
    user: User, ref: str, *, reason: str | None, now: datetime | None = None
) -> SelectionRequest:
    """Withdraw (撤销) a request before its deadline, with a reason that stays public on the
    notice; the quotes stay sealed, and those who quoted are told (a tester, stop 31: a notice
    with a typo in its price range could not be taken back)."""
    now = now or utcnow()
    request, text = cancellable(user, ref, reason=reason, now=now)
    _claim(request, RequestStatus.CANCELLED, now, text)
    record("selection.cancel", actor=user, of=request, detail=text)
    quoted = provider_accounts(select(Quote.provider_id).where(Quote.request_id == request.id))
    notify.notify(
        quoted,
        "award",
        f"项目“{request.project.name}”的选取公告 {request.ref}({request.service_item.name})"
        f"已由业主撤销:{as_clause(text)}。贵机构的报价未开启。",
        link=f"/requests/{request.ref}",
        kind="选取撤销",
        subject=f"选取公告撤销:{request.ref}",
    )
    return request


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
        method_reason=old.method_reason,
        deadline=deadline,
        price_min=old.price_min,
        price_max=old.price_max,
        qualification_requirement=old.qualification_requirement,
        requirements=old.requirements,
        leader_certificate=old.leader_certificate,
        team_certificates=[(r.kind, r.count) for r in old.team_certificates],
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
    query = query.order_by(Award.awarded_at.desc(), Award.id.desc())
    # The 公示 state each row shows: its objections and withdrawal, one statement each per page.
    states = (selectinload(Award.objections), selectinload(Award.withdrawal))
    return paginate(db.session, query, page, per_page, *_award_list_options(), *states)


def latest_awards(limit: int = 5) -> list[Award]:
    """The newest award notices (the home page), with what the list shows, in one statement."""
    query = select(Award).order_by(Award.awarded_at.desc(), Award.id.desc()).limit(limit)
    options = (*_award_list_options(), joinedload(Award.withdrawal))  # 已撤销 marked
    return list(db.session.scalars(query.options(*options)).unique())


def _award_list_options() -> tuple:
    request = joinedload(Award.request)
    return (
        request.joinedload(SelectionRequest.project).joinedload(Project.enterprise),
        request.joinedload(SelectionRequest.service_item),
        joinedload(Award.provider),
    )
