"""How late is late: the severity levels of an overdue step (超时), the one place their thresholds
live. A step two days past its planned finish and one ninety-five days past it must not look the
same on the roadmap, the staff project list and the deadline dashboard; each level has a Chinese
label (always written out, so colour only repeats it) and a CSS class (static/css/site.css).

Days late are calendar days after the planned finish (what the dashboard prints as 超时 N 天)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Lateness:
    """One severity level: from how many days late it applies, its label and its CSS class."""

    from_days: int
    label: str
    css: str


# Ascending by from_days; a step is at the last level whose from_days it has reached: 1–7 days
# late 轻度, 8–30 较重, 31 and more 严重 (a badge reads 超时 95 天(严重)).
LEVELS: tuple[Lateness, ...] = (
    Lateness(1, "轻度", "tag-late-1"),
    Lateness(8, "较重", "tag-late-2"),
    Lateness(31, "严重", "tag-late-3"),
)


def lateness(days_late: int | None) -> Lateness | None:
    """The level of a step `days_late` calendar days past its planned finish (None when not late)."""
    if days_late is None or days_late < LEVELS[0].from_days:
        return None
    return [level for level in LEVELS if days_late >= level.from_days][-1]
