"""Small server-side SVG charts (no JavaScript, nothing inline that the CSP would block).

Every text that reaches the SVG is escaped here, so the result is returned as Markup. A chart is
an image for sighted users only: templates ALWAYS put a <table> with the same data beside it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

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
