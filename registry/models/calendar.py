"""Official holiday arrangements (放假安排) entered by the zone for a year: they win over the
chinesecalendar package and over the provisional statutory calendar (pure/workdays.py)."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from registry.extensions import db
from registry.models.types import Day, JsonList, Updated, UserRef, Versioned


class CalendarOrigin(StrEnum):
    """Where an entered arrangement came from."""

    ADMIN = "admin"  # typed in on /admin/calendar
    FILE = "file"  # loaded by `registry seed` from seeds/calendar/<year>.yaml


class CalendarYear(Versioned, db.Model):
    """One year's arrangement as the State Council's notice publishes it: the days off that fall
    on weekdays or weekends (holidays) and the weekend days worked instead (make-up days)."""

    __tablename__ = "calendar_years"
    audit_type = "calendar_year"
    audit_key = "year"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    holidays: Mapped[JsonList]  # ISO dates
    workdays: Mapped[JsonList]  # ISO dates, weekends only
    notice_title: Mapped[str] = mapped_column(String(200))
    notice_number: Mapped[str] = mapped_column(String(64))
    notice_date: Mapped[Day]
    origin: Mapped[str] = mapped_column(String(8), default=CalendarOrigin.ADMIN.value)
    updated_by_id: Mapped[UserRef | None]
    updated_at: Mapped[Updated]
