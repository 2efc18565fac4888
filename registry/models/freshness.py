"""Data generations: one counter for the data the public pages show, raised by the commit that
changes it, so that every worker and node knows when a cached page has gone stale
(services/freshness.py raises it, web/page_cache.py reads it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from registry.extensions import db
from registry.models.types import UTCDateTime, utcnow


class DataGeneration(db.Model):
    """How many committed changes a body of data has seen, and when the last one was."""

    __tablename__ = "data_generations"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
