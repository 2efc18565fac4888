"""Domain errors for services and views: the kernel's error types (defined there so the pure rules
can raise them too) and `add_unique`, a flush that turns a unique-constraint race into one."""

from __future__ import annotations

from registry.kernel.errors import Forbidden, NotFound, RegistryError
from registry.kernel.versions import StaleEdit

__all__ = ["Forbidden", "NotFound", "RegistryError", "StaleEdit", "add_unique"]


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
