"""Domain errors for services and views: the kernel's error types (defined there so the pure rules
can raise them too), `add_unique`, a flush that turns a unique-constraint race into one, and
`text_field`, the one check of a free-text field (sanitised, required, bounded), and
`decimal_field`, the one check of a typed amount (finite, in range, to the cent)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from registry.kernel.errors import Checks, Forbidden, NotFound, RegistryError, RegistryErrors
from registry.kernel.versions import StaleEdit
from registry.sanitize import plain_text

__all__ = [
    "Checks",
    "Forbidden",
    "NotFound",
    "RegistryError",
    "RegistryErrors",
    "StaleEdit",
    "add_unique",
    "decimal_field",
    "text_field",
]

CENT = Decimal("0.01")


def text_field(
    value: str | None, field: str, label: str, limit: int, *, required: bool = True
) -> str:
    """The text as plain text (markup removed, trimmed); a RegistryError on `field` when it is
    required and empty or longer than `limit` characters."""
    text = plain_text(value)
    if required and not text:
        raise RegistryError(field, f"请填写{label}。")
    if len(text) > limit:
        raise RegistryError(field, f"{label}不能超过 {limit} 字(现为 {len(text)} 字)。")
    return text


def decimal_field(
    value: object,
    field: str,
    label: str,
    *,
    unit: str = "元",
    limit: str = "9999999999.99",
    above_zero: bool = False,
) -> Decimal | None:
    """A number typed by a user (thousands separators allowed), exact to the cent, or None when
    empty; a RegistryError on `field` that says what is wrong: not a number (NaN and infinity
    included), negative (or zero when `above_zero`), more than `limit`, more than two decimals
    (0.001 is refused, not rounded to 0.00 behind the user's back)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = (
            value if isinstance(value, Decimal) else Decimal(str(value).strip().replace(",", ""))
        )
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        raise RegistryError(field, f"{label}须为数字({unit})。")
    if number < 0 or (above_zero and number == 0):
        raise RegistryError(
            field, f"{label}须大于 0 {unit}。" if above_zero else f"{label}不能为负数。"
        )
    if number > Decimal(limit):
        raise RegistryError(field, f"{label}不能超过 {Decimal(limit):,} {unit}。")
    if number != number.quantize(CENT):
        raise RegistryError(field, f"{label}最多保留两位小数。")
    return number.quantize(CENT)


def add_unique(session, obj, field: str, message: str) -> None:
    """Add and flush obj; a unique-constraint race (two people creating the same code at once)
    becomes a RegistryError on field instead of a 500. The caller rolls back, as on any
    RegistryError, so the failed flush leaves nothing behind."""
    from sqlalchemy.exc import IntegrityError

    session.add(obj)
    try:
        session.flush()
    except IntegrityError:
        raise RegistryError(field, message) from None
