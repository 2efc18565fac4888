"""Score entry by file: the CSV/XLSX template of a period, and an upload validated as a whole
(every problem listed by row and column, nothing stored unless every row passes); uploading the
same file twice changes nothing."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from registry.extensions import db
from registry.models import (
    EvaluationPeriod,
    Offer,
    Provider,
    ScoreEntry,
    ScoreState,
    User,
)
from registry.pure import score_files
from registry.pure.uscc import validate_uscc
from registry.sanitize import plain_text
from registry.services.audit import record
from registry.services.errors import RegistryError
from registry.services.evaluations.criteria import json_number, parse_score, same_scores
from registry.services.evaluations.periods import (
    OUT_OF_SCOPE,
    current_entries,
    get_period_for,
    locked_period,
    scorable_providers,
    scorable_query,
)
from registry.services.evaluations.scores import (
    NOTE_MAX,
    add_revision,
    checked_reason,
    derived_key,
    state_for,
)

USCC_COLUMN = "统一社会信用代码"
NAME_COLUMN = "机构名称"
NOTE_COLUMN = "备注"


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


def _columns(table: score_files.Table, period: EvaluationPeriod) -> tuple[int, dict[str, int]]:
    """The header's row number (a title row or two may stand above it) and column name → index,
    checked: every required column present once. A workbook's messages name the sheet read."""
    at = score_files.find_header(table.rows, USCC_COLUMN)
    number = 1 if at is None else at + 1
    found: dict[str, int] = {}
    errors = []
    for index, cell in enumerate(table.rows[number - 1]):
        name = score_files.normalise_text(cell).replace(" ", "")
        if not name:
            continue
        if name in found:
            errors.append(RowError(number, name, "列名重复"))
        found.setdefault(name, index)
    required = [USCC_COLUMN, *(c["name"] for c in period.criteria)]
    errors += [RowError(number, name, "缺少此列") for name in required if name not in found]
    if errors:
        expected = "、".join(template_header(period))
        where = f"工作表“{table.sheet}”的" if table.sheet is not None else ""
        errors.append(
            RowError(
                number,
                "表头",
                f"未在{where}前 {score_files.HEADER_ROWS} 行中找到完整的表头:{expected}"
                "(可下载模板填写)",
            )
        )
        raise UploadRejected(errors)
    return number, found


def _cell(row: list, index: int | None):
    return row[index] if index is not None and index < len(row) else None


def _check_rows(
    period: EvaluationPeriod,
    rows: list[list],
    header_row: int,
    columns: dict[str, int],
    state: ScoreState,
    reason: str | None,
    result: UploadResult,
) -> list[_Row]:
    """Every data row (the rows below the header, row `header_row`) checked; all problems
    collected before anything is stored."""
    errors: list[RowError] = []
    denied: list[str] = []
    score_columns = [(c, columns[c["name"]]) for c in period.criteria]
    candidates = _candidates(rows, header_row + 1, columns, score_columns, result, errors)
    codes = [code for _number, code, _row in candidates]
    providers = {
        p.uscc: p for p in db.session.scalars(select(Provider).where(Provider.uscc.in_(codes)))
    }
    scope = set(
        db.session.scalars(
            scorable_query(period).where(Offer.provider_id.in_([p.id for p in providers.values()]))
        )
    )
    checked: list[_Row] = []
    for number, code, row in candidates:
        provider = _row_provider(number, code, providers.get(code), scope, errors, denied)
        if provider is None:
            continue
        values = _row_values(number, row, provider, columns, score_columns, reason, errors)
        if values is not None:
            checked.append(values)
    changed = _changed_rows(period, checked, state, result, errors)
    if errors:
        errors.sort(key=lambda e: e.row)
        raise UploadRejected(errors, denied)
    if not checked and not result.blank:
        raise UploadRejected([RowError(header_row + 1, "—", "文件中没有数据行")])
    return changed


def _candidates(
    rows: list[list],
    first: int,
    columns: dict[str, int],
    score_columns: list[tuple[dict, int]],
    result: UploadResult,
    errors: list[RowError],
) -> list[tuple[int, str, list]]:
    """(row number, USCC, row) of each row with scores and a valid code seen once (the first
    row is row number `first`); empty rows skipped, template rows left without scores counted
    as blank."""
    candidates: list[tuple[int, str, list]] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows, start=first):
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
    return candidates


def _row_provider(
    number: int,
    code: str,
    provider: Provider | None,
    scope: set[int],
    errors: list[RowError],
    denied: list[str],
) -> Provider | None:
    """The row's provider when it exists, is in the period's scope and is active."""
    if provider is None:
        errors.append(RowError(number, USCC_COLUMN, "未找到该统一社会信用代码对应的中介机构"))
        return None
    if provider.id not in scope:
        errors.append(RowError(number, USCC_COLUMN, OUT_OF_SCOPE))
        denied.append(code)
        return None
    if not provider.is_active:
        errors.append(
            RowError(number, USCC_COLUMN, f"该机构当前状态为“{provider.status}”,不能考评")
        )
        return None
    return provider


def _row_values(
    number: int,
    row: list,
    provider: Provider,
    columns: dict[str, int],
    score_columns: list[tuple[dict, int]],
    reason: str | None,
    errors: list[RowError],
) -> _Row | None:
    """The row's scores and note, checked (a name that is not the provider's is an error too);
    None when a score or the note is refused."""
    name = score_files.unneutralise(
        score_files.normalise_text(_cell(row, columns.get(NAME_COLUMN)))
    )
    if name and name.replace(" ", "") != score_files.normalise_text(provider.name).replace(" ", ""):
        errors.append(
            RowError(
                number, NAME_COLUMN, f"与该代码登记的机构名称“{provider.name}”不一致,请核对代码"
            )
        )
    scores, good = {}, True
    for criterion, index in score_columns:
        try:
            scores[criterion["code"]] = json_number(parse_score(_cell(row, index)))
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
    if not good:
        return None
    return _Row(number, provider, scores, note, note or reason)


def _changed_rows(
    period: EvaluationPeriod,
    checked: list[_Row],
    state: ScoreState,
    result: UploadResult,
    errors: list[RowError],
) -> list[_Row]:
    """The checked rows that change the provider's current score (the others counted as
    unchanged); after the period closed, each such row needs a reason."""
    current = current_entries(period, [r.provider.id for r in checked])
    changed = []
    for row in checked:
        entry = current.get(row.provider.id)
        if (
            entry is not None
            and same_scores(entry.scores, row.scores)
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
    period = locked_period(user, period)
    state = state_for(period, submit)
    reason = checked_reason(reason)
    max_rows = int(current_app.config.get("EVALUATION_UPLOAD_MAX_ROWS", 5000))
    table = score_files.read_table(data, max_rows=max_rows, header=USCC_COLUMN)
    if not table.rows:
        raise UploadRejected([RowError(1, "—", "文件中没有内容")])
    header_row, columns = _columns(table, period)
    digest = hashlib.sha256(data).hexdigest()
    result = UploadResult(sha256=digest)
    rows = _check_rows(period, table.rows[header_row:], header_row, columns, state, reason, result)
    shown_name = plain_text(filename)[-100:] or "上传文件"
    for row in rows:
        content = json.dumps(
            [row.provider.uscc, row.scores, row.note], ensure_ascii=False, sort_keys=True
        )
        entry = add_revision(
            user,
            period,
            row.provider,
            scores=row.scores,
            state=state,
            reason=row.reason if state == ScoreState.CORRECTION else reason,
            note=row.note,
            source=f"文件 {shown_name} 第 {row.number} 行",
            submission_key=derived_key("file", period.id, state.value, digest, row.number, content),
        )
        result.entries.append(entry)
    result.stored = len(rows)
    record(
        "evaluation.upload",
        actor=user,
        of=period,
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
