"""Small server-side SVG charts (no JavaScript, nothing inline that the CSP would block).

Every text that reaches the SVG is escaped here, so the result is returned as Markup. A chart is
an image for sighted users only: templates ALWAYS put a <table> with the same data beside it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlsplit

from markupsafe import Markup, escape

_ID = re.compile(r"[^A-Za-z0-9_-]")
MAX_X_LABELS = 8


def _num(value: float) -> str:
    """A coordinate, compact and locale-free."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _value(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _frame(
    *,
    ident: str,
    title: str,
    description: str,
    labels: Sequence[str],
    x_label: str,
    y_label: str,
    y_min: float,
    y_max: float,
    y_ticks: int,
    width: int,
    height: int,
    box: tuple[int, int, int, int],
    x_at,
    y_at,
) -> list[str]:
    """The parts every line chart shares: the <svg> with its title and description, the grid,
    y tick labels, x labels (thinned to MAX_X_LABELS), axis titles and the x axis line."""
    left, top, plot_w, plot_h = box
    count = len(labels)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-labelledby="{ident}-title {ident}-desc">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(description)}</desc>',
        '<g class="chart-grid" stroke="#d0d4da" stroke-width="1">',
    ]
    for step in range(y_ticks + 1):
        value = y_min + (y_max - y_min) * step / y_ticks
        y = _num(y_at(value))
        parts.append(f'<line x1="{left}" y1="{y}" x2="{left + plot_w}" y2="{y}"/>')
    parts.append("</g>")
    parts.append('<g class="chart-axis" fill="#333" font-size="12">')
    for step in range(y_ticks + 1):
        value = y_min + (y_max - y_min) * step / y_ticks
        parts.append(
            f'<text x="{left - 8}" y="{_num(y_at(value) + 4)}" text-anchor="end">'
            f"{escape(_value(value))}</text>"
        )
    every = max(1, -(-count // MAX_X_LABELS))
    for index, label in enumerate(labels):
        if index % every and index != count - 1:
            continue
        parts.append(
            f'<text x="{_num(x_at(index))}" y="{top + plot_h + 18}" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    parts.append(
        f'<text x="{_num(left + plot_w / 2)}" y="{height - 12}" text-anchor="middle">'
        f"{escape(x_label)}</text>"
    )
    parts.append(
        f'<text x="14" y="{_num(top + plot_h / 2)}" text-anchor="middle" '
        f'transform="rotate(-90 14 {_num(top + plot_h / 2)})">{escape(y_label)}</text>'
    )
    parts.append("</g>")
    parts.append(
        f'<line class="chart-axis-line" x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" '
        f'y2="{top + plot_h}" stroke="#333" stroke-width="1"/>'
    )
    return parts


def line_chart(
    points: Sequence[tuple[str, float]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    chart_id: str = "chart",
    description: str | None = None,
    y_min: float = 0,
    y_max: float = 100,
    y_ticks: int = 5,
    width: int = 640,
    height: int = 280,
) -> Markup:
    """A line chart of (label, value) points in order, as an accessible SVG string.

    role="img" with <title> and <desc> (named by aria-labelledby); axis labels; one circle per
    point carrying its own <title>. Values outside [y_min, y_max] are drawn at the edge.
    An empty series gives an empty Markup (the template says there is no data)."""
    if not points:
        return Markup("")
    if y_max <= y_min:
        raise ValueError("y_max must exceed y_min")
    ident = _ID.sub("", chart_id) or "chart"
    left, right, top, bottom = 56, 16, 16, 64
    plot_w, plot_h = width - left - right, height - top - bottom
    count = len(points)

    def x_at(index: int) -> float:
        return left + (plot_w / 2 if count == 1 else plot_w * index / (count - 1))

    def y_at(value: float) -> float:
        clipped = min(max(value, y_min), y_max)
        return top + plot_h * (1 - (clipped - y_min) / (y_max - y_min))

    if description is None:
        description = "、".join(f"{label}:{_value(value)}" for label, value in points)
    parts = _frame(
        ident=ident, title=title, description=description, labels=[label for label, _ in points], x_label=x_label,
        y_label=y_label, y_min=y_min, y_max=y_max, y_ticks=y_ticks, width=width, height=height,
        box=(left, top, plot_w, plot_h), x_at=x_at, y_at=y_at,
    )  # fmt: skip
    coordinates = " ".join(f"{_num(x_at(i))},{_num(y_at(v))}" for i, (_, v) in enumerate(points))
    parts.append(
        f'<polyline class="chart-line" points="{coordinates}" fill="none" '
        f'stroke="#0b5cad" stroke-width="2"/>'
    )
    parts.append('<g class="chart-points" fill="#0b5cad">')
    for index, (label, value) in enumerate(points):
        parts.append(
            f'<circle cx="{_num(x_at(index))}" cy="{_num(y_at(value))}" r="4">'
            f"<title>{escape(label)}:{escape(_value(value))}</title></circle>"
        )
    parts.append("</g></svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through escape()


# Series styles told apart by more than colour (dash pattern and marker shape).
_SERIES_STYLES = (
    {"colour": "#0b5cad", "dash": "", "marker": "circle"},
    {"colour": "#b35900", "dash": "6 4", "marker": "square"},
    {"colour": "#2e7d32", "dash": "2 3", "marker": "circle"},
)


def series_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    chart_id: str = "chart",
    description: str | None = None,
    y_min: float = 0,
    y_max: float = 100,
    y_ticks: int = 5,
    width: int = 640,
    height: int = 300,
) -> Markup:
    """Several lines over the same x labels, as an accessible SVG; None is a gap (no point, the
    line breaks). A legend names each series. Empty when no series has a value."""
    if not labels or not any(v is not None for _, values in series for v in values):
        return Markup("")
    if y_max <= y_min:
        raise ValueError("y_max must exceed y_min")
    ident = _ID.sub("", chart_id) or "chart"
    left, right, top, bottom = 56, 48, 36, 64  # room for the last x label
    plot_w, plot_h = width - left - right, height - top - bottom
    count = len(labels)

    def x_at(index: int) -> float:
        return left + (plot_w / 2 if count == 1 else plot_w * index / (count - 1))

    def y_at(value: float) -> float:
        clipped = min(max(value, y_min), y_max)
        return top + plot_h * (1 - (clipped - y_min) / (y_max - y_min))

    if description is None:
        description = ";".join(
            f"{name}:"
            + "、".join(
                f"{label} {_value(v)}"
                for label, v in zip(labels, values, strict=False)
                if v is not None
            )
            for name, values in series
        )
    parts = _frame(
        ident=ident, title=title, description=description, labels=labels, x_label=x_label,
        y_label=y_label, y_min=y_min, y_max=y_max, y_ticks=y_ticks, width=width, height=height,
        box=(left, top, plot_w, plot_h), x_at=x_at, y_at=y_at,
    )  # fmt: skip
    for number, (name, values) in enumerate(series):
        style = _SERIES_STYLES[number % len(_SERIES_STYLES)]
        dash = f' stroke-dasharray="{style["dash"]}"' if style["dash"] else ""
        # The legend: a short line sample and the name, along the top.
        lx = left + number * 180
        parts.append(
            f'<g class="chart-legend" font-size="12"><line x1="{lx}" y1="14" x2="{lx + 24}" y2="14" '
            f'stroke="{style["colour"]}" stroke-width="2"{dash}/>'
            f'<text x="{lx + 30}" y="18" fill="#333">{escape(name)}</text></g>'
        )
        runs: list[list[str]] = [[]]
        for index, value in enumerate(values[:count]):
            if value is None:
                runs.append([])
                continue
            runs[-1].append(f"{_num(x_at(index))},{_num(y_at(value))}")
        for run in runs:
            if len(run) > 1:
                parts.append(
                    f'<polyline class="chart-line" points="{" ".join(run)}" fill="none" '
                    f'stroke="{style["colour"]}" stroke-width="2"{dash}/>'
                )
        parts.append(f'<g class="chart-points" fill="{style["colour"]}">')
        for index, value in enumerate(values[:count]):
            if value is None:
                continue
            x, y = x_at(index), y_at(value)
            tip = f"<title>{escape(name)} {escape(labels[index])}:{escape(_value(value))}</title>"
            if style["marker"] == "square":
                parts.append(
                    f'<rect x="{_num(x - 4)}" y="{_num(y - 4)}" width="8" height="8">{tip}</rect>'
                )
            else:
                parts.append(f'<circle cx="{_num(x)}" cy="{_num(y)}" r="4">{tip}</circle>')
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through escape()


def bar_chart(
    bars: Sequence[tuple[str, float]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    chart_id: str = "chart",
    description: str | None = None,
    width: int = 640,
    height: int = 280,
) -> Markup:
    """A vertical bar chart of (label, value ≥ 0) pairs, each bar labelled with its value, as an
    accessible SVG. Empty when there are no bars."""
    if not bars:
        return Markup("")
    ident = _ID.sub("", chart_id) or "chart"
    left, right, top, bottom = 56, 16, 24, 64
    plot_w, plot_h = width - left - right, height - top - bottom
    highest = max(max(value for _, value in bars), 0)
    # A round top for the axis: 1, 2, 5 × a power of ten, at least 1.
    y_max = 1.0
    while y_max < highest:
        for factor in (2, 2.5, 2):
            y_max *= factor
            if y_max >= highest:
                break
    ticks = 5 if y_max >= 5 else int(y_max)

    def y_at(value: float) -> float:
        return top + plot_h * (1 - min(max(value, 0), y_max) / y_max)

    if description is None:
        description = "、".join(f"{label}:{_value(value)}" for label, value in bars)
    slot = plot_w / len(bars)
    bar_w = min(64.0, slot * 0.6)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-labelledby="{ident}-title {ident}-desc">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(description)}</desc>',
        '<g class="chart-grid" stroke="#d0d4da" stroke-width="1">',
    ]
    for step in range(ticks + 1):
        y = _num(y_at(y_max * step / ticks))
        parts.append(f'<line x1="{left}" y1="{y}" x2="{left + plot_w}" y2="{y}"/>')
    parts.append("</g>")
    parts.append('<g class="chart-axis" fill="#333" font-size="12">')
    for step in range(ticks + 1):
        value = y_max * step / ticks
        parts.append(
            f'<text x="{left - 8}" y="{_num(y_at(value) + 4)}" text-anchor="end">'
            f"{escape(_value(value))}</text>"
        )
    for index, (label, _) in enumerate(bars):
        parts.append(
            f'<text x="{_num(left + slot * (index + 0.5))}" y="{top + plot_h + 18}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    parts.append(
        f'<text x="{_num(left + plot_w / 2)}" y="{height - 12}" text-anchor="middle">'
        f"{escape(x_label)}</text>"
    )
    parts.append(
        f'<text x="14" y="{_num(top + plot_h / 2)}" text-anchor="middle" '
        f'transform="rotate(-90 14 {_num(top + plot_h / 2)})">{escape(y_label)}</text>'
    )
    parts.append("</g>")
    parts.append('<g class="chart-bars" fill="#0b5cad">')
    for index, (label, value) in enumerate(bars):
        x = left + slot * (index + 0.5) - bar_w / 2
        y = y_at(value)
        parts.append(
            f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(bar_w)}" '
            f'height="{_num(top + plot_h - y)}"><title>{escape(label)}:{escape(_value(value))}'
            f"</title></rect>"
        )
    parts.append("</g>")
    parts.append('<g class="chart-values" fill="#333" font-size="12">')
    for index, (_, value) in enumerate(bars):
        parts.append(
            f'<text x="{_num(left + slot * (index + 0.5))}" y="{_num(y_at(value) - 4)}" '
            f'text-anchor="middle">{escape(_value(value))}</text>'
        )
    parts.append("</g>")
    parts.append(
        f'<line class="chart-axis-line" x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" '
        f'y2="{top + plot_h}" stroke="#333" stroke-width="1"/>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through escape()


# ---------------------------------------------------------------------- roadmap Gantt chart

SKIPPED_STATUSES = frozenset({"不适用", "已由区域评估覆盖"})
# Status → (class, fill, stroke, dash, text after the bar). Told apart without colour too: hollow
# and dashed, dark, light, dark with ✓. Unknown statuses are drawn like 未开始.
_GANTT_STATUS = {
    "未开始": ("gantt-pending", "#ffffff", "#5f6b7a", "3 2", ""),
    "办理中": ("gantt-started", "#0b5cad", "#0b5cad", "", ""),
    "已提交": ("gantt-submitted", "#9cc3ea", "#0b5cad", "", ""),
    "已完成": ("gantt-done", "#2e7d32", "#2e7d32", "", "✓"),
}
# Deadline state → (class, fill, stroke, marker after the bar, name); it overrides the status fill.
# Both "warning"/"overdue" and DeadlineState's values (到期预警/超时) are understood.
_WARNING = ("gantt-warning", "#f2a93b", "#b35900", "⚠", "到期预警")
_OVERDUE = ("gantt-overdue", "#c62828", "#8e1b1b", "超时", "超时")
_GANTT_STATE = {"warning": _WARNING, "到期预警": _WARNING, "overdue": _OVERDUE, "超时": _OVERDUE}
_SKIPPED_NOTE = {"不适用": "不适用", "已由区域评估覆盖": "区域评估覆盖"}
_LINK_SCHEMES = frozenset({"", "http", "https"})
_GANTT_ROW_H, _GANTT_GROUP_H, _GANTT_RIGHT = 26, 22, 96


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


def _text_width(text: str, size: float) -> float:
    """Roughly how wide `text` is drawn: CJK and full-width characters 1 em, the rest 0.6 em."""
    return sum(size if unicodedata.east_asian_width(c) in "WF" else size * 0.6 for c in text)


def _truncate(text: str, size: float, room: float) -> str:
    """`text` cut with "…" so that it fits in `room` pixels."""
    if _text_width(text, size) <= room:
        return text
    cut = text
    while cut and _text_width(cut + "…", size) > room:
        cut = cut[:-1]
    return cut + "…"


def _safe_href(href: str | None) -> str | None:
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


def _diamond(cx: float, cy: float, r: float = 6) -> str:
    """Path data of a diamond centred on (cx, cy)."""
    return (
        f"M{_num(cx)} {_num(cy - r)}L{_num(cx + r)} {_num(cy)}"
        f"L{_num(cx)} {_num(cy + r)}L{_num(cx - r)} {_num(cy)}Z"
    )


def _unscheduled(row: GanttRow) -> bool:
    """A step that should take time but has no planned dates."""
    return row.status not in SKIPPED_STATUSES and (row.start is None or row.finish is None)


def gantt_chart(
    rows: Sequence[GanttRow],
    *,
    ident: str,
    title: str,
    description: str,
    start: date,
    target: date | None = None,
    today: date | None = None,
    width: int = 960,
) -> Markup:
    """A roadmap Gantt chart as an accessible SVG: one row per step, labelled stage bands, month
    ticks, a 目标 line and a 今天 line, and a legend.

    The time axis begins at the end of the land-contract day `start` (day 0, as scheduling counts),
    earlier only when a row has earlier dates. Day d occupies [x(d), x(d + 1)): a bar runs from the
    left of its start day to the right of its finish day; the 目标 line sits at the end of the
    target day, N = (target - start).days days from the origin; the 今天 line in the middle of
    today, drawn only while today lies from `start` to a while after the last date. Skipped steps
    (不适用, 已由区域评估覆盖, or finish before start) are diamonds; rows without dates are hatched
    and say 无法排期. Each bar is followed by its finish date and ✓ / ⚠ / 超时, so print and
    greyscale read without colour. No rows gives an SVG that says 暂无步骤."""
    ident = _ID.sub("", ident) or "gantt"

    def head(height: int) -> str:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart gantt" role="img" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
            f'aria-labelledby="{ident}-title {ident}-desc">'
            f'<title id="{ident}-title">{escape(title)}</title>'
            f'<desc id="{ident}-desc">{escape(description)}</desc>'
        )

    if not rows:
        return Markup(  # noqa: S704 - every text went through escape()
            head(60)
            + f'<text class="gantt-empty" x="{_num(width / 2)}" y="34" text-anchor="middle" '
            f'fill="#333" font-size="14">暂无步骤</text></svg>'
        )
    left = int(min(280, width * 0.3))
    plot_w = width - left - _GANTT_RIGHT
    if plot_w < 100:
        raise ValueError("width too small for a Gantt chart")

    def dates_of(row: GanttRow) -> list[date]:
        found = [row.start, row.finish, row.actual_start, row.actual_finish]
        return [d for d in found if d is not None]

    known = [d for row in rows for d in dates_of(row)]
    first = min([start + timedelta(days=1), *known])
    data_end = max([start + timedelta(days=1), *(d + timedelta(days=1) for d in known)])
    if target is not None and target >= start:
        data_end = max(data_end, target + timedelta(days=1))
    span = (data_end - start).days
    # Within a year after the plan the today line still tells how late the open steps are.
    show_today = today is not None and start <= today <= data_end + timedelta(
        days=max(366, span // 2)
    )
    if show_today:
        first = min(first, today)
        data_end = max(data_end, today + timedelta(days=1))
    days = max((data_end - first).days, 14)
    days += max(3, round(days * 0.03))  # a little room after the last date
    end = first + timedelta(days=days)
    per_day = plot_w / days

    def x_at(day: date) -> float:
        """The left edge of `day`."""
        return left + (day - first).days * per_day

    # ---- legend (only what the chart shows), flowed over as many lines as it needs
    statuses = {row.status for row in rows}
    states = {_GANTT_STATE[row.state] for row in rows if row.state in _GANTT_STATE}
    legend: list[tuple[str, str, str]] = []  # (shape, attributes, text)
    for status, (cls, fill, stroke, dash, mark) in _GANTT_STATUS.items():
        if status in statuses:
            dashed = f' stroke-dasharray="{dash}"' if dash else ""
            attrs = f'class="gantt-key {cls}" fill="{fill}" stroke="{stroke}"{dashed}'
            legend.append(("box", attrs, f"{status} {mark}".strip()))
    for cls, fill, stroke, mark, name in (_WARNING, _OVERDUE):
        if (cls, fill, stroke, mark, name) in states:
            text = name if name == mark else f"{name} {mark}"
            legend.append(("box", f'class="gantt-key {cls}" fill="{fill}" stroke="{stroke}"', text))
    if any(row.critical for row in rows):
        attrs = 'class="gantt-key gantt-critical" fill="#ffffff" stroke="#000" stroke-width="2"'
        legend.append(("box", attrs, "关键路径"))
    if any(row.actual_start or row.actual_finish for row in rows):
        legend.append(("thin", 'class="gantt-key gantt-actual" fill="#333"', "实际办理"))
    if any(row.status in SKIPPED_STATUSES for row in rows):
        attrs = 'class="gantt-key gantt-skipped" fill="#8a939e" stroke="#5f6b7a"'
        legend.append(("diamond", attrs, "不适用 / 区域评估覆盖"))
    if any(_unscheduled(row) for row in rows):
        attrs = f'class="gantt-key gantt-unscheduled" fill="url(#{ident}-hatch)" stroke="#9aa3ad"'
        legend.append(("box", attrs, "无法排期"))
    body = [
        f'<defs><pattern id="{ident}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="#9aa3ad" '
        f'stroke-width="2"/></pattern></defs>',
        '<g class="gantt-legend" font-size="12" fill="#333">',
    ]
    lx, ly = 8.0, 6
    for shape, attrs, text in legend:
        item_w = 22 + _text_width(text, 12) + 16
        if lx > 8 and lx + item_w > width - 8:
            lx, ly = 8.0, ly + 18
        if shape == "diamond":
            body.append(f'<path {attrs} d="{_diamond(lx + 8, ly + 5)}"/>')
        elif shape == "thin":
            body.append(f'<rect {attrs} x="{_num(lx)}" y="{ly + 3}" width="16" height="4"/>')
        else:
            body.append(f'<rect {attrs} x="{_num(lx)}" y="{ly}" width="16" height="10"/>')
        body.append(f'<text x="{_num(lx + 22)}" y="{ly + 10}">{escape(text)}</text>')
        lx += item_w
    body.append("</g>")
    legend_h = ly + 22
    axis_y = legend_h + 14
    rows_top = legend_h + 38

    # ---- rows (stage bands, labels, bars, markers and notes)
    bands: list[str] = []
    row_parts: list[str] = []
    y = rows_top
    group = ""
    for row in rows:
        if row.group and row.group != group:
            bands.append(
                f'<g class="gantt-group"><rect x="0" y="{y}" width="{width}" '
                f'height="{_GANTT_GROUP_H}" fill="#eef1f5"/><text x="8" y="{y + 15}" '
                f'font-size="12" font-weight="bold" fill="#222">{escape(row.group)}</text></g>'
            )
            y += _GANTT_GROUP_H
        group = row.group
        row_parts.append(_gantt_row(row, y=y, left=left, plot_w=plot_w, ident=ident, x_at=x_at,
                                    today=today if show_today else None, per_day=per_day))  # fmt: skip
        y += _GANTT_ROW_H
    rows_bottom = y
    height = rows_bottom + 28

    # ---- month grid and labels
    grid = ['<g class="gantt-grid" stroke="#d0d4da" stroke-width="1">']
    labels = ['<g class="gantt-axis" fill="#333" font-size="11">']
    per_month = per_day * 30.44
    every = next((k for k in (1, 2, 3, 6, 12) if k * per_month >= 56), 12)
    month = date(first.year, first.month, 1)
    labelled: list[float] = []
    while month < end:
        if month >= first:
            x = x_at(month)
            if (month.month - 1) % every == 0:
                grid.append(f'<line x1="{_num(x)}" y1="{axis_y + 4}" x2="{_num(x)}" y2="{rows_bottom}"/>')  # fmt: skip
                if x + 48 <= width:
                    labels.append(f'<text x="{_num(x + 3)}" y="{axis_y}">{month:%Y-%m}</text>')
                    labelled.append(x)
            elif per_month >= 4:
                grid.append(f'<line x1="{_num(x)}" y1="{rows_top}" x2="{_num(x)}" y2="{rows_bottom}"/>')  # fmt: skip
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    if not labelled or labelled[0] - left >= 56:  # the partial first month
        labels.append(f'<text x="{left + 3}" y="{axis_y}">{first:%Y-%m}</text>')
    grid.append(
        f'<line x1="{left}" y1="{axis_y + 4}" x2="{left}" y2="{rows_bottom}" stroke="#333"/>'
    )
    grid.append("</g>")
    labels.append("</g>")

    # ---- the target and today lines, under the bars so that no note is crossed out
    lines: list[str] = []
    if target is not None and target >= start:
        x = x_at(target + timedelta(days=1))
        anchor = "end" if x > width - 60 else "middle"
        lines.append(
            f'<g class="gantt-target"><line x1="{_num(x)}" y1="{legend_h + 34}" x2="{_num(x)}" '
            f'y2="{rows_bottom}" stroke="#000" stroke-width="1.5" stroke-dasharray="6 3"/>'
            f'<text x="{_num(x)}" y="{legend_h + 30}" text-anchor="{anchor}" font-size="11" '
            f'fill="#000">目标 ({(target - start).days} 天)</text></g>'
        )
    if show_today:
        x = x_at(today) + per_day / 2
        anchor = "end" if x > width - 30 else "middle"
        lines.append(
            f'<g class="gantt-today"><line x1="{_num(x)}" y1="{rows_top - 4}" x2="{_num(x)}" '
            f'y2="{rows_bottom + 4}" stroke="#d35400" stroke-width="2"/>'
            f'<text x="{_num(x)}" y="{rows_bottom + 18}" text-anchor="{anchor}" font-size="11" '
            f'fill="#d35400">今天 {today:%m-%d}</text></g>'
        )
    svg = [head(height), *body, *grid, *labels, *bands, *lines, *row_parts, "</svg>"]
    return Markup("".join(svg))  # noqa: S704 - every text above went through escape()


def _gantt_row(
    row: GanttRow,
    *,
    y: int,
    left: int,
    plot_w: int,
    ident: str,
    x_at: Callable[[date], float],
    today: date | None,
    per_day: float,
) -> str:
    """One step's row: its (linked, truncated) label, then a bar, a diamond or a hatched band."""
    one = timedelta(days=1)
    full = escape(row.label)
    text = escape(_truncate(row.label, 12, left - 16))
    label = (
        f'<text x="8" y="{y + 15}" font-size="12" fill="#222"><title>{full}</title>{text}</text>'
    )
    href = _safe_href(row.href)
    if href is not None:
        label = (
            f'<a class="gantt-link" href="{escape(href)}"><text x="8" y="{y + 15}" font-size="12" '
            f'fill="#0b5cad" text-decoration="underline"><title>{full}</title>{text}</text></a>'
        )
    critical = " gantt-row-critical" if row.critical else ""
    parts = [f'<g class="gantt-row{critical}">', label]
    note_y = y + 14
    skipped = row.status in SKIPPED_STATUSES or (
        row.start is not None and row.finish is not None and row.finish < row.start
    )
    if skipped:
        when = row.finish + one if row.finish is not None else row.start
        note = _SKIPPED_NOTE.get(row.status, "不占时间")
        if when is None:
            parts.append(
                f'<text class="gantt-note" x="{left + 6}" y="{note_y}" font-size="11" '
                f'fill="#333">{escape(note)}</text>'
            )
        else:
            cx = x_at(when)
            parts.append(
                f'<path class="gantt-skipped" d="{_diamond(cx, y + 10)}" fill="#8a939e" '
                f'stroke="#5f6b7a">'
                f"<title>{full}:{escape(row.status)}</title></path>"
                f'<text class="gantt-note" x="{_num(cx + 10)}" y="{note_y}" font-size="11" '
                f'fill="#333">{escape(note)}</text>'
            )
    elif _unscheduled(row):
        parts.append(
            f'<rect class="gantt-unscheduled" x="{left}" y="{y + 4}" width="{plot_w}" '
            f'height="12" fill="url(#{ident}-hatch)" stroke="#9aa3ad"><title>{full}:无法排期'
            f'</title></rect><rect x="{left + 4}" y="{y + 3}" width="56" height="14" fill="#fff"/>'
            f'<text class="gantt-note" x="{left + 8}" y="{note_y}" font-size="11" '
            f'fill="#333">无法排期</text>'
        )
    else:
        cls, fill, stroke, dash, mark = _GANTT_STATUS.get(row.status, _GANTT_STATUS["未开始"])
        marks = [f"{row.finish:%m-%d}", *([mark] if mark else [])]
        tip = f"{row.label}:{_ymd(row.start)} 至 {_ymd(row.finish)},{row.status}"
        if row.state in _GANTT_STATE:
            state_cls, fill, stroke, state_mark, name = _GANTT_STATE[row.state]
            cls = f"{cls} {state_cls}"
            marks.append(state_mark)
            tip += f",{name}"
        stroke_w = "1"
        if row.critical:
            cls += " gantt-critical"
            stroke, stroke_w = "#000", "2"
            tip += ",关键路径"
        x1, x2 = x_at(row.start), x_at(row.finish + one)
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<rect class="gantt-bar {cls}" x="{_num(x1)}" y="{y + 4}" width="{_num(x2 - x1)}" '
            f'height="12" fill="{fill}" stroke="{stroke}" stroke-width="{stroke_w}"{dashed}>'
            f"<title>{escape(tip)}</title></rect>"
            f'<text class="gantt-note" x="{_num(x2 + 4)}" y="{note_y}" font-size="11" '
            f'fill="#222">{escape(" ".join(marks))}</text>'
        )
    parts.append(_gantt_actual(row, y=y, x_at=x_at, today=today, per_day=per_day))
    parts.append("</g>")
    return "".join(parts)


def _gantt_actual(
    row: GanttRow, *, y: int, x_at: Callable[[date], float], today: date | None, per_day: float
) -> str:
    """The thin bar of what really happened: actual start to actual finish, or to today while the
    step is open; a tick when only one end is known."""
    one = timedelta(days=1)
    began, ended = row.actual_start, row.actual_finish
    if began is None and ended is None:
        return ""
    if began is not None and ended is None and today is not None and today >= began:
        x1, x2 = x_at(began), x_at(today) + per_day / 2
        tip = f"实际:{_ymd(began)} 开始,办理中"
    elif began is not None and ended is not None and ended >= began:
        x1, x2 = x_at(began), x_at(ended + one)
        tip = f"实际:{_ymd(began)} 至 {_ymd(ended)}"
    else:
        day = began if began is not None else ended
        x1 = x_at(day) if began is not None else x_at(day + one) - 2
        x2 = x1 + 2
        tip = f"实际{'开始' if began is not None else '完成'}:{_ymd(day)}"
    return (
        f'<rect class="gantt-actual" x="{_num(x1)}" y="{y + 19}" width="{_num(max(x2 - x1, 2))}" '
        f'height="4" fill="#333"><title>{escape(row.label)} {escape(tip)}</title></rect>'
    )
