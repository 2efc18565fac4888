"""Geometry of the roadmap Gantt chart: where each bar, diamond, band, grid line and label goes.

Pure functions of the rows and dates (no markup): `templates/_macros/charts.html` draws the
result. Day d occupies [x(d), x(d + 1)) on the time axis.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlsplit

from registry.web.charts.geometry import Label, clean_id

ONE_DAY = timedelta(days=1)
SKIPPED_STATUSES = frozenset({"不适用", "已由区域评估覆盖"})
ROW_H, GROUP_H, RIGHT = 26, 22, 96


@dataclass(frozen=True)
class Style:
    """How a bar or legend key is painted; told apart without colour by dash, shape and marker."""

    cls: str
    fill: str
    stroke: str = ""
    dash: str = ""
    stroke_width: str = ""
    mark: str = ""  # the text after the bar
    name: str = ""  # a deadline state's name in the legend and tooltip


# Status → style; hollow and dashed, dark, light, dark with ✓. Unknown statuses are drawn like 未开始.
STATUS_STYLES = {
    "未开始": Style("gantt-pending", "#ffffff", "#5f6b7a", dash="3 2"),
    "办理中": Style("gantt-started", "#0b5cad", "#0b5cad"),
    "已提交": Style("gantt-submitted", "#9cc3ea", "#0b5cad"),
    "已完成": Style("gantt-done", "#2e7d32", "#2e7d32", mark="✓"),
}
# Deadline state → style; it overrides the status fill. Both "warning"/"overdue" and
# DeadlineState's values (到期预警/超时) are understood.
WARNING = Style("gantt-warning", "#f2a93b", "#b35900", mark="⚠", name="到期预警")
OVERDUE = Style("gantt-overdue", "#c62828", "#8e1b1b", mark="超时", name="超时")
STATE_STYLES = {"warning": WARNING, "到期预警": WARNING, "overdue": OVERDUE, "超时": OVERDUE}
SKIPPED_NOTES = {"不适用": "不适用", "已由区域评估覆盖": "区域评估覆盖"}
_LINK_SCHEMES = frozenset({"", "http", "https"})


@dataclass(frozen=True)
class GanttRow:
    """One roadmap step as the Gantt chart draws it (dates inclusive; None = not schedulable)."""

    label: str
    start: date | None
    finish: date | None
    status: str
    critical: bool = False
    state: str = ""  # "" | "warning" | "overdue" (DeadlineState's 到期预警 / 超时 work too)
    group: str = ""  # a new value starts a labelled band
    actual_start: date | None = None
    actual_finish: date | None = None
    href: str | None = None


@dataclass(frozen=True)
class Key:
    """One legend entry: a box, a thin bar or a diamond, then its text."""

    shape: str  # "box" | "thin" | "diamond"
    style: Style
    x: float
    y: int
    text: str


@dataclass(frozen=True)
class Mark:
    """What a step's row draws (`kind`): its planned "bar" (the finish date and markers after it,
    at note_x), a "diamond" for a step that takes no time, a "note" alone for a skipped step
    without a date, a "hatch" across the plot for a step without planned dates, or the thin
    "actual" bar of what really happened."""

    kind: str
    x: float
    width: float = 0.0
    tip: str = ""
    note: str = ""
    note_x: float = 0.0
    style: Style | None = None


@dataclass(frozen=True)
class Row:
    """One step's row: its label (truncated, with the full text as a tooltip) and its marks."""

    y: int
    label: str
    title: str
    href: str | None
    critical: bool
    shape: Mark
    actual: Mark | None


@dataclass(frozen=True)
class Rule:
    """A vertical line: a month line or the plot's left edge, or with its label (at text_y) the
    目标 and 今天 lines."""

    x: float
    y1: float
    y2: float
    text_y: float = 0.0
    anchor: str = ""
    text: str = ""


@dataclass(frozen=True)
class Gantt:
    """Everything the Gantt macro draws, in drawing order."""

    ident: str
    title: str
    description: str
    width: int
    height: int
    legend: list[Key]
    grid: list[Rule]
    axis: Rule  # the left edge of the plot
    months: list[Label]  # YYYY-MM
    bands: list[Label]  # a labelled stage band across the chart, from y down
    target: Rule | None
    today: Rule | None
    rows: list[Row]


@dataclass(frozen=True)
class TimeAxis:
    """The horizontal scale: `first` is the day at the left edge of the plot."""

    left: int
    plot_w: int
    first: date
    end: date
    per_day: float
    today: date | None  # None when today is too far from the plan to draw

    def x(self, day: date) -> float:
        """The left edge of `day`."""
        return self.left + (day - self.first).days * self.per_day


def text_width(text: str, size: float) -> float:
    """Roughly how wide `text` is drawn: CJK and full-width characters 1 em, the rest 0.6 em."""
    return sum(size if unicodedata.east_asian_width(c) in "WF" else size * 0.6 for c in text)


def truncate(text: str, size: float, room: float) -> str:
    """`text` cut with "…" so that it fits in `room` pixels."""
    if text_width(text, size) <= room:
        return text
    cut = text
    while cut and text_width(cut + "…", size) > room:
        cut = cut[:-1]
    return cut + "…"


def safe_href(href: str | None) -> str | None:
    """A relative or http(s) link; anything else (javascript:, data:) is dropped."""
    if not href:
        return None
    cleaned = re.sub(r"[\t\r\n]", "", href).strip()
    try:
        scheme = urlsplit(cleaned).scheme.lower()
    except ValueError:
        return None
    return cleaned if cleaned and scheme in _LINK_SCHEMES else None


def _ymd(day: date) -> str:
    return day.strftime("%Y-%m-%d")


def unscheduled(row: GanttRow) -> bool:
    """A step that should take time but has no planned dates."""
    return row.status not in SKIPPED_STATUSES and (row.start is None or row.finish is None)


def time_axis(
    rows: Sequence[GanttRow],
    *,
    start: date,
    target: date | None,
    today: date | None,
    left: int,
    plot_w: int,
) -> TimeAxis:
    """The scale: from the end of the land-contract day `start` (earlier only for earlier dates)
    to a little after the last date, the target or today; today only from `start` to a while
    after the last date."""
    known = [
        d
        for row in rows
        for d in (row.start, row.finish, row.actual_start, row.actual_finish)
        if d is not None
    ]
    first = min([start + ONE_DAY, *known])
    data_end = max([start + ONE_DAY, *(d + ONE_DAY for d in known)])
    if target is not None and target >= start:
        data_end = max(data_end, target + ONE_DAY)
    span = (data_end - start).days
    # Within a year after the plan the today line still tells how late the open steps are.
    if today is not None and start <= today <= data_end + timedelta(days=max(366, span // 2)):
        first = min(first, today)
        data_end = max(data_end, today + ONE_DAY)
    else:
        today = None
    days = max((data_end - first).days, 14)
    days += max(3, round(days * 0.03))  # a little room after the last date
    return TimeAxis(
        left=left,
        plot_w=plot_w,
        first=first,
        end=first + timedelta(days=days),
        per_day=plot_w / days,
        today=today,
    )


def legend(rows: Sequence[GanttRow], *, ident: str, width: int) -> tuple[list[Key], int]:
    """The legend (only what the chart shows), flowed over as many lines as it needs, and the y
    of its last line."""
    statuses = {row.status for row in rows}
    states = {STATE_STYLES[row.state] for row in rows if row.state in STATE_STYLES}
    entries: list[tuple[str, Style, str]] = [
        ("box", style, f"{status} {style.mark}".strip())
        for status, style in STATUS_STYLES.items()
        if status in statuses
    ]
    for style in (WARNING, OVERDUE):
        if style in states:
            text = style.name if style.name == style.mark else f"{style.name} {style.mark}"
            entries.append(("box", Style(style.cls, style.fill, style.stroke), text))
    if any(row.critical for row in rows):
        critical = Style("gantt-critical", "#ffffff", "#000", stroke_width="2")
        entries.append(("box", critical, "关键路径"))
    if any(row.actual_start or row.actual_finish for row in rows):
        entries.append(("thin", Style("gantt-actual", "#333"), "实际办理"))
    if any(row.status in SKIPPED_STATUSES for row in rows):
        entries.append(
            ("diamond", Style("gantt-skipped", "#8a939e", "#5f6b7a"), "不适用 / 区域评估覆盖")
        )
    if any(unscheduled(row) for row in rows):
        hatch = Style("gantt-unscheduled", f"url(#{ident}-hatch)", "#9aa3ad")
        entries.append(("box", hatch, "无法排期"))
    keys = []
    x, y = 8.0, 6
    for shape, style, text in entries:
        item_w = 22 + text_width(text, 12) + 16
        if x > 8 and x + item_w > width - 8:
            x, y = 8.0, y + 18
        keys.append(
            Key(
                shape,
                Style(
                    f"gantt-key {style.cls}",
                    style.fill,
                    style.stroke,
                    style.dash,
                    style.stroke_width,
                ),
                x,
                y,
                text,
            )
        )
        x += item_w
    return keys, y


def _bar(row: GanttRow, axis: TimeAxis) -> Mark:
    """A scheduled step's bar: its status style, overridden by its deadline state, outlined when
    critical; the finish date and ✓ / ⚠ / 超时 after it."""
    base = STATUS_STYLES.get(row.status, STATUS_STYLES["未开始"])
    cls, fill, stroke, stroke_w = base.cls, base.fill, base.stroke, "1"
    marks = [f"{row.finish:%m-%d}", *([base.mark] if base.mark else [])]
    tip = f"{row.label}:{_ymd(row.start)} 至 {_ymd(row.finish)},{row.status}"
    if row.state in STATE_STYLES:
        state = STATE_STYLES[row.state]
        cls, fill, stroke = f"{cls} {state.cls}", state.fill, state.stroke
        marks.append(state.mark)
        tip += f",{state.name}"
    if row.critical:
        cls, stroke, stroke_w = f"{cls} gantt-critical", "#000", "2"
        tip += ",关键路径"
    x1, x2 = axis.x(row.start), axis.x(row.finish + ONE_DAY)
    style = Style(cls, fill, stroke, dash=base.dash, stroke_width=stroke_w)
    return Mark("bar", x1, x2 - x1, tip, " ".join(marks), note_x=x2 + 4, style=style)


def _actual(row: GanttRow, axis: TimeAxis) -> Mark | None:
    """What really happened: actual start to actual finish, or to today while the step is open; a
    tick when only one end is known."""
    began, ended, today = row.actual_start, row.actual_finish, axis.today
    if began is None and ended is None:
        return None
    if began is not None and ended is None and today is not None and today >= began:
        x1, x2 = axis.x(began), axis.x(today) + axis.per_day / 2
        tip = f"实际:{_ymd(began)} 开始,办理中"
    elif began is not None and ended is not None and ended >= began:
        x1, x2 = axis.x(began), axis.x(ended + ONE_DAY)
        tip = f"实际:{_ymd(began)} 至 {_ymd(ended)}"
    else:
        day = began if began is not None else ended
        x1 = axis.x(day) if began is not None else axis.x(day + ONE_DAY) - 2
        x2 = x1 + 2
        tip = f"实际{'开始' if began is not None else '完成'}:{_ymd(day)}"
    return Mark("actual", x1, max(x2 - x1, 2), f"{row.label} {tip}")


def _shape(row: GanttRow, axis: TimeAxis) -> Mark:
    """Skipped steps (不适用, 区域评估覆盖, finish before start) are diamonds, steps without
    dates hatched, the rest bars."""
    skipped = row.status in SKIPPED_STATUSES or (
        row.start is not None and row.finish is not None and row.finish < row.start
    )
    if skipped:
        when = row.finish + ONE_DAY if row.finish is not None else row.start
        note = SKIPPED_NOTES.get(row.status, "不占时间")
        if when is None:
            return Mark("note", axis.left + 6, note=note)
        return Mark("diamond", axis.x(when), tip=f"{row.label}:{row.status}", note=note)
    if unscheduled(row):
        return Mark("hatch", axis.left, axis.plot_w, f"{row.label}:无法排期")
    return _bar(row, axis)


def _rows(
    rows: Sequence[GanttRow], axis: TimeAxis, *, top: int
) -> tuple[list[Label], list[Row], int]:
    """Each step's row under its stage band, from `top` down; and the y below the last row."""
    bands: list[Label] = []
    placed: list[Row] = []
    y, group = top, ""
    for row in rows:
        if row.group and row.group != group:
            bands.append(Label(0, y, row.group))
            y += GROUP_H
        group = row.group
        placed.append(
            Row(
                y=y,
                label=truncate(row.label, 12, axis.left - 16),
                title=row.label,
                href=safe_href(row.href),
                critical=row.critical,
                shape=_shape(row, axis),
                actual=_actual(row, axis),
            )
        )
        y += ROW_H
    return bands, placed, y


def _months(
    axis: TimeAxis, *, axis_y: int, rows_top: int, rows_bottom: int, width: int
) -> tuple[list[Rule], list[Label]]:
    """Month lines (labelled ones from the axis down, the others only across the rows, and only
    when a month is wide enough) and YYYY-MM labels spaced at least 56 px apart."""
    grid: list[Rule] = []
    labels: list[Label] = []
    per_month = axis.per_day * 30.44
    every = next((k for k in (1, 2, 3, 6, 12) if k * per_month >= 56), 12)
    month = date(axis.first.year, axis.first.month, 1)
    labelled: list[float] = []
    while month < axis.end:
        if month >= axis.first:
            x = axis.x(month)
            if (month.month - 1) % every == 0:
                grid.append(Rule(x, axis_y + 4, rows_bottom))
                if x + 48 <= width:
                    labels.append(Label(x + 3, axis_y, f"{month:%Y-%m}"))
                    labelled.append(x)
            elif per_month >= 4:
                grid.append(Rule(x, rows_top, rows_bottom))
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    if not labelled or labelled[0] - axis.left >= 56:  # the partial first month
        labels.append(Label(axis.left + 3, axis_y, f"{axis.first:%Y-%m}"))
    return grid, labels


def _rules(
    axis: TimeAxis,
    *,
    start: date,
    target: date | None,
    legend_h: int,
    rows: tuple[int, int],
    width: int,
) -> tuple[Rule | None, Rule | None]:
    """The 目标 line at the end of the target day and the 今天 line in the middle of today."""
    rows_top, rows_bottom = rows
    target_rule = today_rule = None
    if target is not None and target >= start:
        x = axis.x(target + ONE_DAY)
        target_rule = Rule(
            x=x,
            y1=legend_h + 34,
            y2=rows_bottom,
            text_y=legend_h + 30,
            anchor="end" if x > width - 60 else "middle",
            text=f"目标 ({(target - start).days} 天)",
        )
    if axis.today is not None:
        x = axis.x(axis.today) + axis.per_day / 2
        today_rule = Rule(
            x=x,
            y1=rows_top - 4,
            y2=rows_bottom + 4,
            text_y=rows_bottom + 18,
            anchor="end" if x > width - 30 else "middle",
            text=f"今天 {axis.today:%m-%d}",
        )
    return target_rule, today_rule


def gantt_geometry(
    rows: Sequence[GanttRow],
    *,
    ident: str,
    title: str,
    description: str,
    start: date,
    target: date | None = None,
    today: date | None = None,
    width: int = 960,
) -> Gantt:
    """Lay out a roadmap Gantt chart: the legend, month ticks, stage bands, one row per step, the
    目标 line at the end of the target day (N = (target - start).days days from the origin) and
    the 今天 line in the middle of today. No rows gives an empty chart 60 px high."""
    ident = clean_id(ident, "gantt")
    if not rows:
        return Gantt(
            ident=ident,
            title=title,
            description=description,
            width=width,
            height=60,
            legend=[],
            grid=[],
            axis=Rule(0, 0, 0),
            months=[],
            bands=[],
            target=None,
            today=None,
            rows=[],
        )
    left = int(min(280, width * 0.3))
    plot_w = width - left - RIGHT
    if plot_w < 100:
        raise ValueError("width too small for a Gantt chart")
    axis = time_axis(rows, start=start, target=target, today=today, left=left, plot_w=plot_w)
    keys, legend_y = legend(rows, ident=ident, width=width)
    legend_h = legend_y + 22
    axis_y, rows_top = legend_h + 14, legend_h + 38
    bands, placed, rows_bottom = _rows(rows, axis, top=rows_top)
    grid, months = _months(
        axis, axis_y=axis_y, rows_top=rows_top, rows_bottom=rows_bottom, width=width
    )
    target_rule, today_rule = _rules(
        axis,
        start=start,
        target=target,
        legend_h=legend_h,
        rows=(rows_top, rows_bottom),
        width=width,
    )
    return Gantt(
        ident=ident,
        title=title,
        description=description,
        width=width,
        height=rows_bottom + 28,
        legend=keys,
        grid=grid,
        axis=Rule(left, axis_y + 4, rows_bottom),
        months=months,
        bands=bands,
        target=target_rule,
        today=today_rule,
        rows=placed,
    )
