"""Column types and column declarations shared by all models."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column
from sqlalchemy.types import TypeDecorator

from registry.kernel import clock


def utcnow() -> datetime:
    """Current time, timezone-aware UTC (used as a column default callable)."""
    return clock.now()


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware, on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Column declarations the models repeat, written once (a `Mapped[Alias | None]` is nullable).
IntPK = Annotated[int, mapped_column(primary_key=True)]
# The largest id every backend's id columns hold: ids are INTEGER, 32-bit on PostgreSQL (SQLite
# would take 64 bits, but psycopg refuses a larger value for an int4 column: a 500). Ids typed
# or posted by users are checked against it (web/urls.py for paths, forms' choices in services).
MAX_ID = 2**31 - 1
Created = Annotated[datetime, mapped_column(UTCDateTime, default=utcnow)]
Updated = Annotated[datetime, mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)]
Moment = Annotated[datetime, mapped_column(UTCDateTime)]
Day = Annotated[date, mapped_column(Date)]
Note = Annotated[str, mapped_column(Text)]
Flag = Annotated[bool, mapped_column(Boolean, default=False)]
Money = Annotated[Decimal, mapped_column(Numeric(12, 2))]
JsonList = Annotated[list, mapped_column(JSON, default=list)]
UserRef = Annotated[int, mapped_column(ForeignKey("users.id"))]
ProviderRef = Annotated[int, mapped_column(ForeignKey("providers.id"))]

# A unique public code: a catalogue entry's code (see services.catalogue.CODE_RE), a notice number.
Code = Annotated[str, mapped_column(String(32), unique=True)]
Uscc = Annotated[str, mapped_column(String(18), unique=True)]  # 统一社会信用代码, one per firm
Name = Annotated[str, mapped_column(String(200))]
Phone = Annotated[str, mapped_column(String(50))]


class Versioned:
    """Optimistic locking: a `version` column the ORM checks and bumps on every UPDATE."""

    version: Mapped[int] = mapped_column(Integer, default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict:
        return {"version_id_col": cls.__table__.c.version}


class Firm:
    """A firm (an intermediary, an enterprise): its name, and the unified social credit code it
    is known by, in the audit log too."""

    audit_key = "uscc"

    uscc: Mapped[Uscc]
    name: Mapped[Name]
