"""Optimistic locking: a form carries the version of the row it was rendered from; a different
version, or a flush that finds the row changed meanwhile, is a stale edit, refused with a
message asking to reload — never a silent overwrite of someone else's change."""

from __future__ import annotations

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from registry.kernel.errors import RegistryError

STALE_MESSAGE = "该记录已被他人修改,请刷新页面后重试。"


class StaleEdit(RegistryError):
    """The record changed since the form was rendered; each kind of record says so in its own
    words (subclasses set `message_text`, or a caller passes the message)."""

    message_text = STALE_MESSAGE

    def __init__(self, message: str | None = None) -> None:
        super().__init__(None, message or self.message_text)


def check_version(current: int, submitted: int | None, error: type[StaleEdit] = StaleEdit) -> None:
    """Refuse when the form's version is not the row's (None: the form carries none, no check)."""
    if submitted is not None and int(submitted) != current:
        raise error()


def flush_checked(session: Session, error: type[StaleEdit] = StaleEdit) -> None:
    """Flush; a versioned row updated meanwhile by someone else becomes `error`."""
    try:
        session.flush()
    except StaleDataError:
        raise error() from None
