"""Template filters: the one date format (Asia/Shanghai), the one money format (¥142,000.00),
stored timestamps, yes/no/unknown, and the one way a number of days is written (calendar days 日,
working days 个工作日); FILTERS is the table of them the app installs in Jinja."""

from __future__ import annotations

import re
from datetime import date, datetime

from registry.kernel import clock
from registry.pure.lateness import lateness
from registry.pure.money import format_money
from registry.pure.pii import mask_name
from registry.pure.workdays import TimeUnit
from registry.sanitize import public_html, safe_html

# An aware timestamp as isoformat() writes it into stored JSON (audit snapshots, draw inputs).
TIMESTAMP_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def format_datetime(
    value: datetime | date | str | None, with_time: bool = True, *, iso: bool = False
) -> str:
    """Dates as YYYY-MM-DD HH:MM in Asia/Shanghai (the one date filter). A timestamp is shown in
    Beijing time whatever zone it carries (a naive one is UTC, as stored); ISO text from stored
    JSON (draw inputs, audit snapshots) is read first. With `iso` the same instant comes out as
    ISO 8601 with the +08:00 offset, for `<time datetime>` attributes."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        value = clock.local(value)
        if iso:
            return value.isoformat(timespec="seconds")
        return value.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")
    return value.isoformat() if iso else value.strftime("%Y-%m-%d")


def is_timestamp(value: object) -> bool:
    """Whether a stored JSON value is an aware ISO 8601 timestamp, which templates then show
    through the date filter rather than as it was stored."""
    return isinstance(value, str) and TIMESTAMP_RE.match(value) is not None


def tristate(value: bool | None, yes: str = "是", no: str = "否", unknown: str = "未明确") -> str:
    """Render a yes / no / unknown flag."""
    if value is None:
        return unknown
    return yes if value else no


def days(value: int | None, unit: str | None = TimeUnit.DAY.value) -> str:
    """A number of days in the words of its unit, the same on every page: working days as
    "15 个工作日", calendar days as "15 日", as the catalogue stores them (日 / 工作日) and the
    statutes write them; an offer's committed days are working days (Offer.COMMITTED_DAYS_UNIT,
    the service timer adds working days)."""
    if value is None:
        return ""
    if unit == TimeUnit.WORKING_DAY.value:
        return f"{value} 个工作日"
    return f"{value} 日"


def dict_without(mapping: dict, key: str) -> dict:
    """The mapping without one key (a page's query arguments less the one a link changes)."""
    return {k: v for k, v in mapping.items() if k != key}


# Every Jinja filter of the templates, by the name they use it under.
FILTERS = {
    "datetime": format_datetime,
    "money": format_money,
    "rich": safe_html,
    "public_rich": public_html,
    "tristate": tristate,
    "days": days,
    "lateness": lateness,
    "dict_without": dict_without,
    "mask_name": mask_name,
}
