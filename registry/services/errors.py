"""Domain errors for services and views: the kernel's error types (defined there so the pure rules
can raise them too), `add_unique`, a flush that turns a unique-constraint race into one, and
`text_field`, the one check of a free-text field (sanitised, required, bounded)."""

from __future__ import annotations

from registry.kernel.errors import Forbidden, NotFound, RegistryError
from registry.kernel.versions import StaleEdit
from registry.sanitize import plain_text

__all__ = ["Forbidden", "NotFound", "RegistryError", "StaleEdit", "add_unique", "text_field"]


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
