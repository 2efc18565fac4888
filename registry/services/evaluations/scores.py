"""Score entry by form: insert-only revisions (the latest counts), drafts submitted together,
corrections with a reason once a period is closed; a form posted twice stores one row."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from sqlalchemy import select

from registry.extensions import db
from registry.models import (
    EvaluationPeriod,
    PeriodStatus,
    Provider,
    ScoreEntry,
    ScoreState,
    User,
)
from registry.sanitize import plain_text
from registry.services.audit import record
from registry.services.errors import Forbidden, RegistryError, StaleEdit
from registry.services.evaluations.criteria import parse_scores, same_scores, total_of
from registry.services.evaluations.periods import (
    OUT_OF_SCOPE,
    current_entries,
    get_period_for,
    is_scorable,
    locked_period,
    provider_by_uscc,
    provider_in_scope,
)
from registry.services.revisions import insert_revision

REASON_MAX = 500
NOTE_MAX = 500
REVISION_ATTEMPTS = 50
FORM_SOURCE = "表单"
STALE_FORM = "表单已失效,请刷新页面后重新提交"


def state_for(period: EvaluationPeriod, submit: bool) -> ScoreState:
    if period.status != PeriodStatus.OPEN.value:
        return ScoreState.CORRECTION
    return ScoreState.SUBMITTED if submit else ScoreState.DRAFT


def add_revision(
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
    entry, new = insert_revision(
        ScoreEntry,
        scope={"period_id": period.id, "provider_id": provider.id},
        attempts=REVISION_ATTEMPTS,
        submission_key=submission_key,
        scores=scores,
        total=total,
        state=state.value,
        reason=reason,
        note=note,
        source=source[:300],
        after_publication=period.status == PeriodStatus.PUBLISHED.value,
        entered_by_id=user.id,
    )
    if not new:
        return entry
    revision = entry.revision
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


def checked_reason(reason: str | None) -> str | None:
    reason = plain_text(reason) or None
    if reason is not None and len(reason) > REASON_MAX:
        raise RegistryError("reason", f"原因不能超过 {REASON_MAX} 个字符")
    return reason


def checked_note(note: str | None) -> str | None:
    """The note as plain text (None when empty), refused when longer than NOTE_MAX."""
    note = plain_text(note) or None
    if note is not None and len(note) > NOTE_MAX:
        raise RegistryError("note", f"备注不能超过 {NOTE_MAX} 个字符")
    return note


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
    based_on: int | None = None,
) -> ScoreEntry:
    """A regulator enters one provider's criterion scores (keyed by criterion code) in a period of
    its own department: a draft or a submitted score while the period is open; once it is closed
    or published, a correction that needs a reason (after publication it takes effect publicly).
    The same form posted twice stores one row. `based_on` (a form's): the revision the form
    showed (0: none yet); another revision saved meanwhile refuses the save."""
    period = locked_period(user, period)
    if not submission_key or len(submission_key) > 64:
        raise RegistryError(None, STALE_FORM)
    provider = provider_in_scope(period, provider_uscc)
    existing = db.session.scalar(
        select(ScoreEntry).where(ScoreEntry.submission_key == submission_key)
    )
    if existing is not None:
        if (existing.period_id, existing.provider_id) != (period.id, provider.id):
            raise RegistryError(None, STALE_FORM)
        return existing  # a double-submit of the same form
    if based_on is not None:
        shown = current_entries(period, [provider.id]).get(provider.id)
        if based_on != (shown.revision if shown is not None else 0):
            # Two tabs: the second save put the first one's scores back, silently (stop 30).
            raise StaleEdit(
                f"{provider.name} 的得分已在别处保存为第 {shown.revision if shown else 0} 版,"
                "为免覆盖,本次未保存;请刷新页面,核对后再录入。"
            )
    state = state_for(period, submit)
    parsed = parse_scores(period.criteria, scores)
    reason = checked_reason(reason)
    if state == ScoreState.CORRECTION:
        if reason is None:
            raise RegistryError("reason", "考评已结束,修改得分须作为更正提交,请填写更正原因")
        current = current_entries(period, [provider.id]).get(provider.id)
        if current is not None and same_scores(current.scores, parsed):
            raise RegistryError(None, "更正后的得分与当前得分相同,无需更正")
    return add_revision(
        user,
        period,
        provider,
        scores=parsed,
        state=state,
        reason=reason,
        note=checked_note(note),
        source=FORM_SOURCE,
        submission_key=submission_key,
    )


def submit_drafts(user: User, period: EvaluationPeriod | int) -> int:
    """Submit every provider whose current score is a draft (a new 已提交 revision with the same
    scores); returns how many. Submitting the same draft twice stores it once."""
    period = locked_period(user, period)
    if period.status != PeriodStatus.OPEN.value:
        raise RegistryError(None, "考评已结束,不能再提交草稿")
    count = 0
    for entry in current_entries(period).values():
        if entry.state != ScoreState.DRAFT.value:
            continue
        add_revision(
            user,
            period,
            entry.provider,
            scores=dict(entry.scores),
            state=ScoreState.SUBMITTED,
            reason=entry.reason,
            note=entry.note,
            source=f"提交草稿(第 {entry.revision} 版)",
            submission_key=derived_key("submit", entry.id),
        )
        count += 1
    return count


def score_history(
    user: User, period: EvaluationPeriod | int, provider_uscc: str
) -> tuple[Provider, list[ScoreEntry]]:
    """A provider's revisions in a period of the regulator's department, oldest first. A provider
    outside the department's scope is refused (Forbidden) unless it already has scores here."""
    period = get_period_for(user, period.id if isinstance(period, EvaluationPeriod) else period)
    provider = provider_by_uscc(provider_uscc)
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


def derived_key(*parts) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()
