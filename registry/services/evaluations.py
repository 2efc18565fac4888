"""Periodic evaluation (定期考评) use cases: a regulator opens, closes and publishes its own
department's evaluation periods and enters criterion scores per provider, by form or by one
CSV/XLSX file validated as a whole. Scores are insert-only revisions (the latest counts); after a
period is closed a new revision is a correction with a reason. Services flush, audit and raise;
they never commit."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
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
from registry.pure.uscc import validate_uscc
from registry.sanitize import plain_text
from registry.services.audit import record, snapshot
from registry.services.errors import Forbidden, NotFound, RegistryError, add_unique

DEFAULT_CRITERIA = (
    {"code": "technical", "name": "技术性", "weight": "0.25"},
    {"code": "compliance", "name": "规范性", "weight": "0.25"},
    {"code": "effectiveness", "name": "工作实效", "weight": "0.25"},
    {"code": "service", "name": "服务水平", "weight": "0.25"},
)
USCC_COLUMN = "统一社会信用代码"
NAME_COLUMN = "机构名称"
NOTE_COLUMN = "备注"
NAME_MAX = 50
REASON_MAX = 500
NOTE_MAX = 500
REVISION_ATTEMPTS = 50
FORM_SOURCE = "表单"
NOT_FOUND = "未找到该考评周期"
OUT_OF_SCOPE = "该机构不提供本部门监管的中介服务事项,不在本周期考评范围内"
STALE_FORM = "表单已失效,请刷新页面后重新提交"
_CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_CENT = Decimal("0.01")
# Plain decimal notation only (no exponents, no thousands separators).
_NUMBER_RE = re.compile(r"^[+-]?\d{1,12}(\.\d{1,12})?$")


def today() -> date:
    """Today in the zone's time zone (periods are local dates)."""
    return clock.today()


# ---------------------------------------------------------------------- criteria and scores


def validate_criteria(raw) -> list[dict]:
    """Criteria as stored on a period: [{code, name, weight (a decimal string)}], weights > 0
    summing to exactly 1, codes and names unique. Raises RegistryError on a bad configuration."""
    problem = RegistryError(None, "考评指标配置有误(指标编码、名称或权重),请联系管理员核对设置")
    if not isinstance(raw, list | tuple) or not raw:
        raise problem
    criteria, total = [], Decimal(0)
    for item in raw:
        if not isinstance(item, Mapping):
            raise problem
        code, name = str(item.get("code", "")), plain_text(str(item.get("name", "")))
        try:
            weight = Decimal(str(item.get("weight")))
        except InvalidOperation:
            raise problem from None
        if not _CODE_RE.match(code) or not name or len(name) > 20:
            raise problem
        if not weight.is_finite() or weight <= 0 or weight > 1:
            raise problem
        criteria.append({"code": code, "name": name, "weight": str(weight)})
        total += weight
    if total != 1:
        raise RegistryError(None, f"考评指标权重之和须为 1(当前为 {total}),请联系管理员核对设置")
    if len({c["code"] for c in criteria}) != len(criteria) or len(
        {c["name"] for c in criteria}
    ) != len(criteria):
        raise problem
    return criteria


def criteria_for(department_code: str) -> list[dict]:
    """The criteria a new period of the department gets: EVALUATION_CRITERIA[code], else its
    "default" entry, else 技术性, 规范性, 工作实效, 服务水平 at 0.25 each."""
    configured = current_app.config.get("EVALUATION_CRITERIA") or {}
    raw = configured.get(department_code) or configured.get("default") or list(DEFAULT_CRITERIA)
    return validate_criteria(raw)


def parse_score(value) -> Decimal:
    """One criterion score: a number 0–100 with at most two decimals (full-width digits read).
    Raises ValueError with the Chinese reason."""
    if isinstance(value, bool):
        raise ValueError("不是有效的分数")
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError("未填写得分")
    if isinstance(value, int | float | Decimal):
        text = str(value)
    elif isinstance(value, str):
        text = score_files.normalise_text(value)
    else:
        raise ValueError("不是有效的分数")
    shown = text if len(text) <= 20 else text[:20] + "…"
    if not _NUMBER_RE.match(text):
        raise ValueError(f"“{shown}”不是有效的分数")
    number = Decimal(text)
    if number < 0 or number > 100:
        raise ValueError(f"得分须在 0–100 之间(当前为 {shown})")
    if number != number.quantize(_CENT):
        raise ValueError("得分最多保留两位小数")
    return number


def _json_number(value: Decimal) -> int | float:
    """A score as a JSON number (exact: at most two decimals)."""
    return int(value) if value == value.to_integral() else float(value)


def total_of(criteria: Sequence[Mapping], scores: Mapping[str, object]) -> Decimal:
    """The weighted total, rounded half-up to two decimals."""
    total = sum(
        (Decimal(c["weight"]) * Decimal(str(scores[c["code"]])) for c in criteria), Decimal(0)
    )
    return total.quantize(_CENT, rounding=ROUND_HALF_UP)


def parse_scores(criteria: Sequence[Mapping], raw: Mapping[str, object]) -> dict[str, int | float]:
    """Scores for every criterion (by code), checked; the first problem raises RegistryError on
    the form field c_<code>."""
    scores = {}
    for criterion in criteria:
        try:
            value = parse_score(raw.get(criterion["code"]))
        except ValueError as error:
            raise RegistryError(f"c_{criterion['code']}", f"{criterion['name']}:{error}") from None
        scores[criterion["code"]] = _json_number(value)
    return scores


def _same_scores(a: Mapping, b: Mapping) -> bool:
    return set(a) == set(b) and all(Decimal(str(a[k])) == Decimal(str(b[k])) for k in a)


# ---------------------------------------------------------------------- periods


def half_year(on: date) -> tuple[str, date, date]:
    """The half-year containing `on`: its name (2026年上半年) and first and last days."""
    if on.month <= 6:
        return f"{on.year}年上半年", date(on.year, 1, 1), date(on.year, 6, 30)
    return f"{on.year}年下半年", date(on.year, 7, 1), date(on.year, 12, 31)


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


def _locked(user: User, period: EvaluationPeriod | int) -> EvaluationPeriod:
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
    default_name, default_start, default_end = half_year(today())
    name = plain_text(name) or default_name
    starts_on = starts_on or default_start
    ends_on = ends_on or default_end
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
    record(
        "evaluation.open",
        actor=user,
        object_type="evaluation_period",
        object_id=period.id,
        after=snapshot(period),
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


def close_period(user: User, period: EvaluationPeriod | int) -> EvaluationPeriod:
    """End score entry (进行中 → 已结束). Refused while any provider's current score is a draft."""
    period = get_period_for(user, period.id if isinstance(period, EvaluationPeriod) else period)
    before = snapshot(period)
    _move(period, PeriodStatus.OPEN, PeriodStatus.CLOSED, closed_at=utcnow())
    drafts = [e for e in current_entries(period).values() if e.state == ScoreState.DRAFT.value]
    if drafts:
        raise RegistryError(
            None, f"尚有 {len(drafts)} 家机构的得分是草稿,请先提交(或录入正式得分)后再结束考评"
        )
    record(
        "evaluation.close",
        actor=user,
        object_type="evaluation_period",
        object_id=period.id,
        before=before,
        after=snapshot(period),
    )
    return period


def publish_period(user: User, period: EvaluationPeriod | int) -> EvaluationPeriod:
    """Publish the results (已结束 → 已发布): each provider's current score becomes public."""
    period = get_period_for(user, period.id if isinstance(period, EvaluationPeriod) else period)
    before = snapshot(period)
    _move(period, PeriodStatus.CLOSED, PeriodStatus.PUBLISHED, published_at=utcnow())
    published = current_entries(period)
    record(
        "evaluation.publish",
        actor=user,
        object_type="evaluation_period",
        object_id=period.id,
        before=before,
        after={
            **snapshot(period),
            "providers": len(published),
            "totals": {e.provider.uscc: str(e.total) for e in published.values()},
        },
    )
    return period


# ---------------------------------------------------------------------- who is scored


def _scorable_query(period: EvaluationPeriod):
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
                Provider.id.in_(_scorable_query(period)),
            )
            .order_by(Provider.name, Provider.uscc)
        )
    )


def is_scorable(period: EvaluationPeriod, provider: Provider) -> bool:
    """Whether the provider is in the period's scope (active, offering the department's items)."""
    return provider.is_active and provider.id in set(
        db.session.scalars(_scorable_query(period).where(Offer.provider_id == provider.id))
    )


def current_entries(
    period: EvaluationPeriod, provider_ids: Sequence[int] | None = None
) -> dict[int, ScoreEntry]:
    """Provider id → its latest revision in the period."""
    latest = (
        select(ScoreEntry.provider_id, func.max(ScoreEntry.revision).label("revision"))
        .where(ScoreEntry.period_id == period.id)
        .group_by(ScoreEntry.provider_id)
    )
    if provider_ids is not None:
        latest = latest.where(ScoreEntry.provider_id.in_(list(provider_ids)))
    latest = latest.subquery()
    rows = db.session.scalars(
        select(ScoreEntry)
        .join(
            latest,
            (ScoreEntry.provider_id == latest.c.provider_id)
            & (ScoreEntry.revision == latest.c.revision),
        )
        .where(ScoreEntry.period_id == period.id)
        .options(selectinload(ScoreEntry.provider))
    )
    return {row.provider_id: row for row in rows}


def _provider(uscc: str) -> Provider:
    code = score_files.normalise_text(uscc).upper()
    provider = db.session.scalar(select(Provider).where(Provider.uscc == code)) if code else None
    if provider is None:
        raise NotFound("未找到该中介机构")
    return provider


def _in_scope(period: EvaluationPeriod, uscc: str) -> Provider:
    """The provider by code if the period's department may score it; otherwise Forbidden."""
    provider = _provider(uscc)
    if not is_scorable(period, provider):
        raise Forbidden(OUT_OF_SCOPE)
    return provider


# ---------------------------------------------------------------------- entering scores


def _state_for(period: EvaluationPeriod, submit: bool) -> ScoreState:
    if period.status != PeriodStatus.OPEN.value:
        return ScoreState.CORRECTION
    return ScoreState.SUBMITTED if submit else ScoreState.DRAFT


def _add_revision(
    user: User,
    period: EvaluationPeriod,
    provider: Provider,
    *,
    scores: dict,
    state: ScoreState,
    reason: str | None,
    note: str | None,
    source: str,
    submission_key: str,
) -> ScoreEntry:
    """Insert the next revision; a race for the same revision number retries with the next one,
    and a race with the same submission key returns the row that won."""
    total = total_of(period.criteria, scores)
    for _attempt in range(REVISION_ATTEMPTS):
        revision = (
            db.session.scalar(
                select(func.max(ScoreEntry.revision)).where(
                    ScoreEntry.period_id == period.id, ScoreEntry.provider_id == provider.id
                )
            )
            or 0
        ) + 1
        entry = ScoreEntry(
            period_id=period.id,
            provider_id=provider.id,
            revision=revision,
            scores=scores,
            total=total,
            state=state.value,
            reason=reason,
            note=note,
            source=source[:300],
            after_publication=period.status == PeriodStatus.PUBLISHED.value,
            submission_key=submission_key,
            entered_by_id=user.id,
        )
        try:
            with db.session.begin_nested():
                db.session.add(entry)
            break
        except IntegrityError:
            same = db.session.scalar(
                select(ScoreEntry).where(ScoreEntry.submission_key == submission_key)
            )
            if same is not None:
                return same
    else:
        raise RegistryError(None, "提交过于频繁,请稍后重试")
    record(
        "evaluation.score",
        actor=user,
        object_type="score_entry",
        object_id=f"{period.id}:{provider.uscc}:{revision}",
        after={
            "period": period.id,
            "provider": provider.uscc,
            "revision": revision,
            "state": state.value,
            "scores": scores,
            "total": str(total),
            "reason": reason,
            "source": source,
        },
    )
    return entry


def _reason(reason: str | None) -> str | None:
    reason = plain_text(reason) or None
    if reason is not None and len(reason) > REASON_MAX:
        raise RegistryError("reason", f"原因不能超过 {REASON_MAX} 个字符")
    return reason


def enter_scores(
    user: User,
    period: EvaluationPeriod | int,
    provider_uscc: str,
    scores: Mapping[str, object],
    *,
    submit: bool,
    submission_key: str,
    reason: str | None = None,
    note: str | None = None,
) -> ScoreEntry:
    """A regulator enters one provider's criterion scores (keyed by criterion code) in a period of
    its own department: a draft or a submitted score while the period is open; once it is closed
    or published, a correction that needs a reason (after publication it takes effect publicly).
    The same form posted twice stores one row."""
    period = _locked(user, period)
    if not submission_key or len(submission_key) > 64:
        raise RegistryError(None, STALE_FORM)
    provider = _in_scope(period, provider_uscc)
    existing = db.session.scalar(
        select(ScoreEntry).where(ScoreEntry.submission_key == submission_key)
    )
    if existing is not None:
        if (existing.period_id, existing.provider_id) != (period.id, provider.id):
            raise RegistryError(None, STALE_FORM)
        return existing  # a double-submit of the same form
    state = _state_for(period, submit)
    parsed = parse_scores(period.criteria, scores)
    reason = _reason(reason)
    if state == ScoreState.CORRECTION:
        if reason is None:
            raise RegistryError("reason", "考评已结束,修改得分须作为更正提交,请填写更正原因")
        current = current_entries(period, [provider.id]).get(provider.id)
        if current is not None and _same_scores(current.scores, parsed):
            raise RegistryError(None, "更正后的得分与当前得分相同,无需更正")
    note = plain_text(note) or None
    if note is not None and len(note) > NOTE_MAX:
        raise RegistryError("note", f"备注不能超过 {NOTE_MAX} 个字符")
    return _add_revision(
        user,
        period,
        provider,
        scores=parsed,
        state=state,
        reason=reason,
        note=note,
        source=FORM_SOURCE,
        submission_key=submission_key,
    )


def submit_drafts(user: User, period: EvaluationPeriod | int) -> int:
    """Submit every provider whose current score is a draft (a new 已提交 revision with the same
    scores); returns how many. Submitting the same draft twice stores it once."""
    period = _locked(user, period)
    if period.status != PeriodStatus.OPEN.value:
        raise RegistryError(None, "考评已结束,不能再提交草稿")
    count = 0
    for entry in current_entries(period).values():
        if entry.state != ScoreState.DRAFT.value:
            continue
        _add_revision(
            user,
            period,
            entry.provider,
            scores=dict(entry.scores),
            state=ScoreState.SUBMITTED,
            reason=entry.reason,
            note=entry.note,
            source=f"提交草稿(第 {entry.revision} 版)",
            submission_key=_key("submit", entry.id),
        )
        count += 1
    return count


def score_history(
    user: User, period: EvaluationPeriod | int, provider_uscc: str
) -> tuple[Provider, list[ScoreEntry]]:
    """A provider's revisions in a period of the regulator's department, oldest first. A provider
    outside the department's scope is refused (Forbidden) unless it already has scores here."""
    period = get_period_for(user, period.id if isinstance(period, EvaluationPeriod) else period)
    provider = _provider(provider_uscc)
    entries = list(
        db.session.scalars(
            select(ScoreEntry)
            .where(ScoreEntry.period_id == period.id, ScoreEntry.provider_id == provider.id)
            .order_by(ScoreEntry.revision)
        )
    )
    if not entries and not is_scorable(period, provider):
        raise Forbidden(OUT_OF_SCOPE)
    return provider, entries


def _key(*parts) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()


# ---------------------------------------------------------------------- files


def template_header(period: EvaluationPeriod) -> list[str]:
    """统一社会信用代码, 机构名称, one column per criterion, 备注."""
    return [USCC_COLUMN, NAME_COLUMN, *(c["name"] for c in period.criteria), NOTE_COLUMN]


def template_rows(period: EvaluationPeriod) -> list[list]:
    """One row per scorable provider, with its current scores when it has any."""
    providers = scorable_providers(period)
    current = current_entries(period, [p.id for p in providers])
    rows = []
    for provider in providers:
        entry = current.get(provider.id)
        scores = [entry.scores.get(c["code"]) if entry else None for c in period.criteria]
        rows.append([provider.uscc, provider.name, *scores, None])
    return rows


def template_file(user: User, period: EvaluationPeriod | int, fmt: str) -> tuple[bytes, str, str]:
    """The score template of a period as (content, download name, MIME type); fmt csv or xlsx."""
    period = get_period_for(user, period.id if isinstance(period, EvaluationPeriod) else period)
    header, rows = template_header(period), template_rows(period)
    name = f"考评得分模板-{period.department.label}-{period.name}"
    if fmt == "xlsx":
        content = score_files.write_xlsx(header, rows, title=period.name)
        return content, f"{name}.xlsx", score_files.XLSX_MIME
    return score_files.write_csv(header, rows), f"{name}.csv", score_files.CSV_MIME


@dataclass
class RowError:
    """One problem in an uploaded file: spreadsheet row number (the header is row 1), column."""

    row: int
    column: str
    message: str


class UploadRejected(RegistryError):
    """The file has problems; nothing was stored. `denied` lists codes of providers outside the
    department (the web layer audits the attempt)."""

    def __init__(self, errors: list[RowError], denied: list[str] | None = None):
        super().__init__(
            "file", f"文件未导入:发现 {len(errors)} 处问题,请修改后重新上传(未保存任何数据)。"
        )
        self.errors = errors
        self.denied = denied or []


@dataclass
class UploadResult:
    """What an accepted upload did."""

    stored: int = 0
    unchanged: int = 0
    blank: int = 0
    sha256: str = ""
    entries: list[ScoreEntry] = field(default_factory=list)


@dataclass
class _Row:
    number: int
    provider: Provider
    scores: dict
    note: str | None
    reason: str | None


def _columns(header: list, period: EvaluationPeriod) -> dict[str, int]:
    """Column name → index, checked: every required column present once."""
    found: dict[str, int] = {}
    errors = []
    for index, cell in enumerate(header):
        name = score_files.normalise_text(cell).replace(" ", "")
        if not name:
            continue
        if name in found:
            errors.append(RowError(1, name, "列名重复"))
        found.setdefault(name, index)
    required = [USCC_COLUMN, *(c["name"] for c in period.criteria)]
    errors += [RowError(1, name, "缺少此列") for name in required if name not in found]
    if errors:
        expected = "、".join(template_header(period))
        errors.append(RowError(1, "表头", f"第 1 行须为表头:{expected}(可下载模板填写)"))
        raise UploadRejected(errors)
    return found


def _cell(row: list, index: int | None):
    return row[index] if index is not None and index < len(row) else None


def _check_rows(
    period: EvaluationPeriod,
    rows: list[list],
    columns: dict[str, int],
    state: ScoreState,
    reason: str | None,
    result: UploadResult,
) -> list[_Row]:
    """Every data row checked; all problems collected before anything is stored."""
    errors: list[RowError] = []
    denied: list[str] = []
    candidates: list[tuple[int, str, list]] = []
    seen: dict[str, int] = {}
    score_columns = [(c, columns[c["name"]]) for c in period.criteria]
    for number, row in enumerate(rows, start=2):
        if all(score_files.normalise_text(v) == "" for v in row):
            continue
        if all(score_files.normalise_text(_cell(row, i)) == "" for _c, i in score_columns):
            result.blank += 1  # a template row left empty: this provider is not scored now
            continue
        raw_code = score_files.normalise_text(_cell(row, columns[USCC_COLUMN]))
        if not raw_code:
            errors.append(RowError(number, USCC_COLUMN, "未填写统一社会信用代码"))
            continue
        try:
            code = validate_uscc(raw_code.upper())
        except ValueError as error:
            errors.append(RowError(number, USCC_COLUMN, str(error)))
            continue
        if code in seen:
            errors.append(RowError(number, USCC_COLUMN, f"与第 {seen[code]} 行的机构重复"))
            continue
        seen[code] = number
        candidates.append((number, code, row))
    providers = {
        p.uscc: p for p in db.session.scalars(select(Provider).where(Provider.uscc.in_(list(seen))))
    }
    scope = set(
        db.session.scalars(
            _scorable_query(period).where(Offer.provider_id.in_([p.id for p in providers.values()]))
        )
    )
    checked: list[_Row] = []
    for number, code, row in candidates:
        provider = providers.get(code)
        if provider is None:
            errors.append(RowError(number, USCC_COLUMN, "未找到该统一社会信用代码对应的中介机构"))
            continue
        if provider.id not in scope:
            errors.append(RowError(number, USCC_COLUMN, OUT_OF_SCOPE))
            denied.append(code)
            continue
        if not provider.is_active:
            errors.append(
                RowError(number, USCC_COLUMN, f"该机构当前状态为“{provider.status}”,不能考评")
            )
            continue
        name = score_files.unneutralise(
            score_files.normalise_text(_cell(row, columns.get(NAME_COLUMN)))
        )
        if name and name.replace(" ", "") != score_files.normalise_text(provider.name).replace(
            " ", ""
        ):
            errors.append(
                RowError(
                    number, NAME_COLUMN, f"与该代码登记的机构名称“{provider.name}”不一致,请核对代码"
                )
            )
        scores, good = {}, True
        for criterion, index in score_columns:
            try:
                scores[criterion["code"]] = _json_number(parse_score(_cell(row, index)))
            except ValueError as error:
                errors.append(RowError(number, criterion["name"], str(error)))
                good = False
        note = (
            plain_text(
                score_files.unneutralise(
                    score_files.normalise_text(_cell(row, columns.get(NOTE_COLUMN)))
                )
            )
            or None
        )
        if note is not None and len(note) > NOTE_MAX:
            errors.append(RowError(number, NOTE_COLUMN, f"备注不能超过 {NOTE_MAX} 个字符"))
            good = False
        if good:
            checked.append(_Row(number, provider, scores, note, note or reason))
    current = current_entries(period, [r.provider.id for r in checked])
    changed = []
    for row in checked:
        entry = current.get(row.provider.id)
        if (
            entry is not None
            and _same_scores(entry.scores, row.scores)
            and not (entry.state == ScoreState.DRAFT.value and state != ScoreState.DRAFT)
        ):
            result.unchanged += 1
            continue
        if state == ScoreState.CORRECTION and not row.reason:
            errors.append(
                RowError(
                    row.number,
                    NOTE_COLUMN,
                    "考评已结束,修改得分须作为更正提交:请在备注列或“更正原因”栏填写原因",
                )
            )
            continue
        changed.append(row)
    if errors:
        errors.sort(key=lambda e: e.row)
        raise UploadRejected(errors, denied)
    if not checked and not result.blank:
        raise UploadRejected([RowError(2, "—", "文件中没有数据行")])
    return changed


def upload_scores(
    user: User,
    period: EvaluationPeriod | int,
    data: bytes,
    filename: str,
    *,
    submit: bool,
    reason: str | None = None,
) -> UploadResult:
    """Bulk entry from a CSV or XLSX file: the whole file is checked first and nothing is stored
    unless every row passes (UploadRejected lists each problem by row and column). Rows equal to
    the current score are left alone, and every stored row's submission key is derived from the
    file and the row, so uploading the same file twice changes nothing."""
    period = _locked(user, period)
    state = _state_for(period, submit)
    reason = _reason(reason)
    max_rows = int(current_app.config.get("EVALUATION_UPLOAD_MAX_ROWS", 5000))
    table = score_files.read_table(data, max_rows=max_rows)
    if not table:
        raise UploadRejected([RowError(1, "—", "文件中没有内容")])
    columns = _columns(table[0], period)
    digest = hashlib.sha256(data).hexdigest()
    result = UploadResult(sha256=digest)
    rows = _check_rows(period, table[1:], columns, state, reason, result)
    shown_name = plain_text(filename)[-100:] or "上传文件"
    for row in rows:
        content = json.dumps(
            [row.provider.uscc, row.scores, row.note], ensure_ascii=False, sort_keys=True
        )
        entry = _add_revision(
            user,
            period,
            row.provider,
            scores=row.scores,
            state=state,
            reason=row.reason if state == ScoreState.CORRECTION else reason,
            note=row.note,
            source=f"文件 {shown_name} 第 {row.number} 行",
            submission_key=_key("file", period.id, state.value, digest, row.number, content),
        )
        result.entries.append(entry)
    result.stored = len(rows)
    record(
        "evaluation.upload",
        actor=user,
        object_type="evaluation_period",
        object_id=period.id,
        after={
            "file": shown_name,
            "sha256": digest,
            "state": state.value,
            "stored": result.stored,
            "unchanged": result.unchanged,
            "blank": result.blank,
        },
    )
    return result


# ---------------------------------------------------------------------- published results


def _latest_public(period_ids: Sequence[int], provider_id: int) -> dict[int, ScoreEntry]:
    """Period id → the provider's latest non-draft revision in each of those periods."""
    if not period_ids:
        return {}
    latest = (
        select(ScoreEntry.period_id, func.max(ScoreEntry.revision).label("revision"))
        .where(
            ScoreEntry.provider_id == provider_id,
            ScoreEntry.period_id.in_(list(period_ids)),
            ScoreEntry.state != ScoreState.DRAFT.value,
        )
        .group_by(ScoreEntry.period_id)
        .subquery()
    )
    rows = db.session.scalars(
        select(ScoreEntry)
        .join(
            latest,
            (ScoreEntry.period_id == latest.c.period_id)
            & (ScoreEntry.revision == latest.c.revision),
        )
        .where(ScoreEntry.provider_id == provider_id)
    )
    return {row.period_id: row for row in rows}


def published_totals(provider_id: int, since: date) -> list[tuple[date, Decimal, str]]:
    """For each PUBLISHED period ending on or after `since` in which the provider was scored:
    (period end date, the provider's current total, department code), oldest first. Corrections
    made after publication count at once."""
    periods = db.session.execute(
        select(EvaluationPeriod.id, EvaluationPeriod.ends_on, Department.code)
        .join(Department, Department.id == EvaluationPeriod.department_id)
        .where(
            EvaluationPeriod.status == PeriodStatus.PUBLISHED.value,
            EvaluationPeriod.ends_on >= since,
        )
        .order_by(EvaluationPeriod.ends_on, EvaluationPeriod.id)
    ).all()
    current = _latest_public([p.id for p in periods], provider_id)
    return [
        (ends_on, current[period_id].total, code)
        for period_id, ends_on, code in periods
        if period_id in current
    ]


@dataclass
class PublicScore:
    """A provider's published result in one period: the revisions the public may see (the one
    published, then any corrections after publication); the last one counts."""

    period: EvaluationPeriod
    revisions: list[ScoreEntry]

    @property
    def current(self) -> ScoreEntry:
        """The revision in force."""
        return self.revisions[-1]


def public_scores(provider_id: int) -> list[PublicScore]:
    """A provider's results in every published period, newest period first."""
    periods = list(
        db.session.scalars(
            select(EvaluationPeriod)
            .where(EvaluationPeriod.status == PeriodStatus.PUBLISHED.value)
            .where(
                EvaluationPeriod.id.in_(
                    select(ScoreEntry.period_id).where(ScoreEntry.provider_id == provider_id)
                )
            )
            .options(selectinload(EvaluationPeriod.department))
            .order_by(EvaluationPeriod.ends_on.desc(), EvaluationPeriod.id.desc())
        )
    )
    entries = db.session.scalars(
        select(ScoreEntry)
        .where(
            ScoreEntry.provider_id == provider_id,
            ScoreEntry.period_id.in_([p.id for p in periods]),
            ScoreEntry.state != ScoreState.DRAFT.value,
        )
        .order_by(ScoreEntry.period_id, ScoreEntry.revision)
    ).all()
    result = []
    for period in periods:
        mine = [e for e in entries if e.period_id == period.id]
        before = [e for e in mine if not e.after_publication]
        shown = ([before[-1]] if before else []) + [e for e in mine if e.after_publication]
        if shown:
            result.append(PublicScore(period, shown))
    return result
