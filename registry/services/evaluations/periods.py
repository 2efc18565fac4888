"""Evaluation periods (定期考评): a regulator opens, closes and publishes its own department's
periods; who a period scores (active providers offering the department's items) and each
provider's current revision in it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from registry import policy
from registry.extensions import db
from registry.kernel import clock
from registry.models import (
    Department,
    EvaluationPeriod,
    Offer,
    PeriodStatus,
    Provider,
    ProviderStatus,
    ScoreEntry,
    ScoreState,
    ServiceItem,
    User,
)
from registry.models.types import utcnow
from registry.pure import score_files
from registry.sanitize import plain_text
from registry.services import notify
from registry.services.audit import record, snapshot
from registry.services.errors import Forbidden, NotFound, RegistryError, add_unique
from registry.services.evaluations.criteria import criteria_for
from registry.services.evaluations.results import latest_entries

NAME_MAX = 50
CLOSE_REASON_MAX = 500
NOT_FOUND = "未找到该考评周期"
OUT_OF_SCOPE = "该机构不提供本部门监管的中介服务事项,不在本周期考评范围内"


def today() -> date:
    """Today in the zone's time zone (periods are local dates)."""
    return clock.today()


def half_year(on: date) -> tuple[str, date, date]:
    """The half-year containing `on`: its name (2026年上半年) and first and last days."""
    if on.month <= 6:
        return f"{on.year}年上半年", date(on.year, 1, 1), date(on.year, 6, 30)
    return f"{on.year}年下半年", date(on.year, 7, 1), date(on.year, 12, 31)


_HALF_YEAR_NAME = re.compile(r"^(\d{4})年([上下])半年$")


def _named_dates(name: str, starts_on: date | None, ends_on: date | None) -> tuple[date, date, str]:
    """A period's days and name: by default the half-year of its start (of today without one);
    a blank name is the half-year's when the days lie in one, else the days themselves. A name
    of a half-year must be the half-year the days lie in (a form's prefilled name kept when only the
    dates were changed named 2028's first half "2027年下半年": a tester, stop 30)."""
    _name, default_start, default_end = half_year(starts_on or today())
    starts_on, ends_on = starts_on or default_start, ends_on or default_end
    own, _first, last = half_year(starts_on)
    if ends_on > last:
        own = None  # the days run past one half-year
    if not name:
        return starts_on, ends_on, own or f"{starts_on:%Y-%m-%d} 至 {ends_on:%Y-%m-%d}"
    if _HALF_YEAR_NAME.match(name) and name != own:
        raise RegistryError(
            "name",
            f"周期名称“{name}”与所选日期({starts_on:%Y-%m-%d} 至 {ends_on:%Y-%m-%d})不符:"
            + (f"请改为“{own}”或清空名称" if own else "请填写其他名称或清空名称"),
        )
    return starts_on, ends_on, name


def _department_of(user: User) -> Department:
    """The department a regulator acts for (policy.regulator_department); anyone else is refused."""
    department = policy.regulator_department(user)
    if department is None:
        raise Forbidden("只有行业主管部门的账号可以进行定期考评")
    return department


def periods_for(user: User) -> list[EvaluationPeriod]:
    """The periods of the regulator's own department, newest first."""
    _department_of(user)
    return list(
        db.session.scalars(
            select(EvaluationPeriod)
            .where(policy.department_records(user, EvaluationPeriod.department_id))
            .order_by(EvaluationPeriod.starts_on.desc(), EvaluationPeriod.id.desc())
        )
    )


def get_period_for(user: User, period_id: int) -> EvaluationPeriod:
    """A period of the regulator's own department. Unknown: NotFound; another department's:
    Forbidden (the web layer answers both with 404 and audits the Forbidden)."""
    _department_of(user)
    period = db.session.get(EvaluationPeriod, period_id)
    if period is None:
        raise NotFound(NOT_FOUND)
    if not policy.in_department(user, period.department_id):
        raise Forbidden(f"考评周期 {period_id} 属于其他部门")
    return period


def locked_period(user: User, period: EvaluationPeriod | int) -> EvaluationPeriod:
    """The period (checked for the user's department) with its status re-read under a shared
    row lock on PostgreSQL: entries run side by side, but a close or publish waits for them (and
    they for it), so no score slips in under a status it did not see. SQLite's immediate
    transactions serialise writers anyway."""
    period_id = period.id if isinstance(period, EvaluationPeriod) else int(period)
    found = get_period_for(user, period_id)
    db.session.refresh(found, with_for_update={"read": True})
    return found


def open_period(
    user: User,
    *,
    name: str | None = None,
    starts_on: date | None = None,
    ends_on: date | None = None,
) -> EvaluationPeriod:
    """Open an evaluation period for the regulator's department (default: the current
    half-year), with the department's configured criteria."""
    department = _department_of(user)
    starts_on, ends_on, name = _named_dates(plain_text(name), starts_on, ends_on)
    if len(name) > NAME_MAX:
        raise RegistryError("name", f"周期名称不能超过 {NAME_MAX} 个字符")
    if ends_on < starts_on:
        raise RegistryError("ends_on", "结束日期不能早于开始日期")
    if ends_on - starts_on > timedelta(days=366):
        raise RegistryError("ends_on", "一个考评周期不能超过一年")
    criteria = criteria_for(department.code)
    overlapping = db.session.scalar(
        select(EvaluationPeriod).where(
            EvaluationPeriod.department_id == department.id,
            EvaluationPeriod.starts_on <= ends_on,
            EvaluationPeriod.ends_on >= starts_on,
        )
    )
    if overlapping is not None:
        raise RegistryError(
            "starts_on",
            f"与本部门已有的考评周期“{overlapping.name}”"
            f"({overlapping.starts_on} 至 {overlapping.ends_on})时间重叠",
        )
    period = EvaluationPeriod(
        department_id=department.id,
        name=name,
        starts_on=starts_on,
        ends_on=ends_on,
        status=PeriodStatus.OPEN.value,
        criteria=criteria,
        opened_by_id=user.id,
    )
    add_unique(db.session, period, "name", f"本部门已有名为“{name}”的考评周期")
    record("evaluation.open", actor=user, of=period, after=snapshot(period))
    notify.notify(
        notify.people(
            policy.provider_accounts(
                select(Provider.id).where(
                    policy.supervised_providers(department.id),
                    Provider.status == ProviderStatus.ACTIVE.value,
                )
            )
        ),
        "evaluation",
        f"{department.name}开启了定期考评“{period.name}”({period.starts_on:%Y-%m-%d} 至 "
        f"{period.ends_on:%Y-%m-%d}),考评贵机构在该期间承接本部门监管事项的服务情况。",
        link="/my/provider",
        kind="考评开启",
        subject=f"定期考评开启:{department.name}{period.name}",
    )
    return period


def _move(period: EvaluationPeriod, source: PeriodStatus, target: PeriodStatus, **values) -> None:
    """Change the status atomically (UPDATE … WHERE status = source): of two concurrent
    regulators exactly one succeeds; on PostgreSQL the update waits for running score entries."""
    moved = db.session.execute(
        update(EvaluationPeriod)
        .where(EvaluationPeriod.id == period.id, EvaluationPeriod.status == source.value)
        .values(status=target.value, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(period)
    if moved != 1:
        raise RegistryError(
            None, f"该考评周期当前状态为“{period.status}”,操作未执行,请刷新页面后查看"
        )


def has_ended(period: EvaluationPeriod) -> bool:
    """Whether the period is over (its last day has passed in the zone's time zone)."""
    return today() > period.ends_on


def close_period(
    user: User, period: EvaluationPeriod | int, reason: str | None = None
) -> EvaluationPeriod:
    """End score entry (进行中 → 已结束). Refused while any provider's current score is a draft;
    before the period's end only with a reason, which is stored (an early close) and audited."""
    period = get_period_for(user, period.id if isinstance(period, EvaluationPeriod) else period)
    reason = plain_text(reason) or None
    if today() < period.starts_on:
        # A period not yet begun was scored, closed "early" and published, dated in the future
        # (a tester, stop 30): there is nothing to evaluate before it starts.
        raise RegistryError(
            None,
            f"考评周期自 {period.starts_on:%Y-%m-%d} 开始,尚未开始,不能结束考评或发布结果",
        )
    if has_ended(period):
        reason = None  # an ordinary close: nothing to explain
    elif reason is None:
        raise RegistryError(
            "reason",
            f"考评周期至 {period.ends_on:%Y-%m-%d} 才结束;提前结束考评须填写原因(将记录在案)",
        )
    elif len(reason) > CLOSE_REASON_MAX:
        raise RegistryError("reason", f"原因不能超过 {CLOSE_REASON_MAX} 个字符")
    before = snapshot(period)
    _move(period, PeriodStatus.OPEN, PeriodStatus.CLOSED, closed_at=utcnow(), close_reason=reason)
    drafts = [e for e in current_entries(period).values() if e.state == ScoreState.DRAFT.value]
    if drafts:
        raise RegistryError(
            None, f"尚有 {len(drafts)} 家机构的得分是草稿,请先提交(或录入正式得分)后再结束考评"
        )
    action = "evaluation.close" if reason is None else "evaluation.close_early"
    record(action, actor=user, of=period, before=before, after=snapshot(period))
    return period


def publication(user: User, period: EvaluationPeriod | int) -> list[ScoreEntry]:
    """What publishing the period would make public (each provider's current revision, by
    provider name), or why it may not be published: it must be closed, and over or closed early
    with a recorded reason. Reads only: the confirmation page shows it."""
    period = get_period_for(user, period.id if isinstance(period, EvaluationPeriod) else period)
    if period.status != PeriodStatus.CLOSED.value:
        raise RegistryError(None, f"该考评周期当前状态为“{period.status}”,结束考评后方可发布结果")
    if not has_ended(period) and not period.close_reason:
        raise RegistryError(
            None,
            f"考评周期至 {period.ends_on:%Y-%m-%d} 才结束,结束后方可发布结果"
            "(确需提前发布的,须在结束考评时填写提前结束的原因)",
        )
    return sorted(current_entries(period).values(), key=lambda e: (e.provider.name, e.provider_id))


def publish_period(user: User, period: EvaluationPeriod | int) -> EvaluationPeriod:
    """Publish the results (已结束 → 已发布): each provider's current score becomes public.
    Refused as `publication` says."""
    period = get_period_for(user, period.id if isinstance(period, EvaluationPeriod) else period)
    if period.status == PeriodStatus.CLOSED.value:
        publication(user, period)
    before = snapshot(period)
    _move(period, PeriodStatus.CLOSED, PeriodStatus.PUBLISHED, published_at=utcnow())
    published = current_entries(period)
    record(
        "evaluation.publish",
        actor=user,
        of=period,
        before=before,
        after={
            **snapshot(period),
            "providers": len(published),
            "totals": {e.provider.uscc: str(e.total) for e in published.values()},
        },
    )
    department = db.session.get(Department, period.department_id)
    for entry in published.values():
        # One message per provider: its own total, linking to its public page with the scores.
        notify.notify(
            notify.people(policy.provider_accounts([entry.provider_id])),
            "evaluation",
            f"{department.name}公布了定期考评“{period.name}”的结果,贵机构得分 {entry.total}。",
            link=f"/providers/{entry.provider.uscc}",
            kind="考评公布",
            subject=f"定期考评结果公布:{department.name}{period.name}",
        )
    return period


def scorable_query(period: EvaluationPeriod):
    return (
        select(Offer.provider_id)
        .join(ServiceItem, ServiceItem.id == Offer.service_item_id)
        .where(ServiceItem.department_id == period.department_id, Offer.is_active.is_(True))
    )


def scorable_providers(period: EvaluationPeriod) -> list[Provider]:
    """Active providers offering a service item that the period's department supervises."""
    return list(
        db.session.scalars(
            select(Provider)
            .where(
                Provider.status == ProviderStatus.ACTIVE.value,
                Provider.id.in_(scorable_query(period)),
            )
            .order_by(Provider.name, Provider.uscc)
        )
    )


def is_scorable(period: EvaluationPeriod, provider: Provider) -> bool:
    """Whether the provider is in the period's scope (active, offering the department's items)."""
    return provider.is_active and provider.id in set(
        db.session.scalars(scorable_query(period).where(Offer.provider_id == provider.id))
    )


def current_entries(
    period: EvaluationPeriod, provider_ids: Sequence[int] | None = None
) -> dict[int, ScoreEntry]:
    """Provider id → its latest revision in the period."""
    conditions = [ScoreEntry.period_id == period.id]
    if provider_ids is not None:
        conditions.append(ScoreEntry.provider_id.in_(list(provider_ids)))
    rows = latest_entries(
        ScoreEntry.provider_id, *conditions, options=[selectinload(ScoreEntry.provider)]
    )
    return {row.provider_id: row for row in rows}


def provider_by_uscc(uscc: str) -> Provider:
    code = score_files.normalise_text(uscc).upper()
    provider = db.session.scalar(select(Provider).where(Provider.uscc == code)) if code else None
    if provider is None:
        raise NotFound("未找到该中介机构")
    return provider


def provider_in_scope(period: EvaluationPeriod, uscc: str) -> Provider:
    """The provider by code if the period's department may score it; otherwise Forbidden."""
    provider = provider_by_uscc(uscc)
    if not is_scorable(period, provider):
        raise Forbidden(OUT_OF_SCOPE)
    return provider
