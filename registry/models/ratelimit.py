"""Rate-limit counters kept in the app's own database, so that every worker and every node
counts against one fixed window (registry/ratelimit_storage.py writes them)."""

from __future__ import annotations

from sqlalchemy import Float, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from registry.extensions import db


class RateLimitCounter(db.Model):
    """Hits of one limit key in its current window; the row is dead once expires_at has passed."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    expires_at: Mapped[float] = mapped_column(Float, index=True)  # seconds since the epoch
    count: Mapped[int] = mapped_column(Integer)
