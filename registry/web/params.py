"""Parsing query-string parameters shared by pages and the API, and each public list's filters
(catalogue, providers, practitioners, credit notices) read from them in one place. A value that
cannot be read is refused by the API (400, naming it: a client's typo must not come back as every
row, unfiltered) and dropped by a page, which says so above its result count (`unread_filters`)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from datetime import date

from flask import (
    abort,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from registry.models import REGIONS
from registry.models.catalogue import FeeRegime
from registry.models.credit import CreditKind
from registry.sanitize import plain_text
from registry.services import catalogue, credit
from registry.services import providers as provider_service
from registry.services.catalogue import ServiceFilters
from registry.services.controlled_lists import ControlledList
from registry.services.practitioners import certificate_types
from registry.services.practitioners import public as people
from registry.services.providers import qualification_types
from registry.web.errors import render_error, wants_json

MAX_PAGE = 10_000
# Dates a filter may name: beyond these a day cannot even be converted to UTC (year 1) or means
# nothing here; such a date is refused with a message, never passed on to the database.
EARLIEST_DAY, LATEST_DAY = date(2000, 1, 1), date(2100, 12, 31)
CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
USCC_RE = re.compile(r"^[0-9A-Z]{18}$")

CATALOGUE_FILTERS = (
    "q",
    "stage",
    "department",
    "fee_regime",
    "approval_item",
    "may_self_prepare",
    "per_page",
)
SEARCH_FILTERS = ("q", "type", "stage", "department", "fee_regime", "per_page", "view")
AUDIT_FILTERS = ("action", "object_id", "date_from", "date_to", "per_page")


def link_args(allowed: tuple[str, ...]) -> dict[str, str]:
    """The query-string values that pagination and facet links carry over: only known filter
    names (never url_for's own keywords such as endpoint, _method or _external), length-capped."""
    return {k: v[:200] for k, v in request.args.items() if k in allowed and v}


# What each filter is called on the pages, for the note saying it was not used.
FILTER_LABELS = {
    "stage": "审批阶段",
    "department": "部门",
    "fee_regime": "收费性质",
    "approval_item": "审批事项",
    "may_self_prepare": "可自行编制",
    "service": "服务事项",
    "region": "所在地区",
    "grade": "信用等级",
    "provider": "中介机构",
    "certificate": "证书类型",
    "kind": "类别",
    "year": "年度",
    "date_from": "发布日期起",
    "date_to": "发布日期止",
    "type": "类型",
}


def _arg(name: str) -> str:
    """A parameter as typed, full-width characters folded (２０２６ is 2026) and trimmed."""
    return unicodedata.normalize("NFKC", request.args.get(name) or "").strip()


def unreadable(name: str, raw: str, hint: str = "") -> None:
    """A filter value that cannot be read: under /api a 400 naming it; on a page the condition is
    dropped and noted for `unread_filters` (what a feed or an export does with them:
    `refuse_unread_filters`)."""
    shown = plain_text(raw)[:40]  # echoed: markup, control and bidi characters go
    tail = f",{hint}" if hint else ""
    if wants_json():
        abort(
            make_response(
                render_error(400, f"筛选条件 {name}={shown} 无法识别{tail},请修改后重试。")
            )
        )
    label = FILTER_LABELS.get(name, "筛选条件")
    g.setdefault("unread_filters", []).append(f"{label}“{shown}”无法识别{tail};该条件未使用。")


def unread_filters() -> list[str]:
    """What this request's page dropped from its filters, as notes for the reader."""
    return list(dict.fromkeys(g.get("unread_filters", [])))


def refuse_unread_filters() -> None:
    """For a machine's answer that is not under /api (a feed, an export): a filter it could not
    read is a 400 saying which, not every row as if unfiltered."""
    notes = unread_filters()
    if notes:
        abort(
            make_response(
                render_error(400, " ".join(notes).replace("该条件未使用", "请修改后重试"))
            )
        )


def choice_arg(name: str, allowed: Collection[str]) -> str | None:
    """A parameter from a fixed set of values (empty: no filter)."""
    value = _arg(name)
    if not value:
        return None
    if value in allowed:
        return value
    unreadable(name, value)
    return None


def int_arg(name: str, low: int, high: int) -> int | None:
    """A whole number from low to high (empty: no filter)."""
    raw = _arg(name)
    if not raw:
        return None
    if raw.isascii() and raw.isdigit() and low <= int(raw) <= high:
        return int(raw)
    unreadable(name, raw, f"须为 {low}–{high} 的整数")
    return None


def code_arg(name: str) -> str | None:
    """A catalogue code (of a stage, department, approval item or service: the parameter's
    name), in any case, as stored; anything else is not read."""
    value = _arg(name)
    if value and not CODE_RE.match(value):
        unreadable(name, value)
    return catalogue.canonical_code(name, value) if CODE_RE.match(value) else None


def uscc_arg(name: str) -> str | None:
    """A 统一社会信用代码 (any case); another value is not read."""
    value = _arg(name).upper()
    if value and not USCC_RE.match(value):
        unreadable(name, value, "须为 18 位统一社会信用代码")
    return value if USCC_RE.match(value) else None


def listed_arg(name: str, listed: ControlledList) -> str | None:
    """A type on a controlled list, by its name or an alias (the canonical name); a type not on
    the list is not read."""
    typed = plain_text(request.args.get(name))[:100]
    kind = listed.canonical(typed) if typed else None
    if typed and kind is None:
        unreadable(name, typed, "不在类型目录中")
    return kind


def date_arg(name: str) -> date | None:
    """A YYYY-MM-DD parameter (unreadable: see `unreadable`); a real date outside
    EARLIEST_DAY–LATEST_DAY answers 400 with a Chinese message (a page, or JSON under /api)."""
    raw = _arg(name)
    if not raw:
        return None
    try:
        value = date.fromisoformat(raw[:10])
    except ValueError:
        unreadable(name, raw, "请按 YYYY-MM-DD 填写")
        return None
    if not EARLIEST_DAY <= value <= LATEST_DAY:
        message = f"日期须在 {EARLIEST_DAY} 至 {LATEST_DAY} 之间,请修改筛选条件后重试。"
        abort(make_response(render_error(400, message)))
    return value


def date_range_problems(start: tuple[str, str], end: tuple[str, str]) -> list[str]:
    """What is wrong with a (parameter, label) date range of the query string, in Chinese, beyond
    an unreadable date (`unread_filters`): a start after the end (no row can match). The page
    says so instead of answering silently with nothing."""
    problems = []
    first, last = date_arg(start[0]), date_arg(end[0])
    if first and last and first > last:
        problems.append(f"{start[1]}晚于{end[1]},没有符合条件的记录;请调换两个日期后重试。")
    return problems


def prefill(field, name: str, limit: int) -> None:
    """On a GET, a field's first value from the query string (a link that preselects a choice)."""
    if request.method == "GET" and request.args.get(name):
        field.data = request.args[name][:limit]


def page_args() -> tuple[int, int]:
    """page and per_page from the query string, clamped to sane values."""
    default = int(current_app.config["PER_PAGE"])
    page = request.args.get("page", type=int, default=1) or 1
    per_page = request.args.get("per_page", type=int, default=default) or default
    return min(max(page, 1), MAX_PAGE), min(max(per_page, 1), 100)


def paged(lister, *args, **filters):
    """lister(*args, page=…, per_page=…, **filters) for the page the query string asks for."""
    page, per_page = page_args()
    return lister(*args, page=page, per_page=per_page, **filters)


def past_last(result, names: tuple[str, ...] = ()):
    """A redirect to the last page when the query string asks for a page past it (a list read
    "第 99 / 2 页" beside an empty list, or 共找到 18 条结果 above 没有找到), else None."""
    if not (result.total and result.page > result.pages):
        return None
    # Only the known filters travel (raw keys could be url_for's own: endpoint, _method …).
    return redirect(url_for(request.endpoint, **link_args(names), page=result.pages))


def filtered_list(template: str, lister, filters, names: tuple[str, ...], **context):
    """A public list page with filters: one page of lister(filters), the filters as read, and
    the query-string values (of names) its pagination and facet links carry over. A page past
    the last is sent to the last (it read "第 99 / 2 页" beside an empty list)."""
    result = paged(lister, filters)
    if (last := past_last(result, names)) is not None:
        return last
    return render_template(
        template,
        result=result,
        filters=filters,
        args=link_args(names),
        **context,
    )


def _flag(name: str) -> bool | None:
    value = _arg(name).lower()
    if value in {"1", "true", "yes", "是"}:
        return True
    if value in {"0", "false", "no", "否"}:
        return False
    if value:
        unreadable(name, value, "须为 true 或 false")
    return None


def service_filters() -> ServiceFilters:
    """Catalogue filters from the query string; unknown values are not read (`unreadable`)."""
    text = plain_text(request.args.get("q"))[:100] or None
    return ServiceFilters(
        stage=code_arg("stage"),
        department=code_arg("department"),
        fee_regime=choice_arg("fee_regime", {f.value for f in FeeRegime} | {"unknown"}),
        approval_item=code_arg("approval_item"),
        may_self_prepare=_flag("may_self_prepare"),
        q=text,
    )


def directory_filters() -> provider_service.DirectoryFilters:
    """The provider directory's filters (page and API alike)."""
    typed = plain_text(request.args.get("qualification"))[:100] or None
    # An old link naming a variant spelling selects its canonical type; another is searched as
    # typed (the directory's qualification filter is free text).
    qualification = qualification_types.canonical(typed) or typed
    return provider_service.DirectoryFilters(
        service=code_arg("service"),
        region=choice_arg("region", REGIONS),
        grade=choice_arg("grade", {*provider_service.GRADES, provider_service.UNRATED}),
        qualification=qualification,
        on=provider_service.today(),
    )


def person_filters() -> people.PersonFilters:
    """The practitioners list's filters (page and API alike): the firm a person works at today,
    and a certificate type held (an alias of a listed type selects the type)."""
    return people.PersonFilters(
        provider=uscc_arg("provider"),
        certificate=listed_arg("certificate", certificate_types.LIST),
    )


def notice_filters(*, strict: bool = False) -> credit.NoticeFilters:
    """The credit notice board's filters (pages, exports, feed and API alike); `strict` (a feed,
    an export) refuses what it cannot read, as the API does."""
    filters = credit.NoticeFilters(
        department=code_arg("department"),
        kind=choice_arg("kind", {k.value for k in CreditKind}),
        year=int_arg("year", 2000, 2100),
        date_from=date_arg("date_from"),
        date_to=date_arg("date_to"),
        provider=plain_text(request.args.get("provider"))[:100] or None,
    )
    if strict:
        refuse_unread_filters()
    return filters
