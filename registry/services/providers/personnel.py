"""Key personnel an offer commits (关键人员), by certificate type with counts: parsed from the
form's lines, checked against the controlled list and against the provider's practitioners
valid today (no more holders committed than it has)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from registry.models import Offer, OfferPersonnel, Provider
from registry.services.errors import RegistryError
from registry.services.practitioners import certificate_types, staff

MAX_COUNT = 99
# "环境影响评价工程师 ×2", "注册造价工程师 2", "注册造价工程师×2人", "注册测绘师:1"
_LINE = re.compile(r"^(?P<kind>.+?)\s*[×xX*::]?\s*(?P<count>\d+)\s*[人名]?$")


def format_counts(rows: Iterable) -> str:
    """Rows with kind and count as the form's lines ("环境影响评价工程师 ×2")."""
    return "\n".join(f"{row.kind} ×{row.count}" for row in rows)


def _line(text: str, field: str) -> tuple[str, int]:
    match = _LINE.match(text.strip())
    if match is None:
        raise RegistryError(
            field, f"“{text[:60]}”格式有误:每行填写一种证书类型和人数,如“环境影响评价工程师 ×2”。"
        )
    return match["kind"].strip(), int(match["count"])


def parse_counts(value, field: str) -> list[tuple[str, int]]:
    """Certificate types with counts from the form's lines (or (kind, count) pairs), each type
    canonical, on the list, once, with a count of 1–99."""
    if value is None or isinstance(value, str):
        pairs = [_line(text, field) for text in (value or "").splitlines() if text.strip()]
    else:
        pairs = [(str(kind), count) for kind, count in value]
    counts: dict[str, int] = {}
    for typed, count in pairs:
        kind = certificate_types.canonical(typed)
        if kind is None:
            raise RegistryError(
                field, f"“{typed[:60]}”不在执业资格证书类型列表中,请按列表名称填写。"
            )
        if kind in counts:
            raise RegistryError(field, f"证书类型“{kind}”重复填写。")
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_COUNT:
            raise RegistryError(field, f"“{kind}”的人数须为 1–{MAX_COUNT} 之间的整数。")
        counts[kind] = count
    return list(counts.items())


def checked_personnel(provider: Provider, value, on: date) -> list[tuple[str, int]]:
    """The personnel an offer may commit: parsed, and no more holders of a type than the
    provider's practitioners valid on the day."""
    wanted = parse_counts(value, "personnel")
    strength = staff.strength(provider, on)
    for kind, count in wanted:
        have = strength.get(kind, 0)
        if count > have:
            raise RegistryError(
                "personnel",
                f"承诺的{kind} {count} 人超过贵机构现有持有效证书的在职人员({have} 人)。"
                "请先在“从业人员”中登记人员和证书。",
            )
    return wanted


def apply_personnel(offer: Offer, wanted: list[tuple[str, int]]) -> None:
    """Make the offer's personnel rows say `wanted` (rows kept where the type stays)."""
    existing = {row.kind: row for row in offer.personnel}
    keep = dict(wanted)
    for kind, row in existing.items():
        if kind not in keep:
            offer.personnel.remove(row)
    for kind, count in wanted:
        if kind in existing:
            existing[kind].count = count
        else:
            offer.personnel.append(OfferPersonnel(kind=kind, count=count))


def personnel_of(offer: Offer) -> dict[str, int]:
    """The offer's committed personnel as {kind: count} (for audit snapshots)."""
    return {row.kind: row.count for row in offer.personnel}
