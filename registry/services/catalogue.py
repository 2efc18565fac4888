"""Catalogue use cases: listing with filters, and audited create / update / retire of entries."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from registry.extensions import db
from registry.kernel.paging import Page, paginate
from registry.models.catalogue import (
    ApprovalItem,
    Department,
    FeeRegime,
    ServiceItem,
    Stage,
    TimeUnit,
    Validity,
)
from registry.sanitize import plain_text, sanitize_html
from registry.services import audit
from registry.services.errors import NotFound, RegistryError, add_unique
from registry.services.listing import LIKE_ESCAPE, contains_pattern

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
SERVICE_RELATIONS = {"stages": "code", "approval_items": "code"}
APPROVAL_RELATIONS = {"stages": "code"}
# A service item's optional plain-text fields besides those every catalogue entry has.
SERVICE_TEXTS = (
    "serves_note",
    "self_prepare_note",
    "regional_assessment_note",
    "fee_regime_note",
    "fee_basis",
    "department_note",
    "complaint_phone",
    "qualification_required",
)


@dataclass(frozen=True)
class ServiceFilters:
    """Filters of the catalogue list (page and API alike)."""

    stage: str | None = None
    department: str | None = None
    fee_regime: str | None = None
    approval_item: str | None = None
    may_self_prepare: bool | None = None
    q: str | None = None
    include_retired: bool = False


def service_query(filters: ServiceFilters) -> Select:
    """The filtered, ordered query behind the catalogue list."""
    query = select(ServiceItem)
    if not filters.include_retired:
        query = query.where(ServiceItem.validity != Validity.REPEALED.value)
    if filters.stage:
        query = query.where(ServiceItem.stages.any(Stage.code == filters.stage))
    if filters.department:
        query = query.where(ServiceItem.department.has(Department.code == filters.department))
    if filters.fee_regime:
        if filters.fee_regime == "unknown":
            query = query.where(ServiceItem.fee_regime.is_(None))
        else:
            query = query.where(ServiceItem.fee_regime == filters.fee_regime)
    if filters.approval_item:
        query = query.where(
            ServiceItem.approval_items.any(ApprovalItem.code == filters.approval_item)
        )
    if filters.may_self_prepare is not None:
        query = query.where(ServiceItem.may_self_prepare.is_(filters.may_self_prepare))
    if filters.q:
        # Case-insensitive on both databases (SQLite's LIKE ignores ASCII case, PostgreSQL's
        # does not). Full-text search with ranking lives at /search; this is the list filter.
        pattern = contains_pattern(filters.q.strip())
        query = query.where(
            or_(
                func.lower(ServiceItem.name).like(pattern, escape=LIKE_ESCAPE),
                func.lower(ServiceItem.code).like(pattern, escape=LIKE_ESCAPE),
                func.lower(ServiceItem.applicability).like(pattern, escape=LIKE_ESCAPE),
                func.lower(func.cast(ServiceItem.abbreviations, db.String)).like(
                    pattern, escape=LIKE_ESCAPE
                ),
                func.lower(func.cast(ServiceItem.legal_basis, db.String)).like(
                    pattern, escape=LIKE_ESCAPE
                ),
            )
        )
    return query.order_by(ServiceItem.code)


def list_services(filters: ServiceFilters, page: int = 1, per_page: int = 20) -> Page:
    """One page of service items matching the filters, with relations loaded."""
    return paginate(
        db.session,
        service_query(filters),
        page,
        per_page,
        selectinload(ServiceItem.stages),
        selectinload(ServiceItem.department),
        selectinload(ServiceItem.approval_items),
    )


# What a filter's parameter names: the kind of catalogue entry its code is of.
CODED: dict[str, type] = {
    "stage": Stage,
    "department": Department,
    "approval_item": ApprovalItem,
    "service": ServiceItem,
}


def canonical_code(kind: str, code: str) -> str:
    """A catalogue code as stored, found in any case (a filter's zj-03 is ZJ-03, as a page's
    address is); a code of no entry comes back as given."""
    model = CODED[kind]
    stored = db.session.scalar(select(model.code).where(func.upper(model.code) == code.upper()))
    return stored or code


def _get(model: type, code: str, missing: str, *options: Any) -> Any:
    """A catalogue row by its code, in any case (zj-03 is ZJ-03: codes are unique regardless)."""
    wanted = (code or "").strip().upper()
    item = db.session.scalar(
        select(model).where(func.upper(model.code) == wanted).options(*options)
    )
    if item is None:
        raise NotFound(missing)
    return item


def get_service(code: str) -> ServiceItem:
    """A service item by code, or NotFound."""
    return _get(
        ServiceItem,
        code,
        "未找到该中介服务事项",
        selectinload(ServiceItem.approval_items).selectinload(ApprovalItem.department),
    )


def get_approval_item(code: str) -> ApprovalItem:
    """An approval item by code, or NotFound."""
    return _get(ApprovalItem, code, "未找到该审批事项", selectinload(ApprovalItem.service_items))


def get_department(code: str) -> Department:
    """A department by code, or NotFound."""
    return _get(Department, code, "未找到该部门")


def list_stages() -> list[Stage]:
    """All stages in order."""
    return list(db.session.scalars(select(Stage).order_by(Stage.sequence)))


def list_departments(include_inactive: bool = False) -> list[Department]:
    """Departments by code."""
    query = select(Department).order_by(Department.code)
    if not include_inactive:
        query = query.where(Department.is_active.is_(True))
    return list(db.session.scalars(query))


def list_approval_items(
    stage: str | None = None, include_retired: bool = False
) -> list[ApprovalItem]:
    """Approval items by code, optionally of one stage."""
    query = select(ApprovalItem).options(
        selectinload(ApprovalItem.stages),
        selectinload(ApprovalItem.department),
        selectinload(ApprovalItem.service_items),
    )
    if stage:
        query = query.where(ApprovalItem.stages.any(Stage.code == stage))
    if not include_retired:
        query = query.where(ApprovalItem.validity != Validity.REPEALED.value)
    return list(db.session.scalars(query.order_by(ApprovalItem.code)))


def recently_updated_services(limit: int = 5) -> list[ServiceItem]:
    """The service items changed most recently (home page)."""
    return list(
        db.session.scalars(
            select(ServiceItem)
            .where(ServiceItem.validity != Validity.REPEALED.value)
            .order_by(ServiceItem.updated_at.desc(), ServiceItem.code)
            .limit(limit)
        )
    )


# ---------------------------------------------------------------- validation helpers


def parse_legal_basis(text: str) -> list[dict[str, str | None]]:
    """Parse 'law | article | version | note' lines into structured legal-basis entries."""
    entries = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = plain_text(raw)
        if not line:
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) > 4:
            raise RegistryError("legal_basis", f"第 {number} 行:最多四栏(法规|条款|版本|备注)。")
        parts += [""] * (4 - len(parts))
        law = parts[0].strip("《》 ")
        if not law:
            raise RegistryError("legal_basis", f"第 {number} 行:缺少法规名称。")
        entries.append(
            {
                "law": law,
                "article": parts[1] or None,
                "version": parts[2] or None,
                "note": parts[3] or None,
            }
        )
    return entries


def normalise_legal_basis(entries: list[dict] | None) -> list[dict[str, str | None]]:
    """Legal-basis entries with exactly the keys law, article, version, note (seeds and forms alike)."""
    result = []
    for entry in entries or []:
        if not isinstance(entry, dict) or not plain_text(str(entry.get("law") or "")):
            raise RegistryError("legal_basis", "每条设定依据都必须写明法规名称。")
        result.append(
            {
                key: (plain_text(str(entry[key])) if entry.get(key) not in (None, "") else None)
                for key in ("law", "article", "version", "note")
            }
        )
    return result


def format_legal_basis(entries: list[dict]) -> str:
    """The inverse of parse_legal_basis, for editing forms."""
    lines = []
    for entry in entries or []:
        cells = [
            entry.get("law") or "",
            entry.get("article") or "",
            entry.get("version") or "",
            entry.get("note") or "",
        ]
        while cells and not cells[-1]:
            cells.pop()
        lines.append(" | ".join(cells))
    return "\n".join(lines)


def _check_code(code: str) -> str:
    code = (code or "").strip()
    if not CODE_RE.match(code):
        raise RegistryError("code", "编码只能由字母、数字、- 和 _ 组成,最长 32 位。")
    return code


def _required(data: dict, field: str, label: str) -> str:
    value = plain_text(data.get(field))
    if not value:
        raise RegistryError(field, f"请填写{label}。")
    return value


def _optional(data: dict, field: str) -> str | None:
    return plain_text(data.get(field)) or None


def _department(code: str | None, *, required: bool = False) -> Department | None:
    if not code:
        if required:
            raise RegistryError("department", "请选择监管部门。")
        return None
    department = db.session.scalar(select(Department).where(Department.code == code))
    if department is None:
        raise RegistryError("department", f"未找到部门:{code}")
    return department


def _by_codes(model: type, codes: list[str], field: str, label: str) -> list[Any]:
    """The rows with these codes; an unknown code is the field's error."""
    rows = list(db.session.scalars(select(model).where(model.code.in_(codes))))
    missing = set(codes) - {row.code for row in rows}
    if missing:
        raise RegistryError(field, f"未知{label}:{'、'.join(sorted(missing))}")
    return rows


def _stages(codes: list[str]) -> list[Stage]:
    return sorted(_by_codes(Stage, codes, "stages", "审批阶段"), key=lambda s: s.sequence)


def _approval_items(codes: list[str]) -> list[ApprovalItem]:
    items = _by_codes(ApprovalItem, codes, "approval_items", "审批事项")
    return sorted(items, key=lambda i: i.code)


def _time_limit(data: dict) -> tuple[int | None, str | None]:
    days, unit = data.get("time_limit_days"), data.get("time_limit_unit") or None
    if days is None:
        return None, None
    if not isinstance(days, int) or days < 0 or days > 3650:
        raise RegistryError("time_limit_days", "办理时限须为 0–3650 之间的整数。")
    if unit not in {u.value for u in TimeUnit}:
        raise RegistryError("time_limit_unit", "请选择时限单位(日或工作日)。")
    return days, unit


def _choice(data: dict, field: str, allowed: set[str], message: str) -> str | None:
    value = data.get(field) or None
    if value is not None and value not in allowed:
        raise RegistryError(field, message)
    return value


def _unique_code(model: type, code: str, current_id: int | None) -> None:
    # In any case: pages and the API find a code in any case (_get), so zj-03 is ZJ-03's.
    existing = db.session.scalar(select(model.id).where(func.upper(model.code) == code.upper()))
    if existing is not None and existing != current_id:
        raise RegistryError("code", f"编码 {code} 已被使用。")


def _repeal(item: Any) -> None:
    item.validity = Validity.REPEALED.value


@dataclass(frozen=True)
class EntryKind:
    """A kind of catalogue entry, identified by its code, and its audited create / update /
    retire: how form data is applied, what the audit snapshot lists, how it is taken out of use."""

    model: type
    object_type: str
    apply: Callable[[Any, dict], None]
    relations: dict[str, str] | None = None
    take_out_of_use: Callable[[Any], None] = _repeal
    missing_reason: str = "请填写废止原因。"
    check_retire: Callable[[Any], None] | None = None
    # How a retired entry is put back in use (departments; items change their 有效性 instead).
    put_back_in_use: Callable[[Any], bool] | None = None

    def snapshot(self, item: Any) -> dict[str, Any]:
        """The audited state of item."""
        return audit.snapshot(item, relations=self.relations)

    def _record(self, verb: str, item: Any, actor: Any, **change: Any) -> None:
        audit.record(
            f"{self.object_type}.{verb}",
            actor=actor,
            object_type=self.object_type,
            object_id=item.code,
            **change,
        )

    def create(self, data: dict, *, actor: Any, **initial: Any) -> Any:
        """Add an entry with a new, unused code (audited)."""
        code = _check_code(data.get("code"))
        _unique_code(self.model, code, None)
        item = self.model(code=code, **initial)
        self.apply(item, data)
        add_unique(db.session, item, "code", f"编码 {code} 已被使用。")
        self._record("create", item, actor, after=self.snapshot(item))
        return item

    def update(self, item: Any, data: dict, *, actor: Any) -> bool:
        """Edit an entry; returns whether anything changed (only real changes are audited)."""
        before = self.snapshot(item)
        code = _check_code(data.get("code", item.code))
        _unique_code(self.model, code, item.id)
        item.code = code
        self.apply(item, data)
        after = self.snapshot(item)
        if before == after:
            return False
        db.session.flush()
        self._record("update", item, actor, before=before, after=after)
        return True

    def retire(self, item: Any, *, actor: Any, reason: str) -> None:
        """Take an entry out of use (audited with the reason); its page stays."""
        reason = plain_text(reason)
        if not reason:
            raise RegistryError("reason", self.missing_reason)
        if self.check_retire:
            self.check_retire(item)
        before = self.snapshot(item)
        self.take_out_of_use(item)
        db.session.flush()
        self._record("retire", item, actor, before=before, after=self.snapshot(item), detail=reason)

    def reinstate(self, item: Any, *, actor: Any, reason: str) -> None:
        """Put a retired entry back in use (audited with the reason)."""
        reason = plain_text(reason)
        if not reason:
            raise RegistryError("reason", "请填写重新启用的原因。")
        before = self.snapshot(item)
        if self.put_back_in_use is None or not self.put_back_in_use(item):
            raise RegistryError(None, "该条目正在使用中,无需重新启用。")
        db.session.flush()
        self._record(
            "reinstate", item, actor, before=before, after=self.snapshot(item), detail=reason
        )


# ---------------------------------------------------------------- service items


def _apply_texts(item: Any, data: dict, fields: tuple[str, ...]) -> None:
    """Optional plain-text fields, set as given (empty becomes None)."""
    for field in fields:
        setattr(item, field, _optional(data, field))


def _apply_entry(item: ServiceItem | ApprovalItem, data: dict, name_label: str) -> None:
    """The fields service items and approval items share."""
    item.name = _required(data, "name", name_label)
    item.legal_basis = normalise_legal_basis(data.get("legal_basis"))
    item.time_limit_days, item.time_limit_unit = _time_limit(data)
    item.department = _department(data.get("department"), required=True)
    item.notes_html = sanitize_html(data.get("notes_html")) or None
    validity = _choice(data, "validity", {v.value for v in Validity}, "有效性无效。")
    item.validity = validity or Validity.VALID.value
    item.stages = _stages(data.get("stages") or [])
    _apply_texts(item, data, ("stage_note", "applicability", "time_limit_note", "source_note"))


def _apply_service(item: ServiceItem, data: dict) -> None:
    _apply_entry(item, data, "事项名称")
    item.abbreviations = [a for a in (plain_text(x) for x in data.get("abbreviations") or []) if a]
    item.may_self_prepare = data.get("may_self_prepare")
    item.covered_by_regional_assessment = data.get("covered_by_regional_assessment")
    item.fee_regime = _choice(data, "fee_regime", {f.value for f in FeeRegime}, "收费性质无效。")
    item.last_verified = data.get("last_verified")
    item.approval_items = _approval_items(data.get("approval_items") or [])
    _apply_texts(item, data, SERVICE_TEXTS)


# A repealed (已废止) item leaves the catalogue list but keeps its page.
SERVICE_ITEMS = EntryKind(ServiceItem, "service_item", _apply_service, SERVICE_RELATIONS)
create_service_item = SERVICE_ITEMS.create
update_service_item = SERVICE_ITEMS.update
retire_service_item = SERVICE_ITEMS.retire


# ---------------------------------------------------------------- approval items


def _apply_approval(item: ApprovalItem, data: dict) -> None:
    _apply_entry(item, data, "审批事项名称")
    if not item.stages:
        raise RegistryError("stages", "请至少选择一个审批阶段。")
    item.commitment_approval = data.get("commitment_approval")
    item.accept_with_deficiency = data.get("accept_with_deficiency")
    _apply_texts(item, data, ("approving_body", "tianjin_note"))


APPROVAL_ITEMS = EntryKind(ApprovalItem, "approval_item", _apply_approval, APPROVAL_RELATIONS)
create_approval_item = APPROVAL_ITEMS.create
update_approval_item = APPROVAL_ITEMS.update
retire_approval_item = APPROVAL_ITEMS.retire


# ---------------------------------------------------------------- departments


def _apply_department(item: Department, data: dict) -> None:
    item.name = _required(data, "name", "部门全称")
    item.complaint_phone_is_fallback = bool(data.get("complaint_phone_is_fallback"))
    _apply_texts(
        item,
        data,
        ("short_name", "phone", "complaint_phone", "complaint_phone_note", "source_note"),
    )
    for field in ("phone", "complaint_phone"):
        value = getattr(item, field)
        if value and not re.fullmatch(r"[0-9()()\-— ,、转]{3,50}", value):
            raise RegistryError(field, "电话号码只能包含数字、括号、短横线和空格。")


def _deactivate(item: Department) -> None:
    item.is_active = False


def _reactivate(item: Department) -> bool:
    """Back in use; False when it was in use already."""
    if item.is_active:
        return False
    item.is_active = True
    return True


def _check_unused(item: Department) -> None:
    """A department is not deactivated while current service items are supervised by it."""
    in_use = db.session.scalar(
        select(func.count(ServiceItem.id)).where(
            ServiceItem.department_id == item.id,
            ServiceItem.validity != Validity.REPEALED.value,
        )
    )
    if in_use:
        raise RegistryError(
            None, f"仍有 {in_use} 个有效中介服务事项由该部门监管,请先调整后再停用。"
        )


DEPARTMENTS = EntryKind(
    Department,
    "department",
    _apply_department,
    take_out_of_use=_deactivate,
    missing_reason="请填写停用原因。",
    check_retire=_check_unused,
    put_back_in_use=_reactivate,
)
update_department = DEPARTMENTS.update
retire_department = DEPARTMENTS.retire
reinstate_department = DEPARTMENTS.reinstate


def create_department(data: dict, *, actor: Any) -> Department:
    """Add a department (audited), active."""
    return DEPARTMENTS.create(data, actor=actor, is_active=True)


# ---------------------------------------------------------------- stages


def _apply_stage(item: Stage, data: dict) -> None:
    item.name = _required(data, "name", "阶段名称")
    item.sequence = int(data["sequence"])
    item.description = _optional(data, "description")


# Stages come from the seed files only (no form edits them).
STAGES = EntryKind(Stage, "stage", _apply_stage)
create_stage = STAGES.create
update_stage = STAGES.update


def counts() -> dict[str, int]:
    """How many entries of each kind exist (admin dashboard)."""
    from registry.models.accounts import User
    from registry.models.audit import AuditEntry

    return {
        name: db.session.scalar(select(func.count(model.id))) or 0
        for name, model in (
            ("service_items", ServiceItem),
            ("approval_items", ApprovalItem),
            ("departments", Department),
            ("users", User),
            ("audit", AuditEntry),
        )
    }
