"""Evaluation criteria and scores: the criteria a department's period gets (configured or
the default four at 0.25 each), one criterion score read and checked, and the weighted total."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask import current_app

from registry.pure import score_files
from registry.sanitize import plain_text
from registry.services.errors import Checks, RegistryError

DEFAULT_CRITERIA = (
    {"code": "technical", "name": "技术性", "weight": "0.25"},
    {"code": "compliance", "name": "规范性", "weight": "0.25"},
    {"code": "effectiveness", "name": "工作实效", "weight": "0.25"},
    {"code": "service", "name": "服务水平", "weight": "0.25"},
)
_CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_CENT = Decimal("0.01")
# Plain decimal notation only (no exponents, no thousands separators).
_NUMBER_RE = re.compile(r"^[+-]?\d{1,12}(\.\d{1,12})?$")


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
    if isinstance(value, score_files.Uncomputed):
        raise ValueError(
            "是公式,但文件中没有它的计算结果(请用 Excel 或 WPS 打开后保存再上传,或直接填写数值)"
        )
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


def json_number(value: Decimal) -> int | float:
    """A score as a JSON number (exact: at most two decimals)."""
    return int(value) if value == value.to_integral() else float(value)


def total_of(criteria: Sequence[Mapping], scores: Mapping[str, object]) -> Decimal:
    """The weighted total, rounded half-up to two decimals."""
    total = sum(
        (Decimal(c["weight"]) * Decimal(str(scores[c["code"]])) for c in criteria), Decimal(0)
    )
    return total.quantize(_CENT, rounding=ROUND_HALF_UP)


def parse_scores(criteria: Sequence[Mapping], raw: Mapping[str, object]) -> dict[str, int | float]:
    """Scores for every criterion (by code), checked; every problem is raised together
    (RegistryErrors), each on its form field c_<code>."""
    scores, check = {}, Checks()
    for criterion in criteria:
        value = check(_score_of, criterion, raw.get(criterion["code"]))
        if value is not None:
            scores[criterion["code"]] = json_number(value)
    check.done()
    return scores


def _score_of(criterion: Mapping, value: object) -> Decimal:
    try:
        return parse_score(value)
    except ValueError as error:
        raise RegistryError(f"c_{criterion['code']}", f"{criterion['name']}:{error}") from None


def same_scores(a: Mapping, b: Mapping) -> bool:
    return set(a) == set(b) and all(Decimal(str(a[k])) == Decimal(str(b[k])) for k in a)
