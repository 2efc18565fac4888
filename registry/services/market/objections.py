"""The award notice's 公示期 and objections (异议) to an award: the owner and the bidders object
within the 公示期; 政务办 staff answer within their deadline. An upheld objection withdraws the
award (撤销, a new row; the award itself stays as published), keeps the withdrawn winner out of
the request (回避) and returns the request to 报名截止, so the owner decides again by the same
method among the remaining valid participants (fewer than two: 流标, as always)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from registry import policy
from registry.extensions import db
from registry.kernel import clock
from registry.models import (
    Award,
    AwardObjection,
    AwardObjectionOutcome,
    AwardWithdrawal,
    EngagementStatus,
    Enterprise,
    Exclusion,
    Provider,
    RequestStatus,
    SelectionRequest,
    User,
)
from registry.pure.workdays import add_working_days
from registry.search.engine import enqueue
from registry.services import notify, objections
from registry.services.audit import change, record, snapshot
from registry.services.errors import Forbidden, NotFound, RegistryError, text_field
from registry.services.market.selection import latest_quotes, provider_accounts

OWNER, BIDDER = "业主", "报名机构"
REASON_MAX, EVIDENCE_MAX = 2000, 5000
# What the answer form calls its conclusion, and the text a rejection must give.
ANSWER_LABELS = ("处理结论", "不成立的理由")


@dataclass(frozen=True)
class NoticeState:
    """Where an award notice stands today: its 公示期 (None for a notice published before the
    公示期 existed), the label shown (公示中, 异议处理中, 公示期满, 已撤销) and whether an
    objection would be accepted now."""

    until: date | None
    label: str
    open_for_objection: bool


def disclosure_until(award: Award) -> date | None:
    """The last day of the award's 公示期: its configured number of working days after the
    award's Beijing date, on the calendar as it stands (an official arrangement moves it)."""
    if award.disclosure_workdays is None:
        return None
    return add_working_days(clock.local_date(award.awarded_at), award.disclosure_workdays)


def notice_state(award: Award, on: date | None = None) -> NoticeState:
    """The notice's state on a day (today by default)."""
    on = on or clock.today()
    until = disclosure_until(award)
    if award.withdrawal is not None:
        return NoticeState(until, "已撤销", False)
    within = until is not None and on <= until
    if any(o.is_open for o in award.objections):
        return NoticeState(until, "异议处理中", within)
    if within:
        return NoticeState(until, "公示中", True)
    return NoticeState(until, "公示期满" if until is not None else "已公示", False)


def bidders(award: Award) -> list[Provider]:
    """The providers that applied to the award's request (their latest quotes), by code."""
    quotes = latest_quotes(award.request)
    return sorted((q.provider for q in quotes.values()), key=lambda p: p.uscc)


def names_of(codes) -> dict[str, str]:
    """Credit code → provider name for the given codes, in one statement (a draw lists codes;
    people read names with them)."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    rows = db.session.execute(select(Provider.uscc, Provider.name).where(Provider.uscc.in_(wanted)))
    return dict(rows.all())


def candidate_names(awards) -> dict[str, str]:
    """Credit code → name of every candidate in the awards' draws, those recorded as unstaffed
    included (one statement for a page)."""
    return names_of(
        c
        for a in awards
        for key in ("candidates", "unstaffed")
        for c in (a.draw_inputs or {}).get(key) or []
    )


def objector(user: User, award: Award) -> Enterprise | Provider | None:
    """The party the account may object for on this award (policy.award_objector)."""
    return policy.award_objector(user, award, bidders(award))


def _party(user: User, award: Award) -> tuple[str, Enterprise | Provider]:
    found = objector(user, award)
    if found is None:
        raise Forbidden("只有该选取的项目业主和报名机构可以对中选结果提出异议")
    return (OWNER if isinstance(found, Enterprise) else BIDDER), found


def _answer_days() -> int:
    return int(current_app.config["AWARD_ANSWER_WORKDAYS"])


def object_to_award(
    user: User, award_id: int, *, reason: str | None, evidence: str | None = None
) -> AwardObjection:
    """The owner or a bidder objects to an award within its 公示期 (one open objection per
    party); staff are told and answer within AWARD_ANSWER_WORKDAYS working days."""
    award = _load_award(award_id)
    kind, party = _party(user, award)
    state = notice_state(award)
    if award.withdrawal is not None:
        raise RegistryError(None, "该中选结果已撤销,无需再提出异议")
    if state.until is None:
        raise RegistryError(None, "该中选公示发布时尚未设公示期,不能在线提出异议")
    if not state.open_for_objection:
        raise RegistryError(None, f"公示期已于 {state.until:%Y-%m-%d} 届满,不能再提出异议")
    if any(o.is_open and o.party_uscc == party.uscc for o in award.objections):
        raise RegistryError(None, "您已提出的异议尚在处理中,请等待答复")
    # By id, not through award.objections: a changed collection would mark the (append-only)
    # award dirty.
    objection = AwardObjection(
        award_id=award.id,
        party=kind,
        party_name=party.name,
        party_uscc=party.uscc,
        reason=text_field(reason, "reason", "异议理由", REASON_MAX),
        evidence=text_field(evidence, "evidence", "证据说明", EVIDENCE_MAX, required=False) or None,
        submitted_by_id=user.id,
        submitted_at=clock.now(),
        answer_due=objections.answer_due(_answer_days()),
    )
    db.session.add(objection)
    db.session.flush()
    db.session.expire(award, ["objections"])
    request = award.request
    record(
        "award.object",
        actor=user,
        of=objection,
        after=snapshot(objection),
        detail=f"{kind}{party.name}对 {request.ref} 的中选结果提出异议",
    )
    notify.notify(
        db.session.scalars(select(User).where(policy.action_accounts("awards.handle"))),
        "objection",
        f"{party.name}({kind})对选取公告 {request.ref}({request.service_item.name})的中选结果"
        f"提出异议,请于 {objection.answer_due:%Y-%m-%d}(含当日)前答复。",
        link=f"/office/award-objections/{objection.id}",
        kind="收到异议",
        subject=f"中选结果异议:{request.ref}",
    )
    _tell_parties_of_objection(award, objection, user)
    return objection


def _load_award(award_id: int) -> Award:
    award = db.session.scalar(
        select(Award)
        .where(Award.id == award_id)
        .options(selectinload(Award.objections), selectinload(Award.withdrawal))
        .execution_options(populate_existing=True)
    )
    if award is None:
        raise NotFound("未找到该中选公示")
    return award


def objections_queue(user: User) -> list[AwardObjection]:
    """Every objection to an award, for staff: open ones first by answer deadline, then the
    answered, newest answer first."""
    if not policy.handles_award_objections(user):
        raise Forbidden("只有政务办工作人员可以处理中选结果异议")
    return objections.queue_order(
        db.session.scalars(
            select(AwardObjection)
            .options(selectinload(AwardObjection.award).selectinload(Award.request))
            .order_by(AwardObjection.answer_due, AwardObjection.id)
        )
    )


def get_objection_for(user: User, objection_id: int, *, lock: bool = False) -> AwardObjection:
    """One objection, for staff."""
    if not policy.handles_award_objections(user):
        raise Forbidden("只有政务办工作人员可以处理中选结果异议")
    query = (
        select(AwardObjection)
        .where(AwardObjection.id == objection_id)
        .execution_options(populate_existing=True)
    )
    objection = db.session.scalar(query.with_for_update() if lock else query)
    if objection is None:
        raise NotFound("未找到该异议")
    return objection


def objections_of(user: User, award: Award) -> list[AwardObjection]:
    """The objections the account's party filed to the award (what it wrote, with answers)."""
    party = objector(user, award)
    if party is None:
        return []
    return [o for o in award.objections if o.party_uscc == party.uscc]


def answer_preview(
    user: User, objection_id: int, *, outcome: str | None, answer: str | None, lock: bool = False
) -> tuple[AwardObjection, str]:
    """Check an answer as answer_objection will, writing nothing: the objection and the text."""
    objection = get_objection_for(user, objection_id, lock=lock)
    return objection, objections.checked_answer(
        objection, outcome, answer, AwardObjectionOutcome, ANSWER_LABELS
    )


def answer_objection(
    user: User, objection_id: int, *, outcome: str | None, answer: str | None
) -> AwardObjection:
    """Staff answer an objection: 不成立 (the award stands; reasons given) or 成立 (the award is
    withdrawn and the owner decides again, see the module's rule). The objector, the owner and
    the winner are told."""
    objection, text = answer_preview(user, objection_id, outcome=outcome, answer=answer, lock=True)
    award = objection.award
    with change("award.answer", actor=user, of=objection) as answered:
        objections.mark_answered(objection, user, outcome, text)
        answered.detail = f"{award.request.ref}:异议{outcome}"
    if outcome == AwardObjectionOutcome.UPHELD.value and award.withdrawal is None:
        _withdraw(user, award, objection, f"异议成立:{text}")
    _tell_answer(objection)
    return objection


def _withdraw(user: User, award: Award, objection: AwardObjection, reason: str) -> None:
    """Withdraw the award (撤销, audited), keep its winner out of the request and return the
    request to the owner's decision."""
    request: SelectionRequest = award.request
    closed = {"status": request.status, "closed_at": str(request.closed_at)}
    withdrawal = AwardWithdrawal(
        award_id=award.id,
        objection_id=objection.id,
        reason=reason,
        withdrawn_at=clock.now(),
        withdrawn_by_id=user.id,
    )
    db.session.add(withdrawal)
    db.session.flush()
    db.session.expire(award, ["withdrawal"])
    record("award.withdraw", actor=user, of=award, after=snapshot(withdrawal), detail=reason)
    engagement = award.engagement
    if engagement is not None and engagement.status != EngagementStatus.WITHDRAWN.value:
        with change("engagement.withdraw", actor=user, of=engagement):
            engagement.status = EngagementStatus.WITHDRAWN.value
    if not any(e.provider_id == award.provider_id for e in request.exclusions):
        request.exclusions.append(Exclusion(provider_id=award.provider_id, reason=reason[:2000]))
    reopened = db.session.execute(
        update(SelectionRequest)
        .where(
            SelectionRequest.id == request.id,
            SelectionRequest.status == RequestStatus.AWARDED.value,
        )
        .values(status=RequestStatus.OPEN.value, closed_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.flush()
    db.session.refresh(request)
    enqueue(db.session, "award", request.ref)  # the notice leaves search until decided again
    record(
        "selection.reopen",
        actor=user,
        of=request,
        before=closed,
        after={"status": request.status, "excluded": award.provider.uscc, "reopened": reopened},
        detail=f"中选结果撤销,{award.provider.name}回避,由业主重新确定结果",
    )


def _tell_parties_of_objection(award: Award, objection: AwardObjection, objector: User) -> None:
    """The owner and the winner (but not the account that filed it): the award is contested, so
    the result is not confirmed or rated until the answer (delivery.refuse_while_contested)."""
    request = award.request
    what = f"选取公告 {request.ref}({request.service_item.name})的中选结果"
    after = (
        f"{objection.party_name}对{what}提出异议,政务服务办公室将于 "
        f"{objection.answer_due:%Y-%m-%d}(含当日)前答复。答复前不能确认服务成果或评价;异议成立的,"
        "中选结果撤销,服务项目随之撤销。"
    )
    owners = db.session.scalars(
        select(User).where(policy.enterprise_accounts(request.project.enterprise_id))
    )
    notify.notify(
        [u for u in (*owners, *provider_accounts([award.provider_id])) if u.id != objector.id],
        "objection",
        after,
        link=f"/awards/{award.id}",
        kind="中选结果异议",
        subject=f"中选结果异议:{request.ref}",
    )


def _tell_answer(objection: AwardObjection) -> None:
    """The objector's accounts, the owner's and the winner's: the answer, and for an upheld
    objection that the award was withdrawn."""
    award = objection.award
    request = award.request
    upheld = objection.outcome == AwardObjectionOutcome.UPHELD.value
    what = f"选取公告 {request.ref}({request.service_item.name})的中选结果"
    owners = list(
        db.session.scalars(
            select(User).where(policy.enterprise_accounts(request.project.enterprise_id))
        )
    )
    objector_accounts = [db.session.get(User, objection.submitted_by_id)]
    notify.notify(
        objector_accounts,
        "objection",
        f"您对{what}提出的异议已答复:{objection.outcome_label}。",
        link=f"/awards/{award.id}",
        kind="异议答复",
        subject=f"异议答复:{request.ref}",
    )
    if not upheld:
        return
    # One event, told to each side where it acts: the owner chooses again, the firm reads why.
    told = (
        (
            owners,
            f"{what}因异议成立已撤销,{award.provider.name}回避。请重新确定选取结果。",
            f"/my/requests/{request.ref}",
        ),
        (
            provider_accounts([award.provider_id]),
            f"贵机构在选取公告 {request.ref}({request.service_item.name})中的中选结果因异议成立"
            "已撤销。",
            f"/awards/{award.id}",
        ),
    )
    for people, message, link in told:
        notify.notify(
            people,
            "award",
            message,
            link=link,
            kind="中选撤销",
            subject=f"中选结果撤销:{request.ref}",
        )
