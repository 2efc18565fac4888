"""What the listings' text filters share (catalogue list, public credit notices)."""

from __future__ import annotations

LIKE_ESCAPE = "\\"


def contains_pattern(text: str) -> str:
    """A case-insensitive LIKE pattern (escaped with LIKE_ESCAPE) that matches `text` anywhere:
    compare it with a lower-cased column, so it behaves alike on SQLite and PostgreSQL."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
